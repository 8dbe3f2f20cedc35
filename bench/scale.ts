/**
 * Signaling scale-out benchmark (issue #16): `rtcmesh serve` child processes
 * sharing lobbies through one private redis-server.
 *
 * - relayed messages/s: the anchor (one process, in-process back end, no
 *   Redis), one process on Redis, three processes on Redis (clients spread
 *   round-robin, so about 2/3 of the relays cross processes); CPU of the
 *   server processes and of Redis per 1000 relayed messages, to estimate the
 *   per-process cost on bigger machines;
 * - cross-process relay latency p50/p99 (one message at a time, client on
 *   process 0 → client on process 1, both clocks in this process);
 * - fail-over: clients on one process, SIGKILLed; time until all resumed on
 *   the others, and how many lost their id (must be 0).
 *
 *   npx tsx bench/scale.ts [--clients 60] [--duration 1500] [--runs 3]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { WebSocketSignalingClient } from '../src/entries/signaling.js';
import { startRedis, type RedisServer } from '../test/system/redis-server.js';
import { isMain, median, percentile, printFigures, printTable, round } from './lib/report.js';

const MAIN = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
const SECRET = 'bench-scale-secret-0123456789';
const CANDIDATE = 'candidate:842163049 1 udp 1677729535 203.0.113.7 61234 typ srflx raddr 192.168.1.20 rport 61234 generation 0';

interface Options {
  clients: number;
  lobbySize: number;
  window: number;
  durationMs: number;
  runs: number;
  latencySamples: number;
  failoverClients: number;
}

interface Proc {
  child: ChildProcess;
  url: string;
}

function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return NaN;
  }
}

async function redisCpuSeconds(r: Redis): Promise<number> {
  const info = await r.info('cpu');
  const get = (k: string) => Number(new RegExp(`${k}:([\\d.]+)`).exec(info)?.[1] ?? NaN);
  return get('used_cpu_sys') + get('used_cpu_user');
}

async function startServe(redisUrl: string | undefined): Promise<Proc> {
  const args = ['--import', 'tsx', MAIN, 'serve', '--port', '0', '--host', '127.0.0.1', '--quiet', '--rate-limit', '1000000/1000', '--join-timeout', '30000', '--secret', SECRET];
  if (redisUrl) args.push('--redis', redisUrl);
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /listening on (ws:\/\/\S+)/.exec(out);
      if (m) {
        child.stdout!.off('data', onData);
        child.stdout!.resume();
        resolve(m[1]!);
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`serve exited with ${code} before listening:\n${out}`)));
  });
  return { child, url };
}

async function stop(p: Proc): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  const exited = new Promise<void>((r) => p.child.once('exit', () => r()));
  p.child.kill('SIGTERM');
  await exited;
}

function client(urls: string | string[]): WebSocketSignalingClient {
  const c = new WebSocketSignalingClient(urls, { joinTimeoutMs: 30_000, connectTimeoutMs: 30_000, reconnect: { baseDelayMs: 20, maxDelayMs: 200 } });
  c.on('error', () => undefined);
  return c;
}

/** Join clients to lobbies of `lobbySize`, creator first; returns the members' ids per lobby. */
async function joinLobbies(cs: WebSocketSignalingClient[], lobbySize: number, tag: string): Promise<number[][]> {
  const lobbies: number[][] = [];
  for (let start = 0; start < cs.length; start += lobbySize) {
    const group = cs.slice(start, start + lobbySize);
    const name = `${tag}-${start / lobbySize}`;
    const first = await group[0]!.join({ lobby: name });
    const rest = await Promise.all(group.slice(1).map((c) => c.join({ lobby: name })));
    lobbies.push([first.id, ...rest.map((r) => r.id)]);
  }
  return lobbies;
}

