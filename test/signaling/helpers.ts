/**
 * Signaling test helpers: a real server on an ephemeral loopback port, real
 * clients, and a raw WebSocket for speaking (or breaking) the protocol by hand.
 */
import { WebSocket } from 'ws';
import { SignalingServer, WebSocketSignalingClient, type SignalingServerOptions, type WebSocketSignalingClientOptions } from '../api.js';

export { waitForEvent, waitUntil } from '../helpers.js';

/** Time allowed for a signaling event on loopback. */
export const T = 5000;

/** Servers and clients made by a test, released by {@link cleanup}. */
const servers = new Set<SignalingServer>();
const clients = new Set<{ close(): void }>();

/** A listening server on 127.0.0.1 with an ephemeral port. */
export async function startServer(options: SignalingServerOptions = {}, port = 0): Promise<{ server: SignalingServer; url: string; port: number }> {
  const server = new SignalingServer(options);
  servers.add(server);
  const addr = await server.listen({ port, host: '127.0.0.1' });
  return { server, url: addr.url, port: addr.port };
}

/** A client that the test cleanup closes. */
export function client(url: string, options: WebSocketSignalingClientOptions = {}): WebSocketSignalingClient {
  const c = new WebSocketSignalingClient(url, { reconnect: { baseDelayMs: 10, maxDelayMs: 50, maxAttempts: 50 }, ...options });
  clients.add(c);
  return c;
}

/** Close everything a test made. */
export async function cleanup(): Promise<void> {
  for (const c of clients) c.close();
  clients.clear();
  await Promise.all([...servers].map((s) => s.close({ reconnect: false })));
  servers.clear();
}

/** A raw WebSocket that records every server frame and its close. */
export interface Raw {
  ws: WebSocket;
  /** Every message received, in order (the elements of an array frame one by one). */
  messages: Record<string, any>[];
  /** Every frame received, as text. */
  frames: string[];
  closed: Promise<{ code: number; reason: string }>;
  isClosed(): boolean;
  send(obj: unknown): void;
  /** Resolve with the first recorded message (from index `from`) matching `pred`. */
  next(pred: (m: Record<string, any>) => boolean, from?: number, timeoutMs?: number): Promise<Record<string, any>>;
}

/** `localAddress`: the loopback address to connect from (e.g. `127.0.0.2`, to be another client address). */
export async function raw(url: string, headers: Record<string, string> = {}, localAddress?: string): Promise<Raw> {
  const ws = new WebSocket(url, { headers, ...(localAddress ? { localAddress } : {}) });
  clients.add({ close: () => ws.terminate() });
  const messages: Record<string, any>[] = [];
  const waiters = new Set<() => void>();
  let closedFlag = false;
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.on('close', (code, reason) => {
      closedFlag = true;
      resolve({ code, reason: reason.toString() });
      for (const w of waiters) w();
    });
  });
  ws.on('error', () => {});
  const frames: string[] = [];
  ws.on('message', (data) => {
    const text = data.toString();
    frames.push(text);
    const parsed = JSON.parse(text) as Record<string, any> | Record<string, any>[];
    if (Array.isArray(parsed)) messages.push(...parsed);
    else messages.push(parsed);
    for (const w of waiters) w();
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once('error', reject);
  });
  return {
    ws,
    messages,
    frames,
    closed,
    isClosed: () => closedFlag,
    send: (obj) => ws.send(typeof obj === 'string' || Buffer.isBuffer(obj) ? obj : JSON.stringify(obj)),
    next: (pred, from = 0, timeoutMs = T) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const found = messages.slice(from).find(pred);
          if (found) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(found);
          } else if (closedFlag) {
            waiters.delete(check);
            clearTimeout(timer);
            reject(new Error(`socket closed before a matching message; got ${JSON.stringify(messages.slice(from)).slice(0, 300)}`));
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`timed out waiting for a message; got ${JSON.stringify(messages.slice(from)).slice(0, 300)}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      }),
  };
}

/** A raw socket (from `localAddress`, see {@link raw}) joined to `lobby`, and its `joined` message; throws when the join is refused. */
export async function joinRaw(url: string, lobby: string, localAddress?: string): Promise<{ r: Raw; joined: Record<string, any> }> {
  const r = await raw(url, {}, localAddress);
  r.send({ type: 'join', lobby });
  const joined = await r.next((x) => x.type === 'joined' || x.type === 'error');
  if (joined.type !== 'joined') throw new Error(`join refused: ${joined.code} ${joined.message}`);
  return { r, joined };
}
