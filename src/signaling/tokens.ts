/**
 * Resume tokens: what a client presents to rejoin its lobby with the same id
 * after the signaling socket dropped. The server issues one in every `joined`.
 * @module
 */
import { cryptoRandom, randomHex, type RandomSource } from '../util/sans-io.js';
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


/** Tokens kept in memory: valid only within the process that issued them (the memory bus). */
export class MemoryTokenIssuer implements TokenIssuer {
  private readonly tokens = new Map<string, ResumeIdentity>();
  private readonly byPeer = new Map<string, string>();

  /** @param random where tokens are drawn from (default: the platform's CSPRNG; the virtual network passes its seeded source). */
  constructor(private readonly random: RandomSource = cryptoRandom) {}

  issue(identity: ResumeIdentity): string {
    const key = `${identity.lobby}\n${identity.epoch}\n${identity.id}`;
    const existing = this.byPeer.get(key);
    if (existing) return existing;
    const token = randomHex(this.random, 24);
    this.tokens.set(token, { ...identity });
    this.byPeer.set(key, token);
    return token;
  }

  verify(token: string): ResumeIdentity | undefined {
    const identity = this.tokens.get(token);
    return identity && LOBBY_MODES.includes(identity.mode) ? { ...identity } : undefined;
  }
}
