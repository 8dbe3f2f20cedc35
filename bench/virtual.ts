/**
 * Virtual network benchmark.
 *
 * - star1000 (the workload): one server host and 1000 client hosts,
 *   each client connected to the server. 60 ticks per simulated second; every
 *   tick each client sends 20 messages (32 B) to the server, on an unordered
 *   unreliable channel. Links: 25 ms one way, 1 % loss.
 * - star1000+snapshots: the same, and every tick the server also sends each
 *   client one 200-byte snapshot (twice the packets: 1000 more per tick, of
 *   one message each).
 * - mesh32: 32 hosts, full mesh (496 connections); every tick each peer sends
 *   20 messages (32 B) to every other peer. Same link conditions.
 * - star1000+snapshots through WebRTCPeerConnection (poll mode), the way a
 *   game server uses it.
 * - lobby16: the whole stack (memory-bus signaling, lobby meshes, RPC on
 *   Tickers) for 16 peers, 60 simulated seconds, driven deadline to deadline
 *   by `net.runFor` (figure `lobby16_speedup`).
 *
 * Reports, per scenario, simulated seconds per wall second (speedup) and per
 * CPU second of the process, CPU ns per message, the ratio to the yardstick
 * (one 32-byte heap copy per message, measured right before every run: the
 * scenarios and the yardstick take turns, five runs each), GC pauses in the
 * timed part, and heap per virtual peer. Runs on one core (the simulation is
 * single-threaded). No heap flag is forced: pass one in NODE_OPTIONS to try it.
 *
 * Run: `npm run bench -- virtual` or `npx tsx bench/virtual.ts` (`--seconds N`
 * simulates longer, `--runs N` changes the number of runs, `--only star1000,mesh32`
 * runs some scenarios, `--in-process` runs them all in one process instead of a
 * fresh process per run).
 * The last stdout line is one JSON object of figures.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { WebRTCPeerConnection, type WebRTCDataChannel } from '../src/core.js';
import type { EngineChannel, EngineChannelHandlers, EngineConnection, EngineConnectionHandlers } from '../src/transport/engine.js';
import { VirtualNetwork, type VirtualHost } from '../src/transport/virtual/index.js';
import { isMain, median, printFigures, printTable, round } from './lib/report.js';
import { copyFloor, gcPauseMs, gcPauses, settleGcReports } from './lib/yardstick.js';
import { runLobby } from './lib/lobby-stack.js';

const TICK_MS = 1000 / 60;
const MESSAGES_PER_TICK = 20;
const MESSAGE_BYTES = 32;
const SNAPSHOT_BYTES = 200;
const LINK = { latencyMs: 25, loss: 0.01 };
/** Untimed ticks of the same workload first, so the figures are the steady state a long simulation runs at, not the JIT's warm-up. */
const WARMUP_TICKS = 30;

function collectGarbage(): () => void {
  try {
    setFlagsFromString('--expose-gc');
    return runInNewContext('gc') as () => void;
  } catch {
    return () => {};
  }
}
const gc = collectGarbage();

