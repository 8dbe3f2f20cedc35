/**
 * Runs whole sans-IO stacks on the virtual clock by jumping from deadline to
 * deadline: the soonest of the network's next event and every registered
 * {@link Pollable}'s `nextDeadline()`. Network events due at that instant
 * fire first; then every pollable is polled (engine events are input to all
 * of them), or, when only deadlines were due, those whose deadline has come.
 * Pollables are polled in registration order, so a run is reproducible.
 * @module
 */
import { ErrorCode, RtcmeshError } from '../../errors.js';
import type { Pollable } from '../../util/sans-io.js';
import { invalid } from '../../util/validate.js';
import type { VirtualClock } from './scheduler.js';

/**
 * Rounds allowed at one simulated instant. A round polls what is due; an
 * instant needs more than a few only when a pollable keeps asking to be
 * polled again at once without its state moving on.
 */
export const MAX_ROUNDS_PER_INSTANT = 10_000;

/** @internal The deadline-to-deadline loop of a virtual network. */
export class PollRunner {
  /** Registered pollables in registration order (copied on change, so a round iterates a stable list). */
  private list: readonly Pollable[] = [];
  private readonly members = new Set<Pollable>();
  private running = false;

  constructor(private readonly clock: VirtualClock) {}

  /** Add `p` (a second registration of the same object is ignored). */
  register(p: Pollable): void {
    if (p === null || typeof p !== 'object' || typeof p.poll !== 'function' || typeof p.nextDeadline !== 'function') {
      invalid('register() pollable', 'an object with poll(now) and nextDeadline() methods', p);
    }
    if (this.members.has(p)) return;
    this.members.add(p);
    this.list = [...this.list, p];
  }

  /** Remove `p`; true when it was registered. */
  unregister(p: Pollable): boolean {
    if (!this.members.delete(p)) return false;
    this.list = this.list.filter((q) => q !== p);
    return true;
  }

  /** Registered pollables, in registration order. */
  registered(): readonly Pollable[] {
    return this.list;
  }

  /** Run until `ms` of simulated time have passed. */
  runFor(ms: number): void {
    if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) invalid('runFor() ms', 'a finite number ≥ 0', ms);
    this.run(this.clock.now() + ms, false, 'runFor()');
  }

  /**
   * Run until nothing is left to do (no network event queued and every
   * deadline Infinity) or `maxMs` of simulated time have passed. Returns
   * true when it went idle (the clock stays at the last instant something
   * happened), false when `maxMs` ran out.
   */
  runUntilIdle(maxMs = 60_000): boolean {
    if (typeof maxMs !== 'number' || !(maxMs >= 0)) invalid('runUntilIdle() maxMs', 'a number ≥ 0 (Infinity allowed)', maxMs);
    return this.run(this.clock.now() + maxMs, true, 'runUntilIdle()');
  }

  private run(end: number, stopWhenIdle: boolean, what: string): boolean {
    if (this.running) {
      throw new RtcmeshError(ErrorCode.INVALID_STATE, `${what} was called from inside poll() of a registered pollable; call it from outside the simulation`);
    }
    const clock = this.clock;
    // Also checks the clock mode and that no network event is running.
    clock.advanceTo(clock.now(), what);
    this.running = true;
    try {
      let now = clock.now();
      // Input may be waiting from calls made before the run: everyone looks once.
      this.pollAll(now);
      let rounds = 0;
      for (;;) {
        const eventAt = clock.nextEventAt();
        const deadline = this.soonestDeadline();
        const next = eventAt < deadline ? eventAt : deadline;
        if (next === Infinity && stopWhenIdle) return true;
        if (next > end) {
          if (end !== Infinity) clock.advanceTo(end);
          return false;
        }
        if (next <= now) {
          if (++rounds > MAX_ROUNDS_PER_INSTANT) this.stuck(now, what);
        } else rounds = 0;
        clock.advanceTo(next);
        now = clock.now();
        if (eventAt <= next) this.pollAll(now);
        else this.pollDue(now);
      }
    } finally {
      this.running = false;
    }
  }

  private soonestDeadline(): number {
    const list = this.list;
    let min = Infinity;
    for (let i = 0; i < list.length; i++) {
      const d = list[i]!.nextDeadline();
      if (d < min) min = d;
    }
    return min;
  }

  private pollAll(now: number): void {
    const list = this.list;
    for (let i = 0; i < list.length; i++) {
      const p = list[i]!;
      if (this.members.has(p)) p.poll(now);
    }
  }

  private pollDue(now: number): void {
    const list = this.list;
    for (let i = 0; i < list.length; i++) {
      const p = list[i]!;
      if (this.members.has(p) && p.nextDeadline() <= now) p.poll(now);
    }
  }

  private stuck(now: number, what: string): never {
    const culprits = this.list
      .map((p, i) => ({ p, i, d: p.nextDeadline() }))
      .filter((x) => x.d <= now)
      .map((x) => `#${x.i} (${x.p.constructor?.name ?? 'object'}, nextDeadline ${x.d})`);
    throw new RtcmeshError(
      ErrorCode.INVALID_STATE,
      `${what}: ${MAX_ROUNDS_PER_INSTANT} rounds at simulated time ${now} ms without time moving on; ` +
        `registered pollable ${culprits.join(', ') || '(none: the network kept scheduling)'} keeps returning a deadline ≤ now after poll(now). ` +
        'A pollable must return a future deadline (or Infinity) once it has nothing left to do at now',
    );
  }
}
