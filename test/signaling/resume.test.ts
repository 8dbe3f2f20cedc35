import { createServer, connect, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode, type RtcmeshError } from '../api.js';
import { T, cleanup, client, raw, startServer, waitForEvent, waitUntil } from './helpers.js';

/** A TCP proxy in front of the server, with faults on demand. */
interface Proxy {
  url: string;
  /** Destroy every connection, like a network blip. */
  cut(): void;
  /** Stop forwarding on the current connections without closing them, like a dead NAT or a frozen server. Later connections are forwarded. */
  stall(): void;
  /** Accept new connections but forward nothing until {@link Proxy.release}: keeps a reconnecting client away. */
  hold(): void;
  release(): void;
  close(): Promise<void>;
}

async function proxy(targetPort: number): Promise<Proxy> {
  const pairs = new Set<[Socket, Socket]>();
  const stalled = new Set<[Socket, Socket]>();
  let held: Socket[] | undefined;
  const forward = (inbound: Socket) => {
    const outbound = connect(targetPort, '127.0.0.1');
    const pair: [Socket, Socket] = [inbound, outbound];
    pairs.add(pair);
    inbound.pipe(outbound);
    outbound.pipe(inbound);
    const end = () => {
      pairs.delete(pair);
      inbound.destroy();
      outbound.destroy();
    };
    inbound.on('error', end).on('close', end);
    outbound.on('error', end).on('close', end);
  };
  const server: Server = createServer((inbound) => {
    if (!held) return forward(inbound);
    inbound.on('error', () => inbound.destroy());
    held.push(inbound);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  proxies.push(server);
  return {
    url: `ws://127.0.0.1:${port}`,
    cut: () => {
      for (const [a, b] of pairs) {
        a.destroy();
        b.destroy();
      }
      pairs.clear();
      for (const [a, b] of stalled) {
        a.destroy();
        b.destroy();
      }
      stalled.clear();
      for (const s of held ?? []) s.destroy();
      if (held) held = [];
    },
    hold: () => {
      held ??= [];
    },
    release: () => {
      const waiting = held ?? [];
      held = undefined;
      for (const s of waiting) if (!s.destroyed) forward(s);
    },
    stall: () => {
      for (const pair of pairs) {
        const [a, b] = pair;
        a.unpipe(b);
        b.unpipe(a);
        // Keep reading (and discarding) so nothing backs up into a close.
        a.on('data', () => {});
        b.on('data', () => {});
        stalled.add(pair);
      }
      pairs.clear();
    },
    close: () => new Promise((r) => server.close(() => r())),
  };
}
const proxies: Server[] = [];

afterEach(async () => {
  await cleanup();
  for (const p of proxies.splice(0)) p.close();
});

describe('resume', () => {
  it('a server restart: clients reconnect and resume with their ids, and relaying works again', async () => {
    const secret = 'test-secret-0123456789abcdef';
    const first = await startServer({ resumeSecret: secret });
    const a = client(first.url);
    const b = client(first.url);
    await a.join({ lobby: 'persist' });
    const { id: bid } = await b.join({ lobby: 'persist' });
    let leftSeen = false;
    a.on('peer_left', () => (leftSeen = true));

    const aReconnecting = waitForEvent(a, 'reconnecting');
    const aResumed = waitForEvent(a, 'resumed', () => true, T);
    const bResumed = waitForEvent(b, 'resumed', () => true, T);
    await first.server.close({ reason: 'restart', reconnect: true });
    await aReconnecting;
    const second = await startServer({ resumeSecret: secret }, first.port);
    await Promise.all([aResumed, bResumed]);
    expect(a.id).toBe(1);
    expect(b.id).toBe(bid);
    expect(a.lobby).toBe('persist');
    expect(second.server.getStats()).toMatchObject({ lobbies: 1, peers: 2, resumes: 2 });

    const got = waitForEvent<[number, string, string]>(a, 'description');
    b.sendDescription(1, 'answer', 'after restart');
    expect(await got).toEqual([bid, 'answer', 'after restart']);
    expect(leftSeen).toBe(false);
    // New joiners still get fresh ids and hear about both.
    const c = client(second.url);
    const rc = await c.join({ lobby: 'persist' });
    expect(rc.peers.sort()).toEqual([1, bid].sort());
    expect([1, bid]).not.toContain(rc.id);
  });

  it('a network blip: the peer resumes silently and messages sent meanwhile are delivered', async () => {
    const { url, port, server } = await startServer({ resumeGraceMs: 5000 });
    const p = await proxy(port);
    const a = client(url);
    const b = client(p.url);
    await a.join({ lobby: 'blip' });
    const { id: bid } = await b.join({ lobby: 'blip' });
    let leftSeen = false;
    a.on('peer_left', () => (leftSeen = true));

    const detached = waitForEvent(server, 'peer_detached');
    const reconnecting = waitForEvent(b, 'reconnecting');
    p.cut();
    await Promise.all([detached, reconnecting]);
    // Sent while b is away, in both directions: queued by the server and by b's client.
    a.sendDescription(bid, 'offer', 'while away');
    b.sendCandidate(1, '0', 0, 'queued in client');
    const gotOffer = waitForEvent<[number, string, string]>(b, 'description');
    const gotCand = waitForEvent<[number, string, number, string]>(a, 'candidate');
    const resumed = waitForEvent(b, 'resumed');
    await resumed;
    expect(b.id).toBe(bid);
    expect(await gotOffer).toEqual([1, 'offer', 'while away']);
    expect(await gotCand).toEqual([bid, '0', 0, 'queued in client']);
    expect(leftSeen).toBe(false);
  });

  it('a silent server (stalled link, TCP still open) is noticed by the client ping; it reconnects and resumes with its id', async () => {
    // The server does not ping here, so only the client can notice the stall.
    const { url, port, server } = await startServer({ pingIntervalMs: 0 });
    const p = await proxy(port);
    const a = client(url);
    const b = client(p.url, { pingIntervalMs: 50, pingTimeoutMs: 300 });
    await a.join({ lobby: 'stall' });
    const { id: bid } = await b.join({ lobby: 'stall' });
    let leftSeen = false;
    a.on('peer_left', () => (leftSeen = true));

    const reconnecting = waitForEvent(b, 'reconnecting');
    const resumed = waitForEvent(b, 'resumed');
    const serverResumed = waitForEvent(server, 'peer_joined', (_l: string, id: number, info: { resumed: boolean }) => id === bid && info.resumed);
    p.stall();
    // While stalled, b's send is lost with its link; what b sends after noticing is queued and flushed on resume.
    await reconnecting;
    b.sendCandidate(1, '0', 0, 'after the stall');
    const gotCand = waitForEvent<[number, string, number, string]>(a, 'candidate');
    await resumed;
    expect(b.id).toBe(bid);
    expect(b.lobby).toBe('stall');
    // The server kept b's place (its stalled socket still looked open) and b took it back.
    await serverResumed;
    expect(await gotCand).toEqual([bid, '0', 0, 'after the stall']);
    const gotOffer = waitForEvent<[number, string, string]>(b, 'description');
    a.sendDescription(bid, 'offer', 'after resume');
    expect(await gotOffer).toEqual([1, 'offer', 'after resume']);
    expect(server.getStats()).toMatchObject({ peers: 2, resumes: 1 });
    expect(leftSeen).toBe(false);
    p.cut(); // release the stalled sockets
  });

  it('the client liveness options are validated', () => {
    expect(() => client('ws://127.0.0.1:1', { pingIntervalMs: 100, pingTimeoutMs: 100 })).toThrow(/pingTimeoutMs/);
    expect(() => client('ws://127.0.0.1:1', { pingIntervalMs: -1 })).toThrow(/pingIntervalMs/);
    expect(() => client('ws://127.0.0.1:1', { pingIntervalMs: 0, pingTimeoutMs: 5 })).not.toThrow();
  });

  it('a peer that does not resume within the grace period leaves, and its token is refused afterwards', async () => {
    const { port, url, server } = await startServer({ resumeGraceMs: 30 });
    const p = await proxy(port);
    const a = client(url);
    const b = client(p.url, { reconnect: { maxAttempts: 0 } });
    await a.join({ lobby: 'grace' });
    const { id: bid } = await b.join({ lobby: 'grace' });
    const left = waitForEvent<[number]>(a, 'peer_left');
    const bClosed = waitForEvent<[string]>(b, 'closed');
    p.cut();
    expect(await bClosed).toBeDefined();
    expect((await left)[0]).toBe(bid);
    expect(server.getStats().peers).toBe(1);
  });

  it('resuming after the peer left is refused with RESUME_FAILED and the client closes', async () => {
    const { port, url } = await startServer({ resumeGraceMs: 20 });
    const p = await proxy(port);
    const a = client(url);
    const b = client(p.url, { reconnect: { baseDelayMs: 200, maxDelayMs: 200 } });
    await a.join({ lobby: 'late' });
    const { id: bid } = await b.join({ lobby: 'late' });
    const left = waitForEvent<[number]>(a, 'peer_left');
    const err = waitForEvent<[RtcmeshError]>(b, 'error', () => true, T);
    const closed = waitForEvent<[string]>(b, 'closed', () => true, T);
    p.cut();
    expect((await left)[0]).toBe(bid);
    expect((await err)[0].code).toBe(ErrorCode.RESUME_FAILED);
    expect((await closed)[0]).toMatch(/resume/);
  });

  it('gives up after maxAttempts and reports closed', async () => {
    const { server, url } = await startServer();
    const a = client(url, { reconnect: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5 } });
    await a.join({ lobby: 'gone' });
    const attempts: number[] = [];
    a.on('reconnecting', (n) => attempts.push(n));
    const closed = waitForEvent<[string]>(a, 'closed', () => true, T);
    await server.close({ reconnect: true });
    expect((await closed)[0]).toMatch(/gave up/);
    expect(attempts).toEqual([1, 2, 3]);
  });

  it('a final shutdown (reconnect: false) closes clients with the reason', async () => {
    const { server, url } = await startServer();
    const a = client(url);
    await a.join({ lobby: 'bye' });
    let reconnecting = false;
    a.on('reconnecting', () => (reconnecting = true));
    const closed = waitForEvent<[string]>(a, 'closed');
    await server.close({ reason: 'maintenance', reconnect: false });
    expect((await closed)[0]).toBe('server shut down: maintenance');
    expect(reconnecting).toBe(false);
  });
});

describe('a resumed client reconciles its peer list', () => {
  /** a (host, behind a proxy), b and c in one lobby; every client knows every other. */
  async function trio(options: Parameters<typeof startServer>[0]) {
    const { url, port, server } = await startServer({ resumeGraceMs: 5000, ...options });
    const p = await proxy(port);
    const a = client(p.url);
    const b = client(url);
    const c = client(url);
    await a.join({ lobby: 'reconcile' });
    const { id: bid } = await b.join({ lobby: 'reconcile' });
    const aKnowsC = waitForEvent<[number]>(a, 'peer_joined', (id) => id !== bid);
    const { id: cid } = await c.join({ lobby: 'reconcile' });
    await aKnowsC;
    const events: string[] = [];
    a.on('resumed', () => events.push('resumed'));
    a.on('peer_left', (id) => events.push(`left ${id}`));
    a.on('peer_joined', (id) => events.push(`joined ${id}`));
    a.on('candidate', (_from, _mid, _index, candidate) => events.push(candidate));
    /** Detach a and keep it away (its reconnection is held by the proxy). */
    const detach = async () => {
      p.hold();
      const detached = waitForEvent(server, 'peer_detached', (_l: string, id: number) => id === 1);
      p.cut();
      await detached;
    };
    /** Let a resume; resolves when everything sent to a before `sync` from c has arrived. */
    const resume = async () => {
      const resumed = waitForEvent(a, 'resumed');
      p.release();
      await resumed;
      const synced = waitForEvent(a, 'description', (_f: number, _t: string, sdp: string) => sdp === 'sync');
      c.sendDescription(1, 'offer', 'sync');
      await synced;
    };
    return { server, a, b, c, bid, cid, events, detach, resume };
  }

  it('a peer that left while it was away is reported once, after resumed', async () => {
    const { server, b, bid, events, detach, resume } = await trio({});
    await detach();
    const left = waitForEvent(server, 'peer_left', (_l: string, id: number) => id === bid);
    b.leave();
    await left;
    await resume();
    // Reported by the reconciliation, and the queued peer_left that follows is not a second report.
    expect(events).toEqual(['resumed', `left ${bid}`]);
  });

  it('a peer_left lost to the detached-peer queue overflow is not lost for good', async () => {
    const { server, b, c, bid, events, detach, resume } = await trio({ resumeQueueLimit: 2 });
    await detach();
    const left = waitForEvent(server, 'peer_left', (_l: string, id: number) => id === bid);
    b.leave();
    await left;
    const relayed = server.getStats().relayed;
    for (let i = 0; i < 5; i++) c.sendCandidate(1, '0', 0, `cand ${i}`);
    await waitUntil(() => server.getStats().relayed === relayed + 5, 'the candidates to be queued');
    // The queue kept the last two candidates; the peer_left and three candidates were dropped.
    expect(server.getStats().relayDropped).toBe(4);
    await resume();
    expect(events).toEqual(['resumed', `left ${bid}`, 'cand 3', 'cand 4']);
  });

  it('after a restart, members that never come back are reported as left when the recreated lobby stops waiting; their tokens are refused then', async () => {
    const secret = 'test-secret-0123456789abcdef';
    const first = await startServer({ resumeSecret: secret });
    const a = client(first.url);
    const b = client(first.url);
    await a.join({ lobby: 'roster' });
    const { id: bid } = await b.join({ lobby: 'roster' });
    const r = await raw(first.url);
    r.send({ type: 'join', lobby: 'roster' });
    const joined = await r.next((m) => m.type === 'joined');
    const cid = joined.id as number;
    const token = joined.token as string;
    await Promise.all([waitForEvent(a, 'peer_joined', (id: number) => id === cid), waitForEvent(b, 'peer_joined', (id: number) => id === cid)]);

    const aLeft = waitForEvent<[number]>(a, 'peer_left', () => true, T);
    const bLeft = waitForEvent<[number]>(b, 'peer_left', () => true, T);
    const resumed = Promise.all([waitForEvent(a, 'resumed', () => true, T), waitForEvent(b, 'resumed', () => true, T)]);
    const aReconnecting = waitForEvent(a, 'reconnecting');
    await first.server.close({ reason: 'restart', reconnect: true });
    await aReconnecting;
    // c (the raw socket) does not come back.
    const second = await startServer({ resumeSecret: secret, resumeGraceMs: 1000 }, first.port);
    await resumed;
    expect((await aLeft)[0]).toBe(cid);
    expect((await bLeft)[0]).toBe(cid);
    expect(second.server.getStats()).toMatchObject({ lobbies: 1, peers: 2 });
    const late = await raw(second.url);
    late.send({ type: 'join', resume: token });
    expect(await late.next((m) => m.type === 'error')).toMatchObject({ code: 'RESUME_FAILED', ref: 'join' });
    const got = waitForEvent<[number, string, string]>(a, 'description');
    b.sendDescription(1, 'answer', 'still linked');
    expect(await got).toEqual([bid, 'answer', 'still linked']);
  });
});
