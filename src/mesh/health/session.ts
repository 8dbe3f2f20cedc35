/**
 * The session header of reliable mesh channels: every packet carries a
 * varint sequence number (1, 2, 3… per channel, for the life of the peer, not
 * of one connection). The receiver acknowledges cumulatively over the control
 * channel; the sender keeps unacknowledged packets in a bounded replay buffer
 * and resends them on a fresh connection after a reconnect; the receiver drops
 * what it already holds. Result: every reliable packet exactly once, in order,
 * across reconnects.
 * @module
 */
import { MAX_VARINT_BYTES, readVarint, varintLength, writeVarint } from './varint.js';
import { SEND_VIEW_MAX, sendView } from '../../transport/send-views.js';

/** Largest session header in bytes. */
export const MAX_SESSION_HEADER = MAX_VARINT_BYTES;

/** First slab of a channel's replay ring (allocated on the first packet; grows by doubling). */
const MIN_SLAB = 2048;
/** An idle ring (everything acknowledged) larger than this is released, so a burst does not pin memory. */
const IDLE_SLAB = 256 * 1024;
/** Chunk that frames sent while buffering is suspended are cut from. */
const SCRATCH = 16 * 1024;
const MIN_RECORDS = 16;
const NO_OFFSETS = new Float64Array(0);
const NO_LENGTHS = new Int32Array(0);
/** Payloads up to this size are copied out of a received frame rather than viewed. */
const SMALL_PAYLOAD = 64;

/** Limits of one channel's replay buffer. */
export interface ReplayLimits {
  /** Most unacknowledged packets held. */
  packets: number;
  /** Most unacknowledged payload bytes held. */
  bytes: number;
}

/**
 * Sending half of one reliable channel's session.
 *
 * Frames are written in place, header then payload, into a byte ring (one
 * slab, no allocation per packet beyond the returned view), and recorded in
 * a ring of (offset, length) pairs indexed by sequence − acked − 1: no
 * object per packet is kept. A frame's bytes stay untouched until the remote
 * acknowledges it (or buffering is given up on overflow); engines copy what
 * they are handed before `sendBinary` returns, so the views may be reused
 * after that.
 */
export class SendSession {
  /** Sequence of the last packet framed. */
  seq = 0;
  /** Highest sequence the remote acknowledged. */
  acked = 0;
  /** Packets resent after reconnects. */
  replayed = 0;
  /**
   * The buffer overflowed and buffering is suspended: replay is not
   * guaranteed for what is sent meanwhile. Cleared as soon as the remote has
   * acknowledged everything sent so far (then nothing is owed and buffering
   * resumes with the next packet).
   */
  overflowed = false;
  /** Times the buffer overflowed. */
  overflows = 0;
  /** The last {@link frame} call overflowed the buffer (true once, on the call that gave up). */
  justOverflowed = false;
  /** Byte ring of the buffered frames (empty until the first packet). */
  private slab = new Uint8Array(0);
  /** Offsets and lengths of the buffered frames, a ring from `head`, oldest first (sequences `seq − count + 1 … seq`). */
  private offs = NO_OFFSETS;
  private lens = NO_LENGTHS;
  /** Record capacity − 1 (a power of two; −1 before the first packet: an idle channel holds no arrays). */
  private mask = -1;
  private head = 0;
  private count = 0;
  private bytes = 0;
  /** Where frames sent while buffering is suspended are cut from (bump allocation; a full chunk is left to the GC). */
  private scratch = new Uint8Array(0);
  private scratchAt = 0;

  constructor(private readonly limits: ReplayLimits) {}

  /** Unacknowledged packets held. */
  get buffered(): number {
    return this.count;
  }

  /** Unacknowledged bytes held. */
  get bufferedBytes(): number {
    return this.bytes;
  }

  /**
   * Frame `data` with the next sequence and keep it for replay (see
   * {@link justOverflowed}). The returned view stays valid until the frame is
   * acknowledged.
   */
  frame(data: Uint8Array): Uint8Array {
    return this.write(data, false);
  }

  /**
   * {@link frame} for a send right now: the same bytes, kept for replay the
   * same way, but a frame of up to {@link SEND_VIEW_MAX} bytes is returned in
   * a view shared by every session that is overwritten by the next call (hand
   * it to an engine, which copies it, before framing anything else). Sending
   * one reused view object per length costs the native engine's send
   * about half of what a new view per message does.
   */
  frameToSend(data: Uint8Array): Uint8Array {
    return this.write(data, true);
  }

