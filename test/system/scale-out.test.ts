/**
 * Signaling scale-out (issue #16): three `rtcmesh serve --redis` processes
 * (child processes, 127.0.0.1) on one private redis-server.
 * - peers connected to different processes form a full mesh (real
 *   node-datachannel on 127.0.0.1) and exchange RPCs;
 * - 200 concurrent joins spread across the processes never collide;
 * - a Redis restart mid-session is survived: processes reconnect and
 *   register their peers again, links stay up, newcomers still join;
 * - one process SIGKILLed mid-session: its peers resume on another process
 *   with their ids, and no mesh link drops.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Mesh, type LobbyMultiplayerPeer } from '../api.js';
import { RpcEndpoint, type AnyRpcMethods } from '../../src/rpc/index.js';
import { WebSocketSignalingClient } from '../../src/signaling/drivers/websocket-client.js';
import { describeSystem, systemBinary } from './require-binary.js';
import { startRedis, type RedisServer } from './redis-server.js';

const binary = systemBinary('redis-server', '/usr/bin/redis-server');
const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const SECRET = 'scale-out-test-secret-0123456789';
const connection = { bindAddress: '127.0.0.1' };

interface Serve {
  child: ChildProcess;
  url: string;
  out(): string;
  /** Resolves when a line matching `re` was printed (after `from` characters). */
  waitFor(re: RegExp, timeoutMs?: number, from?: number): Promise<void>;
}

function startServe(redisUrl: string): Promise<Serve> {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'serve', '--port', '0', '--host', '127.0.0.1', '--redis', redisUrl, '--secret', SECRET,
    // Every test client connects from 127.0.0.1: lift the per-address upgrade limits meant for the internet.
    '--max-pending-per-address', '0', '--connection-rate', '0/1000'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const waiters = new Set<() => void>();
  const onData = (d: Buffer) => {
    out += d.toString();
    for (const w of [...waiters]) w();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const waitFor = (re: RegExp, timeoutMs = 20_000, from = 0) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (re.test(out.slice(from))) {
          waiters.delete(check);
          clearTimeout(timer);
          resolve();
        }
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`serve did not print ${re} within ${timeoutMs} ms:\n${out}`));
      }, timeoutMs);
      waiters.add(check);
      check();
    });
  return waitFor(/listening on (ws:\/\/\S+)/).then(() => ({
    child,
    url: /listening on (ws:\/\/\S+)/.exec(out)![1]!,
    out: () => out,
    waitFor,
  }));
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Poll meshes (and endpoints) until `check()` holds; polling is their clock, not a sleep. */
function pollUntil(meshes: LobbyMultiplayerPeer[], check: () => boolean, what: string, timeoutMs = 20_000, extra: RpcEndpoint[] = []): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const tick = () => {
      for (const m of meshes) m.poll();
      for (const e of extra) {
        e.poll();
        e.flush(); // answers go out at the end of the tick
      }
      if (check()) return resolve();
      if (Date.now() - started > timeoutMs) return reject(new Error(`timed out after ${timeoutMs} ms waiting until ${what}`));
      setTimeout(tick, 5);
    };
    tick();
  });
}

const fullMesh = (all: LobbyMultiplayerPeer[]) => all.every((m) => m.getPeerIds().length === all.length - 1);

