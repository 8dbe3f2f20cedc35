import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode, isRtcmeshError, type RtcmeshError } from '../api.js';
import { T, cleanup, client, raw, startServer, waitForEvent, waitUntil } from './helpers.js';

afterEach(cleanup);

const MAX_ID = 2147483647;

describe('lobby lifecycle', () => {
  it('the creator gets id 1, joiners random ids in 2..2^31-1, and everyone hears joins and leaves', async () => {
    const { url, server } = await startServer();
    const a = client(url);
    const ra = await a.join({ lobby: 'room-1' });
    expect(ra).toEqual({ lobby: 'room-1', id: 1, mode: 'mesh', peers: [] });
    expect(a.id).toBe(1);
    expect(a.lobby).toBe('room-1');

    const b = client(url);
    const aSeesB = waitForEvent<[number]>(a, 'peer_joined');
    const rb = await b.join({ lobby: 'room-1' });
    expect(rb.id).toBeGreaterThanOrEqual(2);
    expect(rb.id).toBeLessThanOrEqual(MAX_ID);
    expect(rb.peers).toEqual([1]);
    expect((await aSeesB)[0]).toBe(rb.id);

    const c = client(url);
    const rc = await c.join({ lobby: 'room-1', mode: 'client_server' /* ignored: lobby exists */ });
    expect(rc.mode).toBe('mesh');
    expect(rc.peers.sort()).toEqual([1, rb.id].sort());
    expect(new Set([ra.id, rb.id, rc.id]).size).toBe(3);

    const aSeesLeave = waitForEvent<[number]>(a, 'peer_left', (id) => id === rb.id, T);
    const cSeesLeave = waitForEvent<[number]>(c, 'peer_left', (id) => id === rb.id, T);
    b.leave();
    await Promise.all([aSeesLeave, cSeesLeave]);
    expect(b.id).toBeUndefined();
    expect(server.getStats()).toMatchObject({ lobbies: 1, peers: 2, joins: 3 });
  });

  it('omitting the lobby creates one with an unguessable name', async () => {
    const { url } = await startServer();
    const names = new Set<string>();
    for (let i = 0; i < 5; i++) {
      const r = await client(url).join();
      expect(r.id).toBe(1);
      expect(r.lobby).toMatch(/^[0-9a-f]{32}$/);
      names.add(r.lobby);
    }
    expect(names.size).toBe(5);
  });

  it('ids are never reused within a lobby, even after peers leave', async () => {
    const { url } = await startServer();
    const host = client(url);
    await host.join({ lobby: 'churn' });
    const seen = new Set<number>([1]);
    const c = client(url);
    for (let i = 0; i < 40; i++) {
      const r = await c.join({ lobby: 'churn' });
      expect(seen.has(r.id)).toBe(false);
      expect(r.id).toBeGreaterThanOrEqual(2);
      seen.add(r.id);
      c.leave();
    }
  });

  it('relays offer, answer and candidate with the sender stamped by the server', async () => {
    const { url, server } = await startServer();
    const a = client(url);
    const b = client(url);
    await a.join({ lobby: 'relay' });
    const { id: bid } = await b.join({ lobby: 'relay' });

    const gotOffer = waitForEvent<[number, string, string]>(b, 'description');
    a.sendDescription(bid, 'offer', 'v=0 offer');
    expect(await gotOffer).toEqual([1, 'offer', 'v=0 offer']);

    const gotAnswer = waitForEvent<[number, string, string]>(a, 'description');
    b.sendDescription(1, 'answer', 'v=0 answer');
    expect(await gotAnswer).toEqual([bid, 'answer', 'v=0 answer']);

    const gotCand = waitForEvent<[number, string, number, string]>(a, 'candidate');
    b.sendCandidate(1, '0', 0, 'candidate:1 1 UDP 1 127.0.0.1 5000 typ host');
    expect(await gotCand).toEqual([bid, '0', 0, 'candidate:1 1 UDP 1 127.0.0.1 5000 typ host']);
    expect(server.getStats().relayed).toBe(3);
  });

  it('client_server: clients see only the host, the host sees every client, clients cannot signal each other', async () => {
    const { url } = await startServer();
    const host = client(url);
    const r1 = await host.join({ lobby: 'cs', mode: 'client_server' });
    expect(r1).toMatchObject({ id: 1, mode: 'client_server', peers: [] });
    const c1 = client(url);
    const c2 = client(url);
    const r2 = await c1.join({ lobby: 'cs' });
    const hostSeesC2 = waitForEvent<[number]>(host, 'peer_joined', (id) => id !== r2.id);
    let c1SawPeer = false;
    c1.on('peer_joined', () => (c1SawPeer = true));
    const r3 = await c2.join({ lobby: 'cs' });
    expect(r2.peers).toEqual([1]);
    expect(r3.peers).toEqual([1]);
    expect((await hostSeesC2)[0]).toBe(r3.id);

    const err = waitForEvent<[RtcmeshError]>(c2, 'error');
    c2.sendDescription(r2.id, 'offer', 'sdp');
    expect((await err)[0].code).toBe(ErrorCode.INVALID_PEER);
    // The host can still reach c1, and c1 heard of nobody but the host.
    const got = waitForEvent<[number, string, string]>(c1, 'description');
    host.sendDescription(r2.id, 'offer', 'from host');
    expect(await got).toEqual([1, 'offer', 'from host']);
    expect(c1SawPeer).toBe(false);
  });

  it('client_server: the host leaving closes the lobby for every client', async () => {
    const { url, server } = await startServer();
    const host = client(url);
    await host.join({ lobby: 'cs2', mode: 'client_server' });
    const c1 = client(url);
    await c1.join({ lobby: 'cs2' });
    const closed = waitForEvent<[string]>(c1, 'closed');
    host.leave();
    expect((await closed)[0]).toMatch(/host left/);
    expect(server.getStats().lobbies).toBe(0);
  });

  it('seal: only the host may seal; joins are refused; the lobby closes after the grace period', async () => {
    // The late join must reach the server inside the grace period: long enough for a loaded CI machine.
    const { url, server } = await startServer({ sealGraceMs: 1500 });
    const host = client(url);
    const other = client(url);
    await host.join({ lobby: 'sealme' });
    await other.join({ lobby: 'sealme' });
    expect(() => other.seal()).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_STATE }));

    const sealedHost = waitForEvent(host, 'sealed');
    const sealedOther = waitForEvent(other, 'sealed');
    const closedOther = waitForEvent<[string]>(other, 'closed');
    host.seal();
    await Promise.all([sealedHost, sealedOther]);

    const late = client(url);
    const err = await late.join({ lobby: 'sealme' }).catch((e: unknown) => e);
    expect(isRtcmeshError(err, ErrorCode.LOBBY_SEALED)).toBe(true);

    expect((await closedOther)[0]).toMatch(/sealed/);
    expect(server.getStats().lobbies).toBe(0);
  });

  it('a raw client sending seal as a non-host gets UNAUTHORIZED', async () => {
    const { url } = await startServer();
    await client(url).join({ lobby: 'rs' });
    const r = await raw(url);
    r.send({ type: 'join', lobby: 'rs' });
    await r.next((m) => m.type === 'joined');
    r.send({ type: 'seal' });
    expect(await r.next((m) => m.type === 'error')).toMatchObject({ code: 'UNAUTHORIZED', ref: 'seal' });
  });

  it('a full lobby refuses joins with LOBBY_FULL; too many lobbies with SERVER_FULL', async () => {
    const { url } = await startServer({ maxPeersPerLobby: 2, maxLobbies: 1 });
    await client(url).join({ lobby: 'small' });
    await client(url).join({ lobby: 'small' });
    const e1 = await client(url).join({ lobby: 'small' }).catch((e: unknown) => e);
    expect(isRtcmeshError(e1, ErrorCode.LOBBY_FULL)).toBe(true);
    const e2 = await client(url).join({ lobby: 'other' }).catch((e: unknown) => e);
    expect(isRtcmeshError(e2, ErrorCode.SERVER_FULL)).toBe(true);
  });

  it('authorize hook: denies with a reason, allows with user data, sees auth and the lobby', async () => {
    const { url, server } = await startServer({
      authorize: async (req, lobby) => {
        if ((req.auth as { key?: string } | undefined)?.key !== 'secret') return { allow: false, reason: 'bad key' };
        return { allow: true, data: { user: 'alice', lobby: lobby.name, creating: lobby.creating } };
      },
    });
    const denied = await client(url).join({ lobby: 'vip', auth: { key: 'nope' } }).catch((e: unknown) => e);
    expect(isRtcmeshError(denied, ErrorCode.UNAUTHORIZED)).toBe(true);
    expect((denied as Error).message).toMatch(/bad key/);
    const joined = waitForEvent<[string, number, { data: unknown }]>(server, 'peer_joined');
    await client(url).join({ lobby: 'vip', auth: { key: 'secret' } });
    expect((await joined)[2].data).toEqual({ user: 'alice', lobby: 'vip', creating: true });
  });

  it('an authorize hook that throws denies the join instead of crashing', async () => {
    const { url } = await startServer({
      authorize: () => {
        throw new Error('boom');
      },
    });
    const e = await client(url).join({ lobby: 'x' }).catch((err: unknown) => err);
    expect(isRtcmeshError(e, ErrorCode.UNAUTHORIZED)).toBe(true);
  });

  it('allowed origins: other origins get HTTP 403; listed origins and non-browser clients connect', async () => {
    const { url } = await startServer({ allowedOrigins: ['https://game.example'] });
    await expect(raw(url, { origin: 'https://evil.example' })).rejects.toThrow(/403/);
    const ok = await raw(url, { origin: 'https://game.example' });
    ok.send({ type: 'join', lobby: 'o' });
    expect(await ok.next((m) => m.type === 'joined')).toMatchObject({ id: 1 });
    await client(url).join({ lobby: 'o' });
  });

  it('a socket that does not join within the join timeout gets TIMEOUT and is closed', async () => {
    const { url } = await startServer({ joinTimeoutMs: 50 });
    const r = await raw(url);
    expect(await r.next((m) => m.type === 'error')).toMatchObject({ code: 'TIMEOUT' });
    expect((await r.closed).code).toBe(4001);
  });

  it('idle timeout: a socket that stops answering pings is dropped', async () => {
    const { url, server } = await startServer({ pingIntervalMs: 30 });
    const r = await raw(url);
    r.send({ type: 'join', lobby: 'idle' });
    await r.next((m) => m.type === 'joined');
    // Stop answering pings: pause reading so pongs are never sent.
    (r.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    await waitForEvent(server, 'disconnection', () => true, T);
    expect(server.getStats().connections).toBe(0);
  });

  it('idle timeout: an idle socket that answers pings stays (each ping round pings it, alone when it has no output)', async () => {
    const { url, server } = await startServer({ pingIntervalMs: 30 });
    const r = await raw(url);
    r.send({ type: 'join', lobby: 'idle-alive' });
    await r.next((m) => m.type === 'joined');
    let pings = 0;
    r.ws.on('ping', () => pings++);
    await waitUntil(() => pings >= 5, 'five ping rounds', T);
    expect(r.isClosed()).toBe(false);
    expect(server.getStats().connections).toBe(1);
  });

  it('validates arguments of public methods with typed errors', async () => {
    const { url } = await startServer();
    const c = client(url);
    await expect(c.join({ lobby: 'has space' })).rejects.toMatchObject({ code: ErrorCode.INVALID_ARGUMENT });
    await expect(c.join({ mode: 'star' as never })).rejects.toMatchObject({ code: ErrorCode.INVALID_ARGUMENT });
    await expect(c.join({ lobbby: 'x' } as never)).rejects.toMatchObject({ code: ErrorCode.UNKNOWN_OPTION });
    expect(() => c.sendDescription(2, 'offer', 'x')).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_STATE }));
    await c.join({ lobby: 'v' });
    expect(() => c.sendDescription(0, 'offer', 'x')).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }));
    expect(() => c.sendDescription(2, 'pranswer' as never, 'x')).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }));
    expect(() => c.sendCandidate(2, '0', -1, 'x')).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }));
    await expect(c.join({ lobby: 'w' })).rejects.toMatchObject({ code: ErrorCode.INVALID_STATE });
    expect(() => client('http://nope')).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }));
    c.close();
    await expect(c.join()).rejects.toMatchObject({ code: ErrorCode.CLOSED });
  });
});

