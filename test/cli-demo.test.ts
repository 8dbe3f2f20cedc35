/**
 * `rtcmesh demo` (what `npm start` runs): the arena game with real peer
 * processes on loopback (the host on `Mesh.host`, bots on `Mesh.join`, state
 * replicated by the sync layer), its JSON summary, detection and recovery
 * after `kill -9` on a bot and on the host (which reclaims id 1), and the same
 * game on the virtual network.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { runNode, waitUntil } from './helpers.js';

const main = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));

/** The sync figures every run must show: each client holds every player and some orbs, bytes flowed, nothing dropped. */
function expectSync(summary: Record<string, number>, peers: number): void {
  expect(summary.sync_clients).toBe(peers - 1);
  expect(summary.sync_players_min).toBe(peers);
  expect(summary.sync_objects).toBeGreaterThan(peers); // players and orbs on the host
  expect(summary.sync_objects_min).toBeGreaterThanOrEqual(peers); // every player, plus the orbs in view
  expect(summary.sync_bytes).toBeGreaterThan(0);
  expect(summary.sync_bytes_per_client_tick).toBeGreaterThan(0);
  expect(summary.sync_acked).toBeGreaterThan(0.5);
  expect(summary.sync_errors).toBe(0);
}

it('plays the arena with real peer processes, recovers from kill -9 of a bot and of the host, and prints one JSON summary line last', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', main, 'demo', '--peers', '3', '--json', '--no-web'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    await waitUntil(() => /full mesh formed: 3 peers, 3 links/.test(stdout), 'mesh formed', 90_000, 50);
    expect(stdout).toMatch(/lobby "arena"/);
    const bot = /bot1 joined as peer \d+ \(pid (\d+)\)/.exec(stdout);
    expect(bot).not.toBeNull();
    // A peer-process table arrives (plain lines: stdout is not a TTY).
    await waitUntil(() => /host - bot1 +connected +\d+\.\d{3} /.test(stdout) || /bot1 - host +connected/.test(stdout), 'table with bot1', 30_000, 50);
    process.kill(Number(bot![1]), 'SIGKILL');
    await waitUntil(() => /bot1 \(pid \d+\) died \(SIGKILL\); restarting it/.test(stdout), 'death noticed', 30_000, 50);
    await waitUntil(() => /host: lost bot1/.test(stdout), 'host detects the lost link', 30_000, 50);
    await waitUntil(() => (stdout.match(/bot1 joined as peer/g) ?? []).length === 2, 'bot1 back', 60_000, 50);
    // The sync table: the host replicates, both bots hold all 3 players (bot1's new player too).
    let from = stdout.length;
    const synced = (text: string) => /host +host +\d+ +3 /.test(text) && /bot1 +client +\d+ +3 /.test(text) && /bot2 +client +\d+ +3 /.test(text);
    await waitUntil(() => synced(stdout.slice(from)), 'sync table with 3 players everywhere', 60_000, 50);
    // The host dies: it comes back as peer 1 (the demo's host key), the bots rebuild their replica.
    const host = /host joined as peer 1 \(pid (\d+)\)/.exec(stdout);
    expect(host).not.toBeNull();
    process.kill(Number(host![1]), 'SIGKILL');
    await waitUntil(() => /host \(pid \d+\) died \(SIGKILL\); restarting it/.test(stdout), 'host death noticed', 30_000, 50);
    await waitUntil(() => (stdout.match(/host joined as peer 1 /g) ?? []).length === 2, 'host back as peer 1', 60_000, 50);
    await waitUntil(() => /bot1: peer 1 came back as a new process/.test(stdout) && /bot2: peer 1 came back as a new process/.test(stdout), 'bots see the new host', 60_000, 50);
    from = stdout.length;
    await waitUntil(() => synced(stdout.slice(from)), 'players replicated again after the host restart', 60_000, 50);
  } finally {
    child.kill('SIGINT');
  }
  expect(await exited).toBe(0);
  expect(stderr).toBe('');
  expect(stdout).not.toMatch(/peer 0|undefined|NaN/);
  expect(stdout).toContain('stopped (SIGINT): closed every peer process, the page and the server');
  const summary = JSON.parse(stdout.trimEnd().split('\n').at(-1)!) as Record<string, number>;
  expect(Object.keys(summary)).toEqual(expect.arrayContaining(['peers', 'links', 'rtt_p50_ms', 'rtt_p99_ms', 'msgs', 'lost_reliable', 'reconnects']));
  expect(summary.peers).toBe(3);
  expect(summary.restarts).toBe(2);
  expectSync(summary, 3);
  expect(summary.lost_reliable).toBe(0);
  expect(summary.msgs).toBeGreaterThan(0);
  expect(summary.rtt_p50_ms).toBeGreaterThan(0);
  expect(summary.rtt_p99_ms).toBeGreaterThanOrEqual(summary.rtt_p50_ms!);
  // Sub-millisecond resolution: the RTT is a ping on the link, not a game tick.
  expect(Number.isInteger(summary.rtt_p50_ms)).toBe(false);
}, 240_000);

it('--seconds ends by itself; --virtual plays the same game on the virtual network with latency and loss', async () => {
  const r = await runNode(main, ['demo', '--virtual', '--peers', '4', '--seconds', '5', '--latency', '30', '--jitter', '0', '--loss', '0.02', '--json'], [], 120_000);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/full mesh formed: 4 peers, 6 links/);
  expect(r.stdout).toMatch(/every peer sees 4\.\.4 of 4 players/);
  const summary = JSON.parse(r.stdout.trimEnd().split('\n').at(-1)!) as Record<string, number>;
  expect(summary).toMatchObject({ peers: 4, links: 6, lost_reliable: 0, reconnects: 0 });
  // 30 ms each way and no jitter: the heartbeat RTT is the links' 60 ms, not the 50 ms game tick.
  expect(summary.rtt_p50_ms).toBeGreaterThanOrEqual(60);
  expect(summary.rtt_p50_ms).toBeLessThan(65);
  expect(summary.msgs).toBeGreaterThan(4 * 5 * 20);
  expectSync(summary, 4);
  expect(r.stdout).toMatch(/^bot3 +client +\d+ +4 /m);
  // Delta snapshots against acknowledged baselines are smaller than full msgpack snapshots of the same views.
  expect(summary.msgpack_full_bytes_per_client_tick).toBeGreaterThan(summary.sync_bytes_per_client_tick!);
  expect(summary.sync_ratio_vs_full).toBeLessThan(1);
}, 150_000);

it('--seconds with --json on real WebRTC: ends by itself, the JSON summary is the last line', async () => {
  const r = await runNode(main, ['demo', '--peers', '2', '--seconds', '3', '--json', '--no-web'], [], 120_000);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/full mesh formed: 2 peers, 1 links?/);
  expect(r.stdout).toContain('stopped (time)');
  const summary = JSON.parse(r.stdout.trimEnd().split('\n').at(-1)!) as Record<string, number>;
  expect(summary).toMatchObject({ peers: 2, links: 1, lost_reliable: 0, reconnects: 0, restarts: 0 });
  expect(summary.msgs).toBeGreaterThan(0);
  expectSync(summary, 2);
}, 150_000);
