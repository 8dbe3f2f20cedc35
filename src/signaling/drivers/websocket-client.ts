/**
 * The signaling client over WebSocket. Works in browsers (global WebSocket)
 * and in Node.js (the `ws` package, loaded on demand, even where Node has a
 * global WebSocket; that one only if `ws` cannot be loaded). A WebSocket
 * constructor can also be passed in.
 * @module
 */
import { ErrorCode, RtcmeshError } from '../../errors.js';
import { checkInt, checkOptions, checkString, invalid } from '../../util/validate.js';
import {
  BaseSignalingClient,
  type BaseSignalingClientOptions,
  type SignalingLink,
  type SignalingLinkHandlers,
} from '../client.js';
import { PollTimer } from './poll-timer.js';
import { announceProtocol } from '../batch.js';

/** The part of the WHATWG WebSocket API the client uses. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  /**
   * Optional (the `ws` package has it, browsers' WebSocket does not): send a
   * WebSocket ping. With it and {@link WebSocketLike.on}, the client checks
   * that the server is alive (see {@link WebSocketSignalingClientOptions.pingIntervalMs}).
   */
  ping?(): void;
  /** Optional (the `ws` package): listen for the server's pongs. */
  on?(event: 'pong', listener: () => void): unknown;
  /** Optional (the `ws` package): drop the connection at once, without a closing handshake. */
  terminate?(): void;
}

/** A WebSocket constructor (browser `WebSocket`, `ws`'s default export, undici's…). */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

/** Options of {@link WebSocketSignalingClient}. */
export interface WebSocketSignalingClientOptions extends BaseSignalingClientOptions {
  /** WebSocket implementation; default: in Node.js the `ws` package (even where a global `WebSocket` exists: only `ws` can ping), in browsers the global `WebSocket`. */
  WebSocket?: WebSocketConstructor;
  /** Time for the socket to open (default 10000 ms). */
  connectTimeoutMs?: number;
  /**
   * Liveness check: ping the server this often (default 5000 ms; 0 = off).
   * A link on which nothing (message or pong) arrived for
   * {@link WebSocketSignalingClientOptions.pingTimeoutMs} is dropped, and the
   * client reconnects and resumes as after any other drop. So a server that
   * went silent without closing the TCP connection (a stalled proxy or NAT, a
   * frozen process) is noticed. Needs a WebSocket with `ping()` and
   * `on('pong')` (the `ws` package, which the client uses by default in
   * Node.js); with a browser's WebSocket, which cannot ping, it is off.
   */
  pingIntervalMs?: number;
  /**
   * A link silent for this long is considered dead (default 15000 ms, or
   * 3 × `pingIntervalMs` when that is larger). Must
   * be larger than `pingIntervalMs` (twice or more is advised: a check runs
   * every `pingIntervalMs`, so a dead link is noticed after `pingTimeoutMs`
   * to `pingTimeoutMs + pingIntervalMs`).
   */
  pingTimeoutMs?: number;
}

const OPTION_KEYS = ['WebSocket', 'connectTimeoutMs', 'joinTimeoutMs', 'reconnect', 'outboxLimit', 'pingIntervalMs', 'pingTimeoutMs', 'clock', 'random'] as const;

/** Defaults of the liveness check of {@link WebSocketSignalingClient}. */
export const DEFAULT_CLIENT_PING = { intervalMs: 5000, timeoutMs: 15_000 } as const;

/** Close code reported when the liveness check drops a silent link (the same as a network failure: the client resumes). */
const SILENT_CLOSE_CODE = 1006;

const ignore = (): void => {};

let wsModule: Promise<WebSocketConstructor> | undefined;

function loadWs(): Promise<WebSocketConstructor> {
  wsModule ??= import('ws').then((m) => (m.default ?? m.WebSocket) as unknown as WebSocketConstructor);
  return wsModule;
}

async function defaultWebSocket(): Promise<WebSocketConstructor> {
  const g = (globalThis as { WebSocket?: unknown }).WebSocket;
  const isNode = typeof (globalThis as { process?: { versions?: { node?: unknown } } }).process?.versions?.node === 'string';
  if (isNode) {
    // Node.js: prefer the `ws` dependency even where a global WebSocket exists (Node 22+): it can ping, so the liveness check works.
    try {
      return await loadWs();
    } catch (err) {
      if (typeof g === 'function') return g as WebSocketConstructor;
      throw err;
    }
  }
  if (typeof g === 'function') return g as WebSocketConstructor;
  return loadWs();
}

