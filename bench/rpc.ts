/**
 * bench/rpc: RPC throughput over one real loopback link (two
 * WebRTCMultiplayerPeers in mesh mode), side by side with raw node-datachannel
 * on the same link. On one connection pair:
 *
 * - raw (reused 64 B), once, first: the old anchor, 64 B messages resending
 *   one array (kept for continuity: `raw_reused_64b_msgs_per_s`);
 * - then ROUNDS rounds of the stages below, each round in a rotated order
 *   (round r starts r stages further on; `RPC_BENCH_ORDER` / `RPC_BENCH_ROTATE=0`
 *   change it), so no stage always runs right after the same other one:
 *   - raw: messages of the RPC message's exact size (header + call frame), a
 *     fresh array per message, on a raw node-datachannel channel of the link's
 *     own native connections (negotiated id 900, beside the mesh's channels),
 *     sent in the same loop shape as the RPC stages (up to 256 per turn under
 *     the same high-water mark, both meshes polled each turn, receiver
 *     counting in its callback);
 *   - mesh: the mesh alone, `putPacket` of fresh arrays of that size (the
 *     ceiling of an immediate RPC, which is one such packet per call);
 *   - unbatched: every call is `immediate`, so one call = one SCTP message;
 *   - turn-batched: every call is `immediate: 'turn'`, so the calls made in one
 *     synchronous turn (up to 256 here) leave as one message at its end;
 *   the RPC stages start once both endpoints call by method id (their hello
 *   handshake done), so their messages have the raw stage's size;
 *   each round's ratios are taken against that round's raw figure, and the
 *   figures line has the medians over the rounds;
 * - batched: a 60 Hz Ticker (virtual clock, ticks run back to back) where each
 *   tick's update makes CALLS_PER_TICK calls, flushed as one message per tick.
 *
 * The RPC layer alone, no network: `rpc_send_ns_per_call` and
 * `rpc_receive_ns_per_call`, the CPU an immediate call costs the sender and
 * the receiver over a mesh that sends nowhere (steady under machine load,
 * where the network figures swing).
 *
 * Codec, no network: `codec_ns_per_call` is what such a call pays in the
 * shipping codec (the endpoint's hand-written encoder for calls of numbers /
 * booleans / null / short ASCII strings, then msgpackr's decoder);
 * `codec_msgpackr_ns_per_call` is msgpackr for both (the path of calls with
 * objects, Maps, bins, bigints, Dates or non-ASCII strings).
 * Each call carries (id: int, x, y, z: float64), ~40 B encoded.
 * Loop shape, as measured (RPC_BENCH_NATIVE=1 prints it): on loopback
 * libdatachannel's `bufferedAmount()` stays 0 at these rates (usrsctp takes
 * the backlog into its own send buffer), so the high-water mark never holds a
 * burst back and every per-call stage hands all its messages over in
 * count / 256 turns, back to back; the rest of the stage is the stack
 * draining them. Each stage makes the same native calls per message (one
 * send, one `bufferedAmount`, one message callback; the mesh stages add ~0.001
 * of control frames), so what separates them is the JavaScript thread's time
 * per message, and that costs several times itself: the native stack bundles
 * fewer messages per packet when sends come further apart (0.5 µs of busy
 * work per message before each raw send took raw to ~0.6-0.7 of itself).
 *
 * `RPC_BENCH_ROUNDS` sets the rounds (default 5); `RPC_BENCH_STAGES` a
 * comma list of stages to run (codec, layer, anchor, raw, mesh, unbatched, turn, batched;
 * default all); `RPC_BENCH_SESSION=0` runs the meshes without their session
 * header; `RPC_BENCH_NATIVE=1` reports per stage (stderr) the node-datachannel
 * calls per message and the turns taken; `RPC_BENCH_THREADS=1` reports per
 * stage (stderr) the user / system CPU per message, when the last message was
 * handed over and how many had arrived by then, and per thread group (the
 * JavaScript thread, libdatachannel's `RTC worker`s, `juice poll`, V8/libuv
 * helpers) CPU µs and voluntary / involuntary context switches per message.
 * `RPC_BENCH_BUSY_SEND=n` / `RPC_BENCH_BUSY_RECV=n` (probes) add n rounds of
 * busy work (~10 ns each) before each mesh-stage send / after each receive.
 */