/** Relayed messages/s with every client keeping `window` candidates in flight to random peers of its lobby. */
async function throughput(procs: Proc[], o: Options, redis: Redis | undefined, tag: string): Promise<{ perS: number; serverCpuMsPerK: number; redisCpuMsPerK: number }> {
  const cs = Array.from({ length: o.clients }, (_, i) => client(procs[i % procs.length]!.url));
  try {
    const lobbies = await joinLobbies(cs, o.lobbySize, tag);
    let received = 0;
    let running = true;
    const peersOf = (i: number) => lobbies[Math.floor(i / o.lobbySize)]!.filter((id) => id !== cs[i]!.id);
    cs.forEach((c, i) => {
      const peers = peersOf(i);
      c.on('candidate', () => {
        received++;
        if (running) c.sendCandidate(peers[(Math.random() * peers.length) | 0]!, '0', 0, CANDIDATE);
      });
    });
    const cpu0 = procs.reduce((s, p) => s + cpuSeconds(p.child.pid!), 0);
    const rcpu0 = redis ? await redisCpuSeconds(redis) : 0;
    const t0 = performance.now();
    cs.forEach((c, i) => {
      const peers = peersOf(i);
      for (let w = 0; w < o.window; w++) c.sendCandidate(peers[(Math.random() * peers.length) | 0]!, '0', 0, CANDIDATE);
    });
    await new Promise((r) => setTimeout(r, o.durationMs)); // the measurement window, not synchronisation
    running = false;
    const elapsed = (performance.now() - t0) / 1000;
    const got = received;
    const cpu = procs.reduce((s, p) => s + cpuSeconds(p.child.pid!), 0) - cpu0;
    const rcpu = redis ? (await redisCpuSeconds(redis)) - rcpu0 : 0;
    return { perS: got / elapsed, serverCpuMsPerK: (cpu * 1e6) / Math.max(1, got), redisCpuMsPerK: (rcpu * 1e6) / Math.max(1, got) };
  } finally {
    for (const c of cs) c.close();
  }
}

/** One message at a time from a client on procs[0] to one on procs[1]; one-way latency in ms. */
async function latency(procs: Proc[], samples: number): Promise<number[]> {
  const a = client(procs[0]!.url);
  const b = client(procs[1 % procs.length]!.url);
  try {
    await a.join({ lobby: 'latency' });
    const jb = await b.join({ lobby: 'latency' });
    const out: number[] = [];
    for (let i = 0; i < samples; i++) {
      const got = new Promise<void>((resolve) => b.once('candidate', () => resolve()));
      const t = performance.now();
      a.sendCandidate(jb.id, '0', 0, CANDIDATE);
      await got;
      out.push(performance.now() - t);
    }
    return out;
  } finally {
    a.close();
    b.close();
  }
}

/** Clients on procs[0] (failing over to the others), partners on procs[1]; SIGKILL procs[0]. */
async function failover(procs: Proc[], n: number): Promise<{ ms: number; lost: number; detachMs: number }> {
  const urls = procs.map((p) => p.url);
  const victims = Array.from({ length: n }, () => client(urls));
  const partners = Array.from({ length: n }, () => client(procs[1]!.url));
  // A client that knows only the dying process: the survivors must announce it detached (heartbeat expiry).
  const ghost = new WebSocketSignalingClient(procs[0]!.url, { reconnect: { maxAttempts: 0 } });
  ghost.on('error', () => undefined);
  const watcher = client(procs[1]!.url);
  try {
    await watcher.join({ lobby: 'fo-ghost' });
    const ghostId = (await ghost.join({ lobby: 'fo-ghost' })).id;
    const detached = new Promise<number>((resolve) => watcher.on('peer_detached', (id) => id === ghostId && resolve(performance.now())));
    const ids: number[] = [];
    for (let i = 0; i < n; i++) {
      await partners[i]!.join({ lobby: `fo-${i}` });
      ids.push((await victims[i]!.join({ lobby: `fo-${i}` })).id);
    }
    let resumed = 0;
    const done = new Promise<void>((resolve) => {
      for (const v of victims) v.once('resumed', () => ++resumed === n && resolve());
    });
    const t0 = performance.now();
    procs[0]!.child.kill('SIGKILL');
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([done, new Promise((r) => (timer = setTimeout(r, 30_000)))]);
    clearTimeout(timer);
    const ms = performance.now() - t0;
    const lost = victims.filter((v, i) => v.id !== ids[i]).length;
    const detachMs = (await Promise.race([detached, new Promise<number>((r) => (timer = setTimeout(() => r(NaN), 15_000)))])) - t0;
    clearTimeout(timer);
    return { ms, lost, detachMs };
  } finally {
    for (const c of [...victims, ...partners, ghost, watcher]) c.close();
  }
}