describe('mounting', () => {
  it('handleUpgrade() serves signaling from your own HTTP server, on a path', async () => {
    const { createServer } = await import('node:http');
    const { SignalingServer } = await import('../api.js');
    const http = createServer((_req, res) => res.end('app'));
    const signaling = new SignalingServer({ path: '/signal', pingIntervalMs: 1000 });
    http.on('upgrade', (req, socket, head) => signaling.handleUpgrade(req, socket, head));
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    const port = (http.address() as { port: number }).port;
    try {
      await expect(raw(`ws://127.0.0.1:${port}/other`)).rejects.toThrow(/404/);
      const r = await client(`ws://127.0.0.1:${port}/signal`).join({ lobby: 'mounted' });
      expect(r.id).toBe(1);
      expect(signaling.getStats().connections).toBe(1);
    } finally {
      await signaling.close({ reconnect: false });
      await new Promise<void>((r) => http.close(() => r()));
    }
  });
});

describe('client connection failures', () => {
  it('join rejects with CLOSED when nothing listens, and the client can be closed', async () => {
    const { server, url } = await startServer();
    await server.close();
    const c = client(url);
    await expect(c.join({ lobby: 'x' })).rejects.toMatchObject({ code: ErrorCode.CLOSED });
    const closed = waitForEvent<[string]>(c, 'closed');
    c.close();
    expect((await closed)[0]).toBe('closed by user');
  });
});