import { TransferMode, WebRTCMultiplayerPeer } from '../src/index.js';
import { RpcEndpoint, Ticker } from '../src/rpc/index.js';
import { FrameKind, encode, encodeHeader, tableChecksum } from '../src/rpc/codec.js';
import { stream, type BenchLink } from './lib/links.js';
import { meshLink } from './lib/mesh-link.js';
import { watchNativeCalls } from './lib/native-calls.js';
import { isMain, median, printFigures, printTable, round } from './lib/report.js';
import { codecNsPerCall, layerNsPerCall } from './lib/rpc-micro.js';
import { stageMeters, type Rate } from './lib/stage-meter.js';

const RAW_MESSAGES = 100_000;
const ROUNDS = Number(process.env.RPC_BENCH_ROUNDS ?? 5);
const STAGES = new Set((process.env.RPC_BENCH_STAGES ?? 'codec,layer,anchor,raw,mesh,unbatched,turn,batched').split(','));
/** RPC_BENCH_SESSION=0: the meshes run without the session header (reliable replay on reconnect), which is on by default. */
const SESSION = process.env.RPC_BENCH_SESSION !== '0';
/** RPC_BENCH_NATIVE=1: count node-datachannel calls per message and turns per stage (debug; stderr). */
const NATIVE = process.env.RPC_BENCH_NATIVE === '1';
/** RPC_BENCH_THREADS=1: CPU time and context switches per message of each thread group, user/system split (debug; stderr). */
const THREADS = process.env.RPC_BENCH_THREADS === '1';
/** Messages (calls) per stage of a round; short stages, alternated, so load drift hits every stage alike. */
const UNBATCHED_CALLS = Number(process.env.RPC_BENCH_PER_STAGE ?? 20_000);

const BUSY_SEND = Number(process.env.RPC_BENCH_BUSY_SEND ?? 0);
const BUSY_RECV = Number(process.env.RPC_BENCH_BUSY_RECV ?? 0);
let sink = 0;
function busy(n: number): void {
  for (let i = 0; i < n; i++) sink = (sink * 31 + i) | 0;
}

/** Stage meters (rate, CPU; RPC_BENCH_NATIVE / RPC_BENCH_THREADS reports); the natives are set once the link is up. */
const { meter, handedOver, setNatives } = stageMeters({ native: NATIVE, threads: THREADS });
/** Calls (and raw messages) sent per synchronous turn in the per-call stages. */
const PER_TURN = 256;
/** The RPCs the bench registers (their names make the table checksum in every message header). */
const RPC_NAMES = ['move', 'moveNow', 'moveTurn'];
const BATCHED_CALLS = 600_000;
const CALLS_PER_TICK = Number(process.env.RPC_BENCH_CALLS_PER_TICK ?? 2_000);
const HIGH_WATER = 1024 * 1024;

const tick = () => new Promise<void>((r) => setImmediate(r));

let turnSupported = false;

/** Whether this build has `immediate: 'turn'` (the bench also runs on older builds for before/after figures). */
function hasTurnMode(m: WebRTCMultiplayerPeer): boolean {
  try {
    new RpcEndpoint(m).register('probe', () => {}, { immediate: 'turn' } as never).close();
    return true;
  } catch {
    return false;
  }
}

function endpoints(a: WebRTCMultiplayerPeer, b: WebRTCMultiplayerPeer, counter: { n: number; last: number }, turn: boolean) {
  const handler = (_ctx: unknown, id: number, _x: number, _y: number, _z: number) => {
    counter.n++;
    counter.last = id;
  };
  const mk = (m: WebRTCMultiplayerPeer) => {
    const ep = new RpcEndpoint(m)
      .register('move', handler, { mode: 'any_peer' })
      .register('moveNow', handler, { mode: 'any_peer', immediate: true });
    // Registered on old builds too (as a plain RPC) so the table checksum, hence the header, is the same.
    return ep.register('moveTurn', handler, { mode: 'any_peer', ...(turn ? { immediate: 'turn' as never } : {}) });
  };
  return [mk(a), mk(b)] as const;
}

