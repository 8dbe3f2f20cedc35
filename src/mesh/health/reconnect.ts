/**
 * Reconnection policy: how many fresh connections to try, how long each may
 * take, exponential backoff between them, and when to give up.
 * @module
 */
import { checkInt, checkOptions, invalid } from '../../util/validate.js';

/** Options of automatic reconnection (lobby meshes). */
export interface MeshReconnectOptions {
  /** Most attempts before giving up. Default 10. */
  maxAttempts?: number;
  /** How long one attempt may take to open every channel (ms). Default 5000. */
  attemptTimeoutMs?: number;
  /** Wait before the second attempt (ms); doubles each time. Default 250. */
  backoffMs?: number;
  /** Longest wait between attempts (ms). Default 2000. */
  maxBackoffMs?: number;
  /** Give up this long after the link was lost, whatever the attempts (ms). Default 60000. */
  giveUpMs?: number;
}

/** Resolved reconnection policy. */
export type ReconnectPolicy = Required<MeshReconnectOptions>;

export const DEFAULT_RECONNECT: ReconnectPolicy = { maxAttempts: 10, attemptTimeoutMs: 5000, backoffMs: 250, maxBackoffMs: 2000, giveUpMs: 60_000 };

/** Validate reconnect options (`false` turns reconnection off). */
export function resolveReconnect(value: MeshReconnectOptions | boolean | undefined): ReconnectPolicy | undefined {
  if (value === false) return undefined;
  if (value === undefined || value === true) return { ...DEFAULT_RECONNECT };
  if (typeof value !== 'object' || value === null) invalid('reconnect', 'false, true or an object of reconnect options', value);
  const o = checkOptions<MeshReconnectOptions>(value, ['maxAttempts', 'attemptTimeoutMs', 'backoffMs', 'maxBackoffMs', 'giveUpMs'], 'reconnect options');
  const d = DEFAULT_RECONNECT;
  return {
    maxAttempts: o.maxAttempts === undefined ? d.maxAttempts : checkInt(o.maxAttempts, 1, 1000, 'reconnect.maxAttempts'),
    attemptTimeoutMs: o.attemptTimeoutMs === undefined ? d.attemptTimeoutMs : checkInt(o.attemptTimeoutMs, 1, 3_600_000, 'reconnect.attemptTimeoutMs'),
    backoffMs: o.backoffMs === undefined ? d.backoffMs : checkInt(o.backoffMs, 0, 3_600_000, 'reconnect.backoffMs'),
    maxBackoffMs: o.maxBackoffMs === undefined ? d.maxBackoffMs : checkInt(o.maxBackoffMs, 0, 3_600_000, 'reconnect.maxBackoffMs'),
    giveUpMs: o.giveUpMs === undefined ? d.giveUpMs : checkInt(o.giveUpMs, 1, 86_400_000, 'reconnect.giveUpMs'),
  };
}

/** Wait after failed attempt number `attempt` (1-based). */
export function backoffAfter(policy: ReconnectPolicy, attempt: number): number {
  return Math.min(policy.maxBackoffMs, policy.backoffMs * 2 ** Math.min(30, attempt - 1));
}
