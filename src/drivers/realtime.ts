/**
 * The realtime driver: runs {@link Pollable} objects on the wall clock. It
 * calls `poll(now)` at each object's `nextDeadline()`, and again soon after
 * `wake()` (call it when input arrived). This is one of the few places that
 * own a timer; protocol objects never do.
 * @module
 */
import type { Pollable } from '../util/sans-io.js';
import { realClock, type Clock } from '../util/clock.js';

/** Longest single wait, so a deadline that moves earlier without `wake()` is still noticed. */
const MAX_WAIT_MS = 1000;

/** Options of {@link RealtimeDriver}. */
export interface RealtimeDriverOptions {
  /** Time source passed to `poll(now)`. Default: `performance.now()`. */
  clock?: Clock;
  /** Keep the process alive while the driver waits. Default false (the timer is unref'd where the platform allows). */
  keepAlive?: boolean;
  /** Called when `poll` throws; the driver keeps running. Default: rethrown asynchronously. */
  onError?: (err: unknown) => void;
}

/** Drives one or more pollables on real time. */
export class RealtimeDriver {
  private readonly targets = new Set<Pollable>();
  private readonly clock: Clock;
  private readonly keepAlive: boolean;
  private readonly onError: (err: unknown) => void;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private timerAt = Infinity;
  private stopped = false;

  constructor(options: RealtimeDriverOptions = {}) {
    this.clock = options.clock ?? realClock;
    this.keepAlive = options.keepAlive ?? false;
    this.onError =
      options.onError ??
      ((err) => {
        queueMicrotask(() => {
          throw err;
        });
      });
  }

  /** Start driving `target` (it is polled at once). */
  add(target: Pollable): void {
    if (this.stopped) return;
    this.targets.add(target);
    this.wake();
  }

  /** Stop driving `target`. */
  remove(target: Pollable): void {
    this.targets.delete(target);
    if (this.targets.size === 0) this.clear();
  }

  /** Input arrived: poll every target on the next macrotask. */
  wake(): void {
    this.arm(this.clock.now());
  }

  /** Poll every target now, then wait for the soonest deadline. */
  run(): void {
    this.clear();
    if (this.stopped) return;
    const now = this.clock.now();
    for (const t of [...this.targets]) {
      try {
        t.poll(now);
      } catch (err) {
        this.onError(err);
      }
    }
    this.schedule();
  }

  /** Stop for good: clears the timer and forgets every target. */
  stop(): void {
    this.stopped = true;
    this.targets.clear();
    this.clear();
  }

  private schedule(): void {
    let next = Infinity;
    for (const t of this.targets) {
      const d = t.nextDeadline();
      if (d < next) next = d;
    }
    if (this.targets.size > 0) this.arm(Math.min(next, this.clock.now() + MAX_WAIT_MS));
  }

  private arm(at: number): void {
    if (this.stopped || this.targets.size === 0) return;
    if (this.timer !== undefined && this.timerAt <= at) return;
    this.clear();
    this.timerAt = at;
    const delay = Math.max(0, Math.ceil(at - this.clock.now()));
    const timer = setTimeout(() => this.run(), delay);
    if (!this.keepAlive && typeof timer === 'object' && timer !== null && 'unref' in timer) timer.unref();
    this.timer = timer;
  }

  private clear(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
  }
}
