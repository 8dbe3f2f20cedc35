/**
 * Signaling benchmark: rtcmesh's `SignalingServer` side by side with PeerJS's
 * server (`peer` 1.0.2, the anchor) in the same run, same load shape.
 *
 * Each server runs alone in its own child process (bench/lib/signaling-server.ts),
 * which measures its event-loop delay (`monitorEventLoopDelay`, p99), CPU and RSS.
 * rtcmesh's server is the built `dist/` (what users run; `npm run build` first —
 * with a `dist/` older than `src/` the sources are measured through tsx, and
 * `rtcmesh_code` says so): BENCH_SIGNALING_FROM=src measures the sources
 * through tsx, =<dir> another build's dist (before/after in one session).
 * rtcmesh's load clients speak protocol 4 (array frames both ways, see
 * src/signaling/batch.ts) unless BENCH_SIGNALING_BATCH=0 (protocol 3, one
 * message per frame: for a build older than 4); `rtcmesh_protocol` says which.
 * The load comes from worker threads (bench/lib/signaling-load.ts, ≥ 2, speaking
 * WebSocket through the minimal bench/lib/raw-ws-client.ts) so the generator is
 * not the bottleneck: N clients in lobbies (rings) of 8 join, then
 * each keeps 2 candidate messages in flight to its ring neighbour (each one
 * received triggers the next). After a warm-up, relayed messages received by
 * clients are counted over the measurement window. Runs alternate the order of
 * the two servers; the figures are medians over runs.
 *
 * Figures (last line): relayed_per_s_<N>, peerjs_relayed_per_s_<N>,
 * relayed_ratio_<N> (rtcmesh / PeerJS), lag_p99_ms_<N>, peerjs_lag_p99_ms_<N>,
 * rss_kB_per_client_<N> (server RSS growth over its idle RSS, after the window, per client),
 * rss_idle_kB_per_client_<N> (the same with every client joined and idle, after a full GC: what
 * a connection costs at rest, without the garbage and young generation of relaying),
 * server_us_per_relay_<N> / peerjs_… (server CPU per relayed message; server_sys_us_per_relay_<N> /
 * peerjs_… its kernel part) and cost_ratio_<N>
 * (PeerJS's CPU per message / rtcmesh's: the efficiency ratio, which a busy machine
 * disturbs far less than the throughput ratio).
 *
 *   npm run bench -- signaling
 *   npx tsx bench/signaling.ts [--clients 1000,5000] [--runs 3] [--duration 3000] [--warmup 1000] [--workers 2] [--lobby 8] [--window 2] [--servers rtcmesh,peerjs]
 */
import { fork, spawnSync, type ChildProcess } from 'node:child_process';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import type { LoadWorkerData } from './lib/signaling-load.js';
import { isMain, median, printFigures, printTable, round } from './lib/report.js';

const SERVER = fileURLToPath(new URL('./lib/signaling-server.ts', import.meta.url));
const LOAD = new URL('./lib/signaling-load.ts', import.meta.url);
/** Worker threads do not inherit tsx's loader on Node 20: each registers it, then loads the TypeScript worker. */
const TSX_API = import.meta.resolve('tsx/esm/api');
const WORKER_BOOT = `import(${JSON.stringify(TSX_API)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(LOAD.href)}); });`;

type Kind = 'rtcmesh' | 'peerjs';

interface RunOptions {
  clients: number[];
  runs: number;
  durationMs: number;
  warmupMs: number;
  workers: number;
  lobbySize: number;
  window: number;
  /** Servers to run (default both; one alone gives no ratio). */
  servers: Kind[];
}

interface Sample {
  lagP99Ms: number;
  lagMaxMs: number;
  lagSamples: number;
  timerLagP99Ms: number;
  timerLagMaxMs: number;
  rssKb: number;
  cpuS: number;
  /** System (kernel) CPU seconds since start, part of cpuS. */
  sysS: number;
}

