/**
 * State sync benchmark, side by side with `@colyseus/schema` (the anchor) in
 * one run.
 *
 * Scenario (the issue's): 1000 objects in a 2 km × 2 km top-down world
 * (position vec3 quantised to 1 cm within ±1000 m, yaw, 4 small ints); a fixed
 * 10 % of them move every tick (x, y and yaw change), and 1 % of the objects
 * change one small int per tick; 32 clients, each seeing the objects within a
 * radius that covers a quarter of the world; 30 Hz.
 *
 * - rtcmesh: a SyncHost with SpatialInterest; per-client snapshots delta-coded
 *   against the acknowledged baseline. Clients really decode and acknowledge
 *   (acks lag 2 ticks, as with a ~70 ms round trip); only `host.tick()`
 *   (interest + encoding for every client) is timed.
 * - colyseus: the same state as `@colyseus/schema` 5 classes with its own
 *   quantisation (x/y/z `t.quantized` 32-bit — 1 cm over 2 km needs 18 bits, so
 *   32 — and yaw `t.angle()` 16-bit, the same precision rtcmesh uses), entities
 *   in a `.view()` map, one `StateView` per client holding the same objects
 *   rtcmesh's interest chose. Timed: the shared `encode()` + one `encodeView()`
 *   per client + `discardChanges()`. Client 0's stream is decoded to prove the
 *   setup (untimed).
 * - msgpack full: each client's visible objects as msgpack arrays every tick.
 * - sim64: 64 clients × 1000 objects at 30 Hz, the whole stack (virtual
 *   network, meshes, RPC endpoints, SyncHost, SyncClients with interpolation)
 *   in one process; simulated time ÷ wall time.
 *
 * Bytes are sync payload bytes (what the encoders produce); rtcmesh's RPC
 * framing adds about 12 bytes per message (`wire_bytes_per_client_tick`).
 * Encode times are the median tick of a run, per client. Three runs; the figures are medians. `sim64_cpu_speedup` is
 * simulated time ÷ the process's CPU time (less sensitive to a loaded machine than the wall-clock `sim64_speedup`).
 * Run: `npm run bench -- sync`, or one half alone (for profiling): `node --import tsx bench/sync.ts --only encode|sim64`.
 */
import { schema as csSchema, t as ct, Decoder, Encoder, StateView } from '@colyseus/schema';
import { pack } from 'msgpackr';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { WebRTCMultiplayerPeer, WebRTCPeerConnection } from '../src/index.js';
import { VirtualNetwork } from '../src/entries/virtual.js';
import { RpcEndpoint, type AnyRpcMethods } from '../src/rpc/index.js';
import { defineSchema, rpcTransport, SpatialInterest, SyncClient, SyncHost, t, type HostObject, type SyncTransport } from '../src/sync/index.js';
import { rng } from '../test/sync/rng.js';
import { isMain, median, printFigures, printTable, round } from './lib/report.js';

const OBJECTS = 1000;
const CLIENTS = 32;
const RATE = 30;
const HALF = 1000;
const RADIUS = Math.sqrt((0.25 * (2 * HALF) ** 2) / Math.PI); // a quarter of the world's area
const MOVERS = OBJECTS / 10;
const SPEED = 5 / RATE; // 5 m/s
const WARMUP = 60;
const TICKS = 300;
const RUNS = 3;
const ACK_LAG = 1; // ticks each way
const RPC_FRAMING = 12; // header (5) + [0, id, [bin]] frame overhead (~7)

const Entity = defineSchema('entity', {
  pos: t.vec3(t.quant(-HALF, HALF, 0.01)),
  yaw: t.quant(-Math.PI, Math.PI, (2 * Math.PI) / 65536),
  a: t.uint8,
  b: t.uint8,
  c: t.uint8,
  d: t.uint8,
});

const CsEntity = csSchema(
  {
    x: ct.quantized({ min: -HALF, max: HALF, bits: 32 }),
    y: ct.quantized({ min: -HALF, max: HALF, bits: 32 }),
    z: ct.quantized({ min: -HALF, max: HALF, bits: 32 }),
    yaw: ct.angle(),
    a: ct.uint8(),
    b: ct.uint8(),
    c: ct.uint8(),
    d: ct.uint8(),
  },
  'Entity',
);
const CsState = csSchema({ entities: ct.map(CsEntity).view() }, 'State');
Encoder.BUFFER_SIZE = 512 * 1024; // the initial full state of 1000 entities exceeds colyseus's default

