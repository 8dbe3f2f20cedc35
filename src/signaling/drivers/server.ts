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
import type { Duplex } from 'node:stream';
import { EventEmitter } from 'eventemitter3';
import { WebSocket, WebSocketServer } from 'ws';
import { ErrorCode, RtcmeshError } from '../../errors.js';
import { checkBool, checkInt, checkOptions, checkString, invalid } from '../../util/validate.js';
import {
  DEFAULT_CORE_OPTIONS,
  SignalingCore,
  type AuthorizeHook,
  type SignalingServerEvents,
  type SignalingSession,
  type SignalingStats,
} from '../core.js';
import { CloseCode, MAX_HOST_KEY_LENGTH } from '../protocol.js';
import { HmacTokenIssuer } from './hmac-tokens.js';
import { PollTimer } from './poll-timer.js';

/** Options of {@link SignalingServer}. Times in milliseconds. */
export interface SignalingServerOptions {
  /** Peers per lobby (default 4096). */
  maxPeersPerLobby?: number;
  /** Lobbies (default 4096). */
  maxLobbies?: number;
  /** Open connections (default 10000); further upgrades get HTTP 503. */
  maxConnections?: number;
  /** Open connections from one IP address (default 0 = no limit); further upgrades get HTTP 429. */
  maxConnectionsPerAddress?: number;
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
  /** Secret for resume tokens; give every instance the same one so tokens survive restarts. Default: random per process. */
  resumeSecret?: string | Uint8Array;
  /** Lifetime of a resume token (default 86400000 = 1 day). */
  resumeTokenTtlMs?: number;
  /** Per-socket frame rate limit (default 200 per 1000 ms). */
  rateLimit?: { messages: number; windowMs: number };
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
  /**
   * Host key (at least 8 characters; default none): a `host` join must carry
   * it (`UNAUTHORIZED` otherwise), and a host that comes back within the
   * resume grace with it reclaims id 1 although its resume token is lost (a
   * restarted process). Without it, each lobby keeps the key its host sent.
   */
  hostKey?: string;
  /**
   * `client_server` lobbies are created only by `host` joins (default false;
   * protocol-2 clients create a lobby by joining it first). Other joins of an
   * absent `client_server` lobby get `LOBBY_NOT_FOUND`, or wait with `waitForHostMs`.
   */
  clientServerJoinOnly?: boolean;
  /** Cap on a joiner's `waitForHostMs` (default 60000; 0 = joiners never wait). */
  maxWaitForHostMs?: number;
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
  'maxMessageBytes',
  'allowedOrigins',
  'path',
  'joinTimeoutMs',
  'pingIntervalMs',
  'sealGraceMs',
  'resumeGraceMs',
  'resumeQueueLimit',
  'resumeSecret',
  'resumeTokenTtlMs',
  'rateLimit',
  'maxStrikes',
  'maxJoinRefusals',
  'maxBufferedBytes',
  'shutdownTimeoutMs',
  'authorize',
  'hostKey',
  'clientServerJoinOnly',
  'maxWaitForHostMs',
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

interface Conn {
  ws: WebSocket;
  session: SignalingSession;
  alive: boolean;
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
  private readonly maxPerAddress: number;
  private readonly perAddress = new Map<string, number>();
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
      const r = checkOptions<{ messages: number; windowMs: number }>(o.rateLimit, ['messages', 'windowMs'], 'SignalingServer options.rateLimit');
      rateLimit = {
        messages: checkInt(r.messages, 1, 1e9, 'SignalingServer options.rateLimit.messages'),
        windowMs: checkInt(r.windowMs, 1, HOUR, 'SignalingServer options.rateLimit.windowMs'),
      };
    }
    if (o.authorize !== undefined && typeof o.authorize !== 'function') invalid('SignalingServer options.authorize', 'a function', o.authorize);
    if (o.hostKey !== undefined) {
      checkString(o.hostKey, 'SignalingServer options.hostKey', MAX_HOST_KEY_LENGTH);
      if (o.hostKey.length < 8) invalid('SignalingServer options.hostKey', 'at least 8 characters', '(hidden)');
    }
    if (o.clientServerJoinOnly !== undefined) checkBool(o.clientServerJoinOnly, 'SignalingServer options.clientServerJoinOnly');
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
    this.maxPerAddress = int(o.maxConnectionsPerAddress, 0, 0, 10_000_000, 'maxConnectionsPerAddress');
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
        rateLimit,
        maxStrikes: int(o.maxStrikes, DEFAULT_CORE_OPTIONS.maxStrikes, 1, 1_000_000, 'maxStrikes'),
        maxJoinRefusals: int(o.maxJoinRefusals, DEFAULT_CORE_OPTIONS.maxJoinRefusals, 1, 1_000_000, 'maxJoinRefusals'),
        authorize: o.authorize,
        hostKey: o.hostKey,
        clientServerJoinOnly: o.clientServerJoinOnly === true,
        maxWaitForHostMs: int(o.maxWaitForHostMs, DEFAULT_CORE_OPTIONS.maxWaitForHostMs, 0, HOUR, 'maxWaitForHostMs'),
      },
      tokens,
    );
    this.coreTimer = new PollTimer(this.core);
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
    this.http = http;
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
    if (this.maxPerAddress > 0 && (this.perAddress.get(address) ?? 0) >= this.maxPerAddress) return refuse(429, 'Too Many Requests');
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, req, remote, address));
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
    const session = this.core.open({
      remote,
      ...(req.headers.origin !== undefined ? { origin: req.headers.origin } : {}),
      headers: req.headers,
      send: (text) => {
        if (ws.readyState !== WebSocket.OPEN) return;
        if (ws.bufferedAmount > this.maxBufferedBytes) {
          this.policyClosed++;
          this.emit('abuse_closed', remote, `send buffer over ${this.maxBufferedBytes} bytes (slow consumer)`);
          ws.terminate();
          return;
        }
        ws.send(text);
      },
      close: (code, reason) => {
        if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.close(code, reason.slice(0, 120));
      },
      checkAlive: (onAlive) => {
        if (ws.readyState !== WebSocket.OPEN) return;
        aliveWaiters.push(onAlive);
        if (aliveWaiters.length === 1) ws.ping();
      },
    });
    if (!session) {
      ws.close(CloseCode.GOING_AWAY, 'server shutting down');
      return;
    }
    const c: Conn = { ws, session, alive: true };
    this.conns.add(c);
    this.perAddress.set(address, (this.perAddress.get(address) ?? 0) + 1);
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
      const left = (this.perAddress.get(address) ?? 1) - 1;
      if (left > 0) this.perAddress.set(address, left);
      else this.perAddress.delete(address);
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
  getStats(): SignalingStats & { upgradesRejected: number } {
    const stats = this.core.getStats();
    return { ...stats, abuseClosed: stats.abuseClosed + this.policyClosed, upgradesRejected: this.upgradesRejected };
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
      this.coreTimer.stop();
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([allClosed, new Promise<void>((r) => (timer = setTimeout(r, this.shutdownTimeoutMs)))]);
      if (timer) clearTimeout(timer);
      for (const c of this.conns) c.ws.terminate();
      this.conns.clear();
      this.perAddress.clear();
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
