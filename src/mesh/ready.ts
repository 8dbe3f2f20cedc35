/**
 * `ready()` of a lobby mesh: promises that settle, inside `poll(now)`, when
 * the links the mesh needs are open, or reject at their deadline naming the
 * peers that did not connect. Sans-IO: no timer; the deadline is checked by
 * {@link ReadyTracker.settle} and reported by {@link ReadyTracker.nextDeadline}.
 * @module
 */
import { ErrorCode, RtcmeshError } from '../errors.js';

interface Waiter {
  resolve: () => void;
  reject: (err: RtcmeshError) => void;
  deadline: number;
  timeoutMs: number | undefined;
}

/** The peers a mesh must be linked to before it is usable, and who waits for that. */
export class ReadyTracker {
  private readonly required = new Set<number>();
  private waiters: Waiter[] = [];
  /** Required peers that refused the link: nothing to wait for. */
  private readonly refusers = new Set<number>();
  /** What waiters reject with while some required peer refused (UNAUTHORIZED). */
  private refusal: RtcmeshError | undefined;

  /** Require an open link to each of `ids` (client mode: the host; mesh mode: every member present at join). */
  waitFor(ids: Iterable<number>): void {
    for (const id of ids) this.required.add(id);
  }

  /** A required peer left the lobby: it is no longer waited for. */
  forget(id: number): void {
    this.required.delete(id);
    if (this.refusers.delete(id) && this.refusers.size === 0) this.refusal = undefined;
  }

  /**
   * Required peer `id` refused the link: every waiter, present and future,
   * rejects with `error` at the next {@link settle} instead of at its
   * deadline (a peer not required is ignored). `error` replaces the previous
   * one (it names every refuser).
   */
  refused(id: number, error: RtcmeshError): void {
    if (!this.required.has(id)) return;
    this.refusers.add(id);
    this.refusal = error;
  }

  /** A promise settled by {@link settle}; rejects after `timeoutMs` (from `now`) when given. */
  wait(now: number, timeoutMs: number | undefined): Promise<void> {
    return new Promise((resolve, reject) => {
      this.waiters.push({ resolve, reject, deadline: timeoutMs === undefined ? Infinity : now + timeoutMs, timeoutMs });
    });
  }

  /** Resolve every waiter when every required link is open; reject those whose deadline passed. */
  settle(now: number, isOpen: (id: number) => boolean): void {
    if (this.waiters.length === 0) return;
    const missing = [...this.required].filter((id) => !isOpen(id)).sort((a, b) => a - b);
    const waiters = this.waiters;
    if (missing.length === 0) {
      this.waiters = [];
      for (const w of waiters) w.resolve();
      return;
    }
    if (this.refusal) {
      this.waiters = [];
      for (const w of waiters) w.reject(this.refusal);
      return;
    }
    this.waiters = waiters.filter((w) => now < w.deadline);
    for (const w of waiters) {
      if (now < w.deadline) continue;
      w.reject(
        new RtcmeshError(
          ErrorCode.TIMEOUT,
          `ready(): the mesh was not usable within ${w.timeoutMs} ms: no open link to peer(s) ${missing.join(', ')}; ` +
            'check that they are running and reachable (ICE servers, firewall), or wait longer',
        ),
      );
    }
  }

  /** The soonest waiter deadline (Infinity with none): now when some waiter could settle. */
  nextDeadline(): number {
    if (this.refusal && this.waiters.length > 0) return -Infinity;
    let at = Infinity;
    for (const w of this.waiters) at = Math.min(at, w.deadline);
    return at;
  }

  /** Whether anyone waits. */
  get waiting(): boolean {
    return this.waiters.length > 0;
  }

  /** Reject every waiter (the mesh closed). */
  cancel(reason: string): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w.reject(new RtcmeshError(ErrorCode.CLOSED, `ready(): ${reason}`));
  }
}
