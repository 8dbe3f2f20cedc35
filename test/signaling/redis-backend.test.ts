/**
 * SignalingServer({ redis }) in this process: two servers on one private
 * redis-server share lobbies. Joins on either get unique ids, relays and
 * announcements cross processes, a client with several URLs resumes on the
 * other server when its server goes away, and seal / leave / the host
 * leaving a client/server lobby reach members on the other server.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SignalingServer } from '../../src/signaling/drivers/server.js';
import { WebSocketSignalingClient } from '../../src/signaling/drivers/websocket-client.js';
import { ErrorCode, RtcmeshError } from '../../src/errors.js';
import { CliError, ExitCode } from '../../src/cli/exit-codes.js';
import { createMetrics } from '../../src/metrics/index.js';
import { runServe } from '../../src/cli/serve.js';
import { describeSystem, systemBinary } from '../system/require-binary.js';
import { startRedis, type RedisServer } from '../system/redis-server.js';

const binary = systemBinary('redis-server', '/usr/bin/redis-server');
const SECRET = 'test-secret-0123456789';

function once<T extends unknown[] = unknown[]>(emitter: unknown, event: string, timeoutMs = 5000): Promise<T> {
  const e = emitter as { once(e: string, fn: (...a: unknown[]) => void): unknown };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "${event}" within ${timeoutMs} ms`)), timeoutMs);
    e.once(event, (...args: unknown[]) => {
      clearTimeout(timer);
      resolve(args as T);
    });
  });
}

/** Resolve once `check()` holds (checked on every macrotask turn), or reject after `timeoutMs`. */
function until(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const tick = () => {
      if (check()) return resolve();
      if (Date.now() - started > timeoutMs) return reject(new Error(`timed out waiting until ${what}`));
      setImmediate(tick);
    };
    tick();
  });
}

