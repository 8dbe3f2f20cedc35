/**
 * Claims of docs/signaling.md (client-visible behaviour: join results, errors,
 * close codes, HTTP answers, stats, `rtcmesh serve` flags), checked against a
 * real SignalingServer on 127.0.0.1 and real clients. Each `it()` quotes the
 * claim it checks.
 */
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { runServe } from '../../src/cli/serve.js';
import { ErrorCode, MemorySignalingBus, SignalingServer, turnCredential, WebSocketSignalingClient } from '../api.js';
import { cleanup, client, joinRaw, raw, startServer, waitForEvent, waitUntil } from '../signaling/helpers.js';

afterEach(cleanup);

function httpGet(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('docs/signaling.md: the server over HTTP', () => {
  it('"Plain HTTP requests get 426; GET /healthz returns 200 ok"', async () => {
    const { port } = await startServer();
    const health = await httpGet(`http://127.0.0.1:${port}/healthz`);
    expect(health.status).toBe(200);
    expect(health.body.trim()).toBe('ok');
    expect((await httpGet(`http://127.0.0.1:${port}/`)).status).toBe(426);
  });
});

describe('docs/signaling.md: upgrades and the WebSocket used', () => {
  it('"Upgrades are refused before the WebSocket opens with HTTP … 503 (shutting down, maxConnections reached)"', async () => {
    const { url } = await startServer({ pingIntervalMs: 0, maxConnections: 1 });
    const first = await raw(url);
    await expect(raw(url)).rejects.toThrow(/HTTP 503/);
    expect(first.isClosed()).toBe(false);
  });

  it('"In Node.js the client uses the ws package (a dependency) by default, even where a global WebSocket exists (Node 22+)"', async () => {
    const { url } = await startServer({ pingIntervalMs: 0 });
    const g = globalThis as { WebSocket?: unknown };
    const saved = Object.getOwnPropertyDescriptor(g, 'WebSocket');
    let constructed = 0;
    g.WebSocket = class {
      constructor() {
        constructed++;
        throw new Error('the global WebSocket must not be used in Node.js');
      }
    };
    try {
      const c = client(url);
      expect((await c.join({ lobby: 'which-ws' })).id).toBe(1);
      expect(constructed).toBe(0);
    } finally {
      if (saved) Object.defineProperty(g, 'WebSocket', saved);
      else delete g.WebSocket;
    }
  });
});

describe('docs/signaling.md: lobbies and the client API', () => {
  it('"when lobby is omitted or \"\", under a new unguessable name (32 hex characters)"; "Client-chosen names are 1–64 characters of A–Z a–z 0–9 _ . -"', async () => {
    const { url } = await startServer({ pingIntervalMs: 0 });
    const r = await client(url).join({ lobby: '' });
    expect(r.lobby).toMatch(/^[0-9a-f]{32}$/);
    expect(r.id).toBe(1);
    const name = 'Ab-9_.'.padEnd(64, 'x');
    expect((await client(url).join({ lobby: name })).lobby).toBe(name);
    await expect(client(url).join({ lobby: name + 'x' })).rejects.toMatchObject({ code: ErrorCode.INVALID_ARGUMENT });
    await expect(client(url).join({ lobby: 'a/b' })).rejects.toMatchObject({ code: ErrorCode.INVALID_ARGUMENT });
    // the server refuses them too (a client that skips the check)
    const bad = await raw(url);
    bad.send({ type: 'join', lobby: 'x'.repeat(65) });
    expect(await bad.next((m) => m.type === 'error')).toMatchObject({ code: ErrorCode.PROTOCOL_ERROR });
  });

  it('"JoinResult.peers lists the peers to connect to: mesh → all others; client → [1]; host → []"', async () => {
    const { url } = await startServer({ pingIntervalMs: 0 });
    const m1 = client(url);
    const m2 = client(url);
    const m3 = client(url);
    expect((await m1.join({ lobby: 'm' })).peers).toEqual([]);
    const r2 = await m2.join({ lobby: 'm' });
    expect(r2.peers).toEqual([1]);
    expect((await m3.join({ lobby: 'm' })).peers.sort((a, b) => a - b)).toEqual([1, r2.id].sort((a, b) => a - b));
    const host = client(url);
    const c1 = client(url);
    const c2 = client(url);
    const h = await host.join({ lobby: 'cs', mode: 'client_server', host: true });
    expect(h).toMatchObject({ id: 1, mode: 'client_server', peers: [] });
    expect((await c1.join({ lobby: 'cs' })).peers).toEqual([1]);
    expect((await c2.join({ lobby: 'cs' })).peers).toEqual([1]);
  });

  it('"the send methods throw INVALID_ARGUMENT for bad arguments, INVALID_STATE before joining and CLOSED after close()"', async () => {
    const { url } = await startServer({ pingIntervalMs: 0 });
    const c = client(url);
    expect(() => c.sendCandidate(2, '0', 0, 'candidate')).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_STATE }));
    await c.join({ lobby: 'sends' });
    expect(() => c.sendCandidate(2, '0', 70_000, 'candidate')).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }));
    c.close();
    expect(() => c.sendDescription(2, 'offer', 'sdp')).toThrow(expect.objectContaining({ code: ErrorCode.CLOSED }));
    expect(() => c.sendCandidate(2, '0', 0, 'candidate')).toThrow(expect.objectContaining({ code: ErrorCode.CLOSED }));
  });

  it('"leave(); // may join again afterwards": the same client joins another lobby; the one it left hears peer_left', async () => {
    const { url } = await startServer({ pingIntervalMs: 0 });
    const a = client(url);
    const b = client(url);
    await a.join({ lobby: 'first' });
    const { id } = await b.join({ lobby: 'first' });
    const left = waitForEvent<[number]>(a, 'peer_left');
    b.leave();
    expect(await left).toEqual([id]);
    expect(b.lobby).toBeUndefined();
    const again = await b.join({ lobby: 'second' });
    expect(again).toMatchObject({ lobby: 'second', id: 1 });
    expect(b.lobby).toBe('second');
  });

  it('"`host` cannot be combined with `create: false` or `waitForHostMs`": join() rejects (never throws synchronously) with INVALID_ARGUMENT', async () => {
    const { url } = await startServer({ pingIntervalMs: 0 });
    const c = client(url);
    let p: Promise<unknown> | undefined;
    expect(() => (p = c.join({ lobby: 'h', host: true, create: false }))).not.toThrow();
    await expect(p).rejects.toMatchObject({ code: ErrorCode.INVALID_ARGUMENT });
    await expect(c.join({ lobby: 'h', host: true, waitForHostMs: 100 })).rejects.toMatchObject({ code: ErrorCode.INVALID_ARGUMENT });
    await expect(c.join({ lobby: 'h', hostKey: 'x'.repeat(257), host: true })).rejects.toMatchObject({ code: ErrorCode.INVALID_ARGUMENT });
  });

  it('"In client_server, the host leaving closes the lobby for everyone (reason host left)": lobby_closed then close code 1000; the client emits closed("lobby closed: …") and does not reconnect', async () => {
    const { url, server } = await startServer({ pingIntervalMs: 0 });
    const host = client(url);
    await host.join({ lobby: 'gone', mode: 'client_server', host: true });
    const r = await raw(url);
    r.send({ type: 'join', lobby: 'gone' });
    await r.next((m) => m.type === 'joined');
    const c = client(url);
    await c.join({ lobby: 'gone' });
    const closed = waitForEvent<[string]>(c, 'closed');
    let reconnecting = 0;
    c.on('reconnecting', () => reconnecting++);
    host.leave();
    expect(await r.next((m) => m.type === 'lobby_closed')).toEqual({ type: 'lobby_closed', reason: 'host left' });
    expect((await r.closed).code).toBe(1000);
    const [reason] = await closed;
    expect(reason).toMatch(/^lobby closed: host left/);
    expect(reconnecting).toBe(0);
    // "A lobby whose last peer leaves disappears"
    await waitUntil(() => server.getStats().lobbies === 0, 'the lobby to be gone');
  });

  it('"A lobby whose last peer leaves disappears" (mesh): the next join of that name creates it afresh and gets id 1', async () => {
    const { url, server } = await startServer({ pingIntervalMs: 0 });
    const a = client(url);
    const b = client(url);
    await a.join({ lobby: 'empty' });
    const { id } = await b.join({ lobby: 'empty' });
    expect(id).not.toBe(1);
    a.leave();
    b.leave();
    await waitUntil(() => server.getStats().lobbies === 0, 'the lobby to be gone');
    const c = client(url);
    expect((await c.join({ lobby: 'empty' })).id).toBe(1);
  });

  it('"Relayed messages are the client\'s frame with from spliced in front ({"from":7,"type":"offer","to":9,…}) … to stays in"', async () => {
    const { url } = await startServer({ pingIntervalMs: 0 });
    const { r: a } = await joinRaw(url, 'splice');
    const { r: b, joined } = await joinRaw(url, 'splice');
    b.send({ type: 'offer', to: 1, sdp: 'v=0' });
    await a.next((m) => m.type === 'offer');
    const frame = a.frames.find((f) => f.includes('"offer"'))!;
    expect(frame).toBe(`{"from":${joined.id},"type":"offer","to":1,"sdp":"v=0"}`);
  });

  it('"server.getStats() (and bus.getStats())" has every counter the doc lists', async () => {
    const listed = ['connections', 'lobbies', 'peers', 'detachedPeers', 'waitingForHost', 'connectionsTotal', 'messagesIn', 'relayed', 'relayDropped', 'queuedBytes', 'addressLimited', 'joins', 'resumes', 'errors', 'abuseClosed', 'joinTimeouts', 'upgradesRejected', 'upgradeTimeouts', 'pendingUpgrades'];
    const { url, server } = await startServer({ pingIntervalMs: 0 });
    await client(url).join({ lobby: 's' });
    const stats = server.getStats() as unknown as Record<string, unknown>;
    for (const key of listed) expect(stats, key).toHaveProperty(key);
    expect(stats.joins).toBe(1);
    expect(stats.lobbies).toBe(1);
    const bus = new MemorySignalingBus();
    try {
      const busStats = bus.getStats() as unknown as Record<string, unknown>;
      for (const key of ['connections', 'lobbies', 'peers', 'detachedPeers', 'relayed', 'joins', 'errors']) expect(busStats, key).toHaveProperty(key);
    } finally {
      bus.close();
    }
  });

  it('"The in-memory bus hands out no iceServers"', async () => {
    const bus = new MemorySignalingBus();
    try {
      const r = await bus.createClient().join({ lobby: 'ice' });
      expect(r.iceServers).toBeUndefined();
    } finally {
      bus.close();
    }
  });

  it('"pingTimeoutMs must be larger than pingIntervalMs" (client option, INVALID_ARGUMENT)', () => {
    expect(() => new WebSocketSignalingClient('ws://127.0.0.1:1', { pingIntervalMs: 5000, pingTimeoutMs: 5000 })).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }));
  });
});

