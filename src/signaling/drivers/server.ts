/**
 * The lobby signaling server on WebSocket (`ws`). Node.js only.
 *
 * Hardened for production: every frame validated, per-socket rate limit and
 * size limit, strikes for abuse, origin allow-list, join authorisation hook,
 * join timeout, ping/pong idle timeout, resume tokens that survive a restart
 * (with a shared secret), and a graceful shutdown that tells clients.
 * @module
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { EventEmitter } from 'eventemitter3';
import { WebSocket, WebSocketServer } from 'ws';
import { ErrorCode, RtcmeshError } from '../../errors.js';
import { checkInt, checkOptions, checkString, invalid } from '../../util/validate.js';
import {
  DEFAULT_CORE_OPTIONS,
  SignalingCore,
  type AuthorizeHook,
  type SignalingServerEvents,
  type SignalingSession,
  type SignalingStats,
} from '../core.js';
import { CloseCode } from '../protocol.js';
import { AddressGate } from './address-gate.js';
import { HmacTokenIssuer } from './hmac-tokens.js';
import { Outbox, type OutboxSlot } from './outbox.js';
import { PollTimer } from './poll-timer.js';

/** Options of {@link SignalingServer}. Times in milliseconds. */
export interface SignalingServerOptions {
  /** Peers per lobby (default 4096). */
  maxPeersPerLobby?: number;
  /** Lobbies (default 4096). */
  maxLobbies?: number;
  /** Open connections (default 10000); further upgrades get HTTP 503. */
  maxConnections?: number;
  /**
   * What one IP address may hold at once (default 0 = no limit): its open
   * sockets, its connections still before their upgrade, and its peers in
   * their resume grace (a socket that joined and dropped). Further upgrades
   * get HTTP 429.
   */
  maxConnectionsPerAddress?: number;
  /** New WebSocket connections per IP address per window (default 100 per 1000 ms; `count` 0 = no limit); past it HTTP 429. */
  connectionRate?: { count: number; windowMs: number };
  /** Connections of one IP address still before their WebSocket upgrade (default 16; 0 = no limit); more are destroyed at once. */
  maxPendingUpgradesPerAddress?: number;
  /** A connection that has not completed its WebSocket upgrade within this is destroyed (default 5000; 0 = never). */
  upgradeTimeoutMs?: number;
  /** Live lobbies one IP address may have created (default 64; 0 = no limit); past it SERVER_FULL. */
  maxLobbiesPerAddress?: number;
  /** Lobbies one IP address may create per window (default 20 per 1000 ms); past it RATE_LIMITED. */
  lobbyCreationRate?: { count: number; windowMs: number };
  /** Peers in resume grace whose socket came from one IP address (default 64; 0 = no limit); past it a dropped peer leaves at once. */
  maxDetachedPerAddress?: number;
  /** Frames over this size get a PACKET_TOO_LARGE error; frames over twice this close the socket (default 65536). */
  maxMessageBytes?: number;
  /** Allowed `Origin` values (exact, e.g. `https://game.example`), or `['*']`. Default: any. Clients that send no Origin (non-browsers) are allowed. */
  allowedOrigins?: string[];
  /** Only accept upgrades on this path (default: any path). */
  path?: string;
  /** Close sockets that do not join within this time (default 5000; 0 = never). */
  joinTimeoutMs?: number;
  /** Ping every socket this often; one that missed the previous pong is dropped (default 10000; 0 = off). */
  pingIntervalMs?: number;
  /** A sealed lobby is closed after this (default 10000). */
  sealGraceMs?: number;
  /** A peer whose socket dropped may resume within this (default 15000; 0 = leaves at once). */
  resumeGraceMs?: number;
  /** Messages queued for a detached peer (default 256). */
  resumeQueueLimit?: number;
  /** Characters (≈ bytes) queued for one detached peer, oldest dropped first (default 262144). */
  resumeQueueBytes?: number;
  /** Characters queued for the detached peers of one lobby (default 1048576). */
  lobbyQueueBytes?: number;
  /** Characters queued for detached peers server-wide; past it new ones are dropped (default 67108864). */
  totalQueueBytes?: number;
  /** Secret for resume tokens; give every instance the same one so tokens survive restarts. Default: random per process. */
  resumeSecret?: string | Uint8Array;
  /** Lifetime of a resume token (default 86400000 = 1 day). */
  resumeTokenTtlMs?: number;
  /** Per-socket rate limit: frames and bytes per window (default 200 frames, 1048576 bytes per 1000 ms). */
  rateLimit?: { messages: number; windowMs: number; bytes?: number };
  /** Violations before a socket is closed (default 10). */
  maxStrikes?: number;
  /**
   * Refused joins (sealed, full, server full, authorisation or resume refused,
   * join while already in a lobby) before a socket is closed with 1008
   * (default 10, over the socket's lifetime). Refusals are not strikes.
   */
  maxJoinRefusals?: number;
  /** A socket whose send buffer grows over this is dropped as too slow (default 4 MiB). */
  maxBufferedBytes?: number;
  /** On close(), sockets that have not finished closing after this are destroyed (default 2000). */
  shutdownTimeoutMs?: number;
  /** Join authorisation hook. */
  authorize?: AuthorizeHook;
}

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
  /** URL clients can use, e.g. `ws://127.0.0.1:9080`. */
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

