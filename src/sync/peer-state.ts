/**
 * Replication state the host keeps for one peer: what it sees, what left its
 * interest recently, the ticks sent to it and its acknowledged baseline.
 * @module
 */
import type { HostObject } from './host-object.js';
import type { InputQueue } from './inputs.js';
import { WINDOW } from './wire.js';

/**
 * Replication state of one peer. Visibility is kept in bitsets indexed by
 * object slot (see HostObject.index): 32 slots per word, so the per-tick
 * loops that test it stay in cache.
 */
export class PeerState {
  /** Visible slots (bit `slot & 31` of word `slot >>> 5`). */
  vis = new Int32Array(0);
  /** Number of visible slots. */
  count = 0;
  /** Slots the interest rule reported in the full query running now. */
  seen = new Int32Array(0);
  /**
   * Visible slots that entered after the last baseline the host used for
   * this peer (they go out in full): a dense list with the tick each
   * entered, their positions in it by slot (−1: not in it), and a bitset of
   * it. Bounded by {@link count}.
   */
  fresh = new Int32Array(16);
  freshTick = new Int32Array(16);
  freshCount = 0;
  freshAt = new Int32Array(0);
  freshBits = new Int32Array(0);
  /** Objects that left this peer's interest (or were despawned): id → tick. Add with {@link depart} (it sets {@link hasLeft}). */
  readonly left = new Map<number, number>();
  /** {@link left} may be non-empty (false: it is empty, and the per-tick path need not touch it). */
  hasLeft = false;
  // (sent and sentAt share one buffer, as do vis and freshBits: fewer cache lines to reach per tick)
  private readonly sendLog = new ArrayBuffer(WINDOW * 12);
  /** When each tick was sent (clock ms), by tick % WINDOW. */
  readonly sentAt = new Float64Array(this.sendLog, 0, WINDOW);
  /** Ticks sent, by tick % WINDOW. */
  readonly sent = new Int32Array(this.sendLog, WINDOW * 8, WINDOW).fill(-1);
  lastSent = -1;
  /** Smoothed snapshot → acknowledgement round trip in ms (−1 before the first). */
  ackRtt = -1;
  /** Latest acknowledged tick, or −1. */
  baseline = -1;
  /** The interest rule ran in full for this peer once: later ticks may update it incrementally. */
  interestKnown = false;
  /** The tick being sent ({@link enter} and {@link leave} stamp it). */
  now = 0;
  /** `obj` is in this peer's interest from now (no-op when it already is, or is despawned). */
  readonly enter = (obj: HostObject<any>): void => {
    if (!obj.alive || this.visible(obj.index)) return;
    this.add(obj.index, this.now);
    if (this.left.size > 0) this.left.delete(obj.id);
  };
  /** `obj` left this peer's interest now (no-op when it was not in it; a despawned object's slot may hold a new one). */
  readonly leave = (obj: HostObject<any>): void => {
    if (!obj.alive || !this.visible(obj.index)) return;
    this.depart(obj.index, obj.id, this.now);
  };
  constructor(
    readonly inputs: InputQueue,
    capacity: number,
  ) {
    this.resize(capacity);
  }

  resize(capacity: number): void {
    if (capacity <= this.freshAt.length) return;
    const at = new Int32Array(capacity).fill(-1);
    at.set(this.freshAt);
    this.freshAt = at;
    const words = (capacity + 31) >>> 5;
    const bits = new Int32Array(words * 2);
    bits.set(this.vis);
    bits.set(this.freshBits, words);
    this.vis = bits.subarray(0, words);
    this.freshBits = bits.subarray(words);
    const seen = new Int32Array(words);
    seen.set(this.seen);
    this.seen = seen;
  }

  /** Whether the object at `slot` is in this peer's interest. */
  visible(slot: number): boolean {
    return (this.vis[slot >>> 5]! & (1 << (slot & 31))) !== 0;
  }

  /** Visible slots, in slot order. */
  slots(): number[] {
    const out: number[] = [];
    const vis = this.vis;
    for (let w = 0; w < vis.length; w++) {
      for (let bits = vis[w]!; bits !== 0; bits &= bits - 1) out.push(w * 32 + 31 - Math.clz32(bits & -bits));
    }
    return out;
  }

  /** The object at `slot` enters this peer's interest at tick `t` (it is not in it). */
  add(slot: number, t: number): void {
    this.vis[slot >>> 5]! |= 1 << (slot & 31);
    this.count++;
    if (this.freshCount === this.fresh.length) {
      const f = new Int32Array(this.fresh.length * 2);
      f.set(this.fresh);
      this.fresh = f;
      const ft = new Int32Array(f.length);
      ft.set(this.freshTick);
      this.freshTick = ft;
    }
    this.freshAt[slot] = this.freshCount;
    this.freshTick[this.freshCount] = t;
    this.fresh[this.freshCount++] = slot;
    this.freshBits[slot >>> 5]! |= 1 << (slot & 31);
  }

  /** The object at `slot` leaves this peer's interest (it is in it). */
  remove(slot: number): void {
    this.vis[slot >>> 5]! &= ~(1 << (slot & 31));
    this.count--;
    if (this.freshAt[slot]! >= 0) this.dropFresh(slot);
  }

  /** Object `id` at `slot` left this peer's interest (or was despawned) at tick `t` (it is in it): it goes on {@link left}. */
  depart(slot: number, id: number, t: number): void {
    this.left.set(id, t);
    this.hasLeft = true;
    this.remove(slot);
  }

  /** Take `slot` off the fresh list (its entry tick is acknowledged, or it left). */
  dropFresh(slot: number): void {
    const i = this.freshAt[slot]!;
    const last = this.fresh[--this.freshCount]!;
    this.fresh[i] = last;
    this.freshTick[i] = this.freshTick[this.freshCount]!;
    this.freshAt[last] = i;
    this.freshAt[slot] = -1;
    this.freshBits[slot >>> 5]! &= ~(1 << (slot & 31));
    // After a reset the list held everything visible: give the memory back once it is acknowledged.
    if (this.freshCount === 0 && this.fresh.length > 64) {
      this.fresh = new Int32Array(16);
      this.freshTick = new Int32Array(16);
    }
  }
}