describe('docs/signaling.md: what a server restart loses', () => {
  it('"Sealed lobbies come back unsealed"; "Id 1 is never reissued to a joiner" (the recreated lobby, its host not back)', async () => {
    const secret = 'restart-secret-0123456789';
    const first = await startServer({ pingIntervalMs: 0, resumeSecret: secret });
    const host = await raw(first.url);
    host.send({ type: 'join', lobby: 'sealed-then-restarted' });
    await host.next((m) => m.type === 'joined');
    const member = client(first.url);
    const { id } = await member.join({ lobby: 'sealed-then-restarted' });
    const sealed = waitForEvent(member, 'sealed');
    host.send({ type: 'seal' });
    await sealed;
    await expect(client(first.url).join({ lobby: 'sealed-then-restarted' })).rejects.toMatchObject({ code: ErrorCode.LOBBY_SEALED });
    host.ws.terminate(); // the host does not come back
    const resumed = waitForEvent(member, 'resumed', () => true, 15_000);
    await first.server.close({ reconnect: true });
    await startServer({ pingIntervalMs: 0, resumeSecret: secret }, first.port);
    await resumed;
    expect(member.id).toBe(id);
    const newcomer = await client(first.url).join({ lobby: 'sealed-then-restarted' });
    expect(newcomer.id).not.toBe(1);
    expect(newcomer.id).not.toBe(id);
  });
});

