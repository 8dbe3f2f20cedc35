/**
 * Claims of docs/scale-out.md, checked with two SignalingServers on one
 * private redis-server (127.0.0.1) and real clients. Each `it()` quotes the
 * claim it checks.
 */
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { ErrorCode, SignalingServer, WebSocketSignalingClient, type SignalingServerOptions } from '../api.js';
import { waitForEvent, waitUntil } from '../helpers.js';
import { startRedis, type RedisServer } from '../system/redis-server.js';
import { describeSystem, systemBinary } from '../system/require-binary.js';

const binary = systemBinary('redis-server', '/usr/bin/redis-server');
const SECRET = 'docs-audit-secret-0123456789';

describeSystem('docs/scale-out.md over a real Redis', binary, (path) => {
  let redis: RedisServer;
  const servers: SignalingServer[] = [];
  const clients: WebSocketSignalingClient[] = [];
  async function serve(redisOptions: Record<string, unknown> = {}, extra: SignalingServerOptions = {}): Promise<{ server: SignalingServer; url: string }> {
    const server = new SignalingServer({ redis: { url: redis.url, heartbeatIntervalMs: 200, heartbeatTtlMs: 800, ...redisOptions }, resumeSecret: SECRET, pingIntervalMs: 0, ...extra });
    servers.push(server);
    return { server, url: (await server.listen({ port: 0, host: '127.0.0.1' })).url };
  }
  function client(url: string | string[]): WebSocketSignalingClient {
    const c = new WebSocketSignalingClient(url, { pingIntervalMs: 0, reconnect: { baseDelayMs: 20, maxDelayMs: 100 } });
    c.on('error', () => undefined);
    clients.push(c);
    return c;
  }
  beforeAll(async () => {
    redis = await startRedis(path);
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await Promise.all(servers.splice(0).map((s) => s.close({ reconnect: false })));
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('"--redis-prefix P keeps several deployments apart on one Redis": the same lobby name under two prefixes is two lobbies', async () => {
    const a = await serve({ prefix: 'deployA:' });
    const b = await serve({ prefix: 'deployB:' });
    const ja = await client(a.url).join({ lobby: 'same-name' });
    const jb = await client(b.url).join({ lobby: 'same-name' });
    expect(ja).toMatchObject({ id: 1, peers: [] });
    expect(jb).toMatchObject({ id: 1, peers: [] });
  });

  it('"lobbies counts lobbies across all processes; connections and peers count this process\'s"', async () => {
    const a = await serve({ prefix: 'count:' });
    const b = await serve({ prefix: 'count:' });
    await client(a.url).join({ lobby: 'one' });
    await client(a.url).join({ lobby: 'one' });
    await client(a.url).join({ lobby: 'two' });
    await waitUntil(() => b.server.getStats().lobbies === 2, 'the other process to count both lobbies');
    expect(a.server.getStats()).toMatchObject({ lobbies: 2, connections: 3, peers: 3 });
    expect(b.server.getStats()).toMatchObject({ lobbies: 2, connections: 0, peers: 0 });
  });

  it('"A process stops (server.close()): clients are told shutdown with reconnect: true, their peers are marked detached at once (announced) … Clients resume on another process" (same id, no peer_left)', async () => {
    const a = await serve({ prefix: 'stop:' });
    const b = await serve({ prefix: 'stop:' });
    const watcher = client(b.url);
    await watcher.join({ lobby: 'stop' });
    const mover = client([a.url, b.url]);
    const { id } = await mover.join({ lobby: 'stop' });
    const events: string[] = [];
    for (const e of ['peer_detached', 'peer_attached', 'peer_left'] as const) watcher.on(e, (peer) => events.push(`${e}:${peer === id ? 'mover' : peer}`));
    const resumed = waitForEvent(mover, 'resumed', () => true, 15_000);
    await a.server.close({ reconnect: true });
    await resumed;
    expect(mover.id).toBe(id);
    await waitUntil(() => events.includes('peer_attached:mover'), 'peer_attached on the other process');
    expect(events).toEqual(['peer_detached:mover', 'peer_attached:mover']);
    const got = waitForEvent<[number, string, string]>(watcher, 'description');
    mover.sendDescription(1, 'offer', 'after the move');
    expect(await got).toEqual([id, 'offer', 'after the move']);
  });

  it('"Redis restarts or is briefly unreachable. Processes do not crash … While Redis is away, joins are refused with a TIMEOUT error (clients retry) … When it is back, every process registers its attached peers again … same ids"', async () => {
    const a = await serve({ prefix: 'away:' });
    const member = client(a.url);
    const { id } = await member.join({ lobby: 'away' });
    const lost = waitForEvent(a.server.redis!.health, 'redis_lost', () => true, 10_000);
    const port = redis.port;
    await redis.stop();
    await lost;
    const refused = await client(a.url)
      .join({ lobby: 'away-2' })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(refused).toMatchObject({ code: ErrorCode.TIMEOUT });
    const ready = waitForEvent(a.server.redis!.health, 'redis_ready', () => true, 20_000);
    redis = await startRedis(path, port);
    await ready;
    const next = await client(a.url).join({ lobby: 'away' });
    expect(next.id).not.toBe(id);
    expect(next.peers).toContain(id);
    expect(member.id).toBe(id);
  });
});