const OPTION_KEYS = [
  'maxPeersPerLobby',
  'maxLobbies',
  'maxConnections',
  'maxConnectionsPerAddress',
  'connectionRate',
  'maxPendingUpgradesPerAddress',
  'upgradeTimeoutMs',
  'maxLobbiesPerAddress',
  'lobbyCreationRate',
  'maxDetachedPerAddress',
  'maxMessageBytes',
  'allowedOrigins',
  'path',
  'joinTimeoutMs',
  'pingIntervalMs',
  'sealGraceMs',
  'resumeGraceMs',
  'resumeQueueLimit',
  'resumeQueueBytes',
  'lobbyQueueBytes',
  'totalQueueBytes',
  'resumeSecret',
  'resumeTokenTtlMs',
  'rateLimit',
  'maxStrikes',
  'maxJoinRefusals',
  'maxBufferedBytes',
  'shutdownTimeoutMs',
  'authorize',
];

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

const HOUR = 3_600_000;

interface Conn extends OutboxSlot {
  session: SignalingSession;
  alive: boolean;
  remote: string;
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
  private readonly core: SignalingCore;
  /** Runs the core's deadlines (join, grace, seal, partial-lobby timers) on the wall clock. */
  private readonly coreTimer: PollTimer;
  private readonly wss: WebSocketServer;
  private readonly conns = new Set<Conn>();
  private http: Server | undefined;
  private pingTimer: ReturnType<typeof setInterval> | undefined;
  private state: 'new' | 'listening' | 'closing' | 'closed' = 'new';
  private closing: Promise<void> | undefined;
  private readonly maxConnections: number;
  /** Per-address admission: sockets, pending upgrades, detached peers, connection rate, upgrade timeout. */
  private readonly gate: AddressGate;
  /** Frames to each socket, written once per event-loop turn. */
  private readonly outbox: Outbox;
  private readonly allowedOrigins: string[] | undefined;
  private readonly path: string | undefined;
  private readonly pingIntervalMs: number;
  private readonly maxBufferedBytes: number;
  private readonly shutdownTimeoutMs: number;
  private upgradesRejected = 0;
  /** Sockets closed at the WebSocket level: frame over the hard limit, WebSocket protocol error, slow consumer. */
  private policyClosed = 0;

