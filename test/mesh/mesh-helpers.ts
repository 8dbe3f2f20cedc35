/**
 * Build meshes by hand over real node-datachannel connections on loopback,
 * and poll them until something is true.
 */
import {
  ConnectionStatus,
  TransferMode,
  WebRTCMultiplayerPeer,
  WebRTCPeerConnection,
  type LobbyMultiplayerPeer,
  type Engine,
  type EngineChannel,
  type EngineChannelInit,
  type EngineConnection,
} from '../api.js';
import { withCreateDataChannel } from '../engine-wrap.js';
import { LOOPBACK, wire } from '../helpers.js';

/** A hand-built mesh or a lobby-joined one (which forwards the same API). */
export type AnyMesh = WebRTCMultiplayerPeer | LobbyMultiplayerPeer;

/** Poll every mesh (or connection: Godot's `_process`) until `check()` holds (polling is the clock, not a sleep). */
export function pollUntil(meshes: { poll(): void }[], check: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const tick = () => {
      for (const m of meshes) m.poll();
      if (check()) return resolve();
      if (Date.now() - started > timeoutMs) return reject(new Error(`timed out after ${timeoutMs} ms waiting until ${what}`));
      setTimeout(tick, 2);
    };
    tick();
  });
}

/** Poll `meshes` until `promise` settles (within `timeoutMs`); its outcome. */
export async function settle<T>(meshes: { poll(): void }[], promise: Promise<T>, timeoutMs = 30_000): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  let outcome: { ok: true; value: T } | { ok: false; error: unknown } | undefined;
  promise.then(
    (value) => (outcome = { ok: true, value }),
    (error: unknown) => (outcome = { ok: false, error }),
  );
  await pollUntil(meshes, () => outcome !== undefined, 'the promise to settle', timeoutMs);
  return outcome!;
}

/** Link two multiplayer peers with a fresh connection pair; the higher id offers. */
export function link(a: WebRTCMultiplayerPeer, b: WebRTCMultiplayerPeer, unreliableLifetime = 1): void {
  const ca = new WebRTCPeerConnection(LOOPBACK, { autoPoll: true });
  const cb = new WebRTCPeerConnection(LOOPBACK, { autoPoll: true });
  wire(ca, cb);
  a.addPeer(ca, b.getUniqueId(), unreliableLifetime);
  b.addPeer(cb, a.getUniqueId(), unreliableLifetime);
  if (a.getUniqueId() > b.getUniqueId()) ca.createOffer();
  else cb.createOffer();
}

/** A full mesh of `ids`, all links opened. */
export async function fullMesh(ids: number[], channels: TransferMode[] = []): Promise<WebRTCMultiplayerPeer[]> {
  const meshes = ids.map((id) => {
    const m = new WebRTCMultiplayerPeer();
    m.createMesh(id, channels);
    return m;
  });
  for (let i = 0; i < meshes.length; i++) for (let j = i + 1; j < meshes.length; j++) link(meshes[i]!, meshes[j]!);
  await pollUntil(meshes, () => meshes.every((m) => m.getPeerIds().length === ids.length - 1), 'the full mesh to connect');
  return meshes;
}

/** A server (id 1) and clients with the given ids, all connected. */
export async function star(clientIds: number[], channels: TransferMode[] = []): Promise<[WebRTCMultiplayerPeer, WebRTCMultiplayerPeer[]]> {
  const server = new WebRTCMultiplayerPeer();
  server.createServer(channels);
  const clients = clientIds.map((id) => {
    const c = new WebRTCMultiplayerPeer();
    c.createClient(id, channels);
    return c;
  });
  for (const c of clients) link(server, c);
  await pollUntil(
    [server, ...clients],
    () => server.getPeerIds().length === clients.length && clients.every((c) => c.getConnectionStatus() === ConnectionStatus.CONNECTED),
    'the star to connect',
  );
  return [server, clients];
}

/** Drain every packet a mesh has, with its metadata. */
export function drain(m: AnyMesh): { from: number; channel: number; mode: TransferMode; data: number[] }[] {
  const out = [];
  for (;;) {
    // Godot semantics: the getters describe the packet getPacket() returns next
    const meta = { from: m.getPacketPeer(), channel: m.getPacketChannel(), mode: m.getPacketMode() };
    const p = m.getPacket();
    if (p === undefined) break;
    out.push({ ...meta, data: [...p] });
  }
  return out;
}

/**
 * An engine that refuses to create the first channel labelled `label` (as an
 * engine out of resources would), then behaves like `inner`. Forces an
 * `addPeer` to fail partway through creating its channels.
 */
export function refusingOnce(inner: Engine, label: string): Engine & { refused: number } {
  const engine = {
    name: `${inner.name} (refuses "${label}" once)`,
    refused: 0,
    createConnection(config: Parameters<Engine['createConnection']>[0], handlers: Parameters<Engine['createConnection']>[1]): EngineConnection {
      const conn = inner.createConnection(config, handlers);
      return withCreateDataChannel(conn, (init: EngineChannelInit): EngineChannel => {
        if (init.label === label && engine.refused === 0) {
          engine.refused++;
          throw new Error(`no resources for channel "${label}" (test)`);
        }
        return conn.createDataChannel(init);
      });
    },
  };
  return engine;
}
