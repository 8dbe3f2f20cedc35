/**
 * Replication state the host keeps for one peer: what it sees, what left its
 * interest recently, the ticks sent to it and its acknowledged baseline.
 * @module
 */
import type { HostObject } from './host-object.js';
import type { InputQueue } from './inputs.js';
import { WINDOW } from './wire.js';

/** Replication state of one peer. Visibility is kept in arrays indexed by object slot (see HostObject.index). */
export class PeerState {
  /** Tick the object at each slot entered this peer's interest, or −1 when not visible. */
  entered = new Int32Array(0);
  /** Last tick the interest rule reported the object at each slot. */
  seen = new Int32Array(0);
  /** Where each visible slot sits in {@link list}. */
  at = new Int32Array(0);
  /** Dense list of visible slots. */
  list = new Int32Array(16);
  count = 0;
  /**
   * Visible slots as a bitset (bit `slot & 31` of word `slot >>> 5`): what
   * the per-tick loops test, 1/32 of {@link entered}'s memory.
   */
  vis = new Int32Array(0);
  /**
   * Visible slots that entered after the last baseline the host used for
   * this peer (they go out in full): a dense list, its positions by slot,
   * and a bitset of it. Bounded by {@link count}.
   */
  fresh = new Int32Array(16);
  freshCount = 0;
  freshAt = new Int32Array(0);
  freshBits = new Int32Array(0);
  /** Objects that left this peer's interest (or were despawned): id → tick. */
  readonly left = new Map<number, number>();
  /** Ticks sent, by tick % WINDOW. */
  readonly sent = new Int32Array(WINDOW).fill(-1);
  lastSent = -1;
  /** When each tick was sent (clock ms), by tick % WINDOW. */
  readonly sentAt = new Float64Array(WINDOW);
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
    if (!obj.alive || this.entered[obj.index]! >= 0) return;
    this.add(obj.index, this.now);
    if (this.left.size > 0) this.left.delete(obj.id);
  };
  /** `obj` left this peer's interest now (no-op when it was not in it; a despawned object's slot may hold a new one). */
  readonly leave = (obj: HostObject<any>): void => {
    if (!obj.alive || this.entered[obj.index]! < 0) return;
    this.left.set(obj.id, this.now);
    this.remove(obj.index);
  };
  constructor(
    readonly inputs: InputQueue,
    capacity: number,
  ) {
    this.resize(capacity);
  }

  resize(capacity: number): void {
    if (capacity <= this.entered.length) return;
    const grow = (a: Int32Array, fill: number) => {
      const b = new Int32Array(capacity).fill(fill);
      b.set(a);
      return b;
    };
    this.entered = grow(this.entered, -1);
    this.seen = grow(this.seen, -1);
    this.at = grow(this.at, -1);
    this.freshAt = grow(this.freshAt, -1);
    const words = (b: Int32Array) => {
      const out = new Int32Array((capacity + 31) >>> 5);
      out.set(b);
      return out;
    };
    this.vis = words(this.vis);
    this.freshBits = words(this.freshBits);
  }

  add(slot: number, t: number): void {
    if (this.count === this.list.length) {
      const l = new Int32Array(this.list.length * 2);
      l.set(this.list);
      this.list = l;
    }
    this.entered[slot] = t;
    this.at[slot] = this.count;
    this.list[this.count++] = slot;
    this.vis[slot >>> 5]! |= 1 << (slot & 31);
    if (this.freshCount === this.fresh.length) {
      const f = new Int32Array(this.fresh.length * 2);
      f.set(this.fresh);
      this.fresh = f;
    }
    this.freshAt[slot] = this.freshCount;
    this.fresh[this.freshCount++] = slot;
    this.freshBits[slot >>> 5]! |= 1 << (slot & 31);
  }

  /** Whether the object at `slot` is in this peer's interest. */
  visible(slot: number): boolean {
    return (this.vis[slot >>> 5]! & (1 << (slot & 31))) !== 0;
  }

  /** Take `slot` off the fresh list (its entry tick is acknowledged, or it left). */
  dropFresh(slot: number): void {
    const i = this.freshAt[slot]!;
    const last = this.fresh[--this.freshCount]!;
    this.fresh[i] = last;
    this.freshAt[last] = i;
    this.freshAt[slot] = -1;
    this.freshBits[slot >>> 5]! &= ~(1 << (slot & 31));
  }

  remove(slot: number): void {
    const i = this.at[slot]!;
    const last = this.list[--this.count]!;
    this.list[i] = last;
    this.at[last] = i;
    this.entered[slot] = -1;
    this.at[slot] = -1;
    this.vis[slot >>> 5]! &= ~(1 << (slot & 31));
    if (this.freshAt[slot]! >= 0) this.dropFresh(slot);
  }
}

