/**
 * The signaling client over WebSocket. Works in browsers (global WebSocket)
 * and in Node.js (the `ws` package, loaded on demand, or Node's global
 * WebSocket when present). A WebSocket constructor can also be passed in.
 * @module
 */
import { ErrorCode, RtcmeshError } from '../../errors.js';
import { checkInt, checkOptions, checkString, invalid } from '../../util/validate.js';
import {
  BaseSignalingClient,
  type BaseSignalingClientOptions,
  type SignalingLink,
  type SignalingLinkHandlers,
} from './client.js';

/** The part of the WHATWG WebSocket API the client uses. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}

/** A WebSocket constructor (browser `WebSocket`, `ws`'s default export, undici's…). */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

/** Options of {@link WebSocketSignalingClient}. */
export interface WebSocketSignalingClientOptions extends BaseSignalingClientOptions {
  /** WebSocket implementation; default the global `WebSocket`, else the `ws` package. */
  WebSocket?: WebSocketConstructor;
  /** Time for the socket to open (default 10000 ms). */
  connectTimeoutMs?: number;
}

const OPTION_KEYS = ['WebSocket', 'connectTimeoutMs', 'joinTimeoutMs', 'reconnect', 'outboxLimit'] as const;

const ignore = (): void => {};

let wsModule: Promise<WebSocketConstructor> | undefined;

async function defaultWebSocket(): Promise<WebSocketConstructor> {
  const g = (globalThis as { WebSocket?: unknown }).WebSocket;
  if (typeof g === 'function') return g as WebSocketConstructor;
  // Node.js without a global WebSocket: use the `ws` dependency.
  wsModule ??= import('ws').then((m) => (m.default ?? m.WebSocket) as unknown as WebSocketConstructor);
  return wsModule;
}

/**
 * Signaling client over a WebSocket.
 * @example
 * const client = new WebSocketSignalingClient('ws://127.0.0.1:9080');
 * const { id, peers } = await client.join({ lobby: 'my-game' });
 */
export class WebSocketSignalingClient extends BaseSignalingClient {
  readonly url: string;
  private readonly Ctor: WebSocketConstructor | undefined;
  private readonly connectTimeoutMs: number;

  constructor(url: string, options?: WebSocketSignalingClientOptions) {
    const o = checkOptions<WebSocketSignalingClientOptions>(options, OPTION_KEYS, 'WebSocketSignalingClient options');
    super(o, 'WebSocketSignalingClient options');
    checkString(url, 'WebSocketSignalingClient url', 2048);
    if (!/^wss?:\/\/.+/i.test(url)) invalid('WebSocketSignalingClient url', 'a ws:// or wss:// URL', url);
    if (o.WebSocket !== undefined && typeof o.WebSocket !== 'function') invalid('WebSocketSignalingClient options.WebSocket', 'a WebSocket constructor', o.WebSocket);
    this.url = url;
    this.Ctor = o.WebSocket;
    this.connectTimeoutMs = o.connectTimeoutMs === undefined ? 10_000 : checkInt(o.connectTimeoutMs, 1, 3_600_000, 'WebSocketSignalingClient options.connectTimeoutMs');
  }

  protected async openLink(handlers: SignalingLinkHandlers, signal: AbortSignal): Promise<SignalingLink> {
    const Ctor = this.Ctor ?? (await defaultWebSocket());
    if (signal.aborted) throw new RtcmeshError(ErrorCode.CLOSED, 'connecting was cancelled');
    return new Promise<SignalingLink>((resolve, reject) => {
      let ws: WebSocketLike;
      try {
        ws = new Ctor(this.url);
      } catch (err) {
        reject(new RtcmeshError(ErrorCode.INVALID_ARGUMENT, `cannot open ${this.url}: ${String(err)}`));
        return;
      }
      let open = false;
      let done = false;
      const timer = setTimeout(() => {
        if (open) return;
        signal.removeEventListener('abort', onAbort);
        done = true;
        ws.onopen = ws.onmessage = ws.onclose = null;
        ws.onerror = ignore; // `ws` emits 'error' when closed while connecting; it must have a listener
        try {
          ws.close();
        } catch {
          // not open yet
        }
        reject(new RtcmeshError(ErrorCode.TIMEOUT, `could not connect to ${this.url} within ${this.connectTimeoutMs} ms`));
      }, this.connectTimeoutMs);
      const link: SignalingLink = {
        send: (text) => {
          if (ws.readyState === 1) ws.send(text);
        },
        close: (code, reason) => {
          done = true;
          ws.onopen = ws.onmessage = ws.onclose = null;
          ws.onerror = ignore;
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
        done = true;
        ws.onopen = ws.onmessage = ws.onclose = null;
        ws.onerror = ignore; // `ws` emits 'error' when closed while connecting; it must have a listener
        try {
          ws.close();
        } catch {
          // already closing
        }
        reject(new RtcmeshError(ErrorCode.CLOSED, 'connecting was cancelled'));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      ws.onopen = () => {
        signal.removeEventListener('abort', onAbort);
        open = true;
        clearTimeout(timer);
        resolve(link);
      };
      ws.onmessage = (ev) => {
        if (typeof ev.data === 'string') handlers.message(ev.data);
        else handlers.invalid('a binary frame');
      };
      ws.onerror = () => {
        // onclose follows with the code.
      };
      ws.onclose = (ev) => {
        clearTimeout(timer);
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