/**
 * Signaling client over a WebSocket. It drives its own deadlines (join
 * timeout, reconnect backoff) with a timer, and checks the server's liveness
 * with WebSocket pings.
 * @example
 * const client = new WebSocketSignalingClient('ws://127.0.0.1:9080');
 * const { id, peers } = await client.join({ lobby: 'my-game' });
 */
export class WebSocketSignalingClient extends BaseSignalingClient {
  /**
   * Every server URL it may use, in order of preference. With several (one
   * signaling service of several processes, see docs/scale-out.md), a link
   * that fails to open or drops makes the next attempt use the next URL, so a
   * client whose server process died resumes its id on another one.
   */
  readonly urls: readonly string[];
  private cursor = 0;
  /** The last link failed to open or dropped: the next attempt moves on to the next URL. */
  private moveOn = false;
  private readonly Ctor: WebSocketConstructor | undefined;
  private readonly connectTimeoutMs: number;
  private readonly pingIntervalMs: number;
  private readonly pingTimeoutMs: number;

  /** @param url a server URL, or several URLs of one signaling service (fail-over, in order). */
  constructor(url: string | readonly string[], options?: WebSocketSignalingClientOptions) {
    const o = checkOptions<WebSocketSignalingClientOptions>(options, OPTION_KEYS, 'WebSocketSignalingClient options');
    super(o, 'WebSocketSignalingClient options');
    const urls = typeof url === 'string' ? [url] : url;
    if (!Array.isArray(urls) || urls.length === 0 || urls.length > 64) invalid('WebSocketSignalingClient url', 'a ws:// URL or an array of 1 to 64 of them', url);
    urls.forEach((u: unknown, i: number) => {
      checkString(u, `WebSocketSignalingClient url[${i}]`, 2048);
      if (!/^wss?:\/\/.+/i.test(u as string)) invalid('WebSocketSignalingClient url', 'a ws:// or wss:// URL', u);
    });
    if (o.WebSocket !== undefined && typeof o.WebSocket !== 'function') invalid('WebSocketSignalingClient options.WebSocket', 'a WebSocket constructor', o.WebSocket);
    this.urls = [...urls];
    this.Ctor = o.WebSocket;
    this.connectTimeoutMs = o.connectTimeoutMs === undefined ? 10_000 : checkInt(o.connectTimeoutMs, 1, 3_600_000, 'WebSocketSignalingClient options.connectTimeoutMs');
    this.pingIntervalMs =
      o.pingIntervalMs === undefined ? DEFAULT_CLIENT_PING.intervalMs : checkInt(o.pingIntervalMs, 0, 3_600_000, 'WebSocketSignalingClient options.pingIntervalMs');
    this.pingTimeoutMs =
      o.pingTimeoutMs === undefined
        ? Math.max(DEFAULT_CLIENT_PING.timeoutMs, this.pingIntervalMs * 3)
        : checkInt(o.pingTimeoutMs, 1, 3_600_000, 'WebSocketSignalingClient options.pingTimeoutMs');
    if (this.pingIntervalMs > 0 && this.pingTimeoutMs <= this.pingIntervalMs) {
      invalid('WebSocketSignalingClient options.pingTimeoutMs', `more than pingIntervalMs (${this.pingIntervalMs})`, this.pingTimeoutMs);
    }
    // Drive the client's deadlines (join timeout, reconnect backoff) on the wall clock, until it closes.
    const timer = new PollTimer(this, { clock: this.clock });
    this.once('closed', () => timer.stop());
  }

  /** The URL in use (or about to be tried). */
  get url(): string {
    return this.urls[this.cursor]!;
  }

  protected async openLink(handlers: SignalingLinkHandlers, signal: AbortSignal): Promise<SignalingLink> {
    if (this.moveOn) {
      this.moveOn = false;
      this.cursor = (this.cursor + 1) % this.urls.length;
    }
    try {
      return await this.openOne(handlers, signal);
    } catch (err) {
      this.moveOn = true;
      throw err;
    }
  }

