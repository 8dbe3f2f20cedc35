/**
 * Input streams: the client numbers its inputs and resends every
 * unacknowledged one (oldest first, up to `redundancy` per message) on the
 * unreliable channel; the host queues them in sequence order, each exactly
 * once, and acknowledges the last one the game took in every snapshot.
 * @module
 */
import type { BitReader, BitWriter } from './bits.js';
import type { Schema, SlotValue } from './schema.js';

/** One input of a client, with its sequence number. */
export interface SequencedInput<T> {
  seq: number;
  input: T;
}

interface Stored {
  seq: number;
  slots: SlotValue[];
}

/** Host side, one per client: received inputs waiting for the game, in order. */
export class InputQueue {
  /** Highest sequence number accepted into the queue. */
  lastReceived = 0;
  /** Highest sequence number the game took (acknowledged to the client). */
  lastProcessed = 0;
  /** Inputs never received because the client gave up on them (gaps). */
  skipped = 0;
  private readonly queue: Stored[] = [];
  private head = 0;

  constructor(private readonly capacity: number) {}

  get size(): number {
    return this.queue.length - this.head;
  }

  /**
   * Accept inputs `firstSeq…` (already decoded). Returns how many were refused
   * because the queue is full (they stay unacknowledged, so the client resends them).
   */
  accept(firstSeq: number, inputs: SlotValue[][]): number {
    let refused = 0;
    for (let i = 0; i < inputs.length; i++) {
      const seq = firstSeq + i;
      if (seq <= this.lastReceived) continue;
      if (this.size >= this.capacity) {
        refused = inputs.length - i;
        break;
      }
      if (seq > this.lastReceived + 1) this.skipped += seq - this.lastReceived - 1;
      this.queue.push({ seq, slots: inputs[i]! });
      this.lastReceived = seq;
    }
    return refused;
  }

  /** Take the next input, marking it processed. */
  take(): Stored | undefined {
    if (this.head >= this.queue.length) return undefined;
    const s = this.queue[this.head++]!;
    if (this.head > 64 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    this.lastProcessed = s.seq;
    return s;
  }
}

/** Client side: inputs sent and not yet acknowledged. */
export class InputBuffer {
  nextSeq = 1;
  /** Last input sequence the host said it processed. */
  acked = 0;
  /** Inputs dropped because more than `capacity` were unacknowledged. */
  dropped = 0;
  private readonly pending: Stored[] = [];

  constructor(private readonly capacity: number) {}

  get size(): number {
    return this.pending.length;
  }

  push(slots: SlotValue[]): number {
    const seq = this.nextSeq++;
    this.pending.push({ seq, slots });
    if (this.pending.length > this.capacity) {
      this.pending.shift();
      this.dropped++;
    }
    return seq;
  }

  /** The host processed everything up to `seq`. */
  ack(seq: number): void {
    if (seq <= this.acked || seq >= this.nextSeq) return;
    this.acked = seq;
    let n = 0;
    while (n < this.pending.length && this.pending[n]!.seq <= seq) n++;
    if (n > 0) this.pending.splice(0, n);
  }

  /** The host restarted (it knows no sequence numbers): renumber the unacknowledged inputs from 1. */
  renumber(): void {
    for (let i = 0; i < this.pending.length; i++) this.pending[i]!.seq = i + 1;
    this.nextSeq = this.pending.length + 1;
    this.acked = 0;
  }

  /** Unacknowledged inputs, oldest first. */
  entries(): readonly Stored[] {
    return this.pending;
  }

  /** Write `count uvar [firstSeq 32 | inputs]` with the oldest `max` pending inputs. */
  write(w: BitWriter, schema: Schema | undefined, max: number): number {
    const n = schema === undefined ? 0 : Math.min(max, this.pending.length);
    w.uvar(n);
    if (n === 0) return 0;
    w.bits(this.pending[0]!.seq, 32);
    for (let i = 0; i < n; i++) schema!.writeAll(w, this.pending[i]!.slots);
    return n;
  }
}

/** Read the inputs of a client message; throws on bad data or more than `max` inputs. */
export function readInputs(r: BitReader, schema: Schema | undefined, max: number): { firstSeq: number; inputs: SlotValue[][]; tooMany: boolean } {
  const n = r.uvar();
  if (n === 0) return { firstSeq: 0, inputs: [], tooMany: false };
  if (schema === undefined || n > max) return { firstSeq: 0, inputs: [], tooMany: true };
  const firstSeq = r.bits(32);
  if (firstSeq === 0 || firstSeq + n > 2 ** 32) return { firstSeq: 0, inputs: [], tooMany: true };
  const inputs: SlotValue[][] = [];
  for (let i = 0; i < n; i++) {
    const slots: SlotValue[] = new Array(schema.slotCount);
    schema.readAll(r, slots);
    inputs.push(slots);
  }
  return { firstSeq, inputs, tooMany: false };
}