describe('docs/signaling.md: host role', () => {
  it('"When the lobby exists without an id 1 (a mesh lobby whose first peer left), the host takes id 1 in it"; members see peer_joined(1)', async () => {
    const { url } = await startServer({ pingIntervalMs: 0 });
    const first = client(url);
    await first.join({ lobby: 'orphan' });
    const member = client(url);
    const { id } = await member.join({ lobby: 'orphan' });
    first.leave();
    await waitForEvent(member, 'peer_left', (left: number) => left === 1);
    const joined = waitForEvent<[number]>(member, 'peer_joined');
    const host = await client(url).join({ lobby: 'orphan', host: true });
    expect(host).toMatchObject({ id: 1, mode: 'mesh', peers: [id] });
    expect(await joined).toEqual([1]);
  });

  it('"Without the server option, a lobby keeps the key its host sent when it took id 1, and a later host join must carry it"', async () => {
    const { url } = await startServer({ pingIntervalMs: 0, resumeGraceMs: 0 });
    const host = client(url);
    await host.join({ lobby: 'keyed', host: true, hostKey: 'the-lobby-key' });
    await client(url).join({ lobby: 'keyed' });
    host.leave();
    await expect(client(url).join({ lobby: 'keyed', host: true, hostKey: 'another-key' })).rejects.toMatchObject({ code: ErrorCode.UNAUTHORIZED });
    await expect(client(url).join({ lobby: 'keyed', host: true })).rejects.toMatchObject({ code: ErrorCode.UNAUTHORIZED });
    expect((await client(url).join({ lobby: 'keyed', host: true, hostKey: 'the-lobby-key' })).id).toBe(1);
  });

  it('"with the server option hostKey (rtcmesh serve --host-key KEY or RTCMESH_HOST_KEY, at least 8 characters)"', async () => {
    expect(() => new SignalingServer({ hostKey: 'short' })).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }));
    await expect(runServe(['--port', '0', '--host', '127.0.0.1', '--host-key', 'short'], { out: () => {} })).rejects.toMatchObject({ code: ErrorCode.INVALID_ARGUMENT });
    const saved = process.env['RTCMESH_HOST_KEY'];
    process.env['RTCMESH_HOST_KEY'] = 'env-host-key-123';
    const lines: string[] = [];
    let stop!: (why: string) => void;
    let done: Promise<void> | undefined;
    try {
      done = runServe(['--port', '0', '--host', '127.0.0.1', '--quiet'], { out: (l) => lines.push(l), stop: new Promise<string>((r) => (stop = r)) });
      await waitUntil(() => lines.some((l) => l.includes('listening on')), 'listening line');
    } finally {
      if (saved === undefined) delete process.env['RTCMESH_HOST_KEY'];
      else process.env['RTCMESH_HOST_KEY'] = saved;
    }
    const url = /listening on (ws:\/\/\S+)/.exec(lines.join('\n'))![1]!;
    try {
      await expect(client(url).join({ lobby: 'k', host: true })).rejects.toMatchObject({ code: ErrorCode.UNAUTHORIZED });
      expect((await client(url).join({ lobby: 'k', host: true, hostKey: 'env-host-key-123' })).id).toBe(1);
    } finally {
      await cleanup();
      stop('test');
      await done;
    }
  });

  it('"waitForHostMs … capped by the server option maxWaitForHostMs (… 0 = never wait)": LOBBY_NOT_FOUND at once', async () => {
    const { url, server } = await startServer({ pingIntervalMs: 0, maxWaitForHostMs: 0 });
    const c = client(url);
    await expect(c.join({ lobby: 'nobody', waitForHostMs: 60_000 })).rejects.toMatchObject({ code: ErrorCode.LOBBY_NOT_FOUND });
    expect(server.getStats().waitingForHost).toBe(0);
  });
});

