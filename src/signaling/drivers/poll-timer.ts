/**
 * A real-time driver for one {@link Schedulable}: one timer armed at its
 * soonest deadline, re-armed when the target reports that deadline changed. Unlike
 * a polling loop it holds no timer while the target is idle, so it keeps no
 * process alive needlessly, and an input costs no timer unless it scheduled a
 * sooner deadline.
 * @module
 */
import { realClock, type Clock } from '../../util/clock.js';
import type { Schedulable } from '../transport.js';

/** Options of {@link PollTimer}. */
export interface PollTimerOptions {
  /** Time passed to `poll(now)`; must be the target's clock. Default `performance.now()`. */
  clock?: Clock;
  /** Whether an armed timer keeps the process alive (default true, as a plain `setTimeout`). */
  keepAlive?: boolean;
  /** Called when `poll` throws (default: rethrown asynchronously). */
  onError?: (err: unknown) => void;
}

/** Drives one target on the wall clock. */
export class PollTimer {
  private readonly clock: Clock;
  private readonly keepAlive: boolean;
  private readonly onError: (err: unknown) => void;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private timerAt = Infinity;
  private stopped = false;

  constructor(
    private readonly target: Schedulable,
    options: PollTimerOptions = {},
  ) {
    this.clock = options.clock ?? realClock;
    this.keepAlive = options.keepAlive ?? true;
    this.onError =
      options.onError ??
      ((err) =>
        queueMicrotask(() => {
          throw err;
        }));
    target.setWakeListener((at) => this.armAt(at));
    this.armAt(target.nextDeadline());
  }

  /** The target's next deadline is now `at` (`Infinity`: none): arm the timer for it. */
  armAt(at: number): void {
    if (this.stopped || at === this.timerAt) return;
    this.clear();
    if (!(at < Infinity)) return;
    this.timerAt = at;
    const delay = Math.max(0, Math.ceil(at - this.clock.now()));
    const timer = setTimeout(() => this.run(), delay);
    if (!this.keepAlive) (timer as { unref?: () => void }).unref?.();
    this.timer = timer;
  }

  /** Poll the target now and re-arm at its next deadline. */
  run(): void {
    this.clear();
    if (this.stopped) return;
    try {
      this.target.poll(this.clock.now());
    } catch (err) {
      this.onError(err);
    }
    this.armAt(this.target.nextDeadline());
  }

  /** Stop for good: clears the timer and detaches from the target. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.clear();
    this.target.setWakeListener(undefined);
  }

  private clear(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
  }
}
