/**
 * Event delivery for one connection and its channels. Engines call in from
 * native callbacks; events are queued and delivered on `poll()` (the default,
 * for game loops), or delivered at once when `autoPoll` is on. Never both.
 * A listener that throws never reaches native code: its error is rethrown
 * asynchronously as an ordinary uncaught exception.
 * @module
 */
import { rethrowAsync } from '../transport/engine.js';

/** Queues thunks, or runs them at once in auto-poll mode. */
export class Dispatcher {
  private queue: (() => void)[] = [];

  constructor(readonly autoPoll: boolean) {}

  /** Deliver `fn` now (auto-poll) or on the next drain. */
  post(fn: () => void): void {
    if (this.autoPoll) run(fn);
    else this.queue.push(fn);
  }

  /** Run everything queued, including what listeners post meanwhile. */
  drain(): void {
    if (this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    for (const fn of batch) run(fn);
    if (this.queue.length > 0) this.drain();
  }

  /** Whether events wait for the next drain (never in auto-poll mode). */
  get pending(): boolean {
    return this.queue.length > 0;
  }

  /** Drop everything queued. */
  clear(): void {
    this.queue = [];
  }
}

/** Run `fn`, rethrowing its error outside the current stack. */
export function run(fn: () => void): void {
  try {
    fn();
  } catch (err) {
    rethrowAsync(err);
  }
}