function heapUsed(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

interface RawEnd {
  conn: EngineConnection;
  channel: EngineChannel;
  received: number;
}

/** Connections that reached 'connected' (raw scenarios). */
let connectedCount = 0;

const CONFIG = { iceServers: [], iceTransportPolicy: 'all' as const };

/** Connect two raw engine connections with one negotiated unreliable channel each. */
function rawPair(x: VirtualHost, y: VirtualHost): [RawEnd, RawEnd] {
  const ends: RawEnd[] = [];
  const conns: EngineConnection[] = [];
  const make = (host: VirtualHost, other: () => EngineConnection): RawEnd => {
    const handlers: EngineConnectionHandlers = {
      localDescription: (type, sdp) => other().setRemoteDescription(type, sdp),
      localCandidate: (mid, _i, c) => other().addRemoteCandidate(mid, c),
      stateChange: (state) => {
        if (state === 'connected') connectedCount++;
      },
      gatheringStateChange: () => {},
      signalingStateChange: () => {},
      dataChannel: () => {},
    };
    const conn = host.engine.createConnection(CONFIG, handlers);
    const channel = conn.createDataChannel({ label: 'game', protocol: '', negotiated: true, id: 1, ordered: false, maxRetransmits: 0 });
    const end: RawEnd = { conn, channel, received: 0 };
    const ch: EngineChannelHandlers = {
      open: () => {},
      closed: () => {},
      error: () => {},
      message: () => {
        end.received++;
      },
      bufferedAmountLow: () => {},
    };
    channel.setHandlers(ch);
    return end;
  };
  const a = make(x, () => conns[1]!);
  const b = make(y, () => conns[0]!);
  conns.push(a.conn, b.conn);
  ends.push(a, b);
  a.conn.createOffer();
  return [a, b];
}

interface Result {
  simulatedS: number;
  wallS: number;
  /** CPU seconds of this process (all threads, GC helpers included) in the timed part. */
  cpuS: number;
  speedup: number;
  messagesSent: number;
  messagesDelivered: number;
  kBPerPeer: number;
  eventsFired: number;
  /** performance.now() at the start and end of the timed part (to attribute GC pauses). */
  t0: number;
  t1: number;
}

/** What a scenario does each tick, and how it counts what arrived. */
interface Workload {
  /** Send one tick's messages, advance the clock one tick, read what arrived; returns messages sent. */
  tick(): number;
  /** Messages received since the last call (the first call after the warm-up resets). */
  received(): number;
}

/**
 * Warm up, then time `seconds` of simulated ticks; what is still in flight
 * lands after the timed part. Closes the network.
 */
function measure(net: VirtualNetwork, seconds: number, kBPerPeer: number, w: Workload): Result {
  for (let t = 0; t < WARMUP_TICKS; t++) w.tick();
  net.advance(500); // what the warm-up sent lands before counting starts
  w.received();
  const ticks = Math.round(seconds * 60);
  let sent = 0;
  const e0 = net.clock.eventsFired;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const sim0 = net.clock.now();
  for (let t = 0; t < ticks; t++) sent += w.tick();
  const t1 = performance.now();
  const wallS = (t1 - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuS = (cpu.user + cpu.system) / 1e6;
  const simulatedS = (net.clock.now() - sim0) / 1000;
  const eventsFired = net.clock.eventsFired - e0;
  net.advance(500); // let what is in flight land (not timed)
  const delivered = w.received();
  net.close();
  return { simulatedS, wallS, cpuS, speedup: simulatedS / wallS, messagesSent: sent, messagesDelivered: delivered, kBPerPeer, eventsFired, t0, t1 };
}

/** Messages counted by raw ends since the last call. */
function rawReceived(ends: RawEnd[]): () => number {
  return () => {
    let n = 0;
    for (const e of ends) {
      n += e.received;
      e.received = 0;
    }
    return n;
  };
}

export function runStar(peers: number, seconds: number, snapshots = false): Result {
  const before = heapUsed();
  const net = new VirtualNetwork({ seed: 1, defaultLink: LINK });
  const server = net.createHost('server');
  const pairs: [RawEnd, RawEnd][] = [];
  for (let i = 0; i < peers; i++) pairs.push(rawPair(server, net.createHost()));
  connectedCount = 0;
  net.runUntil(() => connectedCount === 2 * peers, { maxMs: 10_000 });
  net.advance(200);
  const kBPerPeer = (heapUsed() - before) / 1024 / peers;
  const payload = new Uint8Array(MESSAGE_BYTES);
  const snapshot = new Uint8Array(SNAPSHOT_BYTES);
  return measure(net, seconds, kBPerPeer, {
    tick: () => {
      for (let p = 0; p < peers; p++) {
        const [s, c] = pairs[p]!;
        for (let m = 0; m < MESSAGES_PER_TICK; m++) c.channel.sendBinary(payload);
        if (snapshots) s.channel.sendBinary(snapshot);
      }
      net.advance(TICK_MS);
      return peers * (MESSAGES_PER_TICK + (snapshots ? 1 : 0));
    },
    received: rawReceived(pairs.flat()),
  });
}

export function runMesh(peers: number, seconds: number): Result {
  const before = heapUsed();
  const net = new VirtualNetwork({ seed: 2, defaultLink: LINK });
  const hosts = Array.from({ length: peers }, () => net.createHost());
  const out: EngineChannel[][] = hosts.map(() => []);
  const ends: RawEnd[] = [];
  for (let i = 0; i < peers; i++) {
    for (let j = i + 1; j < peers; j++) {
      const [a, b] = rawPair(hosts[i]!, hosts[j]!);
      out[i]!.push(a.channel);
      out[j]!.push(b.channel);
      ends.push(a, b);
    }
  }
  connectedCount = 0;
  net.runUntil(() => connectedCount === ends.length, { maxMs: 10_000 });
  net.advance(200);
  const kBPerPeer = (heapUsed() - before) / 1024 / peers;
  const payload = new Uint8Array(MESSAGE_BYTES);
  return measure(net, seconds, kBPerPeer, {
    tick: () => {
      let sent = 0;
      for (const channels of out) {
        for (const ch of channels) for (let m = 0; m < MESSAGES_PER_TICK; m++) ch.sendBinary(payload);
        sent += channels.length * MESSAGES_PER_TICK;
      }
      net.advance(TICK_MS);
      return sent;
    },
    received: rawReceived(ends),
  });
}

/** The star through WebRTCPeerConnection in poll mode, as a game server runs it. */
export function runStarPeerLayer(peers: number, seconds: number): Result {
  const before = heapUsed();
  const net = new VirtualNetwork({ seed: 3, defaultLink: LINK });
  const server = net.createHost('server');
  const conns: WebRTCPeerConnection[] = [];
  const pairs: [WebRTCDataChannel, WebRTCDataChannel][] = [];
  for (let i = 0; i < peers; i++) {
    const host = net.createHost();
    const s = new WebRTCPeerConnection({}, { engine: server.engine });
    const c = new WebRTCPeerConnection({}, { engine: host.engine });
    s.on('session_description_created', (type, sdp) => c.setRemoteDescription(type, sdp));
    c.on('session_description_created', (type, sdp) => s.setRemoteDescription(type, sdp));
    s.on('ice_candidate_created', (mid, idx, cand) => c.addIceCandidate(mid, idx, cand));
    c.on('ice_candidate_created', (mid, idx, cand) => s.addIceCandidate(mid, idx, cand));
    const sc = s.createDataChannel('game', { negotiated: true, id: 1, ordered: false, maxRetransmits: 0 });
    const cc = c.createDataChannel('game', { negotiated: true, id: 1, ordered: false, maxRetransmits: 0 });
    s.createOffer();
    conns.push(s, c);
    pairs.push([sc, cc]);
  }
  const pollAll = () => {
    for (const pc of conns) pc.poll();
  };
  net.runUntil(
    () => {
      pollAll();
      return pairs.every(([s, c]) => s.getReadyState() === 1 && c.getReadyState() === 1);
    },
    { maxMs: 10_000 },
  );
  const kBPerPeer = (heapUsed() - before) / 1024 / peers;
  const payload = new Uint8Array(MESSAGE_BYTES);
  const snapshot = new Uint8Array(SNAPSHOT_BYTES);
  let delivered = 0;
  const read = (): void => {
    pollAll();
    for (const [s, c] of pairs) {
      while (s.getPacket() !== undefined) delivered++;
      while (c.getPacket() !== undefined) delivered++;
    }
  };
  const result = measure(net, seconds, kBPerPeer, {
    tick: () => {
      for (const [s, c] of pairs) {
        for (let m = 0; m < MESSAGES_PER_TICK; m++) c.putPacket(payload);
        s.putPacket(snapshot);
      }
      net.advance(TICK_MS);
      read();
      return pairs.length * (MESSAGES_PER_TICK + 1);
    },
    received: () => {
      read();
      const n = delivered;
      delivered = 0;
      return n;
    },
  });
  for (const pc of conns) pc.close();
  return result;
}

/** Simulated seconds of the lobby16 scenario (issue #11: 60). */
const LOBBY_SECONDS = 60;

/**
 * lobby16: the whole stack — 16 peers joined through the memory bus, lobby
 * meshes, RPC endpoints on Tickers — on links of 25 ms and 1 % loss, run
 * deadline to deadline for 60 simulated seconds (timed after the mesh formed).
 * Messages here are RPC calls received.
 */
async function runLobby16(): Promise<Result> {
  const net = new VirtualNetwork({ seed: 16, defaultLink: LINK });
  const r = await runLobby(net, 16, LOBBY_SECONDS);
  return { simulatedS: r.simulatedS, wallS: r.wallS, cpuS: r.cpuS, speedup: r.simulatedS / r.wallS, messagesSent: r.received, messagesDelivered: r.received, kBPerPeer: 0, eventsFired: r.eventsFired, t0: r.t0, t1: r.t1 };
}

/** Runs of every scenario; figures are medians over them. */
const RUNS = 5;

interface Scenario {
  key: string;
  name: string;
  seconds: number;
  /** Messages per simulated tick (the floor copies as many per batch). */
  perTick: number;
  run(): Result | Promise<Result>;
}

interface Measured {
  result: Result;
  floor: { wallS: number; cpuS: number; copies: number };
  gcMs: number;
}

const cpuNsPerMsg = (m: Measured): number => (m.result.cpuS / m.result.messagesSent) * 1e9;
const floorCpuNs = (m: Measured): number => (m.floor.cpuS / m.floor.copies) * 1e9;
const cpuVsFloor = (m: Measured): number => cpuNsPerMsg(m) / floorCpuNs(m);
const wallVsFloor = (m: Measured): number => (m.result.wallS / m.result.messagesSent) / (m.floor.wallS / m.floor.copies);
const simPerCpu = (m: Measured): number => m.result.simulatedS / m.result.cpuS;

/** Heap flags in effect (the benchmark forces none; see docs/virtual-network.md). */
function heapFlags(): string {
  const flags = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)].filter((a) => /semi-space|old-space|young/.test(a));
  return flags.length > 0 ? flags.join(' ') : "Node's defaults";
}

