/**
 * Bounds of the signaling server under resource-exhaustion attacks (issue #13),
 * over the real WebSocket server on loopback. Each test asserts a bound on
 * what the server holds (queued bytes, lobbies, detached peers, pending
 * upgrades), and that an honest client from another address is still served.
 * The attacker connects from 127.0.0.2, honest clients from 127.0.0.1.
 */
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, joinRaw, raw, startServer, waitUntil, type Raw } from './helpers.js';
import type { SignalingServer } from '../api.js';

afterEach(cleanup);

const EVIL = '127.0.0.2';

async function joined(url: string, lobby: string, from?: string): Promise<{ r: Raw; id: number }> {
  const { r, joined } = await joinRaw(url, lobby, from);
  return { r, id: joined.id as number };
}

/** An honest client (127.0.0.1) can still join a fresh lobby and relay to a second one. */
async function honestStillServed(url: string, lobby: string): Promise<void> {
  const a = await joined(url, lobby);
  const b = await joined(url, lobby);
  a.r.send({ type: 'offer', to: b.id, sdp: 'honest' });
  const got = await b.r.next((m) => m.type === 'offer');
  expect(got).toMatchObject({ from: a.id, sdp: 'honest' });
}

/** Join-then-drop: the peer stays detached (in grace) after its socket closes. */
async function joinAndDrop(url: string, lobby: string, from = EVIL): Promise<number> {
  const { r, id } = await joined(url, lobby, from);
  r.ws.terminate();
  await r.closed;
  return id;
}

