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
  /** The buffer overflowed: replay is no longer guaranteed on this channel. */
  overflowed = false;
  private frames: Uint8Array[] = [];
  private seqs: number[] = [];
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

  /**
   * Frame `data` with the next sequence and keep it for replay. Returns the
   * frame, and whether this call overflowed the buffer (first time only).
   */
  frame(data: Uint8Array): { frame: Uint8Array; overflow: boolean } {
    const seq = ++this.seq;
    const frame = new Uint8Array(varintLength(seq) + data.length);
    frame.set(data, writeVarint(frame, 0, seq));
    if (this.overflowed) return { frame, overflow: false };
    if (this.buffered + 1 > this.limits.packets || this.bytes + frame.length > this.limits.bytes) {
      this.overflowed = true;
      this.clear();
      return { frame, overflow: true };
    }
    this.frames.push(frame);
    this.seqs.push(seq);
    this.bytes += frame.length;
    return { frame, overflow: false };
  }

  /** The remote holds everything up to `seq`: release it. Ignores acks beyond what was sent. */
  ack(seq: number): void {
    if (seq <= this.acked || seq > this.seq) return;
    this.acked = seq;
    while (this.head < this.seqs.length && this.seqs[this.head]! <= seq) {
      this.bytes -= this.frames[this.head]!.length;
      this.head++;
    }
    if (this.head > 1024 && this.head * 2 > this.frames.length) {
      this.frames = this.frames.slice(this.head);
      this.seqs = this.seqs.slice(this.head);
      this.head = 0;
    }
  }

  /** Every unacknowledged frame, oldest first (to resend on a new connection). */
  pending(): Uint8Array[] {
    return this.frames.slice(this.head);
  }

  private clear(): void {
    this.frames = [];
    this.seqs = [];
    this.head = 0;
    this.bytes = 0;
  }
}

/** What the receiving half made of one framed packet. */
export type Received = { kind: 'data'; data: Uint8Array; gap: number } | { kind: 'duplicate' } | { kind: 'malformed' };

/** Receiving half of one reliable channel's session. */
export class ReceiveSession {
  /** Highest sequence held (the cumulative ack). */
  seq = 0;
  duplicates = 0;
  /** Sequences skipped (lost because the sender's replay buffer overflowed). */
  gaps = 0;
  malformed = 0;

  /** Strip the header; drop duplicates. */
  accept(frame: Uint8Array): Received {
    const head = readVarint(frame, 0);
    if (!head || head[0] === 0) {
      this.malformed++;
      return { kind: 'malformed' };
    }
    const [seq, at] = head;
    if (seq <= this.seq) {
      this.duplicates++;
      return { kind: 'duplicate' };
    }
    const gap = seq - this.seq - 1;
    this.gaps += gap;
    this.seq = seq;
    return { kind: 'data', data: frame.subarray(at), gap };
  }
}