/** Run the benchmark; returns the figures (also printed). */
export async function run(options: Partial<Options> = {}): Promise<Record<string, number | string>> {
  const o: Options = { clients: 60, lobbySize: 6, window: 2, durationMs: 1500, runs: 3, latencySamples: 300, failoverClients: 20, ...options };
  const binary = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].find((p) => existsSync(p));
  if (!binary) throw new Error('bench scale needs redis-server (e.g. apt-get install redis-server)');
  const redis: RedisServer = await startRedis(binary);
  const probe = new Redis(redis.url);
  const result: Record<string, number | string> = {};
  try {
    const anchor = [await startServe(undefined)];
    const one = [await startServe(redis.url)];
    const three = [one[0]!, await startServe(redis.url), await startServe(redis.url)];
    const rows: Record<string, { perS: number[]; cpu: number[]; rcpu: number[] }> = { anchor: { perS: [], cpu: [], rcpu: [] }, procs1: { perS: [], cpu: [], rcpu: [] }, procs3: { perS: [], cpu: [], rcpu: [] } };
    for (let r = 0; r < o.runs; r++) {
      for (const [name, procs, rc] of [
        ['anchor', anchor, undefined],
        ['procs1', one, probe],
        ['procs3', three, probe],
      ] as const) {
        const t = await throughput(procs, o, rc, `${name}-${r}`);
        rows[name]!.perS.push(t.perS);
        rows[name]!.cpu.push(t.serverCpuMsPerK);
        rows[name]!.rcpu.push(t.redisCpuMsPerK);
      }
    }
    await stop(anchor[0]!);
    const lat = await latency([three[1]!, three[2]!], o.latencySamples);
    const fo = await failover([three[2]!, three[1]!, three[0]!], o.failoverClients);
    for (const p of three) await stop(p);

    const med = (k: string, f: 'perS' | 'cpu' | 'rcpu') => median(rows[k]![f]);
    printTable(
      `signaling scale-out: ${o.clients} clients in lobbies of ${o.lobbySize}, ${o.window} in flight each, ${o.durationMs} ms windows, median of ${o.runs} runs`,
      ['setup', 'relayed/s', 'ratio to anchor', 'server CPU ms / 1000 msgs', 'Redis CPU ms / 1000 msgs'],
      [
        ['1 process, no Redis (anchor)', med('anchor', 'perS'), 1, med('anchor', 'cpu'), 0],
        ['1 process on Redis', med('procs1', 'perS'), med('procs1', 'perS') / med('anchor', 'perS'), med('procs1', 'cpu'), med('procs1', 'rcpu')],
        ['3 processes on Redis', med('procs3', 'perS'), med('procs3', 'perS') / med('anchor', 'perS'), med('procs3', 'cpu'), med('procs3', 'rcpu')],
      ],
    );
    printTable('cross-process relay and fail-over', ['figure', 'value'], [
      ['latency p50 (ms)', percentile(lat, 50)],
      ['latency p99 (ms)', percentile(lat, 99)],
      [`fail-over of ${o.failoverClients} clients (ms)`, fo.ms],
      ['ids lost in fail-over', fo.lost],
      ['stranded peer announced detached after (ms)', fo.detachMs],
    ]);
    // Per-process cost: what one relayed message costs each Node process and Redis, so a bigger machine's
    // capacity is about cores / (server ms per msg) for the Node side, and 1 core / (Redis ms per msg) for Redis.
    const nodeMsPerMsg = med('procs3', 'cpu') / 1000;
    const redisMsPerMsg = med('procs3', 'rcpu') / 1000;
    process.stdout.write(
      `\nestimate: one relayed message costs ~${round(nodeMsPerMsg * 1000, 1)} µs of Node CPU (all processes) and ~${round(redisMsPerMsg * 1000, 1)} µs of Redis CPU;\n` +
        `one Redis core would carry ~${Math.round(1000 / Math.max(redisMsPerMsg, 1e-6))} relays/s, one Node core ~${Math.round(1000 / Math.max(nodeMsPerMsg, 1e-6))} relays/s (this 2-core machine is shared, so 3 processes cannot scale here).\n`,
    );
    Object.assign(result, {
      anchor_relayed_per_s: Math.round(med('anchor', 'perS')),
      procs1_relayed_per_s: Math.round(med('procs1', 'perS')),
      procs3_relayed_per_s: Math.round(med('procs3', 'perS')),
      procs1_ratio_to_anchor: round(med('procs1', 'perS') / med('anchor', 'perS')),
      procs3_ratio_to_anchor: round(med('procs3', 'perS') / med('anchor', 'perS')),
      server_cpu_us_per_msg_procs3: round(nodeMsPerMsg * 1000, 1),
      redis_cpu_us_per_msg_procs3: round(redisMsPerMsg * 1000, 1),
      cross_process_latency_ms_p50: round(percentile(lat, 50)),
      cross_process_latency_ms_p99: round(percentile(lat, 99)),
      failover_ms: Math.round(fo.ms),
      failover_lost_ids: fo.lost,
      dead_process_detach_announce_ms: Math.round(fo.detachMs),
    });
  } finally {
    probe.disconnect();
    await redis.stop();
  }
  return result;
}

if (isMain(import.meta.url)) {
  const { values } = parseArgs({ options: { clients: { type: 'string' }, duration: { type: 'string' }, runs: { type: 'string' } } });
  const opts: Partial<Options> = {};
  if (values.clients) opts.clients = Number(values.clients);
  if (values.duration) opts.durationMs = Number(values.duration);
  if (values.runs) opts.runs = Number(values.runs);
  const figures = await run(opts);
  printFigures({ suite: 'scale', ...figures });
}
