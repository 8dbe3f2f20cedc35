/**
 * bench/mesh: full meshes of 4, 8 and 16 real peers formed through the
 * embedded signaling server on loopback (wall time from the first join to the
 * last peer_connected), memory per connection, and 64 B broadcast throughput
 * in an 8-mesh against its raw reference: on the same 8-mesh, every member
 * also has a raw node-datachannel channel (negotiated id 900) to each of its 7
 * peers on the link's own native connection, and sends the same 64 B message
 * to those 7 channels in the same loop (64 sends per member per turn below the
 * same backlog mark, every member polled and read each turn). Broadcast and
 * raw alternate in short rounds; `broadcast_ratio` is the median of the
 * per-round ratios (deliveries/s ÷ deliveries/s). For scale,
 * `raw_msgs_per_s` is raw node-datachannel's 64 B rate on one lone link.
 * `MESH_BENCH_STAGES` (form, broadcast; default both) and
 * `MESH_BENCH_ROUNDS` (default 7) narrow a run.
 */
import ndc from 'node-datachannel';
import { Mesh, type LobbyMultiplayerPeer } from '../src/index.js';
import { SignalingServer } from '../src/entries/signaling.js';
import type { EngineConnection } from '../src/transport/engine.js';
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

const STAGES = new Set((process.env.MESH_BENCH_STAGES ?? 'form,broadcast').split(','));
const ROUNDS = Number(process.env.MESH_BENCH_ROUNDS ?? 7);
const ROUND_S = 1;
const BACKLOG = 256 * 1024;
const PER_TURN = 64;

/** Deliveries/s over the whole mesh and process CPU time (JS and native threads) per delivery. */
interface Rate {
  perS: number;
  cpuUs: number;
}

/** The native node-datachannel connection under an engine connection (bench only: reaches a private field). */
function nativeOf(conn: EngineConnection | undefined): ndc.PeerConnection {
  const pc = (conn as unknown as { pc?: ndc.PeerConnection } | undefined)?.pc;
  if (!pc || typeof pc.createDataChannel !== 'function') throw new Error('bench/mesh: cannot reach the node-datachannel connection under a mesh link');
  return pc;
}

/** Per member, a raw channel (negotiated id 900) to each of its peers on the link's native connection; counts what arrives. */
async function rawChannels(meshes: LobbyMultiplayerPeer[], delivered: { n: number }): Promise<ndc.DataChannel[][]> {
  const all = meshes.map((m) =>
    m.getPeerIds().map((id) => {
      const dc = nativeOf(m.getPeer(id)!.connection.engineConnection).createDataChannel('raw-bench', { negotiated: true, id: 900 });
      dc.onMessage(() => delivered.n++);
      dc.onClosed(() => {}); // the binding frees a channel's callbacks only on its closed event
      return dc;
    }),
  );
  const open = (dc: ndc.DataChannel) => (dc.isOpen() ? Promise.resolve() : new Promise<void>((res) => dc.onOpen(() => res())));
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    Promise.all(all.flat().map(open)),
    new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('bench/mesh: raw channels did not open in 15 s')), 15_000))),
  ]);
  clearTimeout(timer);
  return all;
}

/**
 * One round: every member sends PER_TURN copies of one 64 B message per turn
 * to all its peers — `broadcast` through the mesh (`targetPeer = 0`), or raw
 * to its 7 raw channels — while its largest backlog is below BACKLOG; every
 * member is polled and read each turn. Deliveries/s over the whole mesh.
 */