/** Old anchor: 64 B messages resending one reused array, with `stream`'s flow control. */
async function rawReusedMessagesPerSecond(link: BenchLink): Promise<number> {
  const s = await stream(link, 64, RAW_MESSAGES * 64);
  link.onMessageB(() => {});
  return RAW_MESSAGES / s;
}

/**
 * Raw messages of `size` bytes, a fresh array each (as the RPC stages hand the
 * mesh), in the RPC stages' loop shape: up to PER_TURN per turn below the high-water mark.
 */
async function rawFreshMessagesPerSecond(link: BenchLink, size: number, meshes: WebRTCMultiplayerPeer[]): Promise<Rate> {
  let received = 0;
  let last = -1;
  link.onMessageB((d) => {
    received++;
    last = d[0]!;
  });
  const done = meter('raw');
  let sent = 0;
  let turns = 0;
  let sendingTurns = 0;
  while (received < UNBATCHED_CALLS) {
    while (sent < UNBATCHED_CALLS && link.bufferedA() < HIGH_WATER) {
      const msg = new Uint8Array(size);
      msg[0] = sent & 0xff;
      link.sendA(msg);
      if ((++sent & (PER_TURN - 1)) === 0) break;
    }
    turns++;
    if (sent === UNBATCHED_CALLS && sendingTurns === 0) (sendingTurns = turns), handedOver(received);
    for (const m of meshes) m.poll(); // keep the mesh links alive (heartbeats), as the RPC stages do
    await tick();
  }
  const rate = done(UNBATCHED_CALLS, turns, sendingTurns);
  link.onMessageB(() => {});
  if (last !== (UNBATCHED_CALLS - 1) % 256) throw new Error('bench/rpc: raw messages arrived out of order');
  return rate;
}

/**
 * The mesh alone: `putPacket` of fresh `size`-byte arrays to peer 2 on the
 * reliable channel, received with `getPacket`, in the same loop shape. The
 * ceiling for an immediate RPC, which is one such packet per call.
 */
async function meshPacketsPerSecond(a: WebRTCMultiplayerPeer, b: WebRTCMultiplayerPeer, size: number): Promise<Rate> {
  const ch = a.getPeer(2)!.channels[0]!;
  a.targetPeer = 2;
  a.transferChannel = 0;
  a.transferMode = TransferMode.RELIABLE;
  let received = 0;
  let last = -1;
  const done = meter('mesh');
  let sent = 0;
  let turns = 0;
  let sendingTurns = 0;
  while (received < UNBATCHED_CALLS) {
    while (sent < UNBATCHED_CALLS && ch.getBufferedAmount() < HIGH_WATER) {
      const msg = new Uint8Array(size);
      msg[0] = sent & 0xff;
      if (BUSY_SEND > 0) busy(BUSY_SEND);
      a.putPacket(msg);
      if ((++sent & (PER_TURN - 1)) === 0) break;
    }
    turns++;
    if (sent === UNBATCHED_CALLS && sendingTurns === 0) (sendingTurns = turns), handedOver(received);
    a.poll();
    b.poll();
    for (let d = b.getPacket(); d !== undefined; d = b.getPacket()) (received++, (last = d[0]!), BUSY_RECV > 0 && busy(BUSY_RECV));
    await tick();
  }
  const rate = done(UNBATCHED_CALLS, turns, sendingTurns);
  if (last !== (UNBATCHED_CALLS - 1) % 256) throw new Error('bench/rpc: mesh packets arrived out of order');
  return rate;
}

/**
 * Run `step` each turn until both endpoints call by method id (their hello
 * handshake is done), so every measured message has the size the raw stage
 * sends: before it, calls carry the method's name (a longer message).
 */
async function handshaken(ea: RpcEndpoint, eb: RpcEndpoint, step: () => void): Promise<void> {
  const t0 = Date.now();
  for (let i = 0; i < 3 || !ea.usesMethodIds(2) || !eb.usesMethodIds(1); i++) {
    if (Date.now() - t0 > 15_000) throw new Error('bench/rpc: the RPC endpoints did not finish their handshake in 15 s');
    step();
    await tick();
  }
}

