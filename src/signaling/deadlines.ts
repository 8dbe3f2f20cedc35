/**
 * One deadline structure for a sans-IO state machine: an indexed binary
 * min-heap of timers ordered by time, then by scheduling order (so equal
 * deadlines fire in a reproducible order). Schedule, cancel and fire are
 * O(log n); the soonest deadline is O(1). Nothing here reads a clock or arms a
 * real timer: the owner calls {@link DeadlineQueue.runDue} from its `poll(now)`.
 * @module
 */

/** A scheduled deadline; pass it to {@link DeadlineQueue.cancel}. */
export interface Deadline {
  /** When it is due (the owner's clock). */
  readonly at: number;
  /** @internal Scheduling order, to break ties. */
  readonly seq: number;
  /** @internal Position in the heap; -1 once fired or cancelled. */
  index: number;
  /** @internal What runs when it is due. */
  readonly fire: () => void;
}

/** Timers of one state machine. */
export class DeadlineQueue {
  private readonly heap: Deadline[] = [];
  private seq = 0;

  /** Number of pending deadlines. */
  get size(): number {
    return this.heap.length;
  }

  /** Run `fire` at `at` (on the next `runDue(now)` with `now >= at`). */
  schedule(at: number, fire: () => void): Deadline {
    const d: Deadline = { at, seq: this.seq++, index: this.heap.length, fire };
    this.heap.push(d);
    this.up(d.index);
    return d;
  }

  /** Forget `d` (no-op when undefined, already fired or cancelled). Returns undefined, to clear the caller's field. */
  cancel(d: Deadline | undefined): undefined {
    if (!d || d.index < 0) return undefined;
    const i = d.index;
    const last = this.heap.pop()!;
    d.index = -1;
    if (last !== d) {
      this.heap[i] = last;
      last.index = i;
      this.down(i);
      this.up(last.index);
    }
    return undefined;
  }

  /** The soonest deadline, `Infinity` when none. */
  next(): number {
    return this.heap.length > 0 ? this.heap[0]!.at : Infinity;
  }

  /** Fire every deadline due at `now`, soonest first (including ones scheduled meanwhile that are due). */
  runDue(now: number): void {
    while (this.heap.length > 0 && this.heap[0]!.at <= now) {
      const d = this.heap[0]!;
      this.cancel(d);
      d.fire();
    }
  }

  /** Forget every deadline. */
  clear(): void {
    for (const d of this.heap) d.index = -1;
    this.heap.length = 0;
  }

  private less(a: Deadline, b: Deadline): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  private up(i: number): void {
    const h = this.heap;
    const d = h[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = h[p]!;
      if (!this.less(d, parent)) break;
      h[i] = parent;
      parent.index = i;
      i = p;
    }
    h[i] = d;
    d.index = i;
  }

  private down(i: number): void {
    const h = this.heap;
    const n = h.length;
    const d = h[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && this.less(h[r]!, h[l]!) ? r : l;
      const child = h[c]!;
      if (!this.less(child, d)) break;
      h[i] = child;
      child.index = i;
      i = c;
    }
    h[i] = d;
    d.index = i;
  }
}