describe('signaling server budgets', () => {
  it('bounds what is queued for detached peers per peer, per lobby and server-wide, dropping (and counting) the oldest', async () => {
    const perPeer = 64 * 1024;
    const perLobby = 160 * 1024;
    const { url, server } = await startServer({
      resumeQueueBytes: perPeer,
      lobbyQueueBytes: perLobby,
      totalQueueBytes: 400 * 1024,
      maxMessageBytes: 65536,
      rateLimit: { messages: 10_000, windowMs: 1000, bytes: 1 << 30 },
      maxDetachedPerAddress: 100,
    });
    const sdp = 'x'.repeat(30_000);
    // Two lobbies of one live sender and five detached receivers each.
    for (const lobby of ['q1', 'q2']) {
      const sender = await joined(url, lobby);
      const dropped: number[] = [];
      for (let i = 0; i < 5; i++) dropped.push(await joinAndDrop(url, lobby));
      await waitUntil(() => server.getStats().detachedPeers >= (lobby === 'q1' ? 5 : 10), 'receivers detached');
      // 40 offers of 30 kB to each: 6 MB offered per lobby.
      for (let k = 0; k < 40; k++) for (const to of dropped) sender.r.send({ type: 'offer', to, sdp });
      await waitUntil(() => server.getStats().messagesIn >= (lobby === 'q1' ? 1 : 2) * (1 + 200), 'offers received', 20_000);
      await waitUntil(() => server.getStats().relayed >= (lobby === 'q1' ? 200 : 400), 'offers relayed', 20_000);
      const s = server.getStats();
      expect(s.queuedBytes).toBeLessThanOrEqual((lobby === 'q1' ? 1 : 2) * perLobby);
    }
    const s = server.getStats();
    expect(s.queuedBytes).toBeGreaterThan(0);
    expect(s.queuedBytes).toBeLessThanOrEqual(2 * perLobby);
    expect(s.queuedBytes).toBeLessThanOrEqual(400 * 1024);
    expect(s.relayDropped).toBeGreaterThan(300); // 400 offers, at most ~10 kept
    await honestStillServed(url, 'honest');
  });

  it('a resumed peer gets at most its byte budget of queued messages, newest kept', async () => {
    const { url, server } = await startServer({ resumeQueueBytes: 10_000, rateLimit: { messages: 10_000, windowMs: 1000, bytes: 1 << 30 } });
    const sender = await joined(url, 'r');
    const victim = await raw(url);
    victim.send({ type: 'join', lobby: 'r' });
    const j = await victim.next((m) => m.type === 'joined');
    victim.ws.terminate();
    await waitUntil(() => server.getStats().detachedPeers === 1, 'victim detached');
    for (let k = 0; k < 50; k++) sender.r.send({ type: 'offer', to: j.id, sdp: `${k}:${'y'.repeat(990)}` });
    await waitUntil(() => server.getStats().relayed === 50, 'offers relayed');
    expect(server.getStats().queuedBytes).toBeLessThanOrEqual(10_000);
    const back = await raw(url);
    back.send({ type: 'join', resume: j.token });
    await back.next((m) => m.type === 'joined');
    await back.next((m) => m.type === 'offer' && (m.sdp as string).startsWith('49:'));
    const offers = back.messages.filter((m) => m.type === 'offer');
    expect(offers.length).toBeLessThanOrEqual(10);
    expect(offers.reduce((a, m) => a + JSON.stringify(m).length, 0)).toBeLessThanOrEqual(10_000 + offers.length * 20);
    expect(server.getStats().queuedBytes).toBe(0);
  });

  it('counts bytes in the rate limit', async () => {
    const { url, server } = await startServer({ rateLimit: { messages: 1000, windowMs: 60_000, bytes: 100_000 } });
    const a = await joined(url, 'rl');
    const b = await joined(url, 'rl');
    for (let k = 0; k < 4; k++) a.r.send({ type: 'offer', to: b.id, sdp: 'z'.repeat(40_000) });
    await a.r.next((m) => m.type === 'error' && m.code === 'RATE_LIMITED');
    await waitUntil(() => server.getStats().messagesIn >= 6, 'frames received');
    expect(server.getStats().relayed).toBe(2); // 2 × 40 kB within 100 kB, the rest dropped
  });

  it('one address cannot hold every lobby: live lobbies it created are capped, join-then-drop included', async () => {
    const { url, server } = await startServer({ maxLobbiesPerAddress: 5, lobbyCreationRate: { count: 1000, windowMs: 1000 }, maxDetachedPerAddress: 1000 });
    let refused = 0;
    for (let i = 0; i < 20; i++) {
      const r = await raw(url, {}, EVIL);
      r.send({ type: 'join', lobby: `evil-${i}` });
      const m = await r.next((x) => x.type === 'joined' || x.type === 'error');
      if (m.type === 'error') {
        expect(m.code).toBe('SERVER_FULL');
        refused++;
      }
      r.ws.terminate(); // its peer stays detached, holding the lobby, during the grace
      await r.closed;
    }
    expect(refused).toBe(15);
    expect(server.getStats().lobbies).toBeLessThanOrEqual(5);
    expect(server.getStats().addressLimited).toBe(15);
    await honestStillServed(url, 'honest');
    expect(server.getStats().lobbies).toBeLessThanOrEqual(6);
  });

  it('limits the rate of lobby creation per address', async () => {
    const { url } = await startServer({ lobbyCreationRate: { count: 3, windowMs: 60_000 } });
    const codes: string[] = [];
    const r = await raw(url, {}, EVIL);
    for (let i = 0; i < 5; i++) {
      r.send({ type: 'join', lobby: `fast-${i}` });
      const m = await r.next((x) => (x.type === 'joined' || x.type === 'error') && !codes[i], r.messages.length);
      codes.push(m.type === 'joined' ? 'joined' : m.code);
      if (m.type === 'joined') r.send({ type: 'leave' });
    }
    expect(codes).toEqual(['joined', 'joined', 'joined', 'RATE_LIMITED', 'RATE_LIMITED']);
    await honestStillServed(url, 'honest');
  });

  it('caps the peers in grace one address holds; past it a dropped peer leaves at once', async () => {
    const { url, server } = await startServer({ maxDetachedPerAddress: 3 });
    await joined(url, 'd'); // an honest host keeps the lobby open
    for (let i = 0; i < 10; i++) await joinAndDrop(url, 'd');
    await waitUntil(() => server.getStats().peers === 4, 'extra peers gone');
    expect(server.getStats().detachedPeers).toBe(3);
    expect(server.getStats().addressLimited).toBe(7);
    // An honest address still gets its grace.
    await joinAndDrop(url, 'd', '127.0.0.1');
    await waitUntil(() => server.getStats().detachedPeers === 4, 'honest peer detached');
  });

  it('counts detached peers against the per-address connection limit', async () => {
    const { url, server } = await startServer({ maxConnectionsPerAddress: 4, maxDetachedPerAddress: 100 });
    for (let i = 0; i < 4; i++) await joinAndDrop(url, 'held');
    await waitUntil(() => server.getStats().detachedPeers === 4, 'the four peers detached');
    expect(server.getStats().connections).toBe(0);
    await expect(raw(url, {}, EVIL)).rejects.toThrow(/429/);
    await honestStillServed(url, 'honest');
  });

  it('bounds connections that never finish their upgrade, per address, and closes them after the upgrade timeout', async () => {
    const { url, server, port } = await startServer({ maxPendingUpgradesPerAddress: 4, upgradeTimeoutMs: 500 });
    const sockets: Socket[] = [];
    const closed: Promise<void>[] = [];
    for (let i = 0; i < 12; i++) {
      const s = connect({ port, host: '127.0.0.1', localAddress: EVIL });
      s.on('error', () => {});
      sockets.push(s);
      closed.push(new Promise((r) => s.once('close', () => r())));
      await new Promise<void>((r) => s.once('connect', () => r()));
    }
    await waitUntil(() => server.getStats().upgradesRejected >= 8, 'extra pending connections refused');
    expect(server.getStats().pendingUpgrades).toBeLessThanOrEqual(4);
    await honestStillServed(url, 'honest'); // another address is not affected
    await Promise.all(closed); // the 4 held ones are destroyed by the upgrade timeout
    expect(server.getStats().upgradeTimeouts).toBe(4);
    await waitUntil(() => server.getStats().pendingUpgrades === 0, 'no connection pending');
  });

  it('refuses a join whose auth is nested too deep or too large before the authorize hook sees it', async () => {
    let calls = 0;
    const { url } = await startServer({
      authorize: () => {
        calls++;
        return true;
      },
    });
    const deep = '['.repeat(30_000) + ']'.repeat(30_000);
    const r = await raw(url);
    r.send(`{"type":"join","lobby":"a","auth":${deep}}`);
    expect(await r.next((m) => m.type === 'error')).toMatchObject({ code: 'PROTOCOL_ERROR' });
    r.send({ type: 'join', lobby: 'a', auth: { blob: 'b'.repeat(5000) } });
    await r.next((m) => m.type === 'error', 1);
    expect(r.messages.filter((m) => m.type === 'error')).toHaveLength(2);
    r.send({ type: 'join', lobby: 'a', auth: { user: 'ok', roles: ['a', 'b'] } });
    await r.next((m) => m.type === 'joined');
    expect(calls).toBe(1);
  });
});

export type { SignalingServer };