  private write(data: Uint8Array, transient: boolean): Uint8Array {
    this.justOverflowed = false;
    const seq = ++this.seq;
    const h = seq < 0x80 ? 1 : seq < 0x4000 ? 2 : seq < 0x200000 ? 3 : seq < 0x10000000 ? 4 : varintLength(seq);
    const n = h + data.length;
    if (!this.overflowed && (this.count + 1 > this.limits.packets || this.bytes + n > this.limits.bytes)) {
      this.overflowed = true;
      this.overflows++;
      this.justOverflowed = true;
      this.clear();
    }
    const view = transient && n <= SEND_VIEW_MAX ? sendView(n) : undefined;
    let buf: Uint8Array;
    let at: number;
    if (view !== undefined) {
      buf = view;
      at = 0;
    } else if (this.overflowed) {
      if (this.scratchAt + n > this.scratch.length) {
        this.scratch = new Uint8Array(Math.max(SCRATCH, n));
        this.scratchAt = 0;
      }
      buf = this.scratch;
      at = this.scratchAt;
      this.scratchAt += n;
    } else {
      at = this.keep(n);
      buf = this.slab; // after keep(), which may have grown it
    }
    if (h === 1) buf[at] = seq;
    else if (h === 2) {
      buf[at] = (seq & 0x7f) | 0x80;
      buf[at + 1] = seq >>> 7;
    } else if (h === 3) {
      buf[at] = (seq & 0x7f) | 0x80;
      buf[at + 1] = ((seq >>> 7) & 0x7f) | 0x80;
      buf[at + 2] = seq >>> 14;
    } else if (h === 4) {
      // a long session (2^21 packets and more: ~30 s at 70 k packets/s) stays on the inline path
      buf[at] = (seq & 0x7f) | 0x80;
      buf[at + 1] = ((seq >>> 7) & 0x7f) | 0x80;
      buf[at + 2] = ((seq >>> 14) & 0x7f) | 0x80;
      buf[at + 3] = seq >>> 21;
    } else writeVarint(buf, at, seq);
    buf.set(data, at + h);
    if (view === undefined) return buf.subarray(at, at + n);
    if (!this.overflowed) {
      const kept = this.keep(n); // before reading this.slab: keep() may grow it
      this.slab.set(view, kept); // the replay copy
    }
    return view;
  }

  /** Record a new frame of `n` bytes at the ring's end; its offset in the slab. */
  private keep(n: number): number {
    const at = this.alloc(n);
    if (this.count > this.mask) this.growRecords();
    const r = (this.head + this.count) & this.mask;
    this.offs[r] = at;
    this.lens[r] = n;
    this.count++;
    this.bytes += n;
    return at;
  }

  /** The remote holds everything up to `seq`: release it. False for an ack beyond what was sent (forged; ignored). */
  ack(seq: number): boolean {
    if (seq > this.seq) return false;
    if (seq <= this.acked) return true;
    const release = Math.min(seq - this.acked, this.count);
    this.acked = seq;
    if (this.overflowed && seq === this.seq) this.overflowed = false; // the backlog is acknowledged: buffer again
    const mask = this.mask;
    const lens = this.lens;
    let head = this.head;
    let freed = 0;
    for (let i = 0; i < release; i++) {
      freed += lens[head]!;
      head = (head + 1) & mask;
    }
    this.head = head;
    this.count -= release;
    this.bytes -= freed;
    if (this.count === 0) {
      this.head = 0;
      if (this.slab.length > IDLE_SLAB) this.slab = new Uint8Array(0);
    }
    return true;
  }