function collectGarbage(): () => void {
  try {
    setFlagsFromString('--expose-gc');
    return runInNewContext('gc') as () => void;
  } catch {
    return () => {};
  }
}
const gc = collectGarbage();
/** Heap plus typed-array backing stores, after full collections. */
const heap = () => {
  gc();
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
};

/** The simulated world: positions, headings and ints, changed the same way for every encoder. */
class World {
  readonly x = new Float64Array(OBJECTS);
  readonly y = new Float64Array(OBJECTS);
  readonly yaw = new Float64Array(OBJECTS);
  readonly ints = new Uint8Array(OBJECTS * 4);
  readonly movers: number[] = [];
  readonly viewers: { x: number; y: number }[] = [];
  /** Objects whose ints changed this tick: [object, which]. */
  intChanges: [number, number][] = [];
  private readonly rand: () => number;

  constructor(seed: number, clients: number) {
    const rand = (this.rand = rng(seed));
    for (let i = 0; i < OBJECTS; i++) {
      this.x[i] = (rand() * 2 - 1) * (HALF - 10);
      this.y[i] = (rand() * 2 - 1) * (HALF - 10);
      this.yaw[i] = (rand() * 2 - 1) * Math.PI * 0.99;
      for (let k = 0; k < 4; k++) this.ints[i * 4 + k] = Math.floor(rand() * 256);
    }
    const order = Array.from({ length: OBJECTS }, (_, i) => i).sort(() => rand() - 0.5);
    this.movers.push(...order.slice(0, MOVERS));
    const inner = HALF - RADIUS;
    for (let c = 0; c < clients; c++) this.viewers.push({ x: (rand() * 2 - 1) * inner, y: (rand() * 2 - 1) * inner });
  }

  step(): void {
    for (const i of this.movers) {
      let yaw = this.yaw[i]! + (this.rand() - 0.5) * 0.1;
      if (yaw > Math.PI * 0.99) yaw -= 1.9 * Math.PI;
      if (yaw < -Math.PI * 0.99) yaw += 1.9 * Math.PI;
      let x = this.x[i]! + Math.cos(yaw) * SPEED;
      let y = this.y[i]! + Math.sin(yaw) * SPEED;
      if (Math.abs(x) > HALF - 1) x = Math.sign(x) * (HALF - 1);
      if (Math.abs(y) > HALF - 1) y = Math.sign(y) * (HALF - 1);
      this.x[i] = x;
      this.y[i] = y;
      this.yaw[i] = yaw;
    }
    this.intChanges = [];
    for (let k = 0; k < OBJECTS / 100; k++) {
      const i = Math.floor(this.rand() * OBJECTS);
      const which = Math.floor(this.rand() * 4);
      this.ints[i * 4 + which] = Math.floor(this.rand() * 256);
      this.intChanges.push([i, which]);
    }
  }
}

const INT_KEYS = ['a', 'b', 'c', 'd'] as const;

/** In-process transport with a fixed lag in ticks each way; counts bytes. */
class LagLinks {
  private readonly inFlight: { due: number; from: number; to: number; data: Uint8Array }[] = [];
  private readonly handlers = new Map<number, (peer: number, data: unknown) => void>();
  private readonly leftHandlers: ((peer: number) => void)[] = [];
  now = 0;
  hostBytes = 0;
  hostMessages = 0;
  constructor(readonly clientIds: number[]) {}
  transport(id: number): SyncTransport {
    return {
      ownId: () => id,
      authority: () => 1,
      peers: () => (id === 1 ? this.clientIds : [1]),
      send: (peer, data) => {
        if (id === 1) {
          this.hostBytes += data.length;
          this.hostMessages++;
        }
        this.inFlight.push({ due: this.now + ACK_LAG, from: id, to: peer, data });
        return true;
      },
      maxMessageSize: () => 65536,
      onMessage: (h) => void this.handlers.set(id, h),
      onPeerLeft: (h) => void (id === 1 && this.leftHandlers.push(h)),
      close: () => void this.handlers.delete(id),
    };
  }
  deliverDue(): void {
    let keep = 0;
    const due = [];
    for (const m of this.inFlight) {
      if (m.due <= this.now) due.push(m);
      else this.inFlight[keep++] = m;
    }
    this.inFlight.length = keep;
    for (const m of due) this.handlers.get(m.to)?.(m.from, m.data);
  }
  /** Tell the host every client left (frees its per-peer state). */
  dropAll(): void {
    for (const id of this.clientIds) for (const h of this.leftHandlers) h(id);
  }
}