  private async openOne(outer: SignalingLinkHandlers, signal: AbortSignal): Promise<SignalingLink> {
    const handlers: SignalingLinkHandlers = {
      message: (text) => outer.message(text),
      invalid: (reason) => outer.invalid(reason),
      close: (code, reason) => {
        this.moveOn = true; // dropped by the server or the network (a close we asked for never gets here)
        outer.close(code, reason);
      },
    };
    const Ctor = this.Ctor ?? (await defaultWebSocket());
    if (signal.aborted) throw new RtcmeshError(ErrorCode.CLOSED, 'connecting was cancelled');
    return new Promise<SignalingLink>((resolve, reject) => {
      let ws: WebSocketLike;
      try {
        ws = new Ctor(announceProtocol(this.url)); // protocol 4: array frames (older servers ignore the query)
      } catch (err) {
        reject(new RtcmeshError(ErrorCode.INVALID_ARGUMENT, `cannot open ${this.url}: ${String(err)}`));
        return;
      }
      let open = false;
      let done = false;
      let lastSeen = 0;
      let liveness: ReturnType<typeof setInterval> | undefined;
      const stopLiveness = () => {
        if (liveness !== undefined) clearInterval(liveness);
        liveness = undefined;
      };
      /** Stop handling the socket's events (`ws` emits 'error' when closed while connecting; it must keep a listener). */
      const detach = () => {
        done = true;
        ws.onopen = ws.onmessage = ws.onclose = null;
        ws.onerror = ignore;
      };
      /** Connecting failed (timed out or cancelled): drop the socket and reject. */
      const abandon = (err: RtcmeshError) => {
        detach();
        try {
          ws.close();
        } catch {
          // not open yet
        }
        reject(err);
      };
      /** Ping every pingIntervalMs; drop the link when the server was silent for pingTimeoutMs. */
      const startLiveness = () => {
        if (this.pingIntervalMs <= 0 || typeof ws.ping !== 'function' || typeof ws.on !== 'function') return;
        lastSeen = Date.now();
        ws.on('pong', () => {
          lastSeen = Date.now();
        });
        liveness = setInterval(() => {
          if (done) return stopLiveness();
          const silent = Date.now() - lastSeen;
          if (silent >= this.pingTimeoutMs) {
            stopLiveness();
            detach();
            try {
              if (typeof ws.terminate === 'function') ws.terminate();
              else ws.close();
            } catch {
              // already gone
            }
            handlers.close(SILENT_CLOSE_CODE, `no message or pong from the server for ${silent} ms`);
            return;
          }
          try {
            ws.ping?.();
          } catch {
            // not open any more: onclose follows
          }
        }, this.pingIntervalMs);
        (liveness as { unref?: () => void }).unref?.();
      };
      const timer = setTimeout(() => {
        if (open) return;
        signal.removeEventListener('abort', onAbort);
        abandon(new RtcmeshError(ErrorCode.TIMEOUT, `could not connect to ${this.url} within ${this.connectTimeoutMs} ms`));
      }, this.connectTimeoutMs);
      const link: SignalingLink = {
        send: (text) => {
          if (ws.readyState === 1) ws.send(text);
        },
        close: (code, reason) => {
          stopLiveness();
          detach();
          try {
            ws.close(code, reason);
          } catch {
            ws.close();
          }
        },
      };
      const onAbort = () => {
        if (open || done) return;
        clearTimeout(timer);
        abandon(new RtcmeshError(ErrorCode.CLOSED, 'connecting was cancelled'));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      ws.onopen = () => {
        signal.removeEventListener('abort', onAbort);
        open = true;
        clearTimeout(timer);
        startLiveness();
        resolve(link);
      };
      ws.onmessage = (ev) => {
        lastSeen = Date.now();
        if (typeof ev.data === 'string') handlers.message(ev.data);
        else handlers.invalid('a binary frame');
      };
      ws.onerror = () => {
        // onclose follows with the code.
      };
      ws.onclose = (ev) => {
        clearTimeout(timer);
        stopLiveness();
        signal.removeEventListener('abort', onAbort);
        if (done) return;
        done = true;
        if (!open) {
          reject(new RtcmeshError(ErrorCode.CLOSED, `could not connect to ${this.url} (close ${ev.code})`));
          return;
        }
        handlers.close(ev.code, ev.reason);
      };
    });
  }
}
