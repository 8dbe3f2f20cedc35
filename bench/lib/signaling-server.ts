/**
 * Child process of bench/signaling.ts: runs one signaling server on loopback
 * — rtcmesh's `SignalingServer` or PeerJS's server (`peer`, the anchor) — and
 * measures its own event-loop delay, CPU and memory for the parent over IPC.
 *
 *   node --import tsx bench/lib/signaling-server.ts rtcmesh|peerjs <maxClients>
 *
 * IPC: sends `{ ready, url }` once listening; answers `{ cmd: 'reset' }` (start
 * a measurement window) and `{ cmd: 'sample' }` (lag p99/max in ms, RSS in kB,
 * CPU seconds since start, and the kernel's share of them) with `{ sample }`; exits on `{ cmd: 'stop' }`.
 */
import { createHistogram, monitorEventLoopDelay, performance } from 'node:perf_hooks';
import type { AddressInfo } from 'node:net';
import v8 from 'node:v8';
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import inspector from 'node:inspector';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Server } from 'node:http';

const kind = process.argv[2];
const maxClients = Number(process.argv[3] ?? 10_000);
if (!process.send) throw new Error('signaling-server.ts runs as a child process of bench/signaling.ts (with an IPC channel)');
const send = (m: unknown) => process.send!(m);

// Resolution 1 ms: stalls shorter than that are not this bench's concern.
const lag = monitorEventLoopDelay({ resolution: 1 });
lag.enable();
// Cross-check: how late a 10 ms interval timer fires (what a timer or a new socket waits behind), in µs.
const timerLag = createHistogram();
let expected = performance.now() + 10;
const ticker = setInterval(() => {
  const now = performance.now();
  timerLag.record(Math.max(1, Math.round((now - expected) * 1000)));
  expected = now + 10;
  if (inbox) {
    inboxSum += inbox.size;
    inboxMax = Math.max(inboxMax, inbox.size);
    const due = (outbox as { due?: unknown[] } | undefined)?.due?.length ?? 0;
    dueSum += due;
    dueMax = Math.max(dueMax, due);
    inboxTicks++;
  }
}, 10);

/**
 * The rtcmesh code to measure: the built `dist/` (what users run, compiled by
 * tsc) unless BENCH_SIGNALING_FROM=src, or =<dir> for another build's
 * `dist` directory (before/after comparisons in one session). Running the sources through tsx
 * measures tsx's output instead: its keepNames wraps every function created
 * at run time with a `name` definition (CPU, and a dictionary-mode property
 * store of ~256 B on each of the server's per-socket closures). A `dist/` older
 * than any source is not measured: the sources are, through tsx, and the
 * figures say so (`rtcmesh_code`).
 */
/** Which rtcmesh code is measured (reported to the bench with `ready`). */
let code = 'dist';
function signalingEntry(): string {
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const from = process.env.BENCH_SIGNALING_FROM;
  if (from === 'src') code = 'src (tsx)';
  if (from === 'src') return pathToFileURL(join(root, 'src/entries/signaling.ts')).href;
  // Another build (a directory holding entries/signaling.js), to compare before/after in one session.
  if (from) code = from;
  if (from) return pathToFileURL(join(from, 'entries/signaling.js')).href;
  const stale: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(join(root, 'src', dir), { withFileTypes: true })) {
      const rel = join(dir, e.name);
      if (e.isDirectory()) walk(rel);
      else if (rel.endsWith('.ts') && !rel.endsWith('.d.ts')) {
        const out = join(root, 'dist', rel.replace(/\.ts$/, '.js'));
        if (!existsSync(out) || statSync(out).mtimeMs < statSync(join(root, 'src', rel)).mtimeMs) stale.push(rel);
      }
    }
  };
  walk('.');
  if (stale.length > 0) {
    process.stderr.write(
      `bench/signaling: dist/ is missing or older than src/ (${stale.slice(0, 3).join(', ')}${stale.length > 3 ? ', …' : ''}): measuring the sources through tsx instead ("npm run build" to measure what users run)\n`,
    );
    code = 'src (tsx)';
    return pathToFileURL(join(root, 'src/entries/signaling.ts')).href;
  }
  return pathToFileURL(join(root, 'dist/entries/signaling.js')).href;
}