interface RunFigures {
  bytes: number;
  wireBytes: number;
  csBytes: number;
  msgpackBytes: number;
  encodeUs: number;
  csEncodeUs: number;
  visibleFraction: number;
  movingVisible: number;
  hostKb: number;
  clientKb: number;
}

function runOnce(seed: number): RunFigures {
  const world = new World(seed, CLIENTS);
  const clientIds = Array.from({ length: CLIENTS }, (_, i) => i + 2);
  const links = new LagLinks(clientIds);
  const host = new SyncHost(links.transport(1), {
    schemas: [Entity],
    tickRate: RATE,
    interest: new SpatialInterest({ radius: RADIUS, position: 'pos', viewer: (p) => world.viewers[p - 2] }),
  });
  const objs: HostObject<typeof Entity.fields>[] = [];
  for (let i = 0; i < OBJECTS; i++) {
    objs.push(host.spawn(Entity, { pos: { x: world.x[i]!, y: world.y[i]!, z: 0 }, yaw: world.yaw[i]!, a: world.ints[i * 4]!, b: world.ints[i * 4 + 1]!, c: world.ints[i * 4 + 2]!, d: world.ints[i * 4 + 3]! }));
  }
  let clients: SyncClient[] | undefined = clientIds.map((id) => new SyncClient(links.transport(id), { schemas: [Entity] }));

  // Colyseus side.
  let cs: { state: any; encoder: Encoder; ents: any[]; views: StateView[]; sets: Set<number>[]; decoder: Decoder; dstate: any } | undefined;
  {
    const state = new CsState();
    const encoder = new Encoder(state);
    const ents: any[] = [];
    for (let i = 0; i < OBJECTS; i++) {
      const e: any = new CsEntity();
      e.x = world.x[i];
      e.y = world.y[i];
      e.z = 0;
      e.yaw = world.yaw[i];
      e.a = world.ints[i * 4];
      e.b = world.ints[i * 4 + 1];
      e.c = world.ints[i * 4 + 2];
      e.d = world.ints[i * 4 + 3];
      state.entities.set(String(i + 1), e);
      ents.push(e);
    }
    const dstate = new CsState();
    cs = { state, encoder, ents, views: clientIds.map(() => new StateView()), sets: clientIds.map(() => new Set()), decoder: new Decoder(dstate), dstate };
  }

  let bytes = 0;
  let messages = 0;
  let csBytes = 0;
  let msgpackBytes = 0;
  let msgpackSamples = 0;
  const encodeMs: number[] = [];
  const csEncodeMs: number[] = [];
  let visible = 0;
  let movingVisible = 0;
  const moverIds = new Set(world.movers.map((i) => i + 1));
  let csFirst = true;

  for (let tick = 1; tick <= WARMUP + TICKS; tick++) {
    const measuring = tick > WARMUP;
    world.step();
    // rtcmesh: apply the changes.
    for (const i of world.movers) objs[i]!.set({ pos: { x: world.x[i]!, y: world.y[i]!, z: 0 }, yaw: world.yaw[i]! });
    for (const [i, k] of world.intChanges) objs[i]!.set(INT_KEYS[k]!, world.ints[i * 4 + k]!);
    // colyseus: the same changes.
    for (const i of world.movers) {
      const e = cs.ents[i];
      e.x = world.x[i];
      e.y = world.y[i];
      e.yaw = world.yaw[i];
    }
    for (const [i, k] of world.intChanges) cs.ents[i][INT_KEYS[k]!] = world.ints[i * 4 + k];

    const b0 = links.hostBytes;
    const m0 = links.hostMessages;
    const t0 = performance.now();
    host.tick();
    const t1 = performance.now();
    // Colyseus views follow the objects rtcmesh's interest chose this tick (untimed: that is the game's job).
    for (let c = 0; c < CLIENTS; c++) {
      const want = new Set(host.visibleTo(c + 2));
      const have: Set<number> = cs.sets[c]!;
      for (const id of have) if (!want.has(id)) (cs.views[c]!.remove(cs.ents[id - 1]), have.delete(id));
      for (const id of want) if (!have.has(id)) (cs.views[c]!.add(cs.ents[id - 1]), have.add(id));
      if (measuring) {
        visible += want.size;
        for (const id of want) if (moverIds.has(id)) movingVisible++;
      }
    }
    let tickCsBytes = 0;
    const t2 = performance.now();
    const it = { offset: 0 };
    if (csFirst) cs.encoder.encodeAll(it);
    else cs.encoder.encode(it);
    const shared = it.offset;
    for (let c = 0; c < CLIENTS; c++) {
      const out = csFirst ? cs.encoder.encodeAllView(cs.views[c]!, shared, it) : cs.encoder.encodeView(cs.views[c]!, shared, it);
      tickCsBytes += out.length;
      if (c === 0) cs.decoder.decode(out); // proves the stream (untimed would be nicer; it is small next to the encode)
    }
    cs.encoder.discardChanges();
    const t3 = performance.now();
    csFirst = false;
    if (measuring) {
      bytes += links.hostBytes - b0;
      messages += links.hostMessages - m0;
      csBytes += tickCsBytes;
      encodeMs.push(t1 - t0);
      csEncodeMs.push(t3 - t2);
      if (tick % 10 === 0) {
        for (let c = 0; c < CLIENTS; c++) {
          const rows = host.visibleTo(c + 2).map((id) => {
            const i = id - 1;
            return [id, world.x[i], world.y[i], 0, world.yaw[i], world.ints[i * 4], world.ints[i * 4 + 1], world.ints[i * 4 + 2], world.ints[i * 4 + 3]];
          });
          msgpackBytes += pack(rows).length;
          msgpackSamples++;
        }
      }
    }
    // Clients receive (after the lag), decode and acknowledge.
    links.now = tick;
    links.deliverDue();
    for (const c of clients!) c.poll(tick * (1000 / RATE));
  }
  // Prove both sides agree with the world (rtcmesh clients hold exactly what they see; colyseus client 0 too).
  const c0 = clients![0]!;
  const v0 = host.visibleTo(2);
  if (c0.objects.size !== v0.length) throw new Error(`rtcmesh client 0 holds ${c0.objects.size} objects, sees ${v0.length}`);
  if (cs.dstate.entities.size !== v0.length) throw new Error(`colyseus client 0 holds ${cs.dstate.entities.size} objects, sees ${v0.length}`);
  for (const c of clients!) if (Object.keys(c.getStats().errors).length > 0) throw new Error(`client errors ${JSON.stringify(c.getStats().errors)}`);

  // Memory: host per-peer state, and a client's replicas.
  cs = undefined;
  const withClients = heap();
  for (const c of clients!) c.close();
  clients.length = 0;
  clients = undefined;
  heap();
  const withPeers = heap();
  links.dropAll();
  const withoutPeers = heap();
  const perTick = CLIENTS * TICKS;
  return {
    bytes: bytes / perTick,
    wireBytes: (bytes + messages * RPC_FRAMING) / perTick,
    csBytes: csBytes / perTick,
    msgpackBytes: msgpackBytes / msgpackSamples,
    // Median tick (robust to preemption on a shared machine), per client.
    encodeUs: (median(encodeMs) * 1000) / CLIENTS,
    csEncodeUs: (median(csEncodeMs) * 1000) / CLIENTS,
    visibleFraction: visible / perTick / OBJECTS,
    movingVisible: movingVisible / perTick,
    hostKb: (withPeers - withoutPeers) / CLIENTS / 1024,
    clientKb: (withClients - withPeers) / CLIENTS / 1024,
  };
}

