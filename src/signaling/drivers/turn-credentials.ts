/**
 * TURN credentials handed out by the signaling server (issue #14): coturn's
 * time-limited credentials for `use-auth-secret` / `static-auth-secret`
 * (the "TURN REST API" scheme): username = `<expiry unix seconds>[:<user>]`,
 * credential = base64(HMAC-SHA1(secret, username)). Node only (node:crypto).
 * @module
 */
import { createHmac } from 'node:crypto';
import { checkInt, checkOptions, checkString, invalid } from '../../util/validate.js';
import type { SignalingIceServer } from '../client-types.js';

/** Options of the server's `turn` setting. */
export interface TurnOptions {
  /** The secret coturn is started with (`--use-auth-secret --static-auth-secret=<secret>`). */
  secret: string;
  /** TURN URLs handed out, e.g. `['turn:turn.example.com:3478?transport=udp']`. */
  urls: string[];
  /** Lifetime of each credential in seconds (default 86400). The server re-sends fresh ones at half of it. */
  ttlSeconds?: number;
}

/** One time-limited TURN credential. */
export interface TurnCredential {
  username: string;
  credential: string;
  /** Expiry, unix seconds. */
  expiresAt: number;
}

/**
 * Make a coturn-compatible time-limited credential.
 * @param secret the shared secret (coturn `static-auth-secret`).
 * @param user optional user part (`<expiry>:<user>`).
 * @param ttlSeconds lifetime from `nowMs`; negative makes an already expired credential (for tests).
 * @param nowMs wall-clock time in ms (default `Date.now()`).
 */
export function turnCredential(secret: string, user: string | undefined, ttlSeconds: number, nowMs: number = Date.now()): TurnCredential {
  checkString(secret, 'turnCredential() secret', 4096);
  if (secret.length === 0) invalid('turnCredential() secret', 'a non-empty string', secret);
  if (user !== undefined) checkString(user, 'turnCredential() user', 512);
  if (typeof ttlSeconds !== 'number' || !Number.isFinite(ttlSeconds)) invalid('turnCredential() ttlSeconds', 'a finite number of seconds', ttlSeconds);
  if (typeof nowMs !== 'number' || !Number.isFinite(nowMs)) invalid('turnCredential() nowMs', 'a finite time in ms (or omitted for Date.now())', nowMs);
  const expiresAt = Math.floor(nowMs / 1000) + Math.trunc(ttlSeconds);
  const username = user ? `${expiresAt}:${user}` : String(expiresAt);
  const credential = createHmac('sha1', secret).update(username).digest('base64');
  return { username, credential, expiresAt };
}

/** Validated `turn` option. */
export interface ResolvedTurnOptions {
  secret: string;
  urls: string[];
  ttlSeconds: number;
}

/** Check the server's `turn` option (throws RtcmeshError naming the bad field). */
export function resolveTurnOptions(value: TurnOptions): ResolvedTurnOptions {
  const o = checkOptions<TurnOptions>(value, ['secret', 'urls', 'ttlSeconds'], 'SignalingServer options.turn');
  const secret = checkString(o.secret, 'SignalingServer options.turn.secret', 4096);
  if (secret.length === 0) invalid('SignalingServer options.turn.secret', 'a non-empty string (coturn static-auth-secret)', '(empty)');
  const urls = o.urls;
  if (!Array.isArray(urls) || urls.length === 0) invalid('SignalingServer options.turn.urls', 'a non-empty array of turn:/turns: URLs', urls);
  urls.forEach((u, i) => {
    checkString(u, `SignalingServer options.turn.urls[${i}]`, 1024);
    if (!/^(turns?|stuns?):/.test(u)) invalid(`SignalingServer options.turn.urls[${i}]`, 'a turn:, turns:, stun: or stuns: URL', u);
  });
  const ttlSeconds = o.ttlSeconds === undefined ? 86400 : checkInt(o.ttlSeconds, 2, 365 * 86400, 'SignalingServer options.turn.ttlSeconds');
  return { secret, urls: [...urls], ttlSeconds };
}

/** Issues the `iceServers` of one joined peer (user part = `<lobby>:<peer id>`). */
export class TurnIssuer {
  constructor(private readonly o: ResolvedTurnOptions) {}

  /** Milliseconds between two re-sent credentials on a live socket (half the lifetime). */
  get refreshMs(): number {
    return Math.max(1000, Math.floor((this.o.ttlSeconds * 1000) / 2));
  }

  /** Fresh `iceServers` for peer `id` of `lobby`. */
  iceServersFor(lobby: string, id: number, nowMs: number = Date.now()): SignalingIceServer[] {
    const c = turnCredential(this.o.secret, `${lobby}:${id}`, this.o.ttlSeconds, nowMs);
    return [{ urls: [...this.o.urls], username: c.username, credential: c.credential }];
  }
}