/** Calls/s of `name` (immediate or turn-batched), PER_TURN calls per turn. */
async function perCallCallsPerSecond(a: WebRTCMultiplayerPeer, b: WebRTCMultiplayerPeer, name: 'moveNow' | 'moveTurn'): Promise<Rate & { messages: number }> {
  const counter = { n: 0, last: -1 };
  const [ea, eb] = endpoints(a, b, counter, turnSupported);
  await handshaken(ea, eb, () => (ea.poll(), eb.poll(), ea.flush(), eb.flush()));
  const ch = a.getPeer(2)!.channels[0]!;
  const msgs0 = ea.getStats().messagesSent;
  const done = meter(name);
  let sent = 0;
  let turns = 0;
  let sendingTurns = 0;
  while (counter.n < UNBATCHED_CALLS) {
    while (sent < UNBATCHED_CALLS && ch.getBufferedAmount() < HIGH_WATER) {
      ea.rpcId(2, name, sent++, 1.5, 2.5, 3.5);
      if ((sent & (PER_TURN - 1)) === 0) break;
    }
    turns++;
    if (sent === UNBATCHED_CALLS && sendingTurns === 0) (sendingTurns = turns), handedOver(counter.n);
    ea.poll();
    eb.poll();
    await tick();
  }
  const rate = done(UNBATCHED_CALLS, turns, sendingTurns);
  if (counter.last !== UNBATCHED_CALLS - 1) throw new Error(`bench/rpc: ${name} calls arrived out of order`);
  const messages = ea.getStats().messagesSent - msgs0;
  ea.close();
  eb.close();
  return { ...rate, messages };
}

async function batchedCallsPerSecond(a: WebRTCMultiplayerPeer, b: WebRTCMultiplayerPeer): Promise<{ callsPerS: number; messages: number; ticks: number }> {
  const counter = { n: 0, last: -1 };
  const [ea, eb] = endpoints(a, b, counter, false);
  let now = 0;
  const clock = { now: () => now };
  let sent = 0;
  const ch = a.getPeer(2)!.channels[0]!;
  // One ticker per side, as two game processes would have; same 60 Hz virtual timeline.
  const sender = new Ticker(ea, {
    rate: 60,
    clock,
    update: () => {
      if (ch.getBufferedAmount() >= HIGH_WATER) return; // back-pressure: skip this tick's burst
      for (let i = 0; i < CALLS_PER_TICK && sent < BATCHED_CALLS; i++) ea.rpcId(2, 'move', sent++, 1.5, 2.5, 3.5);
    },
  });
  const receiver = new Ticker(eb, { rate: 60, clock });
  await handshaken(ea, eb, () => (sender.step(), receiver.step()));
  const msgs0 = ea.getStats().messagesSent;
  const t0 = performance.now();
  while (counter.n < BATCHED_CALLS) {
    now += sender.dtMs;
    sender.advance();
    receiver.advance();
    await tick();
  }
  const s = (performance.now() - t0) / 1000;
  if (counter.last !== BATCHED_CALLS - 1) throw new Error('bench/rpc: batched calls arrived out of order');
  const messages = ea.getStats().messagesSent - msgs0;
  ea.close();
  eb.close();
  return { callsPerS: BATCHED_CALLS / s, messages, ticks: sender.tick };
}

