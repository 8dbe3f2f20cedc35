/**
 * Resume tokens: what a client presents to rejoin its lobby with the same id
 * after the signaling socket dropped. The server issues one in every `joined`.
 * @module
 */
import { LOBBY_MODES, type LobbyMode } from './protocol.js';

/** Who a token says its holder is. */
export interface ResumeIdentity {
  lobby: string;
  /** Random tag of the lobby's incarnation, so a token never resumes into a different lobby of the same name. */
  epoch: string;
  id: number;
  mode: LobbyMode;
}

/** Issues and checks resume tokens. */
export interface TokenIssuer {
  issue(identity: ResumeIdentity): string;
  /** The identity, or undefined when the token is forged, expired or unknown. */
  verify(token: string): ResumeIdentity | undefined;
}

/** Random hex string from the platform's CSPRNG (Node 20+ and browsers). */
export function randomHex(bytes: number): string {
  const buf = new Uint8Array(bytes);
  globalThis.crypto.getRandomValues(buf);
  let out = '';
  for (const b of buf) out += b.toString(16).padStart(2, '0');
  return out;
}

/** Random integer in [min, max] (max - min < 2^32) from the CSPRNG. */
export function randomInt(min: number, max: number): number {
  const span = max - min + 1;
  const buf = new Uint32Array(1);
  const limit = Math.floor(0x100000000 / span) * span;
  for (;;) {
    globalThis.crypto.getRandomValues(buf);
    const v = buf[0]!;
    if (v < limit) return min + (v % span);
  }
}

/** Tokens kept in memory: valid only within the process that issued them (the memory bus). */
export class MemoryTokenIssuer implements TokenIssuer {
  private readonly tokens = new Map<string, ResumeIdentity>();
  private readonly byPeer = new Map<string, string>();

  issue(identity: ResumeIdentity): string {
    const key = `${identity.lobby}\n${identity.epoch}\n${identity.id}`;
    const existing = this.byPeer.get(key);
    if (existing) return existing;
    const token = randomHex(24);
    this.tokens.set(token, { ...identity });
    this.byPeer.set(key, token);
    return token;
  }

  verify(token: string): ResumeIdentity | undefined {
    const identity = this.tokens.get(token);
    return identity && LOBBY_MODES.includes(identity.mode) ? { ...identity } : undefined;
  }
}
