/**
 * Helpers of the maintain tests: meshes with health options, a background
 * ticker that polls them (the meshes' clock advances on its own; tests wait on
 * conditions, never sleep), and a manual clock.
 */
import { ConnectionStatus, WebRTCMultiplayerPeer, type LobbyMultiplayerPeer, type MultiplayerPeerOptions, type Clock } from '../api.js';
import { link } from '../mesh/mesh-helpers.js';
import { waitUntil } from '../helpers.js';

/** Small heartbeat values so tests stay fast. */
export const FAST: MultiplayerPeerOptions = { heartbeatIntervalMs: 50, heartbeatTimeoutMs: 600, statsIntervalMs: 100 };

/** Poll `meshes` every 2 ms until stopped. */
export function ticker(meshes: (WebRTCMultiplayerPeer | LobbyMultiplayerPeer)[]): { stop(): void; add(m: WebRTCMultiplayerPeer | LobbyMultiplayerPeer): void } {
  const all = [...meshes];
  const timer = setInterval(() => {
    for (const m of all) if (m.getConnectionStatus() !== ConnectionStatus.DISCONNECTED || m.getMode() !== undefined) m.poll();
  }, 2);
  return { stop: () => clearInterval(timer), add: (m) => all.push(m) };
}

/** Meshes with `ids` and `options`, every pair linked by hand; resolves when all links are open (the caller's ticker polls). */
export async function healthMesh(ids: number[], options: MultiplayerPeerOptions, tick: ReturnType<typeof ticker>): Promise<WebRTCMultiplayerPeer[]> {
  const meshes = ids.map((id) => {
    const m = new WebRTCMultiplayerPeer(options);
    m.createMesh(id);
    tick.add(m);
    return m;
  });
  for (let i = 0; i < meshes.length; i++) for (let j = i + 1; j < meshes.length; j++) link(meshes[i]!, meshes[j]!);
  await waitUntil(() => meshes.every((m) => m.getPeerIds().length === ids.length - 1), 'the mesh to connect', 15_000);
  return meshes;
}

/** A clock the test moves by hand. */
export class ManualClock implements Clock {
  t = 1000;
  now(): number {
    return this.t;
  }
}

/** Numbered packet helpers: a u32 in 4 bytes. */
export function numbered(n: number, size = 4): Uint8Array {
  const b = new Uint8Array(size);
  new DataView(b.buffer).setUint32(0, n);
  return b;
}
export function numberOf(b: Uint8Array): number {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(0);
}
