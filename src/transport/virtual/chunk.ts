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
  /** Fragments of a message larger than a packet still missing at the receiver (0: not sent yet, or one packet). */
  fragmentsLeft = 0;
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

/**
 * Packets (SCTP fragments) that carry a message of `length` payload bytes:
 * each fragment holds up to {@link BUNDLE_BYTES} − {@link CHUNK_HEADER} bytes
 * behind its own chunk header.
 */
export function fragmentCount(length: number): number {
  return length + CHUNK_HEADER <= BUNDLE_BYTES ? 1 : Math.ceil(length / (BUNDLE_BYTES - CHUNK_HEADER));
}

/** Payload bytes of `left` of the `total` fragments of a `length`-byte message (a retry resends only the missing ones). */
export function fragmentBytes(length: number, left: number, total: number): number {
  return left === total ? length : Math.ceil((length * left) / total);
}

/** @internal Several messages in one link packet (SCTP chunk bundling). */
export class Bundle {
  received = false;
  bytes = 0;
  /** {@link Message} chunks among the items. */
  messages = 0;
  /**
   * Chunks in order. A {@link Message}; or — for unordered channels with
   * maxRetransmits 0, which need no per-message state — two slots: the stream
   * id and where the payload is, either a slab reference (a number, see
   * {@link PayloadSlab.copy}) into the latest ArrayBuffer before it in the
   * list, or a Uint8Array of its own. An ArrayBuffer slot marks the
   * {@link PayloadSlab} page of the slab references that follow. (Tell the
   * kinds apart with `typeof` and `instanceof Message`, never `instanceof
   * ArrayBuffer`: pages may come from Node's realm while this module runs in
   * another one, as under jest.)
   */
  readonly items: unknown[] = [];
  /** Page of the last slab reference pushed (the sender's; the receiver tracks its own). */
  page: ArrayBuffer | null = null;

  /** Chunk slots as traces count them (a fast chunk counts 2: stream id and bytes). */
  traceLength(): number {
    let n = 0;
    for (let i = 0; i < this.items.length; i++) {
      const m = this.items[i];
      if (typeof m === 'number') {
        i++;
        n += 2;
      } else if (m instanceof Message) n++;
    }
    return n;
  }
}

/** Size of one {@link PayloadSlab} page. */
export const SLAB_BYTES = 64 * 1024;
/** Payloads larger than this get a buffer of their own instead of slab space. */
export const SLAB_MAX_PAYLOAD = 4096;
/** A slab reference is `offset << REF_SHIFT | length` (a small integer). */
export const REF_SHIFT = 13;
/** Mask of the length in a slab reference. */
export const REF_LENGTH = (1 << REF_SHIFT) - 1;

/** Length of the payload a fast-chunk slot points to. */
export function refLength(ref: unknown): number {
  return typeof ref === 'number' ? ref & REF_LENGTH : (ref as Uint8Array).length;
}

/** Node's `Buffer.allocUnsafeSlow`, when present: a page is written before it is read, so it need not be zeroed. */
const allocUnsafeSlow = (globalThis as { Buffer?: { allocUnsafeSlow?: (size: number) => Uint8Array } }).Buffer?.allocUnsafeSlow;

function newPage(): ArrayBuffer {
  if (allocUnsafeSlow !== undefined) {
    const b = allocUnsafeSlow(SLAB_BYTES);
    if (b.byteOffset === 0 && b.buffer.byteLength === SLAB_BYTES) return b.buffer as ArrayBuffer;
  }
  return new ArrayBuffer(SLAB_BYTES);
}

/**
 * @internal Append-only storage for the payloads of unordered, unreliable
 * messages in flight: each payload is copied once, at an offset of the current
 * page, and delivered as a view of it. A page is never written twice (a full
 * page is dropped, not reused), so views handed to receivers never change;
 * the garbage collector frees a page once no bundle or view refers to it.
 */
export class PayloadSlab {
  /** ArrayBuffer of the current page. */
  buffer: ArrayBuffer = new ArrayBuffer(0);
  private page = new Uint8Array(this.buffer);
  /** Next free byte of the page. */
  private pos = 0;

  /**
   * Copy `data`. Returns its slab reference in the current page
   * ({@link buffer}, which may change with this call), or, for a payload over
   * {@link SLAB_MAX_PAYLOAD} bytes, a copy in a buffer of its own.
   */
  copy(data: Uint8Array): number | Uint8Array {
    const len = data.length;
    if (len > SLAB_MAX_PAYLOAD) {
      const own = new Uint8Array(len);
      own.set(data);
      return own;
    }
    let pos = this.pos;
    let page = this.page;
    if (pos + len > page.length) {
      const buffer = newPage();
      page = this.page = new Uint8Array(buffer);
      this.buffer = buffer;
      pos = 0;
    }
    page.set(data, pos);
    this.pos = pos + len;
    return (pos << REF_SHIFT) | len;
  }
}