/** 64 clients × 1000 objects at 30 Hz: the whole stack on the virtual network. Returns simulated ÷ wall time. */
function sim64(seed: number): { speedup: number; cpuSpeedup: number; verified: number } {
  const N = 64;
  const net = new VirtualNetwork({ seed });
  const world = new World(seed, N);
  const sHost = net.createHost('server');
  const serverMesh = new WebRTCMultiplayerPeer({ clock: net.clock });
  serverMesh.createServer();
  const server = new RpcEndpoint<AnyRpcMethods>(serverMesh, { clock: net.clock });
  const host = new SyncHost(rpcTransport(server), {
    schemas: [Entity],
    tickRate: RATE,
    interest: new SpatialInterest({ radius: RADIUS, position: 'pos', viewer: (p) => world.viewers[p - 2] }),
  });
  const eps: RpcEndpoint<AnyRpcMethods>[] = [];
  const clients: SyncClient[] = [];
  for (let i = 0; i < N; i++) {
    const id = i + 2;
    const h = net.createHost(`c${id}`);
    net.link(sHost, h, { latencyMs: 30, jitter: 3, loss: 0.01 });
    const mesh = new WebRTCMultiplayerPeer({ clock: net.clock });
    mesh.createClient(id);
    const a = new WebRTCPeerConnection({}, { engine: sHost.engine, autoPoll: true });
    const b = new WebRTCPeerConnection({}, { engine: h.engine, autoPoll: true });
    a.on('session_description_created', (type, sdp) => (a.setLocalDescription(type, sdp), b.setRemoteDescription(type, sdp)));
    b.on('session_description_created', (type, sdp) => (b.setLocalDescription(type, sdp), a.setRemoteDescription(type, sdp)));
    a.on('ice_candidate_created', (m, x, c) => b.addIceCandidate(m, x, c));
    b.on('ice_candidate_created', (m, x, c) => a.addIceCandidate(m, x, c));
    serverMesh.addPeer(a, id);
    mesh.addPeer(b, 1);
    b.createOffer();
    const ep = new RpcEndpoint<AnyRpcMethods>(mesh, { clock: net.clock });
    eps.push(ep);
    clients.push(new SyncClient(rpcTransport(ep), { schemas: [Entity] }));
  }
  const all = [server, ...eps];
  const ok = net.runUntil(
    () => {
      for (const ep of all) (ep.poll(), ep.flush());
      return server.getPeerIds().length === N && eps.every((e) => e.usesMethodIds(1));
    },
    { maxMs: 60_000, stepMs: 10 },
  );
  if (!ok) throw new Error('sim64: the star did not connect');
  const objs: HostObject<typeof Entity.fields>[] = [];
  for (let i = 0; i < OBJECTS; i++) {
    objs.push(host.spawn(Entity, { pos: { x: world.x[i]!, y: world.y[i]!, z: 0 }, yaw: world.yaw[i]!, a: world.ints[i * 4]!, b: world.ints[i * 4 + 1]!, c: world.ints[i * 4 + 2]!, d: world.ints[i * 4 + 3]! }));
  }
  const step = () => {
    server.poll();
    world.step();
    for (const i of world.movers) objs[i]!.set({ pos: { x: world.x[i]!, y: world.y[i]!, z: 0 }, yaw: world.yaw[i]! });
    for (const [i, k] of world.intChanges) objs[i]!.set(INT_KEYS[k]!, world.ints[i * 4 + k]!);
    host.tick();
    server.flush();
    const now = net.clock.now();
    for (let i = 0; i < N; i++) {
      eps[i]!.poll();
      clients[i]!.poll(now);
      eps[i]!.flush();
    }
    net.clock.advance(1000 / RATE);
  };
  for (let i = 0; i < WARMUP; i++) step();
  const simStart = net.clock.now();
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < TICKS; i++) step();
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const simulated = net.clock.now() - simStart;
  let verified = 0;
  // A client is current when its newest complete tick is within a round trip (+ a tick) of the host's.
  for (let i = 0; i < N; i++) if (clients[i]!.tick >= host.currentTick - 4) verified++;
  for (const ep of all) (ep.close(), ep.mesh.close());
  net.close();
  return { speedup: simulated / wall, cpuSpeedup: simulated / ((cpu.user + cpu.system) / 1000), verified };
}

