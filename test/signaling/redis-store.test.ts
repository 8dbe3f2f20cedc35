/**
 * The atomic steps of the Redis signaling state (Lua scripts) against a real
 * private redis-server: id allocation never collides across processes, the
 * host claim is exclusive, sealed and full lobbies refuse joins, relays reach
 * the holding process's one channel, a dead process's peers are taken over
 * exactly once, resume tokens find their queued messages.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisSignalingStore, type RedisBusMessage } from '../../src/signaling/redis/store.js';
import { describeSystem, systemBinary } from '../system/require-binary.js';
import { startRedis, type RedisServer } from '../system/redis-server.js';

const binary = systemBinary('redis-server', '/usr/bin/redis-server');

let seq = 0;
const uniq = (p: string) => `${p}${process.pid}x${++seq}`;

/** Random candidate ids from a deliberately small range, so concurrent joins compete for the same ids. */
function candidates(n: number, max = 600): number[] {
  return Array.from({ length: n }, () => 2 + Math.floor(Math.random() * (max - 1)));
}

function nextMessage(store: RedisSignalingStore, match: (m: RedisBusMessage) => boolean, timeoutMs = 5000): Promise<RedisBusMessage> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      store.off('message', on);
      reject(new Error('no matching channel message'));
    }, timeoutMs);
    const on = (m: RedisBusMessage) => {
      if (!match(m)) return;
      clearTimeout(timer);
      store.off('message', on);
      resolve(m);
    };
    store.on('message', on);
  });
}

