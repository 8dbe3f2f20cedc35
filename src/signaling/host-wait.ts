/**
 * Joiners waiting for a lobby's host (`waitForHostMs`): a join-only join of a
 * lobby that does not exist yet is held here, as a deadline, until the lobby
 * is created (then it is admitted) or the wait ends (`LOBBY_NOT_FOUND`). At
 * most one wait per session, so what it holds is bounded by the connections.
 * @module
 */
import type { Session } from './core-model.js';
import type { Deadline, DeadlineQueue } from './deadlines.js';

/** One held join. */
export interface Waiter {
  session: Session;
  lobby: string;
  /** What the authorize hook returned. */
  data: unknown;
  deadline: Deadline;
}

/** Held joins by lobby name. */
export class HostWaitRoom {
  private readonly byLobby = new Map<string, Set<Waiter>>();
  private readonly bySession = new Map<Session, Waiter>();

  constructor(private readonly timers: DeadlineQueue) {}

  /** Number of held joins. */
  get size(): number {
    return this.bySession.size;
  }

  /** Hold `session`'s join of `lobby`; `deadline` (already armed) ends the wait. */
  hold(session: Session, lobby: string, data: unknown, deadline: Deadline): void {
    const w: Waiter = { session, lobby, data, deadline };
    let set = this.byLobby.get(lobby);
    if (!set) this.byLobby.set(lobby, (set = new Set()));
    set.add(w);
    this.bySession.set(session, w);
    session.joining = true;
  }

  /** Stop holding `session` (it closed, left, was admitted or timed out). Returns its waiter, if it had one. */
  release(session: Session): Waiter | undefined {
    const w = this.bySession.get(session);
    if (!w) return undefined;
    this.bySession.delete(session);
    const set = this.byLobby.get(w.lobby);
    set?.delete(w);
    if (set?.size === 0) this.byLobby.delete(w.lobby);
    this.timers.cancel(w.deadline);
    session.joining = false;
    return w;
  }

  /** Release and return every join held for `lobby`, in arrival order. */
  takeAll(lobby: string): Waiter[] {
    const set = this.byLobby.get(lobby);
    if (!set) return [];
    const all = [...set];
    for (const w of all) this.release(w.session);
    return all;
  }

  /** Forget everything (shutdown; the deadlines are cleared by the owner). */
  clear(): void {
    for (const w of this.bySession.values()) w.session.joining = false;
    this.byLobby.clear();
    this.bySession.clear();
  }
}
