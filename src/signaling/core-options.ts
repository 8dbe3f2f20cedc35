/**
 * Checks of the lobby logic's options ({@link SignalingCoreOptions}) for the
 * objects that take them directly: `SignalingCore`, `MemorySignalingBus`,
 * `RedisSignalingBackend`. Same ranges as the `SignalingServer` options.
 * @module
 */
import { checkClock, checkBool, checkFunction, checkInt, checkOptions, checkString, invalid } from '../util/validate.js';
import { MAX_HOST_KEY_LENGTH } from './protocol.js';
import type { SignalingCoreOptions } from './core-types.js';
import type { TokenIssuer } from './tokens.js';

const HOUR = 3_600_000;

/** Integer options: [min, max]. */
const INT_RANGES: Record<string, readonly [number, number]> = {
  maxPeersPerLobby: [1, 1_000_000],
  maxLobbies: [1, 10_000_000],
  maxMessageBytes: [256, 16 * 1024 * 1024],
  joinTimeoutMs: [0, HOUR],
  sealGraceMs: [0, HOUR],
  resumeGraceMs: [0, HOUR],
  resumeQueueLimit: [0, 1_000_000],
  resumeQueueBytes: [0, 1 << 30],
  lobbyQueueBytes: [0, 1 << 30],
  totalQueueBytes: [0, 2 ** 40],
  maxLobbiesPerAddress: [0, 10_000_000],
  maxDetachedPerAddress: [0, 10_000_000],
  maxStrikes: [1, 1_000_000],
  maxJoinRefusals: [1, 1_000_000],
  maxWaitForHostMs: [0, HOUR],
};

/** Throw an RtcmeshError for the first option (`what.key`) out of type or range; undefined values are skipped. */
export function checkCoreOptions(options: unknown, what: string): void {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) invalid(what, 'an options object', options);
  for (const [key, value] of Object.entries(options)) {
    if (value === undefined) continue;
    const name = `${what}.${key}`;
    const range = INT_RANGES[key];
    if (range) checkInt(value, range[0], range[1], name);
    else if (key === 'rateLimit') {
      const r = checkOptions<{ messages: number; windowMs: number; bytes?: number }>(value, ['messages', 'windowMs', 'bytes'], name);
      checkInt(r.messages, 1, 1e9, `${name}.messages`);
      checkInt(r.windowMs, 1, HOUR, `${name}.windowMs`);
      if (r.bytes !== undefined) checkInt(r.bytes, 256, 1e12, `${name}.bytes`);
    } else if (key === 'lobbyCreationRate') {
      const r = checkOptions<{ count: number; windowMs: number }>(value, ['count', 'windowMs'], name);
      checkInt(r.count, 1, 1e9, `${name}.count`);
      checkInt(r.windowMs, 1, HOUR, `${name}.windowMs`);
    } else if (key === 'authorize') checkFunction(value, name);
    else if (key === 'hostKey') checkString(value, name, MAX_HOST_KEY_LENGTH);
    else if (key === 'clientServerJoinOnly') checkBool(value, name);
    else if (key === 'random') {
      if (value === null || typeof (value as { int?: unknown }).int !== 'function') invalid(name, 'a RandomSource', value);
    } else if (key === 'clock') checkClock(value, name);
  }
}

/** A {@link TokenIssuer}: an object with issue() and verify(). */
export function checkTokenIssuer(tokens: unknown, what: string): void {
  const t = tokens as TokenIssuer | null;
  if (t === null || typeof t !== 'object' || typeof t.issue !== 'function' || typeof t.verify !== 'function') {
    invalid(what, 'a TokenIssuer (an object with issue() and verify(), e.g. new HmacTokenIssuer(secret))', tokens);
  }
}