  /** Every unacknowledged frame, oldest first (to resend on a new connection; views valid until the next {@link frame} or {@link ack}). */
  pending(): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (let i = 0; i < this.count; i++) {
      const r = (this.head + i) & this.mask;
      const at = this.offs[r]!;
      out.push(this.slab.subarray(at, at + this.lens[r]!));
    }
    return out;
  }

  /** Offset in the slab for a new frame of `n` bytes (the ring is contiguous per frame; grows when full). */
  private alloc(n: number): number {
    const cap = this.slab.length;
    if (this.count === 0) {
      if (n <= cap) return 0;
      return this.grow(n);
    }
    const start = this.offs[this.head]!;
    const last = (this.head + this.count - 1) & this.mask;
    const end = this.offs[last]! + this.lens[last]!;
    if (end > start) {
      // used: [start, end); free: [end, cap) and [0, start)
      if (end + n <= cap) return end;
      if (n <= start) return 0;
    } else if (end + n <= start) {
      return end; // wrapped: used [start, cap') and [0, end); free: [end, start)
    }
    return this.grow(n);
  }

  /** Move the frames, compacted in order, into a larger slab with room for `n` more bytes; the offset for those. */
  private grow(n: number): number {
    let cap = Math.max(MIN_SLAB, this.slab.length * 2);
    while (cap < this.bytes + n) cap *= 2;
    const slab = new Uint8Array(cap);
    let at = 0;
    for (let i = 0; i < this.count; i++) {
      const r = (this.head + i) & this.mask;
      const off = this.offs[r]!;
      const len = this.lens[r]!;
      slab.set(this.slab.subarray(off, off + len), at);
      this.offs[r] = at;
      at += len;
    }
    this.slab = slab;
    return at;
  }

  private growRecords(): void {
    const cap = Math.max(MIN_RECORDS, (this.mask + 1) * 2);
    const offs = new Float64Array(cap);
    const lens = new Int32Array(cap);
    for (let i = 0; i < this.count; i++) {
      const r = (this.head + i) & this.mask;
      offs[i] = this.offs[r]!;
      lens[i] = this.lens[r]!;
    }
    this.offs = offs;
    this.lens = lens;
    this.mask = cap - 1;
    this.head = 0;
  }

  private clear(): void {
    this.head = 0;
    this.count = 0;
    this.bytes = 0;
    this.slab = new Uint8Array(0);
    this.offs = NO_OFFSETS;
    this.lens = NO_LENGTHS;
    this.mask = -1;
  }
}

/** Receiving half of one reliable channel's session. */
export class ReceiveSession {
  /** Highest sequence held (the cumulative ack). */
  seq = 0;
  duplicates = 0;
  /** Sequences skipped (lost because the sender's replay buffer overflowed). */
  gaps = 0;
  malformed = 0;
  /**
   * Nothing accepted yet in this session epoch: the first sequence is taken
   * as the base (a remote that restarted resends from its first
   * unacknowledged packet, which need not be 1), not counted as a gap.
   */
  private fresh = true;

  /** The remote restarted (a new session epoch): hold nothing, take the next sequence as the base. */
  reset(): void {
    this.seq = 0;
    this.fresh = true;
  }

  /** Strip the header: the payload, or undefined for a duplicate (counted) or a malformed header (counted). */
  accept(frame: Uint8Array): Uint8Array | undefined {
    let seq: number;
    let at: number;
    const b0 = frame[0];
    const b1 = frame[1];
    const b2 = frame[2];
    if (b0 !== undefined && b0 < 0x80 && b0 !== 0) {
      seq = b0;
      at = 1;
    } else if (b0 !== undefined && b0 >= 0x80 && b1 !== undefined && b1 < 0x80) {
      seq = (b0 & 0x7f) + b1 * 128;
      at = 2;
    } else if (b0 !== undefined && b0 >= 0x80 && b1 !== undefined && b2 !== undefined && b2 < 0x80) {
      seq = (b0 & 0x7f) + (b1 & 0x7f) * 128 + b2 * 16384; // up to 2^21 − 1 packets: no array from readVarint
      at = 3;
    } else if (b0 !== undefined && b0 >= 0x80 && b1 !== undefined && b2 !== undefined && b2 >= 0x80 && frame.length > 3 && frame[3]! < 0x80) {
      seq = (b0 & 0x7f) + (b1 & 0x7f) * 128 + (b2 & 0x7f) * 16384 + frame[3]! * 2097152; // up to 2^28 − 1
      at = 4;
    } else {
      const head = readVarint(frame, 0);
      if (!head || head[0] === 0) {
        this.malformed++;
        return undefined;
      }
      [seq, at] = head;
    }
    if (seq === 0) {
      this.malformed++;
      return undefined;
    }
    if (seq <= this.seq) {
      this.duplicates++;
      return undefined;
    }
    if (!this.fresh) this.gaps += seq - this.seq - 1;
    this.fresh = false;
    this.seq = seq;
    const n = frame.length - at;
    // A small payload is copied: a fresh small array costs less than a view, and reading `frame.buffer`
    // is avoided (for a small array V8 keeps on its heap, as the virtual network delivers, that read
    // moves the bytes off the heap first, several times the copy). It also keeps a packet the
    // application holds from pinning a larger shared buffer. A large payload is a view (a plain
    // Uint8Array, whatever subclass the engine gave), not a copy.
    if (n <= SMALL_PAYLOAD) {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) out[i] = frame[at + i]!;
      return out;
    }
    return new Uint8Array(frame.buffer, frame.byteOffset + at, n);
  }
}
