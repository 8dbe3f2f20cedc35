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

/** A received packet and whether it arrived as text. */
export interface QueuedPacket {
  data: Uint8Array;
  isText: boolean;
}

/** Ring-buffer queue with packet and byte limits. */
export class PacketQueue {
  private items: (QueuedPacket | undefined)[] = new Array(16);
  private head = 0;
  private count = 0;
  private bytes = 0;
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
    if (this.count === this.items.length) this.grow();
    this.items[(this.head + this.count) % this.items.length] = { data, isText };
    this.count++;
    this.bytes += data.length;
    return true;
  }

  /** Remove and return the oldest packet. */
  shift(): QueuedPacket | undefined {
    if (this.count === 0) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined;
    this.head = (this.head + 1) % this.items.length;
    this.count--;
    if (item) this.bytes -= item.data.length;
    return item;
  }

  /** The oldest packet without removing it. */
  peek(): QueuedPacket | undefined {
    return this.count === 0 ? undefined : this.items[this.head];
  }

  clear(): void {
    this.items = new Array(16);
    this.head = 0;
    this.count = 0;
    this.bytes = 0;
  }

  private grow(): void {
    const next: (QueuedPacket | undefined)[] = new Array(this.items.length * 2);
    for (let i = 0; i < this.count; i++) next[i] = this.items[(this.head + i) % this.items.length];
    this.items = next;
    this.head = 0;
  }
}
