/**
 * The request table: `request()` calls waiting for an answer, correlated by
 * request id, each with a deadline. Sans-IO: it reads no clock and arms no
 * timer; {@link RequestTable.poll} expires what is due at `now` and
 * {@link RequestTable.nextDeadline} says when that will next be.
 * @module
 */
import type { Pollable } from '../util/sans-io.js';

/** A request waiting for its answer. */
export interface PendingRequest {
  readonly id: number;
  /** Peer expected to answer. */
  readonly peer: number;
  /** RPC name (for error messages). */
  readonly name: string;
  /** Time (on the endpoint's clock) after which it times out. */
  readonly deadline: number;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

/** Largest request id before the counter wraps to 1 (fits a msgpack int32). */
const MAX_REQUEST_ID = 0x7fffffff;

/** Pending requests by id; timeouts as deadlines. */
export class RequestTable implements Pollable {
  private readonly pending = new Map<number, PendingRequest>();
  private nextId = 1;
  /** Soonest deadline, or undefined when it must be recomputed. */
  private soonest: number | undefined = Infinity;

  /**
   * @param timedOut the error a request rejects with when its deadline passes.
   */
  constructor(private readonly timedOut: (request: PendingRequest) => unknown) {}

  /** Requests waiting. */
  get size(): number {
    return this.pending.size;
  }

  /** Open a request to `peer` that times out at `deadline`; returns its id and promise. */
  open(peer: number, name: string, deadline: number): { id: number; promise: Promise<unknown> } {
    const id = this.nextId;
    this.nextId = id >= MAX_REQUEST_ID ? 1 : id + 1;
    const promise = new Promise<unknown>((resolve, reject) => {
      this.pending.set(id, { id, peer, name, deadline, resolve, reject });
    });
    if (this.soonest !== undefined && deadline < this.soonest) this.soonest = deadline;
    return { id, promise };
  }

  /** The pending request `id`, if any. */
  get(id: unknown): PendingRequest | undefined {
    return typeof id === 'number' ? this.pending.get(id) : undefined;
  }

  /** Remove request `id` without settling it (its promise is left to the caller). */
  forget(id: number): void {
    if (this.pending.delete(id)) this.soonest = undefined;
  }

  /** Resolve request `id` with `value`. */
  resolve(id: number, value: unknown): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.forget(id);
    p.resolve(value);
  }

  /** Reject request `id` with `error`. */
  reject(id: number, error: unknown): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.forget(id);
    p.reject(error);
  }

  /** Reject every request to `peer` (it left) with `error(request)`. */
  rejectPeer(peer: number, error: (request: PendingRequest) => unknown): void {
    for (const p of [...this.pending.values()]) if (p.peer === peer) this.reject(p.id, error(p));
  }

  /** Reject every request with `error(request)` (the endpoint closed). */
  rejectAll(error: (request: PendingRequest) => unknown): void {
    for (const p of [...this.pending.values()]) this.reject(p.id, error(p));
  }

  /** Time out every request whose deadline is at or before `now`. */
  poll(now: number): void {
    if (this.pending.size === 0 || now < this.nextDeadline()) return;
    for (const p of [...this.pending.values()]) {
      if (now >= p.deadline) this.reject(p.id, this.timedOut(p));
    }
  }

  /** The soonest deadline of a pending request, or `Infinity`. */
  nextDeadline(): number {
    if (this.soonest === undefined) {
      let min = Infinity;
      for (const p of this.pending.values()) if (p.deadline < min) min = p.deadline;
      this.soonest = min;
    }
    return this.soonest;
  }
}
