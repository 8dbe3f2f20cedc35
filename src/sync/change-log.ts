/**
 * What changed on the host, by object slot, and the per-peer entry list
 * built from it: a peer's snapshot walks only the objects changed since its
 * baseline (newest first, stopping at the baseline), not everything it sees.
 * @module
 */
import type { PeerState } from './peer-state.js';
import { ENTRY_DESPAWN, ENTRY_FULL, ENTRY_UPDATE, WINDOW } from './wire.js';

/** Entry keys carry the object's slot in their low bits while the slot table is at most this big. */
export const SLOT_SPAN = 2 ** 19;

/** The host's change log (typed arrays by slot, so building a peer's entries touches no objects). */
export class ChangeLog {
  /** By slot: tick the object last changed (or spawned). */
  lastChangedAt: Int32Array;
  /** By slot: the object's id. */
  idAt: Float64Array;
  /**
   * Slots of the objects changed in the last {@link WINDOW} ticks, newest
   * change first, each once, with the tick of that change.
   */
  private recent: Int32Array;
  private recentAt: Int32Array;
  private recentCount = 0;
  private spare: Int32Array;
  private spareAt: Int32Array;

  constructor(private capacity: number) {
    this.lastChangedAt = new Int32Array(capacity);
    this.idAt = new Float64Array(capacity);
    this.recent = new Int32Array(capacity);
    this.recentAt = new Int32Array(capacity);
    this.spare = new Int32Array(capacity);
    this.spareAt = new Int32Array(capacity);
  }

  /** Room for `capacity` slots (only grows). */
  resize(capacity: number): void {
    if (capacity <= this.capacity) return;
    this.capacity = capacity;
    const grown = <A extends Int32Array | Float64Array>(a: A, make: (n: number) => A): A => {
      const b = make(capacity);
      b.set(a);
      return b;
    };
    const ints = (n: number) => new Int32Array(n);
    this.lastChangedAt = grown(this.lastChangedAt, ints);
    this.idAt = grown(this.idAt, (n) => new Float64Array(n));
    this.recent = grown(this.recent, ints);
    this.recentAt = grown(this.recentAt, ints);
    this.spare = new Int32Array(capacity);
    this.spareAt = new Int32Array(capacity);
  }

  /**
   * Tick `t` is being sent: its changed slots (`slots[0…n)`, −1 for despawned
   * objects) go first in the recent list; older entries stay unless changed
   * again (or their slot holds a newer object) or older than the window.
   */
  update(slots: Int32Array, n: number, t: number): void {
    const out = this.spare;
    const outAt = this.spareAt;
    const lastChanged = this.lastChangedAt;
    let k = 0;
    for (let i = 0; i < n; i++) {
      const slot = slots[i]!;
      if (slot < 0) continue;
      out[k] = slot;
      outAt[k++] = t;
    }
    // In slot order (about id order, slots being reused only after despawns): the entries a peer takes from it come nearly sorted.
    if (k > 1) out.subarray(0, k).sort();
    const old = this.recent;
    const oldAt = this.recentAt;
    const oldest = t - WINDOW;
    for (let i = 0; i < this.recentCount; i++) {
      const at = oldAt[i]!;
      if (at <= oldest) break; // (newest first: the rest are older)
      const slot = old[i]!;
      if (lastChanged[slot]! !== at) continue; // changed again (listed above), or its slot holds a newer object
      out[k] = slot;
      outAt[k++] = at;
    }
    this.recent = out;
    this.recentAt = outAt;
    this.spare = old;
    this.spareAt = oldAt;
    this.recentCount = k;
  }

  /**
   * Write peer `p`'s entries against baseline `b` (−1: a reset) at tick `t`
   * into `keys` as sortable numbers, `(id * 4 + kind) * mul + slot` (the
   * slot only when `mul` > 1), and return how many. `keys` must hold
   * `p.count + p.left.size`. Drops what the baseline makes unneeded (fresh
   * entries and departures it acknowledges, departures older than the window).
   */
  entryKeys(p: PeerState, b: number, t: number, mul: number, keys: Float64Array): number {
    let n = 0;
    const ids = this.idAt;
    const withSlot = mul > 1 ? 1 : 0;
    if (b < 0) {
      // A reset: everything visible, in full.
      const vis = p.vis;
      for (let w = 0; w < vis.length; w++) {
        for (let bits = vis[w]!; bits !== 0; bits &= bits - 1) {
          const slot = w * 32 + 31 - Math.clz32(bits & -bits);
          keys[n++] = (ids[slot]! * 4 + ENTRY_FULL) * mul + slot * withSlot;
        }
      }
    } else {
      // In full: what entered after the baseline (the rest of the fresh list is acknowledged: off it).
      const fresh = p.fresh;
      const freshTick = p.freshTick;
      for (let i = p.freshCount - 1; i >= 0; i--) {
        const slot = fresh[i]!;
        if (freshTick[i]! > b) keys[n++] = (ids[slot]! * 4 + ENTRY_FULL) * mul + slot * withSlot;
        else p.dropFresh(slot);
      }
      // Updates: objects changed after the baseline that the peer sees, and not in full.
      const recent = this.recent;
      const recentAt = this.recentAt;
      const m = this.recentCount;
      const vis = p.vis;
      const fb = p.freshBits;
      for (let i = 0; i < m && recentAt[i]! > b; i++) {
        const slot = recent[i]!;
        const w = slot >>> 5;
        if (((vis[w]! & ~fb[w]!) >>> (slot & 31)) & 1) keys[n++] = (ids[slot]! * 4 + ENTRY_UPDATE) * mul + slot * withSlot;
      }
    }
    if (p.hasLeft) {
      const oldest = t - WINDOW;
      for (const [id, leftAt] of p.left) {
        if (leftAt <= oldest || (b >= 0 && leftAt <= b)) p.left.delete(id);
        else if (b >= 0) keys[n++] = (id * 4 + ENTRY_DESPAWN) * mul;
      }
      p.hasLeft = p.left.size > 0;
    }
    return n;
  }
}

/** The first `n` keys, sorted ascending (insertion sort for the usual few; the native sort beyond). */
export function sortKeys(keys: Float64Array, n: number): Float64Array {
  const out = keys.subarray(0, n);
  if (n > 64) return out.sort();
  for (let i = 1; i < n; i++) {
    const k = keys[i]!;
    let j = i - 1;
    while (j >= 0 && keys[j]! > k) {
      keys[j + 1] = keys[j]!;
      j--;
    }
    keys[j + 1] = k;
  }
  return out;
}