async function roundRate(meshes: LobbyMultiplayerPeer[], raw: ndc.DataChannel[][] | undefined, delivered: { n: number }): Promise<Rate> {
  const msg = new Uint8Array(64);
  const start = delivered.n;
  const end = performance.now() + ROUND_S * 1000;
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  await new Promise<void>((resolve) => {
    const tick = () => {
      for (let k = 0; k < meshes.length; k++) {
        const m = meshes[k]!;
        m.poll();
        while (m.getPacket() !== undefined) delivered.n++;
        if (raw) {
          const channels = raw[k]!;
          let backlog = 0;
          for (const dc of channels) backlog = Math.max(backlog, dc.bufferedAmount());
          if (backlog < BACKLOG) for (let i = 0; i < PER_TURN; i++) for (const dc of channels) dc.sendMessageBinary(msg);
        } else {
          let backlog = 0;
          for (const p of m.getPeers()) backlog = Math.max(backlog, p.channels[0]!.getBufferedAmount());
          if (backlog < BACKLOG) {
            m.targetPeer = 0;
            for (let i = 0; i < PER_TURN; i++) m.putPacket(msg);
          }
        }
      }
      if (performance.now() < end) setImmediate(tick);
      else resolve();
    };
    tick();
  });
  const count = delivered.n - start;
  const cpu = process.cpuUsage(c0);
  const rate = { perS: count / ((performance.now() - t0) / 1000), cpuUs: (cpu.user + cpu.system) / Math.max(1, count) };
  // drain what is still in flight before the next round, so it is not counted there
  const quiet = performance.now() + 300;
  while (performance.now() < quiet) {
    for (const m of meshes) {
      m.poll();
      while (m.getPacket() !== undefined);
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  return rate;
}

/** Broadcast vs raw on the same 8-mesh, alternating rounds (plus one warm-up of each). */
async function broadcastVsRaw(meshes: LobbyMultiplayerPeer[]): Promise<{ broadcast: Rate[]; raw: Rate[]; ratios: number[] }> {
  const delivered = { n: 0 };
  const raw = await rawChannels(meshes, delivered);
  try {
    await roundRate(meshes, undefined, delivered);
    await roundRate(meshes, raw, delivered);
    const b: Rate[] = [];
    const r: Rate[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      if (i % 2 === 0) {
        r.push(await roundRate(meshes, raw, delivered));
        b.push(await roundRate(meshes, undefined, delivered));
      } else {
        b.push(await roundRate(meshes, undefined, delivered));
        r.push(await roundRate(meshes, raw, delivered));
      }
    }
    return { broadcast: b, raw: r, ratios: b.map((x, i) => x.perS / r[i]!.perS) };
  } finally {
    for (const dc of raw.flat()) dc.close();
  }
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
  const figures: Record<string, number | string> = { suite: 'mesh' };
  if (STAGES.has('form')) {
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
    printTable(
      'mesh: full meshes via the embedded signaling server on loopback (median of 3)',
      ['figure', 'value'],
      [
        ['4-peer mesh formed, ms', median(times[4]!)],
        ['8-peer mesh formed, ms', median(times[8]!)],
        ['16-peer mesh (120 links) formed, ms', median(times[16]!)],
        ['memory per connection, kB (RSS)', kBPerConnection],
      ],
    );
    Object.assign(figures, {
      mesh4_ms: round(median(times[4]!), 1),
      mesh8_ms: round(median(times[8]!), 1),
      mesh16_ms: round(median(times[16]!), 1),
      kB_per_connection: round(kBPerConnection, 1),
    });
  }
  if (STAGES.has('broadcast')) {
    const { meshes } = await formMesh(url, 8);
    const cmp = await broadcastVsRaw(meshes);
    closeAll(meshes);
    const lone = await rawRate(2);
    printTable(
      `mesh: 8-mesh, every member sending one 64 B message to its 7 peers, ${ROUNDS} alternating rounds of ${ROUND_S} s (deliveries/s)`,
      ['round', 'broadcast', 'raw, same 7 channels', 'broadcast ÷ raw', 'CPU µs/delivery broadcast', 'CPU µs/delivery raw'],
      [
        ...cmp.broadcast.map((x, i) => [String(i + 1), x.perS, cmp.raw[i]!.perS, cmp.ratios[i]!, x.cpuUs, cmp.raw[i]!.cpuUs]),
        [
          'median',
          median(cmp.broadcast.map((x) => x.perS)),
          median(cmp.raw.map((x) => x.perS)),
          median(cmp.ratios),
          median(cmp.broadcast.map((x) => x.cpuUs)),
          median(cmp.raw.map((x) => x.cpuUs)),
        ],
      ],
    );
    printTable('mesh: for scale', ['figure', 'value'], [['raw node-datachannel 64 B msgs/s, 1 lone link', lone]]);
    Object.assign(figures, {
      broadcast_msgs_per_s: Math.round(median(cmp.broadcast.map((x) => x.perS))),
      raw_broadcast_msgs_per_s: Math.round(median(cmp.raw.map((x) => x.perS))),
      broadcast_cpu_us: round(median(cmp.broadcast.map((x) => x.cpuUs)), 2),
      raw_broadcast_cpu_us: round(median(cmp.raw.map((x) => x.cpuUs)), 2),
      raw_msgs_per_s: Math.round(lone),
      broadcast_ratio: round(median(cmp.ratios)),
    });
  }
  await server.close();
  printFigures(figures);
  return figures;
}

if (isMain(import.meta.url)) await run();