describe('docs/signaling.md: resume and strikes', () => {
  it('"Nothing is sent when a peer resumes on a new socket while its old one is still open (4002 replaces it)"', async () => {
    const { url } = await startServer({ pingIntervalMs: 0 });
    const { r: a } = await joinRaw(url, 'replace');
    const { r: b, joined } = await joinRaw(url, 'replace');
    await a.next((m) => m.type === 'peer_joined');
    const seenBefore = a.messages.length;
    const b2 = await raw(url);
    b2.send({ type: 'join', resume: joined.token });
    const resumed = await b2.next((m) => m.type === 'joined');
    expect(resumed).toMatchObject({ id: joined.id, resumed: true });
    expect((await b.closed).code).toBe(4002);
    // a relay through the new socket proves the order; nothing about b came before it
    b2.send({ type: 'offer', to: 1, sdp: 'v=0' });
    await a.next((m) => m.type === 'offer', seenBefore);
    expect(a.messages.slice(seenBefore).map((m) => m.type)).toEqual(['offer']);
  });

  it('"The authorize hook is called again on resume (request.resume)", with the id it resumes; request has remote and headers', async () => {
    const seen: { resume: boolean; id?: number; remote: string; headers: object; lobby: string }[] = [];
    const { url } = await startServer({
      pingIntervalMs: 0,
      authorize: (req, lobby) => (seen.push({ resume: req.resume, id: req.id, remote: req.remote, headers: req.headers, lobby: lobby.name }), true),
    });
    const first = await raw(url);
    first.send({ type: 'join', lobby: 'auth-again', auth: { user: 'x' } });
    const joined = await first.next((m) => m.type === 'joined');
    first.ws.terminate();
    await first.closed;
    const second = await raw(url);
    second.send({ type: 'join', resume: joined.token, auth: { user: 'x' } });
    expect(await second.next((m) => m.type === 'joined')).toMatchObject({ id: joined.id, resumed: true });
    expect(seen.map((r) => [r.resume, r.id, r.lobby])).toEqual([
      [false, undefined, 'auth-again'],
      [true, joined.id, 'auth-again'],
    ]);
    for (const r of seen) {
      expect(r.remote).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(r.headers).toHaveProperty('host');
    }
  });

  it('"INVALID_PEER … strike: yes, unless the peer was in the lobby and just left (a normal race)"', async () => {
    const { url } = await startServer({ pingIntervalMs: 0, maxStrikes: 1 });
    const a = await raw(url);
    a.send({ type: 'join', lobby: 'race' });
    await a.next((m) => m.type === 'joined');
    const b = await raw(url);
    b.send({ type: 'join', lobby: 'race' });
    const { id } = await b.next((m) => m.type === 'joined');
    b.send({ type: 'leave' });
    await a.next((m) => m.type === 'peer_left' && m.id === id);
    a.send({ type: 'candidate', to: id, mid: '0', index: 0, candidate: 'candidate:1 1 udp 1 127.0.0.1 9 typ host' });
    expect(await a.next((m) => m.type === 'error')).toMatchObject({ code: ErrorCode.INVALID_PEER });
    // no strike: with maxStrikes 1 the socket is still usable
    a.send({ type: 'seal' });
    await a.next((m) => m.type === 'sealed');
    expect(a.isClosed()).toBe(false);
    // a peer that never was in the lobby is a strike: the first one closes the socket (1008)
    a.send({ type: 'offer', to: 123456, sdp: 'v=0' });
    expect((await a.closed).code).toBe(1008);
  });
});