/** The scenarios, for `seconds` of simulated time each (the peer layer: at most 2). */
function scenarioList(seconds: number): Scenario[] {
  const peerSeconds = Math.min(seconds, 2);
  return [
    { key: 'star1000', name: 'star1000 engine', seconds, perTick: 1000 * MESSAGES_PER_TICK, run: () => runStar(1000, seconds) },
    { key: 'star1000_snapshots', name: 'star1000+snap engine', seconds, perTick: 1000 * (MESSAGES_PER_TICK + 1), run: () => runStar(1000, seconds, true) },
    { key: 'mesh32', name: 'mesh32 engine', seconds, perTick: 32 * 31 * MESSAGES_PER_TICK, run: () => runMesh(32, seconds) },
    { key: 'star1000_peer_layer', name: 'star1000+snap peer', seconds: peerSeconds, perTick: 1000 * (MESSAGES_PER_TICK + 1), run: () => runStarPeerLayer(1000, peerSeconds) },
    { key: 'lobby16', name: 'lobby16 whole stack', seconds: LOBBY_SECONDS, perTick: 16, run: () => runLobby16() },
  ];
}

/** One run: the yardstick, then the scenario, then the GC pauses of its timed part. */
async function measureOnce(s: Scenario): Promise<Measured> {
  const floor = copyFloor(MESSAGE_BYTES, s.perTick * Math.round(s.seconds * 60), s.perTick);
  const result = await s.run();
  await settleGcReports();
  const gcMs = gcPauseMs(result.t0, result.t1);
  gcPauses.length = 0;
  return { result, floor, gcMs };
}

