/**
 * What travels on a simulated SCTP association: user and control messages
 * (chunks), and bundles of them that share one link packet.
 * @module
 */
import type { EngineChannelInit } from '../engine.js';
import type { TimerHandle } from './scheduler.js';

/** Message kinds on the simulated SCTP association. */
export const DATA = 0;
export const DCEP_OPEN = 1;
export const DCEP_ACK = 2;
export const RESET = 3;
export const FORWARD = 4;
export const SHUTDOWN = 5;
export const KIND_NAMES = ['data', 'dcep-open', 'dcep-ack', 'reset', 'forward-tsn', 'shutdown'];

/** @internal One SCTP user message (shared by its retransmissions and duplicate copies). */
export class Message {
  tries = 0;
  received = false;
  timer: TimerHandle | undefined = undefined;
  /** SACKs that reported this message missing (fast retransmit after 3). */
  misses = -1;
  constructor(
    readonly tsn: number,
    readonly kind: number,
    readonly stream: number,
    /** Stream sequence number for ordered data; -1 otherwise. */
    readonly ssn: number,
    readonly data: Uint8Array | null,
    readonly isText: boolean,
    /** Retries allowed (-1 = unlimited). */
    readonly maxRtx: number,
    /** Give up after this time (Infinity = never). */
    readonly deadline: number,
    readonly extra: EngineChannelInit | null,
  ) {}
}

/** SCTP packet payload budget: chunks sent in the same instant share packets up to this size. */
export const BUNDLE_BYTES = 1200;
/** Per-chunk header bytes counted against the bundle budget. */
export const CHUNK_HEADER = 16;

/** @internal Several messages in one link packet (SCTP chunk bundling). */
export class Bundle {
  received = false;
  bytes = 0;
  /**
   * Chunks in order: a {@link Message}, or — for unordered channels with
   * maxRetransmits 0, which need no per-message state — four slots: the
   * stream id, the ArrayBuffer holding the payload (a {@link PayloadSlab}
   * page), its byte offset and its length. The receiver gets a view of those
   * bytes; nothing ever writes them again.
   */
  readonly items: unknown[] = [];

  /** Chunk slots as traces count them (a fast chunk counts 2: stream id and bytes). */
  traceLength(): number {
    let n = 0;
    for (let i = 0; i < this.items.length; i++) {
      if (typeof this.items[i] === 'number') {
        i += 3;
        n += 2;
      } else n++;
    }
    return n;
  }
}

/** Size of one {@link PayloadSlab} page. */
export const SLAB_BYTES = 64 * 1024;
/** Payloads larger than this get a buffer of their own instead of slab space. */
export const SLAB_MAX_PAYLOAD = 4096;

/**
 * @internal Append-only storage for the payloads of unordered, unreliable
 * messages in flight: each payload is copied once, at an offset of the current
 * page, and delivered as a view of it. A page is never written twice (a full
 * page is dropped, not reused), so views handed to receivers never change;
 * the garbage collector frees a page once no bundle or view refers to it.
 */
export class PayloadSlab {
  /** ArrayBuffer of the last {@link copy}. */
  buffer: ArrayBuffer = new ArrayBuffer(0);
  /** Byte offset of the last {@link copy}. */
  offset = 0;
  private page = new Uint8Array(0);
  /** The page's ArrayBuffer (reading `page.buffer` costs a builtin call). */
  private pageBuffer: ArrayBuffer = this.page.buffer;
  private pos = 0;

  /** Copy `data`; its bytes are then at ({@link buffer}, {@link offset}). */
  copy(data: Uint8Array): void {
    const len = data.length;
    let pos = this.pos;
    let page = this.page;
    if (pos + len > page.length) {
      if (len > SLAB_MAX_PAYLOAD) {
        const own = new Uint8Array(len);
        own.set(data);
        this.buffer = own.buffer;
        this.offset = 0;
        return;
      }
      const buffer = new ArrayBuffer(SLAB_BYTES);
      page = this.page = new Uint8Array(buffer);
      this.pageBuffer = buffer;
      pos = 0;
    }
    page.set(data, pos);
    this.buffer = this.pageBuffer;
    this.offset = pos;
    this.pos = pos + len;
  }
}
