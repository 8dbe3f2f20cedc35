/**
 * Stateless resume tokens signed with HMAC-SHA256, so a restarted server with
 * the same secret accepts the tokens its predecessor issued. Node only.
 * @module
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { LOBBY_MODES, LOBBY_NAME_PATTERN, isPeerId, type LobbyMode } from '../protocol.js';
import type { ResumeIdentity, TokenIssuer } from '../tokens.js';
import { checkInt, checkOneOf, checkString, invalid } from '../../util/validate.js';

/** HMAC-signed tokens `payload.signature` (base64url), carrying lobby, id, mode and expiry. */
export class HmacTokenIssuer implements TokenIssuer {
  private readonly secret: Buffer;

  /**
   * @param secret shared by every server instance that should accept the tokens;
   *   random (valid for this process only) when omitted.
   * @param ttlMs how long a token stays valid.
   */
  constructor(
    secret: string | Uint8Array | undefined,
    private readonly ttlMs: number,
  ) {
    if (secret !== undefined && ((typeof secret !== 'string' && !(secret instanceof Uint8Array)) || secret.length === 0)) {
      invalid('HmacTokenIssuer secret', 'a non-empty string or Uint8Array (or undefined for a random one)', secret);
    }
    checkInt(ttlMs, 1, Number.MAX_SAFE_INTEGER, 'HmacTokenIssuer ttlMs');
    this.secret = secret === undefined ? randomBytes(32) : Buffer.from(secret as string);
  }

  issue(identity: ResumeIdentity): string {
    if (identity === null || typeof identity !== 'object') invalid('issue() identity', 'a ResumeIdentity ({ lobby, epoch, id, mode })', identity);
    checkString(identity.lobby, 'issue() identity.lobby');
    checkString(identity.epoch, 'issue() identity.epoch');
    if (!isPeerId(identity.id)) invalid('issue() identity.id', 'a peer id (a positive integer)', identity.id);
    checkOneOf(identity.mode, LOBBY_MODES, 'issue() identity.mode');
    const payload = Buffer.from(
      JSON.stringify({ l: identity.lobby, g: identity.epoch, i: identity.id, m: identity.mode, e: Date.now() + this.ttlMs }),
    ).toString('base64url');
    return `${payload}.${this.sign(payload)}`;
  }

  verify(token: string): ResumeIdentity | undefined {
    checkString(token, 'verify() token');
    const dot = token.indexOf('.');
    if (dot <= 0) return undefined;
    const payload = token.slice(0, dot);
    const given = Buffer.from(token.slice(dot + 1), 'base64url');
    const expected = Buffer.from(this.sign(payload), 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    try {
      const p = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
      if (typeof p.e !== 'number' || p.e < Date.now()) return undefined;
      if (typeof p.l !== 'string' || !LOBBY_NAME_PATTERN.test(p.l)) return undefined;
      if (!isPeerId(p.i) || !LOBBY_MODES.includes(p.m as LobbyMode)) return undefined;
      if (typeof p.g !== 'string' || !/^[0-9a-f]{16}$/.test(p.g)) return undefined;
      return { lobby: p.l, epoch: p.g, id: p.i, mode: p.m as LobbyMode };
    } catch {
      return undefined;
    }
  }

  private sign(payload: string): string {
    return createHmac('sha256', this.secret).update(payload).digest('base64url');
  }
}
