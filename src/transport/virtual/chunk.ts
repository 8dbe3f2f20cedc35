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

/**
 * @internal Several messages in one link packet (SCTP chunk bundling).
 *
 * `items` holds the chunks in order. A {@link Message}; or, for unordered
 * channels with maxRetransmits 0 (which need no per-message state), a *run*
 * of four slots: the stream id, `start`, `end` and `length` — messages of
 * `length` bytes each, back to back in the current {@link PayloadSlab} page
 * from byte `start` to `end` (so a tick's same-sized messages of one channel
 * take four slots, not one per message). A message that does not go to the
 * slab (empty, or over {@link SLAB_MAX_PAYLOAD}) is a run of one with `start`
 * -1 and its own Uint8Array in the `length` slot. An ArrayBuffer slot in a
 * chunk's first place marks the slab page of the runs that follow (the
 * page's buffer, so the receiver makes its views without asking a typed
 * array for it). (Tell the kinds apart with `typeof` and `instanceof
 * Message`, never with `instanceof` on typed arrays or buffers: pages may
 * come from Node's realm while this module runs in another one, as under
 * jest.)
 */
export class Bundle {
  received = false;
  bytes = 0;
  /** {@link Message} chunks among the items. */
  messages = 0;
  /** Chunks in order (see the class); replaced by a literal of exactly its first run's slots when that comes first, see Association.sendFast. */
  items: unknown[] = [];
  /** Buffer of the page of the last run pushed (the sender's; the receiver tracks its own). */
  page: ArrayBufferLike | null = null;

  /** Chunk slots as traces count them (a fast chunk counts 2: stream id and bytes). */
  traceLength(): number {
    let n = 0;
    const items = this.items;
    for (let i = 0; i < items.length; i++) {
      const m = items[i];
      if (typeof m === 'number') {
        n += 2 * runCount(items, i);
        i += 3;
      } else if (m instanceof Message) n++;
    }
    return n;
  }
}

/** Messages in the run at `items[i]`. */
export function runCount(items: unknown[], i: number): number {
  const start = items[i + 1] as number;
  return start < 0 ? 1 : ((items[i + 2] as number) - start) / (items[i + 3] as number);
}

/** Payload bytes of the run at `items[i]`. */
export function runBytes(items: unknown[], i: number): number {
  const start = items[i + 1] as number;
  return start < 0 ? (items[i + 3] as Uint8Array).length : (items[i + 2] as number) - start;
}

/** Length of each message of the run at `items[i]`. */
export function runLength(items: unknown[], i: number): number {
  const start = items[i + 1] as number;
  return start < 0 ? (items[i + 3] as Uint8Array).length : (items[i + 3] as number);
}

/** Size of one {@link PayloadSlab} page. */
export const SLAB_BYTES = 64 * 1024;
/** Payloads larger than this get a buffer of their own instead of slab space. */
export const SLAB_MAX_PAYLOAD = 4096;

/** Node's `Buffer.allocUnsafeSlow`, when present: a page is written before it is read, so it need not be zeroed. */
const allocUnsafeSlow = (globalThis as { Buffer?: { allocUnsafeSlow?: (size: number) => Uint8Array } }).Buffer?.allocUnsafeSlow;

function newPage(): Uint8Array {
  if (allocUnsafeSlow !== undefined) {
    const b = allocUnsafeSlow(SLAB_BYTES);
    if (b.byteOffset === 0 && b.buffer.byteLength === SLAB_BYTES) return new Uint8Array(b.buffer);
  }
  return new Uint8Array(SLAB_BYTES);
}

/**
 * @internal Append-only storage for the payloads of unordered, unreliable
 * messages in flight: each payload is copied once, at {@link pos} of the
 * current {@link page}, and delivered as a view of it. A page is never
 * written twice (a full page is dropped, not reused), so views handed to
 * receivers never change; the garbage collector frees a page once no bundle
 * or view refers to it.
 */
export class PayloadSlab {
  /** The current page. */
  page: Uint8Array = new Uint8Array(0);
  /** Next free byte of the page. */
  pos = 0;
  /** The current page's buffer: what bundles carry as the page marker. */
  buffer: ArrayBufferLike = this.page.buffer;
  /** Number of the current page (counted from 1 as pages are made): a run names its page by number, so a channel holds no page (and no write barrier runs when it arms a run). */
  pageNo = 0;

  /** Room for `len` more bytes: the page to write them to at {@link pos} (a new one when the current one is full). */
  room(len: number): Uint8Array {
    if (this.pos + len <= this.page.length) return this.page;
    this.pos = 0;
    this.pageNo++;
    const page = (this.page = newPage());
    this.buffer = page.buffer;
    return page;
  }
}
