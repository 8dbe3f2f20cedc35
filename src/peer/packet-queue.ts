/**
 * A bounded FIFO of received packets. When full, new packets are dropped and
 * counted: it never grows without bound and never drops silently.
 * @module
 */

/** Limits of one inbound queue. */
export interface QueueLimits {
  /** Most packets held at once. */
  maxPackets: number;
  /** Most payload bytes held at once. */
  maxBytes: number;
}

/** Defaults: generous enough that a polling game loop never hits them. */
export const DEFAULT_QUEUE_LIMITS: QueueLimits = { maxPackets: 65536, maxBytes: 64 * 1024 * 1024 };

/** Ring-buffer queue with packet and byte limits (parallel arrays: no object per packet). */
export class PacketQueue {
  private data: (Uint8Array | undefined)[] = new Array(16);
  private text: boolean[] = new Array<boolean>(16).fill(false);
  /** Capacity − 1 (capacity is a power of two). */
  private mask = 15;
  private head = 0;
  private count = 0;
  private bytes = 0;
  /** Whether the packet last returned by {@link shiftData} arrived as text. */
  lastWasText = false;
  /** Packets dropped because the queue was full. */
  dropped = 0;

  constructor(private readonly limits: QueueLimits = DEFAULT_QUEUE_LIMITS) {}

  get length(): number {
    return this.count;
  }

  get byteLength(): number {
    return this.bytes;
  }

  /** Add a packet; returns false (and counts a drop) when a limit would be passed. */
  push(data: Uint8Array, isText: boolean): boolean {
    if (this.count >= this.limits.maxPackets || this.bytes + data.length > this.limits.maxBytes) {
      this.dropped++;
      return false;
    }
    if (this.count > this.mask) this.grow();
    const i = (this.head + this.count) & this.mask;
    this.data[i] = data;
    this.text[i] = isText;
    this.count++;
    this.bytes += data.length;
    return true;
  }

  /** Remove and return the oldest packet's bytes (its text flag goes to {@link lastWasText}). */
  shiftData(): Uint8Array | undefined {
    if (this.count === 0) return undefined;
    const i = this.head;
    const data = this.data[i]!;
    this.lastWasText = this.text[i]!;
    this.data[i] = undefined;
    this.head = (i + 1) & this.mask;
    this.count--;
    this.bytes -= data.length;
    return data;
  }

  clear(): void {
    this.data = new Array(16);
    this.text = new Array<boolean>(16).fill(false);
    this.mask = 15;
    this.head = 0;
    this.count = 0;
    this.bytes = 0;
  }

  private grow(): void {
    const cap = (this.mask + 1) * 2;
    const data: (Uint8Array | undefined)[] = new Array(cap);
    const text = new Array<boolean>(cap).fill(false);
    for (let k = 0; k < this.count; k++) {
      const i = (this.head + k) & this.mask;
      data[k] = this.data[i];
      text[k] = this.text[i]!;
    }
    this.data = data;
    this.text = text;
    this.mask = cap - 1;
    this.head = 0;
  }
}
