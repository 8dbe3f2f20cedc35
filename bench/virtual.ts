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
 *
 * Reports simulated seconds per wall second (speedup) and heap per virtual
 * peer. Runs on one core (the simulation is single-threaded).
 *
 * Run: `npx tsx bench/virtual.ts` (add `--seconds N` to simulate longer).
 * The last stdout line is one JSON object of figures.
 */
import { spawnSync } from 'node:child_process';
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { WebRTCPeerConnection, type WebRTCDataChannel } from '../src/core.js';
import type { EngineChannel, EngineChannelHandlers, EngineConnection, EngineConnectionHandlers } from '../src/transport/engine.js';
import { VirtualNetwork, type VirtualHost } from '../src/transport/virtual/index.js';
import { isMain, printFigures } from './lib/report.js';

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
  const wallS = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuS = (cpu.user + cpu.system) / 1e6;
  const simulatedS = (net.clock.now() - sim0) / 1000;
  const eventsFired = net.clock.eventsFired - e0;
  net.advance(500); // let what is in flight land (not timed)
  const delivered = w.received();
  net.close();
  return { simulatedS, wallS, cpuS, speedup: simulatedS / wallS, messagesSent: sent, messagesDelivered: delivered, kBPerPeer, eventsFired };
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

/**
 * The floor under any engine that copies each payload once: the same number
 * of 32-byte copies, kept alive about as long as messages in flight. Measured
 * in the same process at the same time, so the ratio to it does not depend on
 * how loaded the machine is.
 */
function copyFloorS(messages: number, perTick: number): number {
  const payload = new Uint8Array(MESSAGE_BYTES);
  const ticks = Math.ceil(messages / perTick);
  const live: Uint8Array[][] = [];
  const t0 = performance.now();
  for (let t = 0; t < ticks; t++) {
    const batch: Uint8Array[] = new Array(perTick);
    for (let i = 0; i < perTick; i++) {
      const copy = new Uint8Array(MESSAGE_BYTES);
      copy.set(payload);
      batch[i] = copy;
    }
    live.push(batch);
    if (live.length > 2) live.shift();
  }
  return (performance.now() - t0) / 1000;
}

/** Runs per scenario; the figures are those of the median run (by speedup), so one noisy moment does not decide them. */
const RUNS = 3;

function medianRun(scenario: () => Result): Result {
  const results = Array.from({ length: RUNS }, scenario).sort((a, b) => a.speedup - b.speedup);
  return results[Math.floor(RUNS / 2)]!;
}

function row(name: string, r: Result): string {
  return [
    name.padEnd(20),
    r.simulatedS.toFixed(1).padStart(6),
    r.wallS.toFixed(2).padStart(7),
    r.speedup.toFixed(1).padStart(8),
    (r.simulatedS / r.cpuS).toFixed(1).padStart(9),
    (r.messagesSent / r.wallS / 1e6).toFixed(2).padStart(9),
    ((r.messagesSent - r.messagesDelivered) / r.messagesSent * 100).toFixed(2).padStart(7),
    r.kBPerPeer.toFixed(1).padStart(8),
  ].join(' ');
}

/** Run the benchmark; returns the figures. */
export async function run(options: { seconds?: number } = {}): Promise<Record<string, number | string>> {
  const seconds = options.seconds ?? 3;
  const star = medianRun(() => runStar(1000, seconds));
  const starSnap = medianRun(() => runStar(1000, seconds, true));
  const mesh = medianRun(() => runMesh(32, seconds));
  const starPeer = medianRun(() => runStarPeerLayer(1000, Math.min(seconds, 2)));
  const floor = copyFloorS(star.messagesSent, star.messagesSent / Math.round(seconds * 60));
  console.log(`virtual network, median of ${RUNS} runs each, 60 ticks/s (timed after ${WARMUP_TICKS} untimed warm-up ticks), ${MESSAGES_PER_TICK} msgs x ${MESSAGE_BYTES} B per peer per tick (+snap: and one ${SNAPSHOT_BYTES} B snapshot per client from the server), links ${LINK.latencyMs} ms / ${LINK.loss * 100}% loss`);
  console.log(['scenario'.padEnd(20), 'sim s'.padStart(6), 'wall s'.padStart(7), 'speedup'.padStart(8), 'sim/cpu'.padStart(9), 'Mmsg/s'.padStart(9), 'lost %'.padStart(7), 'kB/peer'.padStart(8)].join(' '));
  console.log(row('star1000 engine', star));
  console.log(row('star1000+snap engine', starSnap));
  console.log(row('mesh32 engine', mesh));
  console.log(row('star1000+snap peer', starPeer));
  console.log(`one 32-byte copy per star1000 message alone takes ${floor.toFixed(2)} s here: the engine runs at ${(star.wallS / floor).toFixed(1)}x that floor`);
  return {
    star1000_speedup: Number(star.speedup.toFixed(2)),
    star1000_snapshots_speedup: Number(starSnap.speedup.toFixed(2)),
    mesh32_speedup: Number(mesh.speedup.toFixed(2)),
    star1000_sim_per_cpu_s: Number((star.simulatedS / star.cpuS).toFixed(2)),
    star1000_wall_vs_copy_floor: Number((star.wallS / floor).toFixed(2)),
    star1000_peer_layer_speedup: Number(starPeer.speedup.toFixed(2)),
    kB_per_virtual_peer: Number(star.kBPerPeer.toFixed(1)),
    kB_per_virtual_peer_peer_layer: Number(starPeer.kBPerPeer.toFixed(1)),
    star1000_msgs_per_wall_s: Math.round(star.messagesSent / star.wallS),
    mesh32_msgs_per_wall_s: Math.round(mesh.messagesSent / mesh.wallS),
    simulated_seconds: seconds,
  };
}

const SEMI_SPACE_FLAG = '--max-semi-space-size=64';

function hasSemiSpaceFlag(): boolean {
  return [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)].some((a) => a.startsWith('--max-semi-space-size'));
}

if (isMain(import.meta.url)) {
  if (!hasSemiSpaceFlag()) {
    // Messages in flight outlive V8's default young generation and get copied
    // and promoted; a 64 MB semi-space (recommended for big simulations, see
    // docs/virtual-network.md) halves the CPU cost. Re-run with it.
    const child = spawnSync(process.execPath, [...process.execArgv, SEMI_SPACE_FLAG, ...process.argv.slice(1)], { stdio: 'inherit' });
    process.exit(child.status ?? 1);
  }
  const at = process.argv.indexOf('--seconds');
  const seconds = at >= 0 ? Number(process.argv[at + 1]) : undefined;
  const figures = await run(seconds !== undefined && seconds > 0 ? { seconds } : {});
  printFigures({ suite: 'virtual', ...figures });
}