  constructor(options?: SignalingServerOptions) {
    super();
    const o = checkOptions<SignalingServerOptions>(options, OPTION_KEYS, 'SignalingServer options');
    const int = (v: number | undefined, def: number, min: number, max: number, name: string) =>
      v === undefined ? def : checkInt(v, min, max, `SignalingServer options.${name}`);
    const maxMessageBytes = int(o.maxMessageBytes, DEFAULT_CORE_OPTIONS.maxMessageBytes, 256, 16 * 1024 * 1024, 'maxMessageBytes');
    let rateLimit = DEFAULT_CORE_OPTIONS.rateLimit;
    if (o.rateLimit !== undefined) {
      const r = checkOptions<{ messages: number; windowMs: number; bytes?: number }>(o.rateLimit, ['messages', 'windowMs', 'bytes'], 'SignalingServer options.rateLimit');
      rateLimit = {
        messages: checkInt(r.messages, 1, 1e9, 'SignalingServer options.rateLimit.messages'),
        windowMs: checkInt(r.windowMs, 1, HOUR, 'SignalingServer options.rateLimit.windowMs'),
        bytes: r.bytes === undefined ? DEFAULT_CORE_OPTIONS.rateLimit.bytes : checkInt(r.bytes, 256, 1e12, 'SignalingServer options.rateLimit.bytes'),
      };
    }
    const rate = (v: { count: number; windowMs: number } | undefined, def: { count: number; windowMs: number }, min: number, name: string) => {
      if (v === undefined) return def;
      const r = checkOptions<{ count: number; windowMs: number }>(v, ['count', 'windowMs'], `SignalingServer options.${name}`);
      return { count: checkInt(r.count, min, 1e9, `SignalingServer options.${name}.count`), windowMs: checkInt(r.windowMs, 1, HOUR, `SignalingServer options.${name}.windowMs`) };
    };
    if (o.authorize !== undefined && typeof o.authorize !== 'function') invalid('SignalingServer options.authorize', 'a function', o.authorize);
    if (o.allowedOrigins !== undefined) {
      if (!Array.isArray(o.allowedOrigins)) invalid('SignalingServer options.allowedOrigins', 'an array of origins', o.allowedOrigins);
      o.allowedOrigins.forEach((x, i) => checkString(x, `SignalingServer options.allowedOrigins[${i}]`, 1024));
    }
    if (o.path !== undefined) {
      checkString(o.path, 'SignalingServer options.path', 1024);
      if (!o.path.startsWith('/')) invalid('SignalingServer options.path', 'a path starting with "/"', o.path);
    }
    if (o.resumeSecret !== undefined && typeof o.resumeSecret !== 'string' && !(o.resumeSecret instanceof Uint8Array)) {
      invalid('SignalingServer options.resumeSecret', 'a string or Uint8Array', o.resumeSecret);
    }
    if (typeof o.resumeSecret === 'string' && o.resumeSecret.length < 16) {
      invalid('SignalingServer options.resumeSecret', 'at least 16 characters', '(hidden)');
    }
    this.maxConnections = int(o.maxConnections, 10_000, 1, 10_000_000, 'maxConnections');
    this.allowedOrigins = o.allowedOrigins && !o.allowedOrigins.includes('*') ? [...o.allowedOrigins] : undefined;
    this.path = o.path;
    this.pingIntervalMs = int(o.pingIntervalMs, 10_000, 0, HOUR, 'pingIntervalMs');
    this.maxBufferedBytes = int(o.maxBufferedBytes, 4 * 1024 * 1024, 1024, 1 << 30, 'maxBufferedBytes');
    this.shutdownTimeoutMs = int(o.shutdownTimeoutMs, 2000, 0, HOUR, 'shutdownTimeoutMs');
    const tokens = new HmacTokenIssuer(o.resumeSecret, int(o.resumeTokenTtlMs, 24 * HOUR, 1000, 365 * 24 * HOUR, 'resumeTokenTtlMs'));
    this.core = new SignalingCore(
      {
        maxPeersPerLobby: int(o.maxPeersPerLobby, DEFAULT_CORE_OPTIONS.maxPeersPerLobby, 1, 1_000_000, 'maxPeersPerLobby'),
        maxLobbies: int(o.maxLobbies, DEFAULT_CORE_OPTIONS.maxLobbies, 1, 10_000_000, 'maxLobbies'),
        maxMessageBytes,
        joinTimeoutMs: int(o.joinTimeoutMs, DEFAULT_CORE_OPTIONS.joinTimeoutMs, 0, HOUR, 'joinTimeoutMs'),
        sealGraceMs: int(o.sealGraceMs, DEFAULT_CORE_OPTIONS.sealGraceMs, 0, HOUR, 'sealGraceMs'),
        resumeGraceMs: int(o.resumeGraceMs, DEFAULT_CORE_OPTIONS.resumeGraceMs, 0, HOUR, 'resumeGraceMs'),
        resumeQueueLimit: int(o.resumeQueueLimit, DEFAULT_CORE_OPTIONS.resumeQueueLimit, 0, 1_000_000, 'resumeQueueLimit'),
        resumeQueueBytes: int(o.resumeQueueBytes, DEFAULT_CORE_OPTIONS.resumeQueueBytes, 0, 1 << 30, 'resumeQueueBytes'),
        lobbyQueueBytes: int(o.lobbyQueueBytes, DEFAULT_CORE_OPTIONS.lobbyQueueBytes, 0, 1 << 30, 'lobbyQueueBytes'),
        totalQueueBytes: int(o.totalQueueBytes, DEFAULT_CORE_OPTIONS.totalQueueBytes, 0, 2 ** 40, 'totalQueueBytes'),
        maxLobbiesPerAddress: int(o.maxLobbiesPerAddress, DEFAULT_CORE_OPTIONS.maxLobbiesPerAddress, 0, 10_000_000, 'maxLobbiesPerAddress'),
        maxDetachedPerAddress: int(o.maxDetachedPerAddress, DEFAULT_CORE_OPTIONS.maxDetachedPerAddress, 0, 10_000_000, 'maxDetachedPerAddress'),
        lobbyCreationRate: rate(o.lobbyCreationRate, DEFAULT_CORE_OPTIONS.lobbyCreationRate, 1, 'lobbyCreationRate'),
        rateLimit,
        maxStrikes: int(o.maxStrikes, DEFAULT_CORE_OPTIONS.maxStrikes, 1, 1_000_000, 'maxStrikes'),
        maxJoinRefusals: int(o.maxJoinRefusals, DEFAULT_CORE_OPTIONS.maxJoinRefusals, 1, 1_000_000, 'maxJoinRefusals'),
        authorize: o.authorize,
      },
      tokens,
    );
    this.coreTimer = new PollTimer(this.core);
    const core = this.core;
    this.gate = new AddressGate({
      maxPerAddress: int(o.maxConnectionsPerAddress, 0, 0, 10_000_000, 'maxConnectionsPerAddress'),
      maxPendingPerAddress: int(o.maxPendingUpgradesPerAddress, 16, 0, 10_000_000, 'maxPendingUpgradesPerAddress'),
      connectionRate: rate(o.connectionRate, { count: 100, windowMs: 1000 }, 0, 'connectionRate'),
      upgradeTimeoutMs: int(o.upgradeTimeoutMs, 5000, 0, HOUR, 'upgradeTimeoutMs'),
      detachedOf: (address) => core.detachedOf(address),
    });
    this.outbox = new Outbox((slot, chars) => {
      if (slot.ws.bufferedAmount + chars <= this.maxBufferedBytes) return true;
      this.policyClosed++;
      this.emit('abuse_closed', (slot as Conn).remote, `send buffer over ${this.maxBufferedBytes} bytes (slow consumer)`);
      slot.ws.terminate();
      return false;
    });
    for (const name of CORE_EVENTS) {
      this.core.on(name, (...args: unknown[]) => (this.emit as (e: string, ...a: unknown[]) => boolean)(name, ...args));
    }
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: maxMessageBytes * 2,
      perMessageDeflate: false,
      clientTracking: false,
    });
  }

  /** Start listening on a new HTTP server. Resolves with the address. */
  async listen(options?: ListenOptions): Promise<ListenAddress> {
    const o = checkOptions<ListenOptions>(options, ['port', 'host'], 'listen options');
    const port = o.port === undefined ? 9080 : checkInt(o.port, 0, 65535, 'listen options.port');
    const host = o.host === undefined ? '0.0.0.0' : checkString(o.host, 'listen options.host', 255);
    if (this.state !== 'new') throw new RtcmeshError(ErrorCode.INVALID_STATE, `listen() was already called (server is ${this.state}); create a new SignalingServer`);
    this.state = 'listening';
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
    const address: ListenAddress = { port: boundPort, host, url: `ws://${urlHost}:${boundPort}` };
    this.emit('listening', address);
    return address;
  }

  /**
   * Handle an HTTP upgrade from your own HTTP(S) server:
   * `httpServer.on('upgrade', (req, socket, head) => signaling.handleUpgrade(req, socket, head))`.
   */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const remote = `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`;
    this.gate.settle(req.socket);
    socket.on('error', () => socket.destroy());
    const refuse = (status: number, text: string) => {
      this.upgradesRejected++;
      this.emit('rejected', remote, status, text);
      socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${text.length + 1}\r\n\r\n${text}\n`);
    };
    if (this.state === 'closing' || this.state === 'closed') return refuse(503, 'Service Unavailable');
    if (this.path !== undefined && (req.url ?? '/').split('?')[0] !== this.path) return refuse(404, 'Not Found');
    const origin = req.headers.origin;
    if (this.allowedOrigins && origin !== undefined && !this.allowedOrigins.includes(origin)) return refuse(403, 'Forbidden');
    if (this.conns.size >= this.maxConnections) return refuse(503, 'Service Unavailable');
    const address = req.socket.remoteAddress ?? '?';
    const limited = this.gate.admit(address, performance.now());
    if (limited) return refuse(limited.status, limited.text);
    // Counted from now: a handshake under way holds its address too; a failed one gives it back.
    this.gate.opened(address);
    let accepted = false;
    socket.once('close', () => accepted || this.gate.closed(address));
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      accepted = true;
      this.accept(ws, req, remote, address);
    });
  }

  private accept(ws: WebSocket, req: IncomingMessage, remote: string, address: string): void {
    /** Waiting for this socket to show it is alive (a pong or any frame). */
    let aliveWaiters: (() => void)[] = [];
    const proveAlive = () => {
      if (aliveWaiters.length === 0) return;
      const waiters = aliveWaiters;
      aliveWaiters = [];
      for (const w of waiters) w();
    };
    const c = { ws, alive: true, remote, out: undefined, outChars: 0 } as Conn;
    const session = this.core.open({
      remote,
      address,
      ...(req.headers.origin !== undefined ? { origin: req.headers.origin } : {}),
      headers: req.headers,
      send: (text) => {
        if (ws.readyState === WebSocket.OPEN) this.outbox.send(c, text);
      },
      close: (code, reason) => {
        this.outbox.write(c); // what was sent before the close goes first
        if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.close(code, reason.slice(0, 120));
      },
      checkAlive: (onAlive) => {
        if (ws.readyState !== WebSocket.OPEN) return;
        aliveWaiters.push(onAlive);
        if (aliveWaiters.length === 1) ws.ping();
      },
    });
    if (!session) {
      this.gate.closed(address);
      ws.close(CloseCode.GOING_AWAY, 'server shutting down');
      return;
    }
    c.session = session;
    this.conns.add(c);
    if (!this.pingTimer) this.startPing(); // also when mounted with handleUpgrade() on the caller's HTTP server
    ws.on('message', (data, isBinary) => {
      c.alive = true;
      proveAlive();
      const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
      session.receive(isBinary ? '' : buf.toString('utf8'), buf.length, isBinary);
    });
    ws.on('pong', () => {
      c.alive = true;
      proveAlive();
    });
    ws.on('error', (err: Error & { code?: string }) => {
      // ws reports protocol errors here and then closes the socket itself (1009 for a frame over maxPayload, 1002 otherwise).
      this.policyClosed++;
      this.emit('abuse_closed', remote, err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' ? 'frame over the hard size limit' : `WebSocket protocol error (${err.code ?? err.message})`);
    });
    ws.on('close', (code, reason) => {
      this.conns.delete(c);
      c.out = undefined;
      this.gate.closed(address);
      session.closed(code, reason.toString());
      if (this.state === 'closing' && this.conns.size === 0) this.onAllClosed?.();
    });
  }

  private onAllClosed: (() => void) | undefined;

  private startPing(): void {
    if (this.pingIntervalMs <= 0 || this.pingTimer || this.state === 'closing' || this.state === 'closed') return;
    this.pingTimer = setInterval(() => {
      for (const c of this.conns) {
        if (!c.alive) {
          c.ws.terminate();
          continue;
        }
        c.alive = false;
        try {
          c.ws.ping();
        } catch {
          c.ws.terminate();
        }
      }
    }, this.pingIntervalMs);
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
    const reconnect = o.reconnect === undefined ? true : o.reconnect === true;
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
      this.gate.clear();
      this.onAllClosed = undefined;
      this.wss.close();
      const http = this.http;
      this.http = undefined;
      if (http) {
        await new Promise<void>((resolve) => {
          http.close(() => resolve());
          http.closeAllConnections();
        });
      }
      this.state = 'closed';
      this.emit('closed');
    })();
    return this.closing;
  }
}
