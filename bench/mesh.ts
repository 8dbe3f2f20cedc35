/**
 * bench/mesh: full meshes of 4, 8 and 16 real peers formed through the
 * embedded signaling server on loopback (wall time from the first join to the
 * last peer_connected), memory per connection, and 64 B broadcast throughput
 * in an 8-mesh, with raw node-datachannel's 64 B rate on one link for scale.
 */
import { Mesh, type LobbyMultiplayerPeer } from '../src/index.js';
import { SignalingServer } from '../src/entries/signaling.js';
import { rawLink } from './lib/links.js';
import { isMain, median, printFigures, printTable, round } from './lib/report.js';

const connection = { bindAddress: '127.0.0.1' };

function pollUntil(meshes: LobbyMultiplayerPeer[], check: () => boolean, limitMs = 60_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const tick = () => {
      for (const m of meshes) m.poll();
      if (check()) return resolve();
      if (performance.now() - started > limitMs) return reject(new Error('mesh did not form in time'));
      setImmediate(tick);
    };
    tick();
  });
}

async function formMesh(url: string, n: number): Promise<{ ms: number; meshes: LobbyMultiplayerPeer[] }> {
  const t0 = performance.now();
  const first = await Mesh.join({ signaling: url, connection });
  const rest = await Promise.all(Array.from({ length: n - 1 }, () => Mesh.join({ signaling: url, connection, lobby: first.lobby })));
  const meshes = [first, ...rest];
  await pollUntil(meshes, () => meshes.every((m) => m.getPeerIds().length === n - 1));
  return { ms: performance.now() - t0, meshes };
}

function closeAll(meshes: LobbyMultiplayerPeer[]): void {
  for (const m of meshes) m.close();
}

async function settle(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    (globalThis as { gc?: () => void }).gc?.();
    await new Promise((r) => setTimeout(r, 50));
  }
  return process.memoryUsage().rss;
}

async function broadcastRate(meshes: LobbyMultiplayerPeer[], seconds: number): Promise<number> {
  const msg = new Uint8Array(64);
  let delivered = 0;
  const end = performance.now() + seconds * 1000;
  const t0 = performance.now();
  await new Promise<void>((resolve) => {
    const tick = () => {
      for (const m of meshes) {
        m.poll();
        while (m.getPacket() !== undefined) delivered++;
        const backlog = Math.max(...m.getPeers().map((p) => p.channels[0]!.getBufferedAmount()));
        if (backlog < 256 * 1024) {
          m.targetPeer = 0;
          for (let i = 0; i < 64; i++) m.putPacket(msg);
        }
      }
      if (performance.now() < end) setImmediate(tick);
      else resolve();
    };
    tick();
  });
  return delivered / ((performance.now() - t0) / 1000);
}

async function rawRate(seconds: number): Promise<number> {
  const link = await rawLink();
  const msg = new Uint8Array(64);
  let received = 0;
  link.onMessageB(() => received++);
  const end = performance.now() + seconds * 1000;
  const t0 = performance.now();
  while (performance.now() < end) {
    while (link.bufferedA() < 1024 * 1024) link.sendA(msg);
    await link.drainedA(256 * 1024);
  }
  const rate = received / ((performance.now() - t0) / 1000);
  link.close();
  return rate;
}

export async function run(): Promise<Record<string, number | string>> {
  const server = new SignalingServer({ pingIntervalMs: 0, rateLimit: { messages: 2000, windowMs: 1000 } });
  const { url } = await server.listen({ port: 0, host: '127.0.0.1' });
  const times: Record<number, number[]> = { 4: [], 8: [], 16: [] };
  let kBPerConnection = 0;
  for (const n of [4, 8, 16]) {
    for (let r = 0; r < 3; r++) {
      const before = n === 16 && r === 0 ? await settle() : 0;
      const { ms, meshes } = await formMesh(url, n);
      times[n]!.push(ms);
      if (n === 16 && r === 0) {
        const after = await settle();
        kBPerConnection = (after - before) / 1024 / (n * (n - 1));
      }
      closeAll(meshes);
    }
  }
  const { meshes } = await formMesh(url, 8);
  const broadcast = await broadcastRate(meshes, 3);
  closeAll(meshes);
  const raw = await rawRate(2);
  await server.close();

  printTable(
    'mesh: full meshes via the embedded signaling server on loopback (median of 3)',
    ['figure', 'value'],
    [
      ['4-peer mesh formed, ms', median(times[4]!)],
      ['8-peer mesh formed, ms', median(times[8]!)],
      ['16-peer mesh (120 links) formed, ms', median(times[16]!)],
      ['memory per connection, kB (RSS)', kBPerConnection],
      ['8-mesh 64 B broadcast deliveries/s', broadcast],
      ['raw node-datachannel 64 B msgs/s, 1 link', raw],
      ['broadcast deliveries ÷ raw 1-link rate', broadcast / raw],
    ],
  );
  const figures = {
    suite: 'mesh',
    mesh4_ms: round(median(times[4]!), 1),
    mesh8_ms: round(median(times[8]!), 1),
    mesh16_ms: round(median(times[16]!), 1),
    kB_per_connection: round(kBPerConnection, 1),
    broadcast_msgs_per_s: Math.round(broadcast),
    raw_msgs_per_s: Math.round(raw),
    broadcast_ratio: round(broadcast / raw),
  };
  printFigures(figures);
  return figures;
}

if (isMain(import.meta.url)) await run();
