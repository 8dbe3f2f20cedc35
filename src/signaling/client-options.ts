/**
 * Checks of the options every signaling client takes
 * ({@link BaseSignalingClientOptions}), with the defaults filled in.
 * @module
 */
import { realClock, type Clock } from '../util/clock.js';
import { cryptoRandom, type RandomSource } from '../util/sans-io.js';
import { checkClock, checkInt, invalid } from '../util/validate.js';
import type { BaseSignalingClientOptions, ReconnectOptions } from './client-types.js';
import { reconnectPolicy } from './reconnect-schedule.js';

/** @internal {@link BaseSignalingClientOptions} checked, every default filled in. */
export interface ClientSettings {
  joinTimeoutMs: number;
  reconnect: ReconnectOptions;
  outboxLimit: number;
  clock: Clock;
  random: RandomSource;
}

/** Check a client's options (`what` names them in errors); throws `RtcmeshError` (INVALID_ARGUMENT, UNKNOWN_OPTION). */
export function clientSettings(options: BaseSignalingClientOptions, what: string): ClientSettings {
  const joinTimeoutMs = options.joinTimeoutMs === undefined ? 10_000 : checkInt(options.joinTimeoutMs, 1, 3_600_000, `${what}.joinTimeoutMs`);
  const reconnect = reconnectPolicy(options.reconnect, `${what}.reconnect`);
  const outboxLimit = options.outboxLimit === undefined ? 1024 : checkInt(options.outboxLimit, 0, 1_000_000, `${what}.outboxLimit`);
  if (options.clock !== undefined) checkClock(options.clock, `${what}.clock`);
  if (options.random !== undefined && typeof options.random?.float !== 'function') invalid(`${what}.random`, 'a RandomSource', options.random);
  return { joinTimeoutMs, reconnect, outboxLimit, clock: options.clock ?? realClock, random: options.random ?? cryptoRandom };
}
