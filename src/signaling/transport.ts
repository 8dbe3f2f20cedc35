/**
 * The seam between signaling transports and signaling back ends.
 *
 * - A **transport** owns connections: the WebSocket server
 *   (`drivers/server.ts`) and the in-memory bus (`memory-bus.ts`). For each
 *   connection it gives the back end a {@link SessionTransport} (send, close,
 *   liveness check) and feeds the returned {@link SignalingSession} the frames
 *   it receives and the close when it ends.
 * - A **back end** ({@link SignalingBackend}) holds the lobby state: lobbies,
 *   ids, the host role, seal state, resume tokens and queues, and relays
 *   between sessions. {@link SignalingCore} is the in-process back end; a back
 *   end over Redis (several server processes sharing lobbies, issue #16)
 *   implements the same interface, relaying to sessions held by other
 *   processes through its own channel.
 *
 * A back end is sans-IO: it reads time from an injected clock, takes its
 * randomness from an injected source, and keeps its timers as deadlines that
 * the transport's driver runs with `poll(now)` at `nextDeadline()` (see
 * {@link Schedulable}).
 * @module
 */
import type { Pollable } from '../util/sans-io.js';
import type { SignalingServerEvents, SignalingStats } from './core-types.js';
import type { EventEmitter } from 'eventemitter3';

/** Transport side of one connection, implemented by the server and the bus. */
export interface SessionTransport {
  /** Send one text frame. */
  send(text: string): void;
  /** Close the connection; the transport later calls {@link SignalingSession.closed}. */
  close(code: number, reason: string): void;
  /**
   * Check that the connection still reaches its client (the WebSocket server
   * sends a ping) and call `onAlive` once it answers; never called when it
   * does not. Without it, the connection counts as alive at once.
   */
  checkAlive?(onAlive: () => void): void;
  remote: string;
  /**
   * The client speaks protocol 4 (it announced it when connecting, see
   * ./batch.ts): it accepts array frames, and array frames it sends are
   * handled message by message. Unset: one message per frame both ways.
   */
  batch?: boolean;
  /**
   * The client's address for per-address limits (the WebSocket server: the
   * remote IP, without the port). Default: `remote`.
   */
  address?: string;
  origin?: string;
  headers?: Record<string, string | string[] | undefined>;
}

/** One connection as the back end sees it. The transport feeds it frames. */
export interface SignalingSession {
  /** A text frame (`isBinary` false) or a binary one arrived; `bytes` is its size. */
  receive(data: string, bytes: number, isBinary: boolean): void;
  /** The transport's connection ended. */
  closed(code: number, reason: string): void;
}

/**
 * A {@link Pollable} that tells its driver when its next deadline changed, so
 * a real-time driver re-arms one timer exactly then (no polling loop, no
 * timer per input).
 */
export interface Schedulable extends Pollable {
  /**
   * `listener(at)` is called with the new `nextDeadline()` at least whenever
   * it moved sooner (it may also be called when it moved later; a driver that
   * polls too early finds nothing due and re-arms). One listener; `undefined` removes it.
   */
  setWakeListener(listener: ((at: number) => void) | undefined): void;
}

/** What a signaling back end provides to transports. */
export interface SignalingBackend extends Schedulable, EventEmitter<SignalingServerEvents> {
  /** Register a new connection. Returns undefined when shutting down (the transport should close it). */
  open(io: SessionTransport): SignalingSession | undefined;
  /** Counters and gauges. */
  getStats(): SignalingStats;
  /** Optional: peers detached (in their resume grace) whose last connection came from `address` (counted against its per-address limit). */
  detachedOf?(address: string): number;
  /** Tell every client (`shutdown`), close every connection, forget every deadline. */
  shutdown(reason: string, reconnect: boolean): void;
  /**
   * Optional: connect to what the back end needs (the Redis back end: Redis)
   * before the transport accepts connections. Rejects when it cannot.
   */
  start?(): Promise<void>;
  /** Optional: after `shutdown`, release what `start` acquired (the Redis back end: its connections). */
  stop?(): Promise<void>;
}
