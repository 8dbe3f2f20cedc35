/**
 * Signaling benchmark: N concurrent WebSocket clients (default 1 000 and 5 000)
 * in lobbies of 8, relaying candidates through a real `rtcmesh serve` running in
 * a child process (so its RSS is measured apart from the clients).
 *
 * Reports connections held, relayed messages per second (received by clients)
 * and server RSS per client. The last stdout line is one JSON object.
 *
 *   npx tsx bench/signaling.ts [--clients 1000,5000] [--duration 2000] [--lobby 8]
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { WebSocketSignalingClient } from '../src/index.js';
import { isMain, printFigures } from './lib/report.js';

const MAIN = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
const CANDIDATE = 'candidate:842163049 1 udp 1677729535 203.0.113.7 61234 typ srflx raddr 192.168.1.20 rport 61234 generation 0';

interface RunOptions {
  clients: number[];
  durationMs: number;
  lobbySize: number;
  window: number;
}

function fdLimit(): number {
  const r = spawnSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' });
  const n = Number(r.stdout.trim());
  return r.stdout.trim() === 'unlimited' ? Infinity : Number.isFinite(n) && n > 0 ? n : 1024;
}

function rssKb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    if (m) return Number(m[1]);
  } catch {
    // not Linux
  }
  const r = spawnSync('ps', ['-o', 'rss=', '-p', String(pid)], { encoding: 'utf8' });
  return Number(r.stdout.trim()) || 0;
}

/** CPU seconds (user + system) the process has used, from /proc (Linux); NaN elsewhere. */
function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return NaN;
  }
}

async function startServer(maxConnections: number): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', MAIN, 'serve', '--port', '0', '--host', '127.0.0.1', '--quiet', '--max-connections', String(maxConnections + 100),
      '--max-lobbies', '1000000', '--rate-limit', '1000000/1000', '--join-timeout', '30000'],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
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
    child.once('exit', (code) => reject(new Error(`server exited with ${code} before listening:\n${out}`)));
  });
  return { child, url };
}

async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  await exited;
}

interface Figures {
  clients: number;
  held: number;
  connectMs: number;
  relayed: number;
  relayedPerS: number;
  rssBaseKb: number;
  rssKb: number;
  rssKbPerClient: number;
  /** Server CPU use during the relay window, % of one core. */
  serverCpuPct: number;
}

async function runOne(n: number, o: RunOptions): Promise<Figures> {
  const { child, url } = await startServer(n);
  const rssBaseKb = rssKb(child.pid!);
  const clients: WebSocketSignalingClient[] = [];
  const lobbies: number[][] = [];
  const t0 = performance.now();
  const BATCH = 200;
  for (let start = 0; start < n; start += o.lobbySize) {
    clients.push(new WebSocketSignalingClient(url, { joinTimeoutMs: 60_000, connectTimeoutMs: 60_000 }));
    lobbies.push([]);
  }
  // Hosts first (they create the lobbies), then everyone else, in batches.
  const hostIds = await joinAll(clients, (i) => `bench-${i}`, BATCH);
  lobbies.forEach((l, i) => l.push(hostIds[i]!));
  const others: { c: WebSocketSignalingClient; lobby: number }[] = [];
  for (let li = 0; li < lobbies.length; li++) {
    const members = Math.min(o.lobbySize, n - li * o.lobbySize);
    for (let k = 1; k < members; k++) others.push({ c: new WebSocketSignalingClient(url, { joinTimeoutMs: 60_000, connectTimeoutMs: 60_000 }), lobby: li });
  }
  const otherIds = await joinAll(others.map((x) => x.c), (i) => `bench-${others[i]!.lobby}`, BATCH);
  others.forEach((x, i) => lobbies[x.lobby]!.push(otherIds[i]!));
  const all = [...clients.map((c, i) => ({ c, lobby: i })), ...others];
  const connectMs = performance.now() - t0;
  const rssAfterKb = rssKb(child.pid!);

  // Relay: every client keeps `window` candidates in flight to random peers of its lobby.
  let received = 0;
  let running = true;
  for (const { c, lobby } of all) {
    const peers = lobbies[lobby]!.filter((id) => id !== c.id);
    if (peers.length === 0) continue;
    const sendOne = () => c.sendCandidate(peers[(Math.random() * peers.length) | 0]!, '0', 0, CANDIDATE);
    c.on('candidate', () => {
      received++;
      if (running) sendOne();
    });
  }
  const cpu0 = cpuSeconds(child.pid!);
  const tRelay = performance.now();
  for (const { c, lobby } of all) {
    const peers = lobbies[lobby]!.filter((id) => id !== c.id);
    if (peers.length) for (let w = 0; w < o.window; w++) c.sendCandidate(peers[(Math.random() * peers.length) | 0]!, '0', 0, CANDIDATE);
  }
  await new Promise((r) => setTimeout(r, o.durationMs)); // measurement window, not synchronisation
  running = false;
  const elapsed = (performance.now() - tRelay) / 1000;
  const serverCpuPct = Math.round(((cpuSeconds(child.pid!) - cpu0) / elapsed) * 100);
  const relayed = received;
  const held = all.filter(({ c }) => c.id !== undefined && !c.closed).length;

  for (const { c } of all) c.close();
  await stopServer(child);
  return {
    clients: n,
    held,
    connectMs: Math.round(connectMs),
    relayed,
    relayedPerS: Math.round(relayed / elapsed),
    rssBaseKb,
    rssKb: rssAfterKb,
    rssKbPerClient: Math.round(((rssAfterKb - rssBaseKb) / n) * 100) / 100,
    serverCpuPct,
  };
}

