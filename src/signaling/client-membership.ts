/**
 * What a signaling client knows of the lobby it is in: the lobby, its mode
 * and this peer's id, what it needs to resume (the token and the join's
 * `auth`), and the peers it has reported, so that each peer is reported
 * joined once and left once.
 * @module
 */
import type { ClientMessage, LobbyMode } from './protocol.js';

/** @internal A client's membership of one lobby. */
export class Membership {
  /** Peers reported with `peer_joined` and not yet with `peer_left`. */
  readonly known: Set<number>;

  constructor(
    readonly lobby: string,
    readonly id: number,
    readonly mode: LobbyMode,
    /** The resume token (renewed by each resume). */
    public token: string,
    /** The join's `auth`, sent again when resuming. */
    readonly auth: unknown,
    peers: number[],
  ) {
    this.known = new Set(peers);
  }

  /** Note that `id` joined: true when it was not known yet (report it). */
  admit(id: number): boolean {
    if (this.known.has(id)) return false;
    this.known.add(id);
    return true;
  }

  /** Note that `id` left: true when it was known (report it). */
  forget(id: number): boolean {
    return this.known.delete(id);
  }

  /**
   * Bring the known peers in line with a list from the server and return the
   * changes to report: `fresh`, listed ids that are new (this peer's own id
   * aside), and, when the list is `complete` (the server knows every member),
   * `gone`, known ids missing from it. Both are applied already.
   */
  reconcile(peers: number[], complete: boolean): { gone: number[]; fresh: number[] } {
    const listed = new Set(peers);
    const gone = complete ? [...this.known].filter((id) => !listed.has(id)) : [];
    const fresh = peers.filter((id) => !this.known.has(id) && id !== this.id);
    for (const id of gone) this.known.delete(id);
    for (const id of fresh) this.known.add(id);
    return { gone, fresh };
  }

  /** The `join` message that resumes this membership. */
  resumeMessage(): Extract<ClientMessage, { type: 'join' }> {
    return { type: 'join', resume: this.token, ...(this.auth !== undefined ? { auth: this.auth } : {}) };
  }
}
