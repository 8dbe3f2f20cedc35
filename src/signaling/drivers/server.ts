/**
 * The lobby signaling server on WebSocket. Node.js only.
 *
 * Hardened for production: every frame validated, per-socket rate limit and
 * size limit, strikes for abuse, origin allow-list, join authorisation hook,
 * join timeout, ping/pong idle timeout, resume tokens that survive a restart
 * (with a shared secret), and a graceful shutdown that tells clients.
 * @module
 */
import { createServer, STATUS_CODES, type IncomingMessage, type Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { EventEmitter } from 'eventemitter3';
import { ErrorCode, RtcmeshError } from '../../errors.js';
import { checkBool, checkInt, checkOptions, checkString, invalid } from '../../util/validate.js';
import {
  DEFAULT_CORE_OPTIONS,
  SignalingCore,
  type SignalingServerEvents,
  type SignalingStats,
} from '../core.js';
import { CloseCode } from '../protocol.js';
import { announcedVersion, BATCH_PROTOCOL_VERSION } from '../batch.js';
import { AddressGate } from './address-gate.js';
import { resolveServerOptions, type SignalingServerOptions } from './server-options.js';
import { HmacTokenIssuer } from './hmac-tokens.js';
import { TurnIssuer } from './turn-credentials.js';
import { Outbox } from './outbox.js';
import { Connection, connectionOf, type ConnectionHost } from './connection.js';
import { Inbox } from './inbox.js';
import { checkHandshake, completeHandshake } from './ws-handshake.js';
import { ReadyState, ServerSocket, type ServerSocketEvents } from './ws-socket.js';
import { PollTimer } from './poll-timer.js';
import type { SignalingBackend } from '../transport.js';
import { RedisSignalingBackend } from '../redis/backend.js';

export type { SignalingServerOptions } from './server-options.js';

/** Options of {@link SignalingServer.listen}. */
export interface ListenOptions {
  /** TCP port (default 9080; 0 = any free port). */
  port?: number;
  /** Address to bind (default `0.0.0.0`). */
  host?: string;
}

/** Where the server listens. */
export interface ListenAddress {
  port: number;
  host: string;
  /** URL clients can use, e.g. `ws://127.0.0.1:9080` (with the `path` option's path when set). */
  url: string;
}

/** Options of {@link SignalingServer.close}. */
export interface ServerCloseOptions {
  /** Told to clients (default `"server shutting down"`). */
  reason?: string;
  /** Whether clients should try to reconnect and resume (a restart; default true). */
  reconnect?: boolean;
}

/** Server events: the lobby events plus `listening` and `closed`. */
export interface SignalingServerAllEvents extends SignalingServerEvents {
  listening: (address: ListenAddress) => void;
  /** An upgrade was refused before it became a WebSocket. */
  rejected: (remote: string, status: number, reason: string) => void;
  closed: () => void;
}

const CORE_EVENTS: (keyof SignalingServerEvents)[] = [
  'connection',
  'disconnection',
  'lobby_created',
  'lobby_closed',
  'peer_joined',
  'peer_detached',
  'peer_left',
  'sealed',
  'client_error',
  'abuse_closed',
];

/** Writing time per event-loop turn (ms): the rest of the due sockets are written next turn. */
const WRITE_SLICE_MS = 8;

/**
 * Sockets with output waiting past which the server writes between two batches
 * of received frames rather than at the end of the turn: what it holds stays
 * bounded while frames to one socket still coalesce within a turn.
 */
const FLUSH_SOCKETS = 512;

/** Ticks of one ping round (each pings its share of the sockets). */
const PING_STEPS = 10;

/** The headers of connections when no `authorize` hook would read them. */
const NO_HEADERS: IncomingMessage['headers'] = Object.freeze({});

/** Listeners shared by every accepted socket (`this` is the socket; its connection is found on it). */
function onSocketError(this: Duplex): void {
  this.destroy();
}

/**
 * Lobby signaling server.
 * @example
 * const server = new SignalingServer({ maxPeersPerLobby: 16 });
 * const { url } = await server.listen({ port: 9080 });
 * // … later
 * await server.close();
 */
export class SignalingServer extends EventEmitter<SignalingServerAllEvents> {
  private readonly core: SignalingBackend;
  /** The Redis back end when the server was created with `redis` (health events, Redis stats). */
  readonly redis: RedisSignalingBackend | undefined;
  /** Runs the core's deadlines (join, grace, seal, partial-lobby timers) on the wall clock. */
  private readonly coreTimer: PollTimer;
  /** Bound of a received message (bytes, all its fragments): past it the socket is closed with 1009. */
  private readonly maxPayload: number;
  private readonly conns = new Set<Connection>();
  private http: Server | undefined;
  private pingTimer: ReturnType<typeof setInterval> | undefined;
  private state: 'new' | 'listening' | 'closing' | 'closed' = 'new';
  private closing: Promise<void> | undefined;
  private readonly maxConnections: number;
  private readonly maxPerAddress: number;
  /** Per-address admission: sockets, pending upgrades, detached peers, connection rate, upgrade timeout. */
  private readonly gate: AddressGate;
  /** Frames to each socket, written once per event-loop turn (or inbox slice). */
  private readonly outbox: Outbox;
  /** Frames received, handled in bounded slices per event-loop turn. */
  private readonly inbox: Inbox;
  /** What connections ask of the server. */
  private readonly host: ConnectionHost;
  /** What every accepted socket reports (one object for all). */
  private readonly socketEvents: ServerSocketEvents;
  private readonly allowedOrigins: string[] | undefined;
  private readonly path: string | undefined;
  private readonly pingIntervalMs: number;
  private readonly maxBufferedBytes: number;
  private readonly shutdownTimeoutMs: number;
  /** Whether connections keep their upgrade request's headers (for the `authorize` hook). */
  private readonly keepHeaders: boolean;
  /** Issues TURN credentials with every `joined` (option `turn`). */
  private readonly turn: TurnIssuer | undefined;
  private upgradesRejected = 0;
  /** Sockets closed at the WebSocket level: frame over the hard limit, WebSocket protocol error, slow consumer. */
  private policyClosed = 0;

  constructor(options?: SignalingServerOptions) {
    super();
    const o = resolveServerOptions(options);
    this.maxConnections = o.maxConnections;
    this.allowedOrigins = o.allowedOrigins;
    this.path = o.path;
    this.pingIntervalMs = o.pingIntervalMs;
    this.maxBufferedBytes = o.maxBufferedBytes;
    this.shutdownTimeoutMs = o.shutdownTimeoutMs;
    this.turn = o.turn ? new TurnIssuer(o.turn) : undefined;
    this.keepHeaders = o.core.authorize !== undefined;
    this.maxPerAddress = o.gate.maxPerAddress;
    const tokens = new HmacTokenIssuer(o.resumeSecret, o.resumeTokenTtlMs);
    if (o.redis !== undefined) {
      this.redis = new RedisSignalingBackend(o.core, tokens, o.redis);
      this.core = this.redis;
    } else {
      this.redis = undefined;
      this.core = new SignalingCore(o.core, tokens);
    }
    this.coreTimer = new PollTimer(this.core);
    const core = this.core;
    this.gate = new AddressGate({ ...o.gate, detachedOf: (address) => core.detachedOf?.(address) ?? 0 });
    this.outbox = new Outbox((slot, chars) => {
      const c = slot as Connection;
      if (c.ws.bufferedAmount + chars <= this.maxBufferedBytes) return true;
      this.policyClosed++;
      this.emit('abuse_closed', c.remote, `send buffer over ${this.maxBufferedBytes} bytes (slow consumer)`);
      c.ws.terminate();
      return false;
    }, () => this.inbox.size > 0, WRITE_SLICE_MS);
    this.host = {
      send: (c, text) => this.outbox.send(c, this.turn ? this.withTurn(c, text) : text),
      flush: (c) => this.outbox.write(c),
    };
    this.inbox = new Inbox({
      frame: (c, data, isBinary) => c.session.receive(isBinary ? '' : data.toString('utf8'), data.length, isBinary),
      closed: (c, code, reason) => this.connectionClosed(c, code, reason),
      // What the slice produced is written now (holding it back for more coalescing while saturated
      // was tried: a closed loop of clients then waits on the hold, and the relay rate halved).
      // Between batches only once many sockets wait (frames to one socket keep coalescing), at the end of the turn always.
      afterSlice: (turnEnd) => {
        if (turnEnd || this.outbox.pending >= FLUSH_SOCKETS) this.outbox.flush(WRITE_SLICE_MS);
      },
    });
    const server = this;
    this.socketEvents = {
      message(ws, data, isBinary, transient) {
        const c = connectionOf(ws);
        if (!c) return;
        c.proveAlive();
        server.inbox.push(c, data, isBinary, transient);
      },
      pong(ws) {
        connectionOf(ws)?.proveAlive();
      },
      error(ws, closeCode, _message, errCode) {
        // A protocol error: the socket closes itself with closeCode (1009 for a message over maxPayload, 1007 bad UTF-8, 1002 otherwise).
        server.policyClosed++;
        server.emit('abuse_closed', connectionOf(ws)?.remote ?? '?', closeCode === CloseCode.TOO_BIG ? 'frame over the hard size limit' : `WebSocket protocol error (${errCode})`);
      },
      close(ws, code, reason) {
        const c = connectionOf(ws);
        if (c) server.inbox.close(c, code, reason);
      },
    };
    for (const name of CORE_EVENTS) {
      this.core.on(name, (...args: unknown[]) => (this.emit as (e: string, ...a: unknown[]) => boolean)(name, ...args));
    }
    this.maxPayload = (o.core.maxMessageBytes ?? DEFAULT_CORE_OPTIONS.maxMessageBytes) * 2;
  }

  /** Start listening on a new HTTP server. Resolves with the address. */
  async listen(options?: ListenOptions): Promise<ListenAddress> {
    const o = checkOptions<ListenOptions>(options, ['port', 'host'], 'listen options');
    const port = o.port === undefined ? 9080 : checkInt(o.port, 0, 65535, 'listen options.port');
    const host = o.host === undefined ? '0.0.0.0' : checkString(o.host, 'listen options.host', 255);
    if (this.state !== 'new') throw new RtcmeshError(ErrorCode.INVALID_STATE, `listen() was already called (server is ${this.state}); create a new SignalingServer`);
    this.state = 'listening';
    if (this.core.start) {
      try {
        await this.core.start();
      } catch (err) {
        this.state = 'closed';
        this.coreTimer.stop();
        await this.core.stop?.();
        const code = err instanceof RtcmeshError ? err.code : ErrorCode.INVALID_STATE; // the back end's own code (UNREACHABLE for Redis) is kept
        throw new RtcmeshError(code, `cannot start the signaling back end: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      }
    }
    const http = createServer((req, res) => {
      if (req.url === '/healthz') {
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
        return;
      }
      res.writeHead(426, { 'content-type': 'text/plain', upgrade: 'websocket' }).end('rtcmesh signaling server: connect with a WebSocket\n');
    });
    // Node's own header timeout backs up the gate's upgrade timeout (checked every second, not every 30).
    http.headersTimeout = Math.max(1000, this.gate.upgradeTimeoutMs || 60_000);
    http.requestTimeout = http.headersTimeout;
    this.http = http;
    http.on('connection', (socket: Socket) => this.gate.connection(socket));
    http.on('upgrade', (req, socket, head) => this.handleUpgrade(req, socket, head));
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => {
        this.state = 'closed';
        this.http = undefined;
        reject(new RtcmeshError(ErrorCode.INVALID_STATE, `cannot listen on ${host}:${port}: ${err.message}`, { cause: err }));
      };
      http.once('error', onError);
      http.listen(port, host, () => {
        http.off('error', onError);
        resolve();
      });
    });
    this.startPing();
    const addr = http.address();
    const boundPort = typeof addr === 'object' && addr ? addr.port : port;
    const urlHost = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '[::1]' : host.includes(':') ? `[${host}]` : host;
    const address: ListenAddress = { port: boundPort, host, url: `ws://${urlHost}:${boundPort}${this.path ?? ''}` };
    this.emit('listening', address);
    return address;
  }

  /**
   * Handle an HTTP upgrade from your own HTTP(S) server:
   * `httpServer.on('upgrade', (req, socket, head) => signaling.handleUpgrade(req, socket, head))`.
   */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (typeof req?.socket !== 'object' || req.socket === null) invalid('handleUpgrade() req', "the IncomingMessage of an HTTP 'upgrade' event", req);
    if (typeof socket?.on !== 'function') invalid('handleUpgrade() socket', "the socket of an HTTP 'upgrade' event", socket);
    const remote = `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`;
    this.gate.settle(req.socket);
    socket.on('error', onSocketError);
    const refuse = (status: number, text: string) => {
      this.upgradesRejected++;
      this.emit('rejected', remote, status, text);
      socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? text}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(text) + 1}\r\n\r\n${text}\n`);
    };
    if (this.state === 'closing' || this.state === 'closed') return refuse(503, 'Service Unavailable');
    if (this.path !== undefined && (req.url ?? '/').split('?')[0] !== this.path) return refuse(404, 'Not Found');
    const origin = req.headers.origin;
    if (this.allowedOrigins && origin !== undefined && !this.allowedOrigins.includes(origin)) return refuse(403, 'Forbidden');
    const bad = checkHandshake(req);
    if (bad) return refuse(bad.status, bad.text);
    if (this.conns.size >= this.maxConnections) return refuse(503, 'Service Unavailable');
    const address = req.socket.remoteAddress ?? '?';
    const limited = this.gate.admit(address, performance.now());
    if (limited) return refuse(limited.status, limited.text);
    // Counted from now: a handshake under way holds its address too; a failed one gives it back.
    const accepted = this.holdAddress(socket, address);
    const upgrade = () => {
      if (!completeHandshake(req, socket)) return;
      accepted();
      socket.off('error', onSocketError); // the ServerSocket handles the socket's errors from now on
      const ws = new ServerSocket(socket, this.socketEvents, this.maxPayload);
      // The headers are kept only for an authorize hook (the only reader): otherwise each connection would hold them for nothing.
      this.accept(ws, this.keepHeaders ? req.headers : NO_HEADERS, req.headers.origin, remote, address, announcedVersion(req.url) >= BATCH_PROTOCOL_VERSION);
      // Bytes read past the request (frames sent right behind it) after the connection exists to take them.
      if (head.length > 0) ws.receive(head);
    };
    if (!this.redis || this.maxPerAddress <= 0) return upgrade();
    // Across every process sharing the Redis: counted there too (fails open while Redis is unreachable).
    const store = this.redis.store;
    store.acquireAddress(address, this.maxPerAddress).then(
      (ok) => {
        if (!ok) return refuse(429, 'Too Many Requests');
        if (socket.destroyed || this.state === 'closing' || this.state === 'closed') return void store.releaseAddress(address).catch(() => undefined);
        socket.once('close', () => void store.releaseAddress(address).catch(() => undefined));
        upgrade();
      },
      () => upgrade(),
    );
  }

  /**
   * Count a socket under way against `address` until it closes; the returned
   * function stops that (the WebSocket opened: its own close gives the address
   * back). Its own function, so the listener keeps nothing of the upgrade request.
   */
  private holdAddress(socket: Duplex, address: string): () => void {
    this.gate.opened(address);
    const onClose = () => this.gate.closed(address);
    socket.once('close', onClose);
    return () => socket.off('close', onClose);
  }

  /**
   * Add fresh TURN credentials to a `joined` frame (fresh join, resume, host
   * reclaim; both back ends send it through here) and re-send fresh ones as
   * `ice_servers` every half lifetime while the socket lives.
   */
  private withTurn(c: Connection, text: string): string {
    const turn = this.turn!;
    if (!text.startsWith('{"type":"joined"')) return text;
    let m: { lobby?: unknown; id?: unknown };
    try {
      m = JSON.parse(text) as typeof m;
    } catch {
      return text;
    }
    if (typeof m.lobby !== 'string' || typeof m.id !== 'number') return text;
    const lobby = m.lobby;
    const id = m.id;
    if (c.turnTimer) clearInterval(c.turnTimer);
    c.turnTimer = setInterval(() => {
      if (c.ws.readyState === ReadyState.OPEN) this.outbox.send(c, JSON.stringify({ type: 'ice_servers', iceServers: turn.iceServersFor(lobby, id) }));
    }, turn.refreshMs);
    c.turnTimer.unref?.();
    return JSON.stringify({ ...m, iceServers: turn.iceServersFor(lobby, id) });
  }

  private accept(ws: ServerSocket, headers: IncomingMessage['headers'], origin: string | undefined, remote: string, address: string, batch: boolean): void {
    const c = new Connection(ws, remote, address, headers, origin, this.host, batch);
    const session = this.core.open(c);
    if (!session) {
      ws.owner = undefined; // nothing it sends is read
      this.gate.closed(address);
      ws.close(CloseCode.GOING_AWAY, 'server shutting down');
      return;
    }
    c.session = session;
    this.conns.add(c);
    if (!this.pingTimer) this.startPing(); // also when mounted with handleUpgrade() on the caller's HTTP server
  }

  /** `c`'s socket closed (after the frames it sent before were handled). */
  private connectionClosed(c: Connection, code: number, reason: string): void {
    if (c.ended) return;
    c.ended = true;
    this.conns.delete(c);
    if (c.turnTimer) clearInterval(c.turnTimer);
    c.turnTimer = undefined;
    c.out = undefined;
    this.gate.closed(c.address);
    c.session.closed(code, reason);
    if (this.state === 'closing' && this.conns.size === 0) this.onAllClosed?.();
  }

  private onAllClosed: (() => void) | undefined;

  /**
   * The ping round: every socket is checked once per `pingIntervalMs` (one not
   * seen alive since its last ping is terminated), spread over
   * {@link PING_STEPS} ticks so no turn pings thousands of sockets at once.
   * A ping waits for the socket's next output to go in the same write (a busy
   * socket gets some within the tick); one still waiting at the next tick is
   * written alone then.
   */
  private startPing(): void {
    if (this.pingIntervalMs <= 0 || this.pingTimer || this.state === 'closing' || this.state === 'closed') return;
    let round: Iterator<Connection> | undefined;
    let waiting: Connection[] = [];
    this.pingTimer = setInterval(() => {
      for (const c of waiting) {
        if (!c.pingDue) continue;
        c.pingDue = false;
        if (!c.ended) c.ws.ping();
      }
      waiting = [];
      round ??= this.conns.values();
      for (let left = Math.ceil(this.conns.size / PING_STEPS); left > 0; left--) {
        const next = round.next();
        if (next.done) {
          round = undefined;
          return;
        }
        const c = next.value;
        if (!c.alive) {
          c.ws.terminate();
          continue;
        }
        c.alive = false;
        c.pingDue = true;
        waiting.push(c);
      }
    }, Math.max(1, Math.floor(this.pingIntervalMs / PING_STEPS)));
  }

  /** Counters and gauges (connections, lobbies, relayed messages, errors by code…). */
  getStats(): SignalingStats & { upgradesRejected: number; upgradeTimeouts: number; pendingUpgrades: number } {
    const stats = this.core.getStats();
    return {
      ...stats,
      abuseClosed: stats.abuseClosed + this.policyClosed,
      upgradesRejected: this.upgradesRejected + this.gate.pendingRefused,
      upgradeTimeouts: this.gate.upgradeTimeouts,
      pendingUpgrades: this.gate.pendingCount,
    };
  }

  /**
   * Graceful shutdown: tell every client (`shutdown` message), close every
   * socket, stop listening, clear every timer. Resolves when all is released.
   */
  close(options?: ServerCloseOptions): Promise<void> {
    if (this.closing) return this.closing;
    const o = checkOptions<ServerCloseOptions>(options, ['reason', 'reconnect'], 'close options');
    const reason = o.reason === undefined ? 'server shutting down' : checkString(o.reason, 'close options.reason', 200);
    const reconnect = o.reconnect === undefined ? true : checkBool(o.reconnect, 'close options.reconnect');
    this.state = 'closing';
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.pingTimer = undefined;
    this.closing = (async () => {
      const allClosed = new Promise<void>((resolve) => {
        if (this.conns.size === 0) resolve();
        else this.onAllClosed = resolve;
      });
      this.core.shutdown(reason, reconnect);
      this.outbox.flush();
      this.coreTimer.stop();
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([allClosed, new Promise<void>((r) => (timer = setTimeout(r, this.shutdownTimeoutMs)))]);
      if (timer) clearTimeout(timer);
      for (const c of this.conns) c.ws.terminate();
      this.conns.clear();
      this.outbox.clear();
      this.inbox.clear();
      this.gate.clear();
      this.onAllClosed = undefined;
      const http = this.http;
      this.http = undefined;
      if (http) {
        await new Promise<void>((resolve) => {
          http.close(() => resolve());
          http.closeAllConnections();
        });
      }
      await this.core.stop?.();
      this.state = 'closed';
      this.emit('closed');
    })();
    return this.closing;
  }
}
