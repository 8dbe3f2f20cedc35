/**
 * What the ports of Godot's RPC demos (multiplayer_bomber, multiplayer_pong)
 * share: an embedded signaling server on loopback, and the game loop — every
 * game's `_process` (poll the endpoint, run the frame, flush) run until
 * something holds, yielding to the event loop between frames (no sleeps as
 * synchronisation, a timeout only as a failure bound).
 */
import { afterEach, beforeEach } from 'vitest';
import { SignalingServer, type RpcErrorEvent } from '../../api.js';

/** Loopback-only connections for every port. */
export const CONNECTION = { bindAddress: '127.0.0.1' };

/** A signaling server on 127.0.0.1 (random port) and its ws:// url. */
export async function startSignaling(): Promise<{ server: SignalingServer; url: string }> {
  const server = new SignalingServer({ pingIntervalMs: 0 });
  const { url } = await server.listen({ port: 0, host: '127.0.0.1' });
  return { server, url };
}

/**
 * For every test of the calling file: a fresh signaling server before it;
 * after it, every game in `games` quit (the list emptied) and the server
 * closed. Returns a reader of the current server's url.
 */
export function signalingPerTest(games: { quit(): void }[]): () => string {
  let signaling: { server: SignalingServer; url: string } | undefined;
  beforeEach(async () => {
    signaling = await startSignaling();
  });
  afterEach(async () => {
    for (const g of games.splice(0)) g.quit();
    await signaling?.server.close();
    signaling = undefined;
  });
  return () => signaling!.url;
}

/** Anything with a Godot-style frame: `_process()` polls, runs the frame and flushes. */
export interface Frame {
  process(): void;
}

/**
 * Godot's main loop: run every game's frame until `check()` holds. Throws
 * after `timeoutMs` naming what it waited for (a failure bound, not a
 * synchronisation).
 */
export async function runUntil(games: Iterable<Frame>, check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const started = Date.now();
  for (;;) {
    for (const g of games) g.process();
    if (check()) return;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

/** Run the frames until `promise` settles; its outcome (Godot's signals fire inside the frames). */
export async function settle<T>(games: Iterable<Frame>, promise: Promise<T>, what: string): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  let outcome: { ok: true; value: T } | { ok: false; error: unknown } | undefined;
  promise.then(
    (value) => (outcome = { ok: true, value }),
    (error: unknown) => (outcome = { ok: false, error }),
  );
  await runUntil(games, () => outcome !== undefined, what);
  return outcome!;
}

/** What Godot prints as an RPC error, as rtcmesh reports it: the `rpc_error` events a peer saw. */
export type Refusal = Pick<RpcErrorEvent, 'code' | 'senderId' | 'name'>;
export const refusal = (e: RpcErrorEvent): Refusal => ({ code: e.code, senderId: e.senderId, ...(e.name !== undefined && { name: e.name }) });