let stop: () => Promise<void>;
let outbox: { writes: number; frames: number; messages?: number } | undefined;
let outboxAtReset = { writes: 0, frames: 0, messages: 0 };
let samplesSinceReset = 0;
/** BENCH_DEBUG: frames waiting in rtcmesh's inbox, sampled by the 10 ms ticker (internal, read for the bench only). */
let inbox: { size: number } | undefined;
let inboxSum = 0;
let inboxMax = 0;
let inboxTicks = 0;
let dueSum = 0;
let dueMax = 0;
let url: string;

if (kind === 'rtcmesh') {
  const { SignalingServer } = (await import(signalingEntry())) as typeof import('../../src/entries/signaling.js');
  const server = new SignalingServer({
    maxConnections: maxClients + 100,
    maxLobbies: 1_000_000,
    rateLimit: { messages: 1_000_000, windowMs: 1000, bytes: 1e12 },
    joinTimeoutMs: 60_000,
    // Every bench client comes from 127.0.0.1: per-address limits off.
    connectionRate: { count: 0, windowMs: 1000 },
    maxPendingUpgradesPerAddress: 0,
    maxLobbiesPerAddress: 0,
    lobbyCreationRate: { count: 1_000_000_000, windowMs: 1 },
  });
  const address = await server.listen({ port: 0, host: '127.0.0.1' });
  // BENCH_DEBUG: how well output coalesced (the outbox's counters; internal, read for the bench only).
  outbox = (server as unknown as { outbox?: { writes: number; frames: number; messages?: number } }).outbox;
  inbox = (server as unknown as { inbox?: { size: number } }).inbox;
  url = address.url;
  stop = () => server.close({ reason: 'bench over', reconnect: false });
} else if (kind === 'peerjs') {
  const { PeerServer } = await import('peer');
  const http = await new Promise<Server>((resolve) => {
    PeerServer({ port: 0, host: '127.0.0.1', path: '/', key: 'peerjs', concurrent_limit: maxClients + 100, alive_timeout: 600_000 }, (s) =>
      resolve(s as Server),
    );
  });
  const port = (http.address() as AddressInfo).port;
  url = `ws://127.0.0.1:${port}/peerjs`;
  stop = async () => {
    await new Promise<void>((resolve) => {
      http.close(() => resolve());
      http.closeAllConnections();
    });
    process.exit(0); // PeerJS keeps interval timers (expiry, broken-connection checks) with no way to stop them.
  };
} else {
  throw new Error(`unknown server kind "${kind}"; expected rtcmesh or peerjs`);
}

