/**
 * Per-tick batching: frames bound for the same link and channel are appended
 * to one growing buffer and leave as one message on flush. A message never
 * passes the size limit; a frame that would overflow it seals the current
 * message and starts the next. Order within a (link, channel) is preserved.
 * @module
 */
import { TransferMode } from '../mesh/types.js';

/** Room kept at the front of each buffer for the header (msgpack uint32 ≤ 5 bytes). */
export const HEADER_ROOM = 5;
const INITIAL_CAPACITY = 256;
/** A batch keeps a buffer up to this size between messages (larger ones go out with their message). */
const KEEP_CAPACITY = 4096;
const EMPTY = new Uint8Array(0);

/** A finished message waiting to be sent. */
export interface OutMessage {
  peer: number;
  channel: number;
  mode: TransferMode;
  data: Uint8Array;
  frames: number;
}

class Batch {
  buf: Uint8Array = EMPTY;
  len = HEADER_ROOM;
  frames = 0;
  constructor(
    readonly peer: number,
    readonly channel: number,
    readonly mode: TransferMode,
  ) {}
}

/** Channel key: the mesh's channel index (RELIABLE 0, UNRELIABLE_ORDERED 1, UNRELIABLE 2, custom N → N + 2). */
export function channelKey(channel: number, mode: TransferMode): number {
  if (channel > 0) return channel + 2;
  return mode === RELIABLE ? 0 : mode === UNRELIABLE_ORDERED ? 1 : 2;
}
const RELIABLE = TransferMode.RELIABLE;
const UNRELIABLE_ORDERED = TransferMode.UNRELIABLE_ORDERED;

const NO_MESSAGES: readonly OutMessage[] = [];

/** Collects frames per link and channel; hands out sealed messages. */
export class Batcher {
  private readonly batches = new Map<number, Map<number, Batch>>();
  /** Sealed messages in sealing order. */
  private sealed: OutMessage[] = [];
  /** Frames in open (unsealed) batches, over every link and channel: 0 answers {@link isEmpty} without a lookup. */
  private open = 0;

  /**
   * @param maxMessageSize largest message, header included.
   * @param header returns the encoded header to put in front of a message.
   */
  constructor(
    public maxMessageSize: number,
    private readonly header: () => Uint8Array,
  ) {}

  /** Largest frame that fits in a message. */
  get maxFrameSize(): number {
    return this.maxMessageSize - HEADER_ROOM;
  }

  /** Append one encoded frame for `peer` on (channel, mode). The frame must be ≤ maxFrameSize. */
  append(peer: number, channel: number, mode: TransferMode, frame: Uint8Array): void {
    const key = channelKey(channel, mode);
    let perPeer = this.batches.get(peer);
    if (!perPeer) this.batches.set(peer, (perPeer = new Map()));
    let b = perPeer.get(key);
    if (!b) perPeer.set(key, (b = new Batch(peer, channel, mode)));
    const need = b.len + frame.length;
    if (need > this.maxMessageSize && b.frames > 0) {
      this.seal(b);
    }
    const want = b.len + frame.length;
    if (want > b.buf.length) {
      // A fresh batch starts small (an immediate call's message is just its frame); growth doubles.
      let cap = b.buf.length === 0 ? Math.max(INITIAL_CAPACITY, want) : b.buf.length * 2;
      while (cap < want) cap *= 2;
      cap = Math.min(cap, Math.max(this.maxMessageSize, want));
      const next = new Uint8Array(cap);
      next.set(b.buf.subarray(0, b.len));
      b.buf = next;
    }
    b.buf.set(frame, b.len);
    b.len += frame.length;
    b.frames++;
    this.open++;
  }

  /** Whether nothing is batched for `peer` on (channel, mode). */
  isEmpty(peer: number, channel: number, mode: TransferMode): boolean {
    if (this.open === 0) return true; // the immediate call's common case
    const b = this.batches.get(peer)?.get(channelKey(channel, mode));
    return b === undefined || b.frames === 0;
  }

  /** Seal the batch of one link and channel now (for `immediate` RPCs). */
  sealOne(peer: number, channel: number, mode: TransferMode): void {
    const b = this.batches.get(peer)?.get(channelKey(channel, mode));
    if (b && b.frames > 0) this.seal(b);
  }

  /** Seal every open batch and return all messages in order; the batcher is empty afterwards. */
  drain(): readonly OutMessage[] {
    // Nothing waits (a poll with nothing batched): no walk over the links, no array.
    if (this.open === 0 && this.sealed.length === 0) return NO_MESSAGES;
    for (const perPeer of this.batches.values()) {
      for (const b of perPeer.values()) if (b.frames > 0) this.seal(b);
    }
    const out = this.sealed;
    this.sealed = [];
    return out;
  }

  /** Whether sealed messages wait to be taken. */
  hasSealed(): boolean {
    return this.sealed.length > 0;
  }

  /** Take the sealed messages only (without sealing open batches). */
  takeSealed(): OutMessage[] {
    const out = this.sealed;
    this.sealed = [];
    return out;
  }

  /** Forget everything queued for `peer`. */
  dropPeer(peer: number): void {
    const perPeer = this.batches.get(peer);
    if (perPeer) for (const b of perPeer.values()) this.open -= b.frames;
    this.batches.delete(peer);
    this.sealed = this.sealed.filter((m) => m.peer !== peer);
  }

  private seal(b: Batch): void {
    const h = this.header();
    const start = HEADER_ROOM - h.length;
    const buf = b.buf;
    buf.set(h, start);
    let data: Uint8Array;
    if (buf.length <= KEEP_CAPACITY) {
      // Small: copy the message out and keep the buffer for the next one (no allocation per append).
      data = buf.slice(start, b.len);
    } else {
      // Large: hand the buffer itself over (no copy) and start the next message small.
      data = buf.subarray(start, b.len);
      b.buf = EMPTY;
    }
    this.sealed.push({ peer: b.peer, channel: b.channel, mode: b.mode, data, frames: b.frames });
    this.open -= b.frames;
    b.len = HEADER_ROOM;
    b.frames = 0;
  }
}