export function main(argv: string[] = process.argv.slice(2)): void {
  // `--only encode` runs the encoder comparison alone, `--only sim64` the whole simulation alone (for profiling).
  const only = argv.includes('--only') ? argv[argv.indexOf('--only') + 1] : undefined;
  if (only !== undefined && only !== 'encode' && only !== 'sim64') throw new Error(`--only takes encode or sim64, not ${only}`);
  const runs: RunFigures[] = [];
  if (only !== 'sim64') for (let r = 0; r < RUNS; r++) runs.push(runOnce(1000 + r));
  const sims: { speedup: number; cpuSpeedup: number; verified: number }[] = [];
  if (only !== 'encode') for (let r = 0; r < RUNS; r++) sims.push(sim64(2000 + r));
  if (only === 'sim64') {
    const speedup = median(sims.map((s) => s.speedup));
    printTable('sim64 only', ['figure', 'value'], [
      ['sim64 speedup, per run', sims.map((s) => s.speedup.toFixed(2)).join(' / ')],
      ['sim64 simulated ÷ CPU time, per run', sims.map((s) => s.cpuSpeedup.toFixed(2)).join(' / ')],
      ['clients current', `${median(sims.map((s) => s.verified))} of 64`],
    ]);
    printFigures({ sim64_speedup: round(speedup, 2), sim64_cpu_speedup: round(median(sims.map((s) => s.cpuSpeedup)), 2) });
    return;
  }
  const med = (f: (x: RunFigures) => number) => median(runs.map(f));
  const bytes = med((x) => x.bytes);
  const csBytes = med((x) => x.csBytes);
  const encodeUs = med((x) => x.encodeUs);
  const csEncodeUs = med((x) => x.csEncodeUs);
  const speedup = only === 'encode' ? NaN : median(sims.map((s) => s.speedup));
  printTable(
    `sync: ${OBJECTS} objects, ${MOVERS} moving, ${CLIENTS} clients seeing ~${(med((x) => x.visibleFraction) * 100).toFixed(0)} % of the world (${med((x) => x.movingVisible).toFixed(1)} moving objects each), ${RATE} Hz; medians of ${RUNS} runs`,
    ['encoder', 'bytes/client/tick', 'encode µs/client/tick', 'vs colyseus (bytes)', 'vs colyseus (encode)'],
    [
      ['rtcmesh sync (payload)', bytes, encodeUs, bytes / csBytes, encodeUs / csEncodeUs],
      ['rtcmesh sync (+ RPC framing)', med((x) => x.wireBytes), '', med((x) => x.wireBytes) / csBytes, ''],
      ['@colyseus/schema 5 (StateView)', csBytes, csEncodeUs, 1, 1],
      ['msgpack full snapshot', med((x) => x.msgpackBytes), '', med((x) => x.msgpackBytes) / csBytes, ''],
    ],
  );
  printTable('memory and whole simulation', ['figure', 'value'], [
    ['host kB per client (per-peer state)', med((x) => x.hostKb)],
    ['client kB (replicas, interpolation, history)', med((x) => x.clientKb)],
    ['sim64 speedup (simulated ÷ wall), per run', sims.map((s) => s.speedup.toFixed(2)).join(' / ')],
    ['sim64 simulated ÷ CPU time of the process (robust to a loaded machine), per run', sims.map((s) => s.cpuSpeedup.toFixed(2)).join(' / ')],
    ['sim64 clients current at the end (complete tick within 4 of the host)', `${median(sims.map((s) => s.verified))} of 64`],
  ]);
  printFigures({
    bytes_per_client_tick: round(bytes, 1),
    wire_bytes_per_client_tick: round(med((x) => x.wireBytes), 1),
    colyseus_bytes_per_client_tick: round(csBytes, 1),
    msgpack_full_bytes_per_client_tick: round(med((x) => x.msgpackBytes), 1),
    bytes_ratio_vs_colyseus: round(bytes / csBytes, 3),
    encode_us_per_client_tick: round(encodeUs, 2),
    colyseus_encode_us_per_client_tick: round(csEncodeUs, 2),
    encode_ratio_vs_colyseus: round(encodeUs / csEncodeUs, 3),
    kB_per_client: round(med((x) => x.hostKb), 2),
    client_kB: round(med((x) => x.clientKb), 1),
    ...(only === 'encode' ? {} : { sim64_speedup: round(speedup, 2), sim64_cpu_speedup: round(median(sims.map((s) => s.cpuSpeedup)), 2) }),
  });
}

if (isMain(import.meta.url)) main();