describeSystem(
  'Redis signaling state (Lua steps)',
  binary,
  (path) => {
    let redis: RedisServer;
    const stores: RedisSignalingStore[] = [];
    const open = async (proc: string, limits = {}) => {
      const s = new RedisSignalingStore(redis.url, proc, { prefix: 'test:', limits });
      stores.push(s);
      await s.connect();
      await s.heartbeat(() => performance.now());
      return s;
    };

    beforeAll(async () => {
      redis = await startRedis(path);
    });
    afterAll(async () => {
      await Promise.all(stores.map((s) => s.quit(false)));
      await redis?.stop();
    });

    it('200 concurrent joins across 3 connections never collide', async () => {
      const [a, b, c] = [await open(uniq('p')), await open(uniq('p')), await open(uniq('p'))];
      const lobby = uniq('L');
      const first = await a!.join(lobby, 'mesh', 'aaaaaaaaaaaaaaaa', true, false, []);
      expect(first).toMatchObject({ ok: true, id: 1, created: true });
      const joinOne = async (s: RedisSignalingStore): Promise<number> => {
        for (;;) {
          const r = await s.join(lobby, 'mesh', 'bbbbbbbbbbbbbbbb', true, false, candidates(4));
          if (r.ok) return r.id;
          expect(r.reason).toBe('retry');
        }
      };
      const ids = await Promise.all(Array.from({ length: 200 }, (_, i) => joinOne([a!, b!, c!][i % 3]!)));
      expect(new Set(ids).size).toBe(200);
      expect(ids.every((id) => id >= 2 && id <= 600)).toBe(true);
      expect(await a!.redis.hlen(`test:lobby:${lobby}:m`)).toBe(201);
    });

    it('the host claim is exclusive', async () => {
      const procs = [await open(uniq('h')), await open(uniq('h')), await open(uniq('h'))];
      const lobby = uniq('H');
      const results = await Promise.all(Array.from({ length: 30 }, (_, i) => procs[i % 3]!.join(lobby, 'mesh', 'cccccccccccccccc', true, true, candidates(4))));
      const winners = results.filter((r) => r.ok);
      expect(winners).toHaveLength(1);
      expect(winners[0]).toMatchObject({ id: 1 });
      expect(results.filter((r) => !r.ok && r.reason === 'host_taken')).toHaveLength(29);
      // A plain member joins, the host leaves (mesh: the lobby lives on), then concurrent claims again: one winner.
      const member = await procs[1]!.join(lobby, 'mesh', 'cccccccccccccccc', true, false, candidates(4, 100000));
      expect(member.ok).toBe(true);
      const hostProc = procs[results.findIndex((r) => r.ok) % 3]!;
      expect(await hostProc.remove(lobby, 1, 'attached')).toEqual({ result: 'left' });
      const again = await Promise.all(Array.from({ length: 12 }, (_, i) => procs[i % 3]!.join(lobby, 'mesh', 'cccccccccccccccc', true, true, [])));
      expect(again.filter((r) => r.ok)).toHaveLength(1);
      expect(again.filter((r) => r.ok)[0]).toMatchObject({ id: 1, created: false });
    });

    it('refuses joins to sealed and to full lobbies, also under concurrency', async () => {
      const a = await open(uniq('s'), { maxPeersPerLobby: 5 });
      const b = await open(uniq('s'), { maxPeersPerLobby: 5 });
      const lobby = uniq('S');
      expect(await a.join(lobby, 'mesh', 'dddddddddddddddd', true, false, [])).toMatchObject({ ok: true, id: 1 });
      const many = await Promise.all(Array.from({ length: 12 }, (_, i) => [a, b][i % 2]!.join(lobby, 'mesh', 'x', true, false, candidates(4, 1e6))));
      expect(many.filter((r) => r.ok)).toHaveLength(4);
      expect(many.filter((r) => !r.ok && r.reason === 'full')).toHaveLength(8);

      const sealedLobby = uniq('S');
      expect(await b.join(sealedLobby, 'mesh', 'eeeeeeeeeeeeeeee', true, false, [])).toMatchObject({ ok: true, id: 1 });
      const m = await a.join(sealedLobby, 'mesh', 'x', true, false, [42]);
      expect(m).toMatchObject({ ok: true, id: 42 });
      expect(await a.seal(sealedLobby, 42)).toBe(-2); // not the host
      const told = nextMessage(a, (x) => x.l === sealedLobby && x.t === '{"type":"sealed"}');
      expect(await b.seal(sealedLobby, 1)).toBe(1);
      expect((await told).i).toEqual([42]);
      expect(await b.seal(sealedLobby, 1)).toBe(0);
      expect(await a.join(sealedLobby, 'mesh', 'x', true, false, candidates(4, 1e6))).toEqual({ ok: false, reason: 'sealed' });
      // A member of a sealed lobby may still resume.
      expect(await b.resume(sealedLobby, 'eeeeeeeeeeeeeeee', 42, 'mesh')).toMatchObject({ ok: true, prev: `a:${a.processId}` });
      // join-only (create false) of a missing lobby.
      expect(await a.join(uniq('none'), 'mesh', 'x', false, false, [])).toEqual({ ok: false, reason: 'not_found' });
    });

    it('relays through the holding process\'s one channel and queues for detached peers', async () => {
      const a = await open(uniq('r'));
      const b = await open(uniq('r'));
      const lobby = uniq('R');
      const epoch = 'ffffffffffffffff';
      await a.join(lobby, 'mesh', epoch, true, false, []);
      const joinedSeen = nextMessage(a, (x) => x.l === lobby && x.t === '{"type":"peer_joined","id":77}');
      expect(await b.join(lobby, 'mesh', epoch, true, false, [77])).toMatchObject({ ok: true, id: 77, others: [1] });
      expect((await joinedSeen).i).toEqual([1]);
      const got = nextMessage(b, (x) => x.l === lobby && x.t === 'hello');
      expect(await a.relay(lobby, 77, 'hello')).toBe(1);
      expect((await got).i).toEqual([77]);
      expect(await a.relay(lobby, 999, 'x')).toBe(0);

      const detachedSeen = nextMessage(a, (x) => x.t === '{"type":"peer_detached","id":77}');
      expect(await b.detach(lobby, 77)).toBe(true);
      await detachedSeen;
      expect(await a.relay(lobby, 77, 'q1')).toBe(2);
      expect(await a.relay(lobby, 77, 'q2')).toBe(2);
      const attachedSeen = nextMessage(a, (x) => x.t === '{"type":"peer_attached","id":77}');
      const resumed = await a.resume(lobby, epoch, 77, 'mesh');
      expect(resumed).toMatchObject({ ok: true, prev: `d:${b.processId}`, queued: ['q1', 'q2'], others: [1] });
      await attachedSeen;
      // The grace that b still runs for 77 finds it attached elsewhere: a no-op.
      expect(await b.remove(lobby, 77, 'detached')).toEqual({ result: 'stale' });
      expect(await a.remove(lobby, 77, 'attached')).toEqual({ result: 'left' });
      expect(await a.relay(lobby, 77, 'x')).toBe(-1);
      expect(await b.resume(lobby, epoch, 77, 'mesh')).toEqual({ ok: false, reason: 'gone' });
      // The last member leaves: the lobby closes and its epoch cannot be recreated by a token.
      expect(await a.remove(lobby, 1, 'attached')).toEqual({ result: 'closed', reason: 'empty' });
      expect(await a.resume(lobby, epoch, 1, 'mesh')).toEqual({ ok: false, reason: 'closed' });
    });

    it('a dead process\'s peers are announced detached and taken over by exactly one survivor', async () => {
      const a = await open(uniq('d'), { heartbeatTtlMs: 400 });
      const b = await open(uniq('d'), { heartbeatTtlMs: 400 });
      const dead = await open(uniq('d'), { heartbeatTtlMs: 400 });
      const lobby = uniq('D');
      await a.join(lobby, 'mesh', '0123456789abcdef', true, false, []);
      await dead.join(lobby, 'mesh', '0123456789abcdef', true, false, [5]);
      await dead.join(lobby, 'mesh', '0123456789abcdef', true, false, [6]);
      await dead.detach(lobby, 6);
      const announced = nextMessage(a, (x) => x.t === '{"type":"peer_detached","id":5}');
      // `dead` stops heartbeating; the others keep going until its key expires.
      const deadline = Date.now() + 5000;
      let reaped: Awaited<ReturnType<RedisSignalingStore['reap']>>[] = [];
      while (Date.now() < deadline) {
        await a.heartbeat(() => 0);
        await b.heartbeat(() => 0);
        reaped = await Promise.all([a.reap(), b.reap()]);
        if (reaped.some((r) => r.length > 0)) break;
        await new Promise((r) => setTimeout(r, 100)); // the heartbeat key expires on Redis's clock
      }
      const all = reaped.flat().filter((r) => r.deadProcess === dead.processId);
      expect(all.map((r) => [r.id, r.wasAttached]).sort()).toEqual([
        [5, true],
        [6, false],
      ]);
      expect(reaped.filter((r) => r.length > 0)).toHaveLength(1); // one survivor took them
      await announced;
      const taker = reaped[0]!.length > 0 ? a : b;
      expect(await a.redis.hget(`test:lobby:${lobby}:m`, '5')).toBe(`d:${taker.processId}`);
      expect(await a.redis.sismember('test:procs', dead.processId)).toBe(0);
      // Reaping again finds nothing.
      expect(await a.reap()).toEqual([]);
    });

    it('counts connections per address across processes', async () => {
      const a = await open(uniq('a'));
      const b = await open(uniq('a'));
      const addr = uniq('10.0.0.');
      expect(await a.acquireAddress(addr, 2)).toBe(true);
      expect(await b.acquireAddress(addr, 2)).toBe(true);
      expect(await b.acquireAddress(addr, 2)).toBe(false);
      await a.releaseAddress(addr);
      expect(await b.acquireAddress(addr, 2)).toBe(true);
    });

    it('client/server lobby: the host leaving closes it and tells every member on every process', async () => {
      const a = await open(uniq('c'));
      const b = await open(uniq('c'));
      const lobby = uniq('C');
      await a.join(lobby, 'client_server', '1111111111111111', true, false, []);
      const j = await b.join(lobby, 'client_server', '1111111111111111', true, false, [9]);
      expect(j).toMatchObject({ ok: true, mode: 'client_server', others: [1] });
      const j2 = await b.join(lobby, 'client_server', '1111111111111111', true, false, [10]);
      expect(j2).toMatchObject({ ok: true, others: [1] }); // clients do not see each other
      const closedMsg = nextMessage(b, (x) => x.l === lobby && x.x !== undefined);
      expect(await a.remove(lobby, 1, 'attached')).toEqual({ result: 'closed', reason: 'host left' });
      const m = await closedMsg;
      expect(m.i.sort()).toEqual([10, 9].sort());
      expect(JSON.parse(m.t!)).toEqual({ type: 'lobby_closed', reason: 'host left' });
      expect(m.x![0]).toBe(1000);
      expect(await a.redis.exists(`test:lobby:${lobby}`)).toBe(0);
    });
  },
  'redis-server',
);

describe('Redis store without a server', () => {
  it('rejects connect() when Redis is unreachable, without throwing elsewhere', async () => {
    const s = new RedisSignalingStore('redis://127.0.0.1:1', 'nobody', { redisOptions: { retryStrategy: () => null } });
    await expect(s.connect()).rejects.toThrow();
    await s.quit(false);
  });
});
