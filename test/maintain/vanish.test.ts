/**
 * A lobby member that vanishes (its process is killed) is reported with
 * peer_disconnected by every survivor without waiting for the signaling
 * server's resume grace: its link is lost (heartbeat) and it left signaling
 * (peer_detached), so nobody tries to reconnect to it. Default resumeGraceMs
 * and heartbeat settings throughout.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { Mesh, SignalingServer, type LobbyMultiplayerPeer } from '../api.js';
import { waitUntil } from '../helpers.js';
import { killHard } from './process-mesh.js';
import { ticker } from './helpers.js';

const FIXTURE = fileURLToPath(new URL('../fixtures/lobby-member.ts', import.meta.url));
const connection = { bindAddress: '127.0.0.1' };
/** The default heartbeatTimeoutMs (every mesh here uses the defaults). */
const DEFAULT_HEARTBEAT_TIMEOUT_MS = 5000;
/** Allowance on top of it for a loaded test machine (scheduling, not the mechanism). */
const DETECTION_MARGIN_MS = 2000;

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('a vanished lobby member', () => {
  it('kill -9 of one process of a 4-peer lobby mesh: every survivor reports peer_disconnected (left signaling) and keeps exchanging data', async () => {
    const server = new SignalingServer(); // default resumeGraceMs (15 s)
    const { url } = await server.listen({ port: 0, host: '127.0.0.1' });
    cleanups.push(() => server.close());
    const t = ticker([]);
    cleanups.push(t.stop);

    const meshes: LobbyMultiplayerPeer[] = [];
    const first = await Mesh.join({ signaling: url, connection });
    meshes.push(first);
    for (let i = 0; i < 2; i++) meshes.push(await Mesh.join({ signaling: url, lobby: first.lobby, connection }));
    for (const m of meshes) {
      t.add(m);
      cleanups.push(() => m.close());
    }

    const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', FIXTURE, url, first.lobby], { stdio: ['ignore', 'pipe', 'inherit'] });
    cleanups.push(() => killHard(child));
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    await waitUntil(() => /connected 3/.test(out) && meshes.every((m) => m.getPeerIds().length === 3), 'the 4-peer mesh to form', 30_000);
    const childId = Number(/joined (\d+)/.exec(out)![1]);

    const gone: { id: number; reason: string | undefined; afterKillMs: number }[][] = meshes.map(() => []);
    const detached: number[][] = meshes.map(() => []);
    let killedAt = 0;
    meshes.forEach((m, i) => {
      m.on('peer_disconnected', (id, reason) => gone[i]!.push({ id, reason, afterKillMs: performance.now() - killedAt }));
      m.signaling.on('peer_detached', (id: number) => detached[i]!.push(id));
    });
    killedAt = performance.now();
    await killHard(child);
    // The wait is generous so a failure shows the measured time below rather than a timeout.
    await waitUntil(() => gone.every((g) => g.length === 1), 'every survivor to report the killed peer', 45_000);
    for (const g of gone) {
      expect(g[0]!.id).toBe(childId);
      expect(g[0]!.reason).toMatch(/left signaling \(detached\)/);
      // Reported within the default heartbeatTimeoutMs (5000 ms), not the
      // server's resume grace (15 s) or giveUpMs (60 s). The 2000 ms margin
      // is for this shared 2-core machine only (the 2 ms polling ticker can
      // be starved by other test processes; SIGKILL delivery is not instant).
      expect(g[0]!.afterKillMs).toBeLessThanOrEqual(DEFAULT_HEARTBEAT_TIMEOUT_MS + DETECTION_MARGIN_MS);
    }
    expect(detached).toEqual(meshes.map(() => [childId]));

    // The rest of the mesh keeps working: every survivor sends to every other.
    for (const m of meshes) expect(m.getPeerIds()).toHaveLength(2);
    const received: Set<string>[] = meshes.map(() => new Set());
    for (const m of meshes) {
      for (const other of m.getPeerIds()) {
        m.targetPeer = other;
        m.putPacket(new Uint8Array([m.getUniqueId() & 0xff]));
      }
    }
    await waitUntil(
      () => {
        meshes.forEach((m, i) => {
          while (m.getAvailablePacketCount() > 0) {
            const from = m.getPacketPeer(); // the next packet's sender (Godot semantics)
            m.getPacket();
            received[i]!.add(String(from));
          }
        });
        return received.every((r) => r.size === 2);
      },
      'every survivor to hear from the other two',
      15_000,
    );
    meshes.forEach((m, i) => expect([...received[i]!].sort()).toEqual(m.getPeerIds().map(String).sort()));
  });
});
