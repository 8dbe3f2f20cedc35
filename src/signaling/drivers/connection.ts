/**
 * One accepted WebSocket as the signaling server keeps it: the lobby logic's
 * transport for that socket ({@link SessionTransport}), its outbox slot, its
 * inbox count and its liveness state, in one object.
 *
 * Memory at thousands of clients: the socket's listeners are functions shared
 * by every connection (they find theirs on the socket, {@link connectionOf}),
 * so a connection costs this object and no closures; the upgrade request is
 * not kept (only its headers, for the `authorize` hook).
 * @module
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { SessionTransport, SignalingSession } from '../transport.js';
import type { OutboxSlot } from './outbox.js';
import { ReadyState, type ServerSocket } from './ws-socket.js';

/** What a connection asks of its server. */
export interface ConnectionHost {
  /** Queue `text` for `c`'s socket (written at the end of the turn). */
  send(c: Connection, text: string): void;
  /** Write what is queued for `c` now (before its close frame). */
  flush(c: Connection): void;
}

/** The connection a server socket carries (set by {@link Connection}'s constructor). */
export function connectionOf(ws: ServerSocket): Connection | undefined {
  return ws.owner as Connection | undefined;
}

/** One accepted WebSocket. */
export class Connection implements SessionTransport, OutboxSlot {
  /** The lobby logic's session (set right after `open`). */
  session!: SignalingSession;
  /** Seen alive since the last ping round (a pong or any frame). */
  alive = true;
  out: string | string[] | undefined = undefined;
  outChars = 0;
  /** Frames received and not handled yet (they wait in the server's inbox). */
  inboxed = 0;
  /** Bytes of the frames waiting in the inbox. */
  inboxedBytes = 0;
  /** Reading paused while too much of its input waits in the inbox. */
  paused = false;
  /** Its close was handled (the lobby logic was told). */
  ended = false;
  /** A ping goes with the output waiting (in the same socket write). */
  pingDue = false;
  /** Re-sends fresh TURN credentials (`ice_servers`) while joined, when the server hands them out. */
  turnTimer: ReturnType<typeof setInterval> | undefined = undefined;
  /** Waiting for this socket to show it is alive (a pong or any frame). */
  private aliveWaiters: (() => void)[] | undefined = undefined;

  constructor(
    readonly ws: ServerSocket,
    readonly remote: string,
    readonly address: string,
    /** The upgrade request's headers (empty unless the server has an `authorize` hook, their only reader). */
    readonly headers: IncomingHttpHeaders,
    readonly origin: string | undefined,
    private readonly host: ConnectionHost,
    /** The client announced protocol 4 when connecting: array frames both ways (see ../batch.ts). */
    readonly batch = false,
  ) {
    ws.owner = this;
  }

  send(text: string): void {
    if (this.ws.readyState === ReadyState.OPEN) this.host.send(this, text);
  }

  close(code: number, reason: string): void {
    this.host.flush(this); // what was sent before the close goes first
    const ws = this.ws;
    if (ws.readyState === ReadyState.OPEN || ws.readyState === ReadyState.CONNECTING) ws.close(code, reason.slice(0, 120));
  }

  checkAlive(onAlive: () => void): void {
    if (this.ws.readyState !== ReadyState.OPEN) return;
    if (this.aliveWaiters) {
      this.aliveWaiters.push(onAlive);
      return;
    }
    this.aliveWaiters = [onAlive];
    this.ping();
  }

  /** Ping the socket: with the output waiting when there is some (one socket write for both), else now. */
  ping(): void {
    if (this.out !== undefined) this.pingDue = true;
    else this.ws.ping();
  }

  /** The socket showed it is alive (a pong or a frame): answer the liveness checks. */
  proveAlive(): void {
    this.alive = true;
    const waiters = this.aliveWaiters;
    if (!waiters) return;
    this.aliveWaiters = undefined;
    for (const w of waiters) w();
  }
}