// BENCH_SERVER_PROF=dir: a CPU profile of the measurement window (from reset to stop), written there.
const profiler = process.env.BENCH_SERVER_PROF ? new inspector.Session() : undefined;
if (profiler) mkdirSync(process.env.BENCH_SERVER_PROF!, { recursive: true });
let profiling = false;
/** BENCH_SERVER_ALLOC=1 (with BENCH_SERVER_PROF): a sampling heap profile (allocations, garbage included) instead of a CPU profile. */
const allocations = process.env.BENCH_SERVER_ALLOC === '1';
function startProfile(): void {
  if (!profiler || profiling) return;
  profiling = true;
  profiler.connect();
  if (allocations) {
    profiler.post('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true } as object);
    return;
  }
  profiler.post('Profiler.enable', () => profiler.post('Profiler.start'));
}
function stopProfile(): void {
  if (!profiler || !profiling) return;
  profiling = false;
  if (allocations) {
    profiler.post('HeapProfiler.stopSampling', (err, r) => {
      if (!err) writeFileSync(join(process.env.BENCH_SERVER_PROF!, `${kind}-${Date.now()}.heapprofile`), JSON.stringify(r.profile));
    });
    return;
  }
  profiler.post('Profiler.stop', (err, r) => {
    if (!err) writeFileSync(join(process.env.BENCH_SERVER_PROF!, `${kind}-${Date.now()}.cpuprofile`), JSON.stringify(r.profile));
  });
}

process.on('message', (m: { cmd: string }) => {
  if (m.cmd === 'reset') {
    startProfile();
    samplesSinceReset = 0;
    if (outbox) outboxAtReset = { writes: outbox.writes, frames: outbox.frames, messages: outbox.messages ?? outbox.frames };
    lag.reset();
    timerLag.reset();
    inboxSum = inboxMax = inboxTicks = dueSum = dueMax = 0;
    send({ reset: true });
  } else if (m.cmd === 'sample') {
    const cpu = process.cpuUsage();
    if (++samplesSinceReset === 2) {
      stopProfile(); // the window ends at its second sample
      // BENCH_HEAP_SNAPSHOT=dir: also a snapshot of what is live under load, at the end of the window.
      if (process.env.BENCH_HEAP_SNAPSHOT) v8.writeHeapSnapshot(`${process.env.BENCH_HEAP_SNAPSHOT}/${kind}-${Date.now()}-load.heapsnapshot`);
    }
    // A loop blocked since before the window (reset and sample read in the same turn) left no sample
    // in either histogram: the stall under way is then the figure, not 0.
    const stalled = Math.max(0, performance.now() - expected);
    if (timerLag.count === 0) timerLag.record(Math.max(1, Math.round(stalled * 1000)));
    const noLag = lag.count === 0;
    send({
      sample: {
        lagP99Ms: noLag ? stalled : lag.percentile(99) / 1e6,
        lagMaxMs: noLag ? stalled : lag.max / 1e6,
        lagSamples: lag.count,
        timerLagP99Ms: timerLag.count > 0 ? timerLag.percentile(99) / 1000 : 0,
        timerLagMaxMs: timerLag.count > 0 ? timerLag.max / 1000 : 0,
        rssKb: Math.round(process.memoryUsage.rss() / 1024),
        cpuS: (cpu.user + cpu.system) / 1e6,
        sysS: cpu.system / 1e6,
      },
    });
    if (process.env.BENCH_DEBUG) {
      // Where the memory is (BENCH_DEBUG=1): process figures and V8 heap spaces, in kB.
      const kb = (n: number) => Math.round(n / 1024);
      const mu = process.memoryUsage();
      const spaces = v8.getHeapSpaceStatistics().map((sp) => `${sp.space_name}=${kb(sp.space_used_size)}/${kb(sp.space_size)}`);
      const w = outbox ? outbox.writes - outboxAtReset.writes : 0;
      const per = (n: number) => Math.round((n / w) * 100) / 100;
      if (w > 0) {
        const messages = (outbox!.messages ?? outbox!.frames) - outboxAtReset.messages;
        process.stderr.write(`[${kind}] since reset: ${w} socket writes, ${per(outbox!.frames - outboxAtReset.frames)} frames and ${per(messages)} messages per write\n`);
      }
      if (inbox && inboxTicks > 0) process.stderr.write(`[${kind}] inbox since reset: mean ${Math.round(inboxSum / inboxTicks)} max ${inboxMax} frames waiting; outbox: mean ${Math.round(dueSum / inboxTicks)} max ${dueMax} sockets due\n`);
      process.stderr.write(`[${kind}] cpu user=${Math.round(cpu.user / 1000)} ms sys=${Math.round(cpu.system / 1000)} ms (since start)\n`);
      process.stderr.write(`[${kind}] rss=${kb(mu.rss)} heapUsed=${kb(mu.heapUsed)} heapTotal=${kb(mu.heapTotal)} external=${kb(mu.external)} arrayBuffers=${kb(mu.arrayBuffers)} ${spaces.join(' ')}\n`);
    }
  } else if (m.cmd === 'gc') {
    (globalThis as { gc?: () => void }).gc?.();
    // BENCH_HEAP_SNAPSHOT=dir: a heap snapshot at every requested GC (idle, and with every client joined under BENCH_DEBUG).
    if (process.env.BENCH_HEAP_SNAPSHOT) v8.writeHeapSnapshot(`${process.env.BENCH_HEAP_SNAPSHOT}/${kind}-${Date.now()}.heapsnapshot`);
    send({ gc: true });
  } else if (m.cmd === 'stop') {
    lag.disable();
    clearInterval(ticker);
    void stop().then(() => process.disconnect());
  }
});
// Never outlive the bench (killed, crashed): the IPC channel closes with it.
process.on('disconnect', () => process.exit(0));
send({ ready: true, url, code: kind === 'rtcmesh' ? code : 'peer' });