interface Result {
  kind: Kind;
  clients: number;
  held: number;
  connectMs: number;
  relayedPerS: number;
  lagP99Ms: number;
  lagMaxMs: number;
  /** How late a 10 ms interval timer fired, p99 (cross-check of the event-loop delay). */
  timerLagP99Ms: number;
  rssKbPerClient: number;
  /** Server RSS growth per client with every client joined and idle, after a full GC. */
  rssIdleKbPerClient: number;
  serverCpuPct: number;
  /** Server CPU time per relayed message (µs): the server's cost, robust to a busy machine. */
  serverUsPerRelay: number;
  /** The kernel's part of it (system CPU time per relayed message, µs): socket reads and writes. */
  serverSysUsPerRelay: number;
  /** Busiest load worker's event-loop utilisation during the window, %. */
  genBusyPct: number;
}

function fdLimit(): number {
  const r = spawnSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' });
  const n = Number(r.stdout.trim());
  return r.stdout.trim() === 'unlimited' ? Infinity : Number.isFinite(n) && n > 0 ? n : 1024;
}

/** Send a command to a child or worker and wait for the answer carrying `key`. */
function ask<T>(target: ChildProcess | Worker, message: object, key: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: Record<string, unknown>) => {
      if (!(key in m) && m.cmd !== key) return;
      target.off('message', onMessage);
      target.off('exit', onExit);
      target.off('error', onExit);
      resolve(m as T);
    };
    const onExit = (code: number | Error) => {
      target.off('message', onMessage);
      target.off('exit', onExit);
      target.off('error', onExit);
      reject(code instanceof Error ? code : new Error(`exited (${code}) while waiting for "${key}"`));
    };
    target.on('message', onMessage);
    target.once('exit', onExit);
    target.once('error', onExit);
    if (target instanceof Worker) target.postMessage(message);
    else target.send(message);
  });
}

/** Which rtcmesh code the server children ran (`dist`, `src (tsx)` or a dist directory). */
let rtcmeshCode = '';