const CHILD_FLAG = '--child-run';

/**
 * One run in a fresh process (same Node flags). Each network leaves the
 * process's JIT state behind it: the hot path is deoptimized when the previous
 * network dies (its code embedded objects of that network) and at the first
 * close, and re-optimized with feedback from every run before; later runs in
 * one process were 1.2–1.4× slower per message than a fresh process measured
 * right beside them (no JS state grows: heap snapshots after run 1 and run 4
 * differ only in compiled code). A fresh process per run measures the engine,
 * not the history of the process.
 */
function measureInChild(key: string, seconds: number): Measured {
  const file = fileURLToPath(import.meta.url);
  const child = spawnSync(process.execPath, [...process.execArgv, file, CHILD_FLAG, key, '--seconds', String(seconds)], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    timeout: 5 * 60_000,
  });
  const last = child.stdout?.trim().split('\n').pop();
  if (child.status !== 0 || last === undefined) throw new Error(`bench virtual: the run of ${key} failed (exit ${child.status}, ${child.signal ?? 'no signal'})`);
  return JSON.parse(last) as Measured;
}

/** Run the benchmark; returns the figures. */
export async function run(options: { seconds?: number; runs?: number; only?: string[]; inProcess?: boolean } = {}): Promise<Record<string, number | string>> {
  const seconds = options.seconds ?? 3;
  const runs = options.runs ?? RUNS;
  const scenarios: Scenario[] = [
    ...scenarioList(seconds),
  ].filter((s) => options.only === undefined || options.only.includes(s.key));
  if (scenarios.length === 0) throw new Error(`--only: no such scenario; pick from star1000, star1000_snapshots, mesh32, star1000_peer_layer, lobby16`);
  const measured = new Map<string, Measured[]>(scenarios.map((s) => [s.key, []]));
  const mode = options.inProcess ? 'all runs in this process' : 'every run in a fresh process';
  const perRun: (string | number)[][] = [];
  const order: [number, string, Measured][] = [];
  // Scenarios take turns run after run, each right after its own yardstick. By default every
  // run is a fresh process, so no run inherits another's JIT state (see measureOnce); with
  // `inProcess` they share this process, which shows what running many networks in one process costs.
  for (let r = 0; r < runs; r++) {
    for (const s of scenarios) {
      const m = options.inProcess ? await measureOnce(s) : measureInChild(s.key, seconds);
      measured.get(s.key)!.push(m);
      order.push([r + 1, s.name, m]);
    }
  }
  for (const [r, name, m] of order) {
    perRun.push([r, name, m.result.wallS, m.result.cpuS, m.result.speedup, simPerCpu(m), cpuNsPerMsg(m), floorCpuNs(m), cpuVsFloor(m), m.gcMs]);
  }
  const med = (key: string, f: (m: Measured) => number): number => median(measured.get(key)!.map(f));
  console.log(
    `virtual network: ${runs} runs of each scenario (${mode}), taking turns, each right after its yardstick (one ${MESSAGE_BYTES}-byte heap copy per message, ` +
      `batches kept alive two ticks); 60 ticks/s (timed after ${WARMUP_TICKS} untimed warm-up ticks), ${MESSAGES_PER_TICK} msgs x ${MESSAGE_BYTES} B per peer per tick ` +
      `(+snap: and one ${SNAPSHOT_BYTES} B snapshot per client from the server), links ${LINK.latencyMs} ms / ${LINK.loss * 100}% loss; heap: ${heapFlags()}`,
  );
  printTable(
    'every run (cpu = this process, all threads; floor = the yardstick measured just before; gc = pauses inside the timed part)',
    ['run', 'scenario', 'wall s', 'cpu s', 'speedup', 'sim/cpu', 'cpu ns/msg', 'floor ns/copy', 'cpu/floor', 'gc ms'],
    perRun,
  );
  printTable(
    `medians of ${runs} runs`,
    ['scenario', 'sim s', 'speedup', 'sim/cpu', 'Mmsg/wall s', 'cpu ns/msg', 'cpu/floor', 'wall/floor', 'lost %', 'kB/peer'],
    scenarios.map((s) => {
      const all = measured.get(s.key)!;
      return [
        s.name,
        all[0]!.result.simulatedS,
        med(s.key, (m) => m.result.speedup),
        med(s.key, simPerCpu),
        med(s.key, (m) => m.result.messagesSent / m.result.wallS / 1e6),
        med(s.key, cpuNsPerMsg),
        med(s.key, cpuVsFloor),
        med(s.key, wallVsFloor),
        med(s.key, (m) => ((m.result.messagesSent - m.result.messagesDelivered) / m.result.messagesSent) * 100),
        med(s.key, (m) => m.result.kBPerPeer),
      ];
    }),
  );
  const figures: Record<string, number | string> = {};
  for (const s of scenarios) {
    figures[`${s.key}_speedup`] = round(med(s.key, (m) => m.result.speedup), 2);
    figures[`${s.key}_cpu_vs_floor`] = round(med(s.key, cpuVsFloor), 3);
  }
  const star = measured.get('star1000');
  const peerLayer = measured.get('star1000_peer_layer');
  const mesh = measured.get('mesh32');
  if (star) Object.assign(figures, {
    star1000_sim_per_cpu_s: round(med('star1000', simPerCpu), 2),
    star1000_cpu_ns_per_msg: round(med('star1000', cpuNsPerMsg), 1),
    star1000_wall_vs_floor: round(med('star1000', wallVsFloor), 3),
    floor_cpu_ns_per_copy: round(med('star1000', floorCpuNs), 1),
    // Process age: last run against first, for the engine and for the yardstick measured beside it.
    star1000_last_vs_first_cpu: round(cpuNsPerMsg(star[star.length - 1]!) / cpuNsPerMsg(star[0]!), 2),
    floor_last_vs_first_cpu: round(floorCpuNs(star[star.length - 1]!) / floorCpuNs(star[0]!), 2),
    kB_per_virtual_peer: round(med('star1000', (m) => m.result.kBPerPeer), 1),
    star1000_msgs_per_wall_s: Math.round(med('star1000', (m) => m.result.messagesSent / m.result.wallS)),
  });
  if (peerLayer) figures.kB_per_virtual_peer_peer_layer = round(med('star1000_peer_layer', (m) => m.result.kBPerPeer), 1);
  if (mesh) figures.mesh32_msgs_per_wall_s = Math.round(med('mesh32', (m) => m.result.messagesSent / m.result.wallS));
  Object.assign(figures, {
    runs,
    simulated_seconds: seconds,
    heap: heapFlags(),
  });
  return figures;
}

if (isMain(import.meta.url)) {
  const arg = (name: string): number | undefined => {
    const at = process.argv.indexOf(name);
    const v = at >= 0 ? Number(process.argv[at + 1]) : NaN;
    return Number.isFinite(v) && v > 0 ? v : undefined;
  };
  const seconds = arg('--seconds');
  const child = process.argv.indexOf(CHILD_FLAG);
  if (child >= 0) {
    const scenario = scenarioList(seconds ?? 3).find((s) => s.key === process.argv[child + 1]);
    if (scenario === undefined) throw new Error(`${CHILD_FLAG}: unknown scenario ${process.argv[child + 1]}`);
    process.stdout.write(`${JSON.stringify(await measureOnce(scenario))}\n`);
  } else {
    const runs = arg('--runs');
    const at = process.argv.indexOf('--only');
    const only = at >= 0 ? process.argv[at + 1]?.split(',') : undefined;
    const figures = await run({
      ...(seconds !== undefined && { seconds }),
      ...(runs !== undefined && { runs: Math.round(runs) }),
      ...(only !== undefined && { only }),
      inProcess: process.argv.includes('--in-process'),
    });
    printFigures({ suite: 'virtual', ...figures });
  }
}