describeSystem(
  'SignalingServer over Redis (two servers, one Redis)',
  binary,
  (path) => {
    let redis: RedisServer;
    let servers: SignalingServer[] = [];
    let clients: WebSocketSignalingClient[] = [];
    let urls: string[] = [];
    const client = (u: string | string[]) => {
      const c = new WebSocketSignalingClient(u, { reconnect: { baseDelayMs: 20, maxDelayMs: 100 } });
      c.on('error', () => undefined);
      clients.push(c);
      return c;
    };
    const startServers = async (n: number, extra = {}) => {
      for (let i = 0; i < n; i++) {
        const s = new SignalingServer({ redis: { url: redis.url, heartbeatIntervalMs: 200, heartbeatTtlMs: 800 }, resumeSecret: SECRET, ...extra });
        servers.push(s);
        urls.push((await s.listen({ port: 0, host: '127.0.0.1' })).url);
      }
    };

    beforeAll(async () => {
      redis = await startRedis(path);
    });
    afterEach(async () => {
      for (const c of clients) c.close();
      await Promise.all(servers.map((s) => s.close()));
      servers = [];
      clients = [];
      urls = [];
    });
    afterAll(async () => {
      await redis?.stop();
    });

    it('needs a shared resume secret and a redis URL', () => {
      expect(() => new SignalingServer({ redis: redis.url })).toThrow(RtcmeshError);
      expect(() => new SignalingServer({ redis: 'http://x', resumeSecret: SECRET })).toThrow(/redis:\/\//);
    });

    it('rejects listen() when Redis is unreachable', async () => {
      const s = new SignalingServer({ redis: { url: 'redis://127.0.0.1:1', redisOptions: { retryStrategy: () => null } }, resumeSecret: SECRET });
      await expect(s.listen({ port: 0, host: '127.0.0.1' })).rejects.toThrow(/cannot connect to Redis/);
    });

    it('peers on different servers share a lobby, see each other and relay', async () => {
      await startServers(2);
      const a = client(urls[0]!);
      const b = client(urls[1]!);
      const ja = await a.join({ lobby: 'shared' });
      expect(ja.id).toBe(1);
      const joinedSeen = once<[number]>(a, 'peer_joined');
      const jb = await b.join({ lobby: 'shared' });
      expect(jb.id).not.toBe(1);
      expect(jb.peers).toEqual([1]);
      expect((await joinedSeen)[0]).toBe(jb.id);
      const got = once<[number, string, string]>(a, 'description');
      b.sendDescription(1, 'offer', 'v=0 sdp-from-b');
      expect(await got).toEqual([jb.id, 'offer', 'v=0 sdp-from-b']);
      const cand = once<[number, string, number, string]>(b, 'candidate');
      a.sendCandidate(jb.id, '0', 0, 'candidate:1 1 udp 1 127.0.0.1 9 typ host');
      expect(await cand).toEqual([1, '0', 0, 'candidate:1 1 udp 1 127.0.0.1 9 typ host']);
      const alive = once<[number]>(b, 'peer_alive');
      expect(b.probe(1)).toBe(true);
      expect((await alive)[0]).toBe(1);
      // refuse (protocol 5) crosses processes too, its code kept.
      const refused = once<[number, string]>(b, 'refused');
      expect(a.refuse(jb.id, 'INVALID_PEER')).toBe(true);
      expect(await refused).toEqual([1, 'INVALID_PEER']);
      expect(servers[0]!.getStats()).toMatchObject({ connections: 1, peers: 1 });
      const left = once<[number]>(a, 'peer_left');
      b.leave();
      expect((await left)[0]).toBe(jb.id);
    });

    it('counts bytes in the rate limit, as the in-process server does', async () => {
      await startServers(1, { rateLimit: { messages: 1000, windowMs: 60_000, bytes: 100_000 } });
      const stats = () => servers[0]!.getStats();
      const a = client(urls[0]!);
      const b = client(urls[0]!);
      const c = client(urls[0]!);
      await a.join({ lobby: 'rl' });
      const jb = await b.join({ lobby: 'rl' });
      await c.join({ lobby: 'rl' });
      const limited = new Promise<unknown[]>((resolve) => servers[0]!.once('client_error', (...args: unknown[]) => resolve(args)));
      const got: string[] = [];
      b.on('description', (_from: number, _type: string, sdp: string) => got.push(sdp.slice(0, 2)));
      for (let k = 0; k < 4; k++) a.sendDescription(jb.id, 'offer', `${k}:${'z'.repeat(40_000)}`);
      expect((await limited)[1]).toBe('RATE_LIMITED');
      await until(() => stats().messagesIn >= 7, 'the three joins and four offers received');
      // A marker from another member (its own rate window), relayed after a's offers through the same Redis channel.
      c.sendDescription(jb.id, 'offer', 'c:marker');
      await until(() => got.includes('c:'), 'the marker delivered');
      await until(() => stats().relayed >= 3, 'the relays counted');
      expect(got).toEqual(['0:', '1:', 'c:']); // 2 × 40 kB within 100 kB, the rest dropped
      expect(stats().relayed).toBe(3);
    });

    it('a client with several URLs resumes on another server when its server goes away', async () => {
      await startServers(2);
      const a = client(urls[1]!);
      const b = client([urls[0]!, urls[1]!]);
      await a.join({ lobby: 'failover' });
      const jb = await b.join({ lobby: 'failover' });
      const resumed = once(b, 'resumed', 10_000);
      const events: string[] = [];
      a.on('peer_left', () => events.push('left'));
      await servers[0]!.close();
      await resumed;
      expect(b.id).toBe(jb.id);
      expect(b.url).toBe(urls[1]);
      expect(events).toEqual([]);
      const got = once<[number, string, string]>(a, 'description');
      b.sendDescription(1, 'answer', 'after-failover');
      expect(await got).toEqual([jb.id, 'answer', 'after-failover']);
    });

    it('host role across servers: one host, HOST_TAKEN, join-only refusals, host key', async () => {
      await startServers(2, { clientServerJoinOnly: true, hostKey: 'host-key-123456' });
      await expect(client(urls[0]!).join({ lobby: 'hr', mode: 'client_server' })).rejects.toMatchObject({ code: 'LOBBY_NOT_FOUND' });
      await expect(client(urls[0]!).join({ lobby: 'hr', create: false })).rejects.toMatchObject({ code: 'LOBBY_NOT_FOUND' });
      await expect(client(urls[1]!).join({ lobby: 'hr', mode: 'client_server', host: true, hostKey: 'wrong-key-000000' })).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
      const host = await client(urls[0]!).join({ lobby: 'hr', mode: 'client_server', host: true, hostKey: 'host-key-123456' });
      expect(host.id).toBe(1);
      await expect(client(urls[1]!).join({ lobby: 'hr', mode: 'client_server', host: true, hostKey: 'host-key-123456' })).rejects.toMatchObject({ code: 'HOST_TAKEN' });
      const member = await client(urls[1]!).join({ lobby: 'hr', mode: 'client_server', create: false });
      expect(member.id).not.toBe(1);
      expect(member.peers).toEqual([1]);
    });

    it('a joiner waits (waitForHostMs) for its host to create the lobby on another server', async () => {
      await startServers(2);
      const waiter = client(urls[1]!).join({ lobby: 'later', mode: 'client_server', waitForHostMs: 10_000 });
      await expect(client(urls[1]!).join({ lobby: 'never', waitForHostMs: 300 })).rejects.toMatchObject({ code: 'LOBBY_NOT_FOUND' });
      await until(() => servers[1]!.getStats().waitingForHost === 1, 'the joiner to wait for its host');
      const host = await client(urls[0]!).join({ lobby: 'later', mode: 'client_server', host: true });
      expect(host.id).toBe(1);
      const joined = await waiter;
      expect(joined.id).not.toBe(1);
      expect(joined.peers).toEqual([1]);
      expect(servers[1]!.getStats().waitingForHost).toBe(0);
    });

    it('exposes Redis health per process in Prometheus metrics', async () => {
      await startServers(1);
      const metrics = createMetrics({ signaling: servers[0]! });
      try {
        const text = await metrics.metrics();
        const proc = servers[0]!.redis!.processId;
        expect(text).toContain(`rtcmesh_signaling_redis_up{process="${proc}"} 1`);
        expect(text).toMatch(new RegExp(`rtcmesh_signaling_redis_round_trip_seconds\\{process="${proc}"\\} [0-9.e-]+`));
        expect(text).toContain(`rtcmesh_signaling_redis_pubsub_backlog_bytes{process="${proc}"} 0`);
      } finally {
        metrics.unregister();
      }
    });

    it('counts connections per address across servers (maxConnectionsPerAddress)', async () => {
      await startServers(2, { maxConnectionsPerAddress: 2 });
      const rejected: number[] = [];
      for (const s of servers) s.on('rejected', (_remote, status) => rejected.push(status));
      await client(urls[0]!).join({ lobby: 'addr' });
      await client(urls[1]!).join({ lobby: 'addr' });
      const third = new WebSocketSignalingClient(urls[0]!, { reconnect: { maxAttempts: 0 } });
      third.on('error', () => undefined);
      clients.push(third);
      await expect(third.join({ lobby: 'addr' })).rejects.toBeInstanceOf(RtcmeshError);
      expect(rejected).toContain(429);
    });

    it('seal, and the host of a client/server lobby leaving, reach members on the other server', async () => {
      await startServers(2, { sealGraceMs: 60_000 });
      const host = client(urls[0]!);
      const c1 = client(urls[1]!);
      await host.join({ lobby: 'cs', mode: 'client_server' });
      const j1 = await c1.join({ lobby: 'cs', mode: 'client_server' });
      expect(j1.peers).toEqual([1]);
      const sealed = once(c1, 'sealed');
      host.seal();
      await sealed;
      const late = client(urls[1]!);
      await expect(late.join({ lobby: 'cs' })).rejects.toMatchObject({ code: 'LOBBY_SEALED' });
      const closed = once<[string]>(c1, 'closed');
      host.leave();
      expect((await closed)[0]).toMatch(/host left/);
    });
  },
  'redis-server',
);

describe('WebSocketSignalingClient URLs', () => {
  it('validates every URL', () => {
    expect(() => new WebSocketSignalingClient([])).toThrow(RtcmeshError);
    expect(() => new WebSocketSignalingClient(['ws://a', 'http://b'])).toThrow(RtcmeshError);
    const c = new WebSocketSignalingClient(['ws://127.0.0.1:1', 'ws://127.0.0.1:2']);
    expect(c.url).toBe('ws://127.0.0.1:1');
    c.close();
  });
});

describe('rtcmesh serve --redis', () => {
  it('needs a redis:// URL and a shared secret', async () => {
    const out = () => undefined;
    const env = process.env['RTCMESH_SIGNALING_SECRET'];
    delete process.env['RTCMESH_SIGNALING_SECRET'];
    try {
      await expect(runServe(['--redis', 'redis://127.0.0.1:6379'], { out })).rejects.toThrow(/--redis needs --secret/);
      await expect(runServe(['--redis', 'http://x', '--secret', SECRET], { out })).rejects.toThrow(/redis:\/\/ URL/);
    } finally {
      if (env !== undefined) process.env['RTCMESH_SIGNALING_SECRET'] = env;
    }
  });

  it('an unreachable Redis is a network failure: UNREACHABLE from listen(), exit code 3 from serve', async () => {
    const s = new SignalingServer({ redis: { url: 'redis://127.0.0.1:1', redisOptions: { retryStrategy: () => null } }, resumeSecret: SECRET });
    await expect(s.listen({ port: 0, host: '127.0.0.1' })).rejects.toMatchObject({ code: ErrorCode.UNREACHABLE });
    const failure = await runServe(['--port', '0', '--redis', 'redis://127.0.0.1:1', '--secret', SECRET], { out: () => undefined }).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(CliError);
    expect((failure as CliError).exitCode).toBe(ExitCode.NETWORK);
  });
});