describeSystem(
  'signaling scale-out: three serve processes on one Redis',
  binary,
  (path) => {
    let redis: RedisServer;
    let serves: Serve[] = [];
    const meshes: LobbyMultiplayerPeer[] = [];
    const lost: string[] = [];
    /** URL lists that start at process i and fail over to the others in order. */
    const urlsFrom = (i: number) => serves.map((_, k) => serves[(i + k) % serves.length]!.url);
    const join = async (i: number, lobby?: string) => {
      const m = await Mesh.join({ signaling: urlsFrom(i), connection, ...(lobby !== undefined ? { lobby } : {}) });
      meshes.push(m);
      m.on('peer_disconnected', (id: number, reason?: string) => lost.push(`${m.getUniqueId()} lost ${id}: ${reason}`));
      return m;
    };

    beforeAll(async () => {
      redis = await startRedis(path);
      serves = await Promise.all([startServe(redis.url), startServe(redis.url), startServe(redis.url)]);
    }, 45_000);

    afterAll(async () => {
      for (const m of meshes) m.close();
      await Promise.all(
        serves.map(async (s) => {
          s.child.kill('SIGTERM');
          await exited(s.child);
        }),
      );
      await redis?.stop();
    }, 20_000);

    let lobby = '';
    let trio: LobbyMultiplayerPeer[] = [];

    it('peers on different processes form a full mesh and exchange RPCs', async () => {
      const a = await join(0);
      lobby = a.lobby;
      const b = await join(1, lobby);
      const c = await join(2, lobby);
      trio = [a, b, c];
      expect(new Set(trio.map((m) => m.getUniqueId())).size).toBe(3);
      await pollUntil(trio, () => fullMesh(trio), 'the cross-process 3-mesh');
      const eps = trio.map((m) =>
        new RpcEndpoint<AnyRpcMethods>(m).register('whoami', (ctx, tag: string) => `${m.getUniqueId()}:${tag}:${ctx.senderId}`, { mode: 'any_peer' }),
      );
      const answers: Promise<string>[] = [];
      for (let i = 0; i < 3; i++) {
        for (let j = 0; j < 3; j++) if (i !== j) answers.push(eps[i]!.request(trio[j]!.getUniqueId(), 'whoami', `from${i}`) as Promise<string>);
        eps[i]!.flush();
      }
      let settled = false;
      const all = Promise.allSettled(answers).finally(() => (settled = true));
      await pollUntil([], () => settled, 'every RPC to answer', 20_000, eps);
      const got = (await all).map((r) => (r.status === 'fulfilled' ? r.value : `failed: ${String(r.reason)}`));
      const expected: string[] = [];
      for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) if (i !== j) expected.push(`${trio[j]!.getUniqueId()}:from${i}:${trio[i]!.getUniqueId()}`);
      expect(got).toEqual(expected);
      for (const e of eps) e.close();
    }, 30_000);

    it('200 concurrent joins spread across the processes never collide', async () => {
      const clients = Array.from({ length: 200 }, (_, i) => {
        const c = new WebSocketSignalingClient(serves[i % 3]!.url);
        c.on('error', () => undefined);
        return c;
      });
      try {
        const results = await Promise.all(clients.map((c) => c.join({ lobby: 'crowd' })));
        const ids = results.map((r) => r.id);
        expect(new Set(ids).size).toBe(200);
        expect(ids.filter((id) => id === 1)).toHaveLength(1); // exactly one creator
        expect(ids.every((id) => Number.isInteger(id) && id >= 1 && id <= 2147483647)).toBe(true);
      } finally {
        for (const c of clients) c.close();
      }
    }, 30_000);

    it('a Redis restart mid-session is survived: links stay up, ids kept, newcomers join', async () => {
      const marks = serves.map((s) => s.out().length);
      const before = trio.map((m) => m.getUniqueId());
      await redis.restart();
      await Promise.all(serves.map((s, i) => s.waitFor(/redis_lost/, 10_000, marks[i])));
      await Promise.all(serves.map((s, i) => s.waitFor(/redis_ready/, 15_000, marks[i])));
      for (const s of serves) expect(s.child.exitCode).toBeNull();
      const d = await join(1, lobby);
      const four = [...trio, d];
      await pollUntil(four, () => fullMesh(four), 'the newcomer to link with everyone after the Redis restart').catch((e) => {
        console.log('DEBUG', four.map((m) => [m.getUniqueId(), m.getPeerIds()]));
        for (const [i, s] of serves.entries()) console.log('SERVE', i, s.out().slice(marks[i]).split('\n').filter((l) => !/ connection | disconnection /.test(l)).join('\n'));
        throw e;
      });
      expect(trio.map((m) => m.getUniqueId())).toEqual(before);
      expect(before).not.toContain(d.getUniqueId());
      expect(lost).toEqual([]);
      trio = four;
    }, 40_000);

    it('one process SIGKILLed: its peers resume on another process with their ids, no mesh link drops', async () => {
      const victim = serves[1]!;
      const onVictim = trio.filter((m) => (m.signaling as unknown as WebSocketSignalingClient).url === victim.url);
      expect(onVictim.length).toBeGreaterThan(0);
      const ids = trio.map((m) => m.getUniqueId());
      let resumed = 0;
      for (const m of onVictim) m.signaling.on('resumed', () => resumed++);
      // A client that knows only the victim's URL cannot fail over: the survivors announce it detached.
      const ghost = new WebSocketSignalingClient(victim.url, { reconnect: { maxAttempts: 0 } });
      const watcher = new WebSocketSignalingClient(serves[2]!.url);
      for (const c of [ghost, watcher]) c.on('error', () => undefined);
      await watcher.join({ lobby: 'ghosts' });
      const ghostId = (await ghost.join({ lobby: 'ghosts' })).id;
      let detachedAt: number | undefined;
      watcher.on('peer_detached', (id) => {
        if (id === ghostId) detachedAt ??= Date.now();
      });
      const started = Date.now();
      victim.child.kill('SIGKILL');
      await exited(victim.child);
      await pollUntil(trio, () => resumed === onVictim.length, 'the victim\'s peers to resume elsewhere');
      const failoverMs = Date.now() - started;
      for (const m of onVictim) expect((m.signaling as unknown as WebSocketSignalingClient).url).not.toBe(victim.url);
      expect(trio.map((m) => m.getUniqueId())).toEqual(ids);
      // A newcomer on a surviving process links with everyone, the resumed peers included (their signaling works).
      const e = await join(2, lobby);
      const five = [...trio, e];
      await pollUntil(five, () => fullMesh(five), 'the newcomer to link with everyone after the fail-over');
      expect(lost).toEqual([]);
      expect(failoverMs).toBeGreaterThanOrEqual(0);
      // Dead-process detection (heartbeat TTL 3 s, checked every second): the ghost is announced detached.
      await pollUntil(five, () => detachedAt !== undefined, 'the survivors to announce the stranded peer detached', 15_000);
      expect(detachedAt! - started).toBeGreaterThan(0);
      ghost.close();
      watcher.close();
      serves = serves.filter((s) => s !== victim);
    }, 40_000);
  },
  'redis-server',
);