describe('docs/signaling.md: rtcmesh serve', () => {
  it('"rtcmesh serve --help lists all flags": every --flag the signaling and scale-out docs mention is in the help', async () => {
    const docs = ['signaling.md', 'scale-out.md'].map((f) => readFileSync(fileURLToPath(new URL(`../../docs/${f}`, import.meta.url)), 'utf8')).join('\n');
    // flags of `rtcmesh serve` as the docs write them (other commands' flags are not in these docs' serve lines)
    const flags = new Set([...docs.matchAll(/`(?:rtcmesh serve [^`]*?)?(--[a-z][a-z-]+)/g)].map((m) => m[1]!));
    for (const m of docs.matchAll(/rtcmesh serve ([^\n`]*)/g)) for (const f of m[1]!.matchAll(/--[a-z][a-z-]+/g)) flags.add(f[0]);
    flags.delete('--help');
    expect(flags.size).toBeGreaterThan(10);
    const lines: string[] = [];
    await runServe(['--help'], { out: (l) => lines.push(l) });
    const help = lines.join('\n');
    const missing = [...flags].filter((f) => !new RegExp(`^\\s+${f}\\b`, 'm').test(help));
    expect(missing).toEqual([]);
  });

  it('"--turn-ttl defaults to 86400 seconds, minimum 2"; "--turn-secret can also come from RTCMESH_TURN_SECRET; --turn-url may be repeated or comma-separated"', async () => {
    await expect(runServe(['--turn-secret', 's3cret', '--turn-url', 'turn:127.0.0.1:3478', '--turn-ttl', '1'], { out: () => {} })).rejects.toThrow(/--turn-ttl/);
    const lines: string[] = [];
    let stop!: (why: string) => void;
    const saved = process.env['RTCMESH_TURN_SECRET'];
    process.env['RTCMESH_TURN_SECRET'] = 'env-s3cret';
    let done: Promise<void> | undefined;
    try {
      done = runServe(['--port', '0', '--host', '127.0.0.1', '--quiet', '--turn-url', 'turn:127.0.0.1:3478,turn:127.0.0.1:3479', '--turn-url', 'turns:127.0.0.1:5349'], {
        out: (l) => lines.push(l),
        stop: new Promise<string>((r) => (stop = r)),
      });
      await waitUntil(() => lines.some((l) => l.includes('listening on')), 'listening line');
    } finally {
      if (saved === undefined) delete process.env['RTCMESH_TURN_SECRET'];
      else process.env['RTCMESH_TURN_SECRET'] = saved;
    }
    const url = /listening on (ws:\/\/\S+)/.exec(lines.join('\n'))![1]!;
    const c = new WebSocketSignalingClient(url, { pingIntervalMs: 0 });
    try {
      const before = Math.floor(Date.now() / 1000);
      const r = await c.join({ lobby: 'ttl' });
      const ice = r.iceServers![0]!;
      expect(ice.urls).toEqual(['turn:127.0.0.1:3478', 'turn:127.0.0.1:3479', 'turns:127.0.0.1:5349']);
      const expiry = Number(ice.username!.split(':')[0]);
      expect(ice.credential).toBe(turnCredential('env-s3cret', `ttl:${r.id}`, 0, expiry * 1000).credential);
      expect(expiry - before).toBeGreaterThanOrEqual(86400 - 1);
      expect(expiry - before).toBeLessThanOrEqual(86400 + 60);
    } finally {
      c.close();
      stop('test');
      await done;
    }
  });
});
