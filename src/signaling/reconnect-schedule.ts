/**
 * The signaling client's reconnect backoff, sans-IO: which attempt comes
 * next and when, as a deadline on the caller's clock. Exponential delays
 * (base × 2^(attempt − 1), capped), each with jitter from 50 to 100 % taken
 * from the injected random source.
 * @module
 */
import type { RandomSource } from '../util/sans-io.js';
import { checkInt, checkOptions } from '../util/validate.js';
import type { ReconnectOptions } from './client-types.js';

const DEFAULT_RECONNECT: ReconnectOptions = { maxAttempts: 10, baseDelayMs: 250, maxDelayMs: 5000 };

/** Validate `reconnect` options (`what` names them in errors) and fill in the defaults. */
export function reconnectPolicy(options: Partial<ReconnectOptions> | undefined, what: string): ReconnectOptions {
  const r = checkOptions<ReconnectOptions>(options, ['maxAttempts', 'baseDelayMs', 'maxDelayMs'], what);
  return {
    maxAttempts: r.maxAttempts === undefined ? DEFAULT_RECONNECT.maxAttempts : checkInt(r.maxAttempts, 0, 1_000_000, `${what}.maxAttempts`),
    baseDelayMs: r.baseDelayMs === undefined ? DEFAULT_RECONNECT.baseDelayMs : checkInt(r.baseDelayMs, 1, 3_600_000, `${what}.baseDelayMs`),
    maxDelayMs: r.maxDelayMs === undefined ? DEFAULT_RECONNECT.maxDelayMs : checkInt(r.maxDelayMs, 1, 3_600_000, `${what}.maxDelayMs`),
  };
}

/** @internal Attempts made since the last success, and when the next one is due. */
export class ReconnectSchedule {
  /** When the next attempt is due (`Infinity` when none is scheduled). */
  at = Infinity;
  private attempt = 0;

  constructor(
    readonly policy: ReconnectOptions,
    private readonly random: RandomSource,
  ) {}

  /** True when the policy allows no attempt at all. */
  get disabled(): boolean {
    return this.policy.maxAttempts === 0;
  }

  /** Schedule the next attempt from `now`: its number, or 0 when the attempts are used up (nothing scheduled then). */
  next(now: number): number {
    const attempt = ++this.attempt;
    if (attempt > this.policy.maxAttempts) return 0;
    const { baseDelayMs, maxDelayMs } = this.policy;
    this.at = now + Math.min(maxDelayMs, baseDelayMs * 2 ** Math.min(attempt - 1, 20)) * (0.5 + this.random.float() * 0.5);
    return attempt;
  }

  /** The attempt is due at `now`: true once (the schedule is cleared). */
  due(now: number): boolean {
    if (now < this.at) return false;
    this.at = Infinity;
    return true;
  }

  /** A link is back: the next failure starts from the first attempt again. */
  succeeded(): void {
    this.attempt = 0;
  }

  /** Forget the attempts and any scheduled one; true when one was scheduled. */
  cancel(): boolean {
    this.attempt = 0;
    if (this.at === Infinity) return false;
    this.at = Infinity;
    return true;
  }
}