async function joinAll(cs: WebSocketSignalingClient[], lobbyOf: (i: number) => string, batch: number): Promise<number[]> {
  const ids: number[] = new Array(cs.length);
  let next = 0;
  const worker = async () => {
    while (next < cs.length) {
      const i = next++;
      const r = await cs[i]!.join({ lobby: lobbyOf(i) });
      ids[i] = r.id;
    }
  };
  await Promise.all(Array.from({ length: Math.min(batch, cs.length) }, worker));
  return ids;
}

/** Run the benchmark; returns the figures (also printed). */
export async function run(options: Partial<RunOptions> = {}): Promise<Record<string, number | string>> {
  const o: RunOptions = { clients: [1000, 5000], durationMs: 2000, lobbySize: 8, window: 2, ...options };
  const limit = fdLimit();
  const result: Record<string, number | string> = { fd_limit: Number.isFinite(limit) ? limit : 'unlimited' };
  const rows: Figures[] = [];
  for (const requested of o.clients) {
    // The server and the client process each hold one fd per socket, plus some for themselves.
    const n = Math.min(requested, Math.floor(limit - 150));
    if (n < requested) {
      process.stdout.write(`ulimit -n is ${limit}: running ${n} clients instead of ${requested} (raise it with "ulimit -n ${requested * 2 + 200}")\n`);
    }
    if (n <= 0) continue;
    const f = await runOne(n, o);
    rows.push(f);
    result[`clients_held_${requested}`] = f.held;
    result[`relayed_per_s_${requested}`] = f.relayedPerS;
    result[`rss_kB_per_client_${requested}`] = f.rssKbPerClient;
    result[`connect_ms_${requested}`] = f.connectMs;
    result[`server_cpu_pct_${requested}`] = f.serverCpuPct;
  }
  const pad = (s: string | number, w: number) => String(s).padStart(w);
  process.stdout.write(
    `\nsignaling bench: lobbies of ${o.lobbySize}, ${o.window} messages in flight per client, ${o.durationMs} ms relay\n` +
      `${pad('clients', 8)} ${pad('held', 6)} ${pad('connect ms', 10)} ${pad('relayed', 9)} ${pad('relayed/s', 10)} ${pad('srv RSS kB', 11)} ${pad('kB/client', 10)} ${pad('srv CPU %', 9)}\n`,
  );
  for (const f of rows) {
    process.stdout.write(
      `${pad(f.clients, 8)} ${pad(f.held, 6)} ${pad(f.connectMs, 10)} ${pad(f.relayed, 9)} ${pad(f.relayedPerS, 10)} ${pad(f.rssKb, 11)} ${pad(f.rssKbPerClient, 10)} ${pad(f.serverCpuPct, 9)}\n`,
    );
  }
  const last = rows.at(-1);
  if (last) {
    result.clients = last.clients;
    result.clients_held = last.held;
    result.relayed_per_s = last.relayedPerS;
    result.rss_kB_per_client = last.rssKbPerClient;
  }
  return result;
}

if (isMain(import.meta.url)) {
  const { values } = parseArgs({
    options: { clients: { type: 'string' }, duration: { type: 'string' }, lobby: { type: 'string' } },
  });
  const opts: Partial<RunOptions> = {};
  if (values.clients) opts.clients = values.clients.split(',').map(Number);
  if (values.duration) opts.durationMs = Number(values.duration);
  if (values.lobby) opts.lobbySize = Number(values.lobby);
  const figures = await run(opts);
  printFigures({ suite: 'signaling', ...figures });
}
