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

/** Largest session header in bytes. */
export const MAX_SESSION_HEADER = MAX_VARINT_BYTES;

const EMPTY = new Uint8Array(0);

/** Limits of one channel's replay buffer. */
export interface ReplayLimits {
  /** Most unacknowledged packets held. */
  packets: number;
  /** Most unacknowledged payload bytes held. */
  bytes: number;
}

/** Sending half of one reliable channel's session. */
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
  /** Frames of sequences `acked + 1 … seq`, from index `head` (sequences are consecutive while buffering). */
  private frames: Uint8Array[] = [];
  private head = 0;
  private bytes = 0;

  constructor(private readonly limits: ReplayLimits) {}

  /** Unacknowledged packets held. */
  get buffered(): number {
    return this.frames.length - this.head;
  }

  /** Unacknowledged bytes held. */
  get bufferedBytes(): number {
    return this.bytes;
  }

  /** The last {@link frame} call overflowed the buffer (true once, on the call that gave up). */
  justOverflowed = false;

  /** Frame `data` with the next sequence and keep it for replay (see {@link justOverflowed}). */
  frame(data: Uint8Array): Uint8Array {
    this.justOverflowed = false;
    const seq = ++this.seq;
    let frame: Uint8Array;
    if (seq < 0x80) {
      frame = new Uint8Array(1 + data.length);
      frame[0] = seq;
      frame.set(data, 1);
    } else if (seq < 0x4000) {
      frame = new Uint8Array(2 + data.length);
      frame[0] = (seq & 0x7f) | 0x80;
      frame[1] = seq >>> 7;
      frame.set(data, 2);
    } else {
      frame = new Uint8Array(varintLength(seq) + data.length);
      frame.set(data, writeVarint(frame, 0, seq));
    }
    if (this.overflowed) return frame;
    if (this.frames.length - this.head + 1 > this.limits.packets || this.bytes + frame.length > this.limits.bytes) {
      this.overflowed = true;
      this.overflows++;
      this.justOverflowed = true;
      this.clear();
      return frame;
    }
    this.frames.push(frame);
    this.bytes += frame.length;
    return frame;
  }

  /** The remote holds everything up to `seq`: release it. False for an ack beyond what was sent (forged; ignored). */
  ack(seq: number): boolean {
    if (seq > this.seq) return false;
    if (seq <= this.acked) return true;
    const release = Math.min(seq - this.acked, this.frames.length - this.head);
    this.acked = seq;
    if (this.overflowed && seq === this.seq) this.overflowed = false; // the backlog is acknowledged: buffer again
    for (let i = 0; i < release; i++) {
      this.bytes -= this.frames[this.head]!.length;
      this.frames[this.head++] = EMPTY;
    }
    if (this.head === this.frames.length) {
      this.frames = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.frames.length) {
      this.frames = this.frames.slice(this.head);
      this.head = 0;
    }
    return true;
  }

  /** Every unacknowledged frame, oldest first (to resend on a new connection). */
  pending(): Uint8Array[] {
    return this.frames.slice(this.head);
  }

  private clear(): void {
    this.frames = [];
    this.head = 0;
    this.bytes = 0;
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
    if (b0 !== undefined && b0 < 0x80 && b0 !== 0) {
      seq = b0;
      at = 1;
    } else if (b0 !== undefined && b0 >= 0x80 && b1 !== undefined && b1 < 0x80) {
      seq = (b0 & 0x7f) + b1 * 128;
      at = 2;
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
    return frame.subarray(at);
  }
}