export async function run(): Promise<Record<string, number | string>> {
  const stage = (s: string) => process.stderr.write(`bench/rpc: ${s}\n`);
  const on = (s: string) => STAGES.has(s);
  stage('codec');
  const codecNs = on('codec') ? codecNsPerCall(false) : NaN;
  const codecGenericNs = on('codec') ? codecNsPerCall(true) : NaN;
  stage('RPC layer alone');
  const layer = on('layer') ? layerNsPerCall() : { send: NaN, receive: NaN };
  stage('mesh link');
  if (NATIVE) watchNativeCalls();
  const [a, b, rawLinkOnMesh, natives] = await meshLink(SESSION);
  setNatives(natives);
  const turnMode = (turnSupported = hasTurnMode(a));
  const frameBytes = encode([FrameKind.CALL, 0, [123456, 1.5, 2.5, 3.5]]).length;
  const messageBytes = encodeHeader(tableChecksum([...RPC_NAMES].sort())).length + frameBytes;
  stage('raw node-datachannel, reused 64 B array');
  const rawReused = on('anchor') ? await rawReusedMessagesPerSecond(rawLinkOnMesh) : NaN;
  const NONE: Rate & { messages: number } = { perS: NaN, cpuUs: NaN, messages: NaN };
  const rounds: { raw: Rate; mesh: Rate; unbatched: Rate; turn: Rate & { messages: number } }[] = [];
  // Each round runs the stages in a rotated order (round r starts r places further on), so no stage always follows the same one.
  const ORDER = (process.env.RPC_BENCH_ORDER ?? 'raw,mesh,unbatched,turn').split(',');
  const ROTATE = process.env.RPC_BENCH_ROTATE !== '0';
  for (let r = 0; r < ROUNDS; r++) {
    const order = ORDER.map((_, i) => ORDER[(i + (ROTATE ? r : 0)) % ORDER.length]!);
    stage(`round ${r + 1}/${ROUNDS}: ${order.join(', ')} (raw: ${messageBytes} B fresh arrays)`);
    const got: Record<string, Rate & { messages?: number }> = {};
    for (const name of order) {
      if (!on(name)) continue;
      if (name === 'raw') got.raw = await rawFreshMessagesPerSecond(rawLinkOnMesh, messageBytes, [a, b]);
      else if (name === 'mesh') got.mesh = await meshPacketsPerSecond(a, b, messageBytes);
      else if (name === 'unbatched') got.unbatched = await perCallCallsPerSecond(a, b, 'moveNow');
      else if (name === 'turn' && turnMode) got.turn = await perCallCallsPerSecond(a, b, 'moveTurn');
    }
    rounds.push({ raw: got.raw ?? NONE, mesh: got.mesh ?? NONE, unbatched: got.unbatched ?? NONE, turn: (got.turn as Rate & { messages: number }) ?? NONE });
  }
  stage('batched');
  const batched = on('batched') ? await batchedCallsPerSecond(a, b) : { callsPerS: NaN, messages: NaN, ticks: NaN };
  rawLinkOnMesh.close();
  a.close();
  b.close();
  type Round = (typeof rounds)[number];
  const med = (f: (r: Round) => number) => median(rounds.map(f));
  const perRound = (f: (r: Round) => number) => rounds.map((r) => round(f(r), 2)).join(' / ');
  const raw = med((r) => r.raw.perS);
  const unbatched = med((r) => r.unbatched.perS);
  const turn = med((r) => r.turn.perS);
  // Wall ratios (throughput ÷ raw's) and CPU ratios (raw's CPU per message ÷ this CPU per message): ≥ 1 is as cheap as raw.
  const unbatchedRatio = med((r) => r.unbatched.perS / r.raw.perS);
  const turnRatio = med((r) => r.turn.perS / r.raw.perS);
  const meshRatio = med((r) => r.mesh.perS / r.raw.perS);
  const unbatchedVsMesh = med((r) => r.unbatched.perS / r.mesh.perS);
  const unbatchedCpu = med((r) => r.raw.cpuUs / r.unbatched.cpuUs);
  const meshCpu = med((r) => r.raw.cpuUs / r.mesh.cpuUs);
  const turnCpu = med((r) => r.raw.cpuUs / r.turn.cpuUs);
  printTable(
    `rpc: one loopback link, node-datachannel; calls carry (int, 3 × float64); ${ROUNDS} rounds, medians`,
    ['figure', 'value', 'note'],
    [
      ['raw node-datachannel 64 B messages/s, one reused array', rawReused, `${RAW_MESSAGES} messages, run first (the old anchor)`],
      [`raw node-datachannel ${messageBytes} B messages/s, fresh arrays`, raw, `the anchor: RPC message size, ${PER_TURN} per turn; ${med((r) => r.raw.cpuUs).toFixed(1)} µs CPU each`],
      [`mesh putPacket ${messageBytes} B packets/s, fresh arrays`, med((r) => r.mesh.perS), `the mesh alone (session ${SESSION ? 'on' : 'off'}); ${med((r) => r.mesh.cpuUs).toFixed(1)} µs CPU each`],
      ['mesh ÷ raw', meshRatio, `the ceiling of unbatched ÷ raw; rounds ${perRound((r) => r.mesh.perS / r.raw.perS)}`],
      ['mesh CPU ratio (raw CPU ÷ mesh CPU per message)', meshCpu, `rounds ${perRound((r) => r.raw.cpuUs / r.mesh.cpuUs)}`],
      ['RPC calls/s, unbatched (immediate)', unbatched, `one message per call; ${med((r) => r.unbatched.cpuUs).toFixed(1)} µs CPU each`],
      ['unbatched ÷ raw', unbatchedRatio, `target ≥ 0.9; rounds ${perRound((r) => r.unbatched.perS / r.raw.perS)}`],
      ['unbatched CPU ratio (raw CPU ÷ RPC CPU per message)', unbatchedCpu, `rounds ${perRound((r) => r.raw.cpuUs / r.unbatched.cpuUs)}`],
      ['unbatched ÷ mesh', unbatchedVsMesh, `RPC over the mesh alone; rounds ${perRound((r) => r.unbatched.perS / r.mesh.perS)}`],
      ["RPC calls/s, turn-batched (immediate: 'turn')", turn, `up to ${PER_TURN} calls per turn, ${med((r) => r.turn.messages)} messages per stage`],
      ['turn-batched ÷ raw', turnRatio, `rounds ${perRound((r) => r.turn.perS / r.raw.perS)}`],
      ['turn-batched CPU ratio', turnCpu, `rounds ${perRound((r) => r.raw.cpuUs / r.turn.cpuUs)}`],
      ['RPC calls/s, batched at 60 Hz', batched.callsPerS, `${CALLS_PER_TICK} calls/tick, ticks back to back`],
      ['batched ÷ raw', batched.callsPerS / raw, 'target ≥ 5'],
      ['messages for the batched run', batched.messages, `${BATCHED_CALLS} calls, ${batched.ticks} ticks`],
      ['RPC layer ns per immediate call, sender (no network)', layer.send, 'rpcId → encode → putPacket of a mesh that sends nowhere; CPU time, steady under load'],
      ['RPC layer ns per immediate call, receiver (no network)', layer.receive, 'receive → decode → handler'],
      ['codec ns per call, shipping codec (encode + decode)', codecNs, `hand-written encoder + msgpackr decode, ${frameBytes} B per call frame`],
      ['codec ns per call, pure msgpackr (encode + decode)', codecGenericNs, 'msgpackr both ways: calls with objects, Maps, bins, bigints, Dates, non-ASCII'],
    ],
  );
  const figures = {
    suite: 'rpc',
    unbatched_calls_per_s: Math.round(unbatched),
    batched_calls_per_s: Math.round(batched.callsPerS),
    raw_msgs_per_s: Math.round(raw),
    batched_ratio: round(batched.callsPerS / raw),
    unbatched_ratio: round(unbatchedRatio),
    codec_ns_per_call: round(codecNs, 1),
    codec_msgpackr_ns_per_call: round(codecGenericNs, 1),
    calls_per_tick: CALLS_PER_TICK,
    frame_bytes: frameBytes,
    turn_batched_calls_per_s: Math.round(turn),
    turn_batched_ratio: round(turnRatio),
    raw_reused_64b_msgs_per_s: Math.round(rawReused),
    mesh_packets_per_s: Math.round(med((r) => r.mesh.perS)),
    mesh_ratio: round(meshRatio),
    unbatched_vs_mesh: round(unbatchedVsMesh),
    rpc_send_ns_per_call: round(layer.send, 1),
    rpc_receive_ns_per_call: round(layer.receive, 1),
    unbatched_cpu_ratio: round(unbatchedCpu),
    mesh_cpu_ratio: round(meshCpu),
    turn_batched_cpu_ratio: round(turnCpu),
    raw_cpu_us_per_msg: round(med((r) => r.raw.cpuUs), 2),
    unbatched_cpu_us_per_call: round(med((r) => r.unbatched.cpuUs), 2),
    message_bytes: messageBytes,
    session: SESSION ? 1 : 0,
    rounds: ROUNDS,
    per_stage: UNBATCHED_CALLS,
  };
  printFigures(figures);
  return figures;
}

if (isMain(import.meta.url)) await run();