async function startServer(kind: Kind, maxClients: number): Promise<{ child: ChildProcess; url: string }> {
  const child = fork(SERVER, [kind, String(maxClients)], {
    // BENCH_SERVER_PROF=dir: each server process writes a CPU profile of its measurement window there.
    // BENCH_SERVER_FLAGS="--trace-gc …" adds Node/V8 flags to each server process.
    execArgv: [
      '--import',
      'tsx',
      '--expose-gc',
      '--max-old-space-size=4096',
      ...(process.env.BENCH_SERVER_FLAGS ? process.env.BENCH_SERVER_FLAGS.split(' ').filter(Boolean) : []),
    ],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const ready = await new Promise<{ url: string; code: string }>((resolve, reject) => {
    child.once('message', (m) => resolve(m as { url: string; code: string }));
    child.once('exit', (code) => reject(new Error(`${kind} server exited with ${code} before listening`)));
  });
  if (kind === 'rtcmesh') rtcmeshCode = ready.code;
  return { child, url: ready.url };
}

async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.send({ cmd: 'stop' });
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/** Split `n` clients into lobbies of `size` (the last may be smaller) dealt round-robin to `workers`. */
function plan(n: number, size: number, workers: number): number[][] {
  const out: number[][] = Array.from({ length: workers }, () => []);
  let li = 0;
  for (let left = n; left > 0; left -= size, li++) out[li % workers]!.push(Math.min(size, left));
  return out.filter((l) => l.length > 0);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms)); // measurement windows, not synchronisation

const debug = process.env.BENCH_DEBUG ? (s: string) => process.stderr.write(`[bench] ${s}\n`) : () => {};

async function runOne(kind: Kind, n: number, o: RunOptions): Promise<Result> {
  debug(`${kind} ${n}: start server`);
  const { child, url } = await startServer(kind, n);
  const workers: Worker[] = [];
  try {
    await ask(child, { cmd: 'gc' }, 'gc');
    const base = (await ask<{ sample: Sample }>(child, { cmd: 'sample' }, 'sample')).sample;
    for (const [i, lobbies] of plan(n, o.lobbySize, o.workers).entries()) {
      const data: LoadWorkerData = { kind, url, worker: i, lobbies, window: o.window, concurrency: 64 };
      const w = new Worker(WORKER_BOOT, { eval: true, workerData: data });
      workers.push(w);
    }
    debug(`${kind} ${n}: connect`);
    const t0 = performance.now();
    const joined = await Promise.all(workers.map((w) => ask<{ connected: number; failed: number; error: string }>(w, { cmd: 'connect' }, 'connect')));
    const connectMs = performance.now() - t0;
    const failed = joined.reduce((a, j) => a + j.failed, 0);
    if (failed > 0) process.stderr.write(`${kind}: ${failed} of ${n} clients failed to join (${joined.find((j) => j.error)?.error})\n`);

    debug(`${kind} ${n}: joined in ${Math.round(connectMs)} ms; relay`);
    // Idle memory with every client joined, after a full GC (under BENCH_DEBUG the server prints its breakdown).
    await ask(child, { cmd: 'gc' }, 'gc');
    const idle = (await ask<{ sample: Sample }>(child, { cmd: 'sample' }, 'sample')).sample;
    debug(`${kind} ${n}: idle RSS ${Math.round((idle.rssKb - base.rssKb) / n * 100) / 100} kB/client after GC`);
    await Promise.all(workers.map((w) => ask(w, { cmd: 'start' }, 'start')));
    await sleep(o.warmupMs);
    await Promise.all([...workers.map((w) => ask(w, { cmd: 'reset' }, 'reset')), ask(child, { cmd: 'reset' }, 'reset')]);
    const before = (await ask<{ sample: Sample }>(child, { cmd: 'sample' }, 'sample')).sample;
    const tw = performance.now();
    await sleep(o.durationMs);
    const [after, ...counts] = await Promise.all([
      ask<{ sample: Sample }>(child, { cmd: 'sample' }, 'sample'),
      ...workers.map((w) => ask<{ received: number; frames: number; busy: number; open: number; errors: number; firstError: string }>(w, { cmd: 'count' }, 'count')),
    ]);
    const elapsedS = (performance.now() - tw) / 1000;
    const errors = counts.reduce((a, c) => a + c.errors, 0);
    debug(`${kind} ${n}: frames ${counts.reduce((a, c) => a + c.frames, 0)} relayed ${counts.reduce((a, c) => a + c.received, 0)}`);
    if (errors > 0) process.stderr.write(`${kind}: clients got ${errors} errors (first: ${counts.find((c) => c.firstError)?.firstError})\n`);
    const s = after.sample;
    return {
      kind,
      clients: n,
      held: counts.reduce((a, c) => a + c.open, 0),
      connectMs: Math.round(connectMs),
      relayedPerS: Math.round(counts.reduce((a, c) => a + c.received, 0) / elapsedS),
      lagP99Ms: round(s.lagP99Ms, 1),
      lagMaxMs: round(Math.max(s.lagMaxMs, s.timerLagMaxMs), 1),
      timerLagP99Ms: round(s.timerLagP99Ms, 1),
      rssKbPerClient: round((s.rssKb - base.rssKb) / n, 2),
      rssIdleKbPerClient: round((idle.rssKb - base.rssKb) / n, 2),
      serverCpuPct: Math.round(((s.cpuS - before.cpuS) / elapsedS) * 100),
      serverUsPerRelay: round(((s.cpuS - before.cpuS) * 1e6) / Math.max(1, counts.reduce((a, c) => a + c.received, 0)), 2),
      serverSysUsPerRelay: round(((s.sysS - before.sysS) * 1e6) / Math.max(1, counts.reduce((a, c) => a + c.received, 0)), 2),
      genBusyPct: Math.round(Math.max(...counts.map((c) => c.busy)) * 100),
    };
  } finally {
    debug(`${kind} ${n}: stop workers`);
    await Promise.all(workers.map((w) => ask(w, { cmd: 'stop' }, 'stop').catch(() => undefined)));
    await Promise.all(workers.map((w) => w.terminate()));
    debug(`${kind} ${n}: stop server`);
    await stopServer(child);
    debug(`${kind} ${n}: done`);
  }
}

function medianResult(rs: Result[]): Result {
  const m = (f: (r: Result) => number) => median(rs.map(f));
  return {
    kind: rs[0]!.kind,
    clients: rs[0]!.clients,
    held: m((r) => r.held),
    connectMs: m((r) => r.connectMs),
    relayedPerS: m((r) => r.relayedPerS),
    lagP99Ms: m((r) => r.lagP99Ms),
    lagMaxMs: m((r) => r.lagMaxMs),
    timerLagP99Ms: m((r) => r.timerLagP99Ms),
    rssKbPerClient: m((r) => r.rssKbPerClient),
    rssIdleKbPerClient: m((r) => r.rssIdleKbPerClient),
    serverCpuPct: m((r) => r.serverCpuPct),
    serverUsPerRelay: m((r) => r.serverUsPerRelay),
    serverSysUsPerRelay: m((r) => r.serverSysUsPerRelay),
    genBusyPct: m((r) => r.genBusyPct),
  };
}

/** Run the benchmark; returns the figures (the table is printed). */
export async function run(options: Partial<RunOptions> = {}): Promise<Record<string, number | string>> {
  const o: RunOptions = {
    clients: [1000, 5000],
    runs: 3,
    durationMs: 3000,
    warmupMs: 1000,
    workers: Math.max(2, Math.min(4, cpus().length)),
    lobbySize: 8,
    window: 2,
    servers: ['rtcmesh', 'peerjs'],
    ...options,
  };
  const limit = fdLimit();
  const figures: Record<string, number | string> = { fd_limit: Number.isFinite(limit) ? limit : 'unlimited', runs: o.runs, workers: o.workers };
  const rows: (string | number)[][] = [];
  for (const requested of o.clients) {
    // The server and the load process each hold one fd per socket, plus some for themselves.
    const n = Math.min(requested, Math.floor(limit - 200));
    if (n < requested) process.stdout.write(`ulimit -n is ${limit}: running ${n} clients instead of ${requested} (raise it with "ulimit -n ${requested + 500}")\n`);
    if (n <= 0) continue;
    const byKind: Record<Kind, Result[]> = { rtcmesh: [], peerjs: [] };
    for (let r = 0; r < o.runs; r++) {
      const order: Kind[] = r % 2 === 0 ? ['rtcmesh', 'peerjs'] : ['peerjs', 'rtcmesh'];
      for (const kind of order) if (o.servers.includes(kind)) byKind[kind].push(await runOne(kind, n, o));
    }
    if (byKind.rtcmesh.length === 0 || byKind.peerjs.length === 0) {
      for (const x of [...byKind.rtcmesh, ...byKind.peerjs]) rows.push([x.kind, x.clients, x.held, x.connectMs, x.relayedPerS, x.lagP99Ms, x.timerLagP99Ms, x.lagMaxMs, x.rssKbPerClient, x.rssIdleKbPerClient, x.serverCpuPct, x.serverUsPerRelay, x.serverSysUsPerRelay, x.genBusyPct]);
      continue;
    }
    const ours = medianResult(byKind.rtcmesh);
    const anchor = medianResult(byKind.peerjs);
    for (const x of [ours, anchor]) {
      rows.push([x.kind, x.clients, x.held, x.connectMs, x.relayedPerS, x.lagP99Ms, x.timerLagP99Ms, x.lagMaxMs, x.rssKbPerClient, x.rssIdleKbPerClient, x.serverCpuPct, x.serverUsPerRelay, x.serverSysUsPerRelay, x.genBusyPct]);
    }
    // Each run's ratio against the anchor of the same run, then the median.
    const ratios = byKind.rtcmesh.map((x, i) => x.relayedPerS / Math.max(1, byKind.peerjs[i]!.relayedPerS));
    figures[`relayed_per_s_${requested}`] = ours.relayedPerS;
    figures[`peerjs_relayed_per_s_${requested}`] = anchor.relayedPerS;
    figures[`relayed_ratio_${requested}`] = round(median(ratios), 2);
    figures[`lag_p99_ms_${requested}`] = ours.lagP99Ms;
    figures[`peerjs_lag_p99_ms_${requested}`] = anchor.lagP99Ms;
    figures[`timer_lag_p99_ms_${requested}`] = ours.timerLagP99Ms;
    figures[`peerjs_timer_lag_p99_ms_${requested}`] = anchor.timerLagP99Ms;
    figures[`rss_kB_per_client_${requested}`] = ours.rssKbPerClient;
    figures[`peerjs_rss_kB_per_client_${requested}`] = anchor.rssKbPerClient;
    figures[`rss_idle_kB_per_client_${requested}`] = ours.rssIdleKbPerClient;
    figures[`peerjs_rss_idle_kB_per_client_${requested}`] = anchor.rssIdleKbPerClient;
    figures[`clients_held_${requested}`] = ours.held;
    figures[`server_us_per_relay_${requested}`] = ours.serverUsPerRelay;
    figures[`peerjs_server_us_per_relay_${requested}`] = anchor.serverUsPerRelay;
    figures[`server_sys_us_per_relay_${requested}`] = ours.serverSysUsPerRelay;
    figures[`peerjs_server_sys_us_per_relay_${requested}`] = anchor.serverSysUsPerRelay;
    figures[`cost_ratio_${requested}`] = round(median(byKind.peerjs.map((x, i) => x.serverUsPerRelay / Math.max(1e-9, byKind.rtcmesh[i]!.serverUsPerRelay))), 2);
  }
  if (rtcmeshCode) figures.rtcmesh_code = rtcmeshCode;
  figures.rtcmesh_protocol = process.env.BENCH_SIGNALING_BATCH === '0' ? 3 : 4;
  printTable(
    `signaling (rtcmesh from ${rtcmeshCode || '?'}): lobbies of ${o.lobbySize}, ${o.window} in flight per client, ${o.warmupMs} ms warm-up + ${o.durationMs} ms window, ${o.workers} load workers, median of ${o.runs} run(s)`,
    ['server', 'clients', 'held', 'connect ms', 'relayed/s', 'lag p99 ms', 'timer lag p99', 'lag max ms', 'RSS kB/client', 'idle kB/client', 'srv CPU %', 'srv µs/relay', 'of it sys µs', 'gen busy %'],
    rows,
  );
  return figures;
}

if (isMain(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      clients: { type: 'string' },
      runs: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      workers: { type: 'string' },
      lobby: { type: 'string' },
      window: { type: 'string' },
      servers: { type: 'string' },
    },
  });
  const opts: Partial<RunOptions> = {};
  if (values.clients) opts.clients = values.clients.split(',').map(Number);
  if (values.runs) opts.runs = Number(values.runs);
  if (values.duration) opts.durationMs = Number(values.duration);
  if (values.warmup) opts.warmupMs = Number(values.warmup);
  if (values.workers) opts.workers = Math.max(2, Number(values.workers));
  if (values.lobby) opts.lobbySize = Number(values.lobby);
  if (values.window) opts.window = Number(values.window);
  if (values.servers) opts.servers = values.servers.split(',') as Kind[];
  const figures = await run(opts);
  printFigures({ suite: 'signaling', ...figures });
}
