import { afterEach, describe, expect, it } from 'vitest';
import { Mesh, MemorySignalingBus, VirtualNetwork, WebRTCMultiplayerPeer, WebRTCPeerConnection, type LobbyMultiplayerPeer } from '../api.js';
import { wire } from '../helpers.js';
import { meshPairOnVirtual } from '../virtual/util.js';
import { numberOf, numbered } from './helpers.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

describe('maintain on the virtual network (virtual clock, default settings)', () => {
  it('a peer cut off from everyone is reported by every survivor within the heartbeat timeout; the rest keeps working', () => {
    const net = new VirtualNetwork({ seed: 11, defaultLink: { latencyMs: 25, jitter: 3 } });
    cleanups.push(() => net.close());
    const ids = [2, 3, 4, 5];
    const hosts = ids.map((id) => net.createHost(`p${id}`));
    const meshes = ids.map((id) => {
      const m = new WebRTCMultiplayerPeer({ clock: net.clock });
      m.createMesh(id);
      return m;
    });
    cleanups.push(() => meshes.forEach((m) => m.close()));
    for (let i = 0; i < ids.length; i++) {
      for (let j = i + 1; j < ids.length; j++) {
        const ca = new WebRTCPeerConnection({}, { engine: hosts[i]!.engine, autoPoll: true });
        const cb = new WebRTCPeerConnection({}, { engine: hosts[j]!.engine, autoPoll: true });
        wire(ca, cb);
        meshes[i]!.addPeer(ca, ids[j]!);
        meshes[j]!.addPeer(cb, ids[i]!);
        if (ids[i]! > ids[j]!) ca.createOffer();
        else cb.createOffer();
      }
    }
    const pollAll = () => meshes.forEach((m) => m.poll());
    expect(net.runUntil(() => (pollAll(), meshes.every((m) => m.getPeerIds().length === 3)), { maxMs: 10_000 })).toBe(true);
    net.advance(3000); // let heartbeats run a while
    pollAll();
    const survivors = meshes.slice(0, 3);
    const at: number[] = [];
    const reasons: string[] = [];
    survivors.forEach((m) =>
      m.on('peer_disconnected', (id, reason) => {
        if (id !== 5) return;
        at.push(net.clock.now());
        reasons.push(reason ?? '');
      }),
    );
    const cutAt = net.clock.now();
    net.partition([hosts[3]!], hosts.slice(0, 3));
    expect(net.runUntil(() => (pollAll(), at.length === 3), { maxMs: 20_000, stepMs: 5 })).toBe(true);
    for (const t of at) expect(t - cutAt).toBeLessThanOrEqual(5000 + 5);
    for (const r of reasons) expect(r).toMatch(/heartbeat timeout/);
    survivors[0]!.targetPeer = 0;
    survivors[0]!.putPacket(new Uint8Array([9]));
    expect(net.runUntil(() => (pollAll(), survivors.slice(1).every((m) => m.getAvailablePacketCount() === 1)), { maxMs: 2000 })).toBe(true);
  });

  it('lobby: a peer whose links and signaling both go silent (cable cut) is reported by every survivor within the heartbeat timeout', async () => {
    const net = new VirtualNetwork({ seed: 12, defaultLink: { latencyMs: 20, jitter: 2 } });
    const bus = new MemorySignalingBus();
    cleanups.push(() => net.close(), () => bus.close());
    const hosts = [0, 1, 2, 3].map((i) => net.createHost(`m${i}`));
    const clients = hosts.map(() => bus.createClient());
    const meshes: LobbyMultiplayerPeer[] = [];
    for (let i = 0; i < hosts.length; i++) {
      meshes.push(await Mesh.join({ signaling: clients[i]!, engine: hosts[i]!.engine, clock: net.clock, ...(meshes[0] && { lobby: meshes[0].lobby }) }));
    }
    cleanups.push(() => meshes.forEach((m) => m.close()), () => clients.forEach((c) => c.close()));
    const pollAll = () => meshes.forEach((m) => m.poll());
    expect(await net.runUntilAsync(() => (pollAll(), meshes.every((m) => m.getPeerIds().length === 3)), { maxMs: 20_000 })).toBe(true);
    await net.advanceAsync(3000); // heartbeats run a while
    const survivors = meshes.slice(0, 3);
    const vanished = meshes[3]!.getUniqueId();
    const at: number[] = [];
    const reasons: string[] = [];
    const lost: number[] = [];
    for (const m of survivors) {
      m.on('peer_disconnected', (id, reason) => {
        if (id !== vanished) return;
        at.push(net.clock.now());
        reasons.push(reason ?? '');
      });
      m.on('link_lost', (id) => lost.push(id));
    }
    // The cable is cut: every link of the peer and its signaling connection go silent; the server notices nothing.
    const cutAt = net.clock.now();
    net.partition([hosts[3]!], hosts.slice(0, 3));
    bus.setReachable(clients[3]!, false);
    expect(await net.runUntilAsync(() => (pollAll(), at.length === 3), { maxMs: 20_000, stepMs: 5 })).toBe(true);
    // Default heartbeatTimeoutMs 5000: the survivors asked signaling at ~2.8 s of silence, got no answer, and give up at the timeout.
    for (const t of at) expect(t - cutAt).toBeLessThanOrEqual(5000 + 5);
    for (const r of reasons) expect(r).toMatch(/^heartbeat timeout: nothing heard for \d+ ms; the peer did not answer through signaling within 2000 ms \(vanished\), not reconnecting$/);
    expect(lost).toEqual([]); // given up at once, never reconnected
    expect(bus.getStats().detachedPeers).toBe(0); // the server never noticed: the mesh found out by itself
    // The rest of the mesh keeps working.
    survivors[0]!.targetPeer = 0;
    survivors[0]!.putPacket(new Uint8Array([9]));
    expect(await net.runUntilAsync(() => (pollAll(), survivors.slice(1).every((m) => m.getAvailablePacketCount() === 1)), { maxMs: 2000 })).toBe(true);
    for (const m of survivors) expect(m.getPeerIds()).toHaveLength(2);
  });

  it('lobby: links silent but signaling alive (a WebRTC-only outage) is reconnected, not given up', async () => {
    const net = new VirtualNetwork({ seed: 13, defaultLink: { latencyMs: 20 } });
    const bus = new MemorySignalingBus();
    cleanups.push(() => net.close(), () => bus.close());
    const [ha, hb] = [net.createHost('a'), net.createHost('b')];
    const a = await Mesh.join({ signaling: bus, engine: ha.engine, clock: net.clock });
    const b = await Mesh.join({ signaling: bus, engine: hb.engine, clock: net.clock, lobby: a.lobby });
    cleanups.push(() => a.close(), () => b.close());
    const pollAll = () => (a.poll(), b.poll());
    expect(await net.runUntilAsync(() => (pollAll(), a.getPeerIds().length === 1 && b.getPeerIds().length === 1), { maxMs: 20_000 })).toBe(true);
    const events: string[] = [];
    a.on('link_lost', (id, reason) => events.push(`lost:${id}:${reason}`));
    a.on('peer_disconnected', (id) => events.push(`gone:${id}`));
    a.on('reconnected', (id) => events.push(`back:${id}`));
    net.partition([ha], [hb]);
    await net.runUntilAsync(() => (pollAll(), false), { maxMs: 8000 });
    expect(events).toEqual([`lost:${b.getUniqueId()}:heartbeat timeout: nothing heard for 4900 ms`]);
    expect(a.getPeer(b.getUniqueId())!.state).toBe('reconnecting');
    net.heal();
    expect(await net.runUntilAsync(() => (pollAll(), events.length === 2), { maxMs: 20_000 })).toBe(true);
    expect(events[1]).toBe(`back:${b.getUniqueId()}`);
  });

  it('history: engine state changes, the DISCONNECTED grace (recovered, then expired) and closed, with clock times', () => {
    const net = new VirtualNetwork({ seed: 8, defaultLink: { latencyMs: 10 }, ice: { disconnectedAfterMs: 1000, failedAfterMs: 60_000 } });
    cleanups.push(() => net.close());
    const t0 = net.clock.now();
    // heartbeat detection off, so only the engine's DISCONNECTED and the grace decide
    const { a, b, ha, hb, poll } = meshPairOnVirtual(net, { heartbeatTimeoutMs: 0, disconnectGraceMs: 3000 }, undefined, { connected: (a) => a.getPeerIds().length === 1 });
    cleanups.push(() => a.close(), () => b.close());
    // a short outage: DISCONNECTED, then recovered within the grace
    net.partition([ha], [hb]);
    const cut1 = net.clock.now();
    expect(net.runUntil(() => (poll(), a.getPeer(3)!.state === 'disconnected'), { maxMs: 5000 })).toBe(true);
    const down1 = net.clock.now();
    expect(down1 - cut1).toBeGreaterThanOrEqual(1000); // ice.disconnectedAfterMs
    expect(a.getStats().peersConnected).toBe(1);
    net.heal();
    expect(net.runUntil(() => (poll(), a.getPeer(3)!.state === 'connected'), { maxMs: 5000 })).toBe(true);
    // a long one: the grace expires and the peer is removed (no reconnection here)
    let gone = '';
    a.on('peer_disconnected', (_id, reason) => (gone = reason ?? ''));
    net.partition([ha], [hb]);
    expect(net.runUntil(() => (poll(), gone !== ''), { maxMs: 10_000 })).toBe(true);
    expect(gone).toBe('disconnected for 3000 ms');
    expect(a.getLinkStats(3)).toBeUndefined();
    const final = a.getClosedLinkStats(3)!;
    expect(final.state).toBe('closed');
    const h = final.history;
    expect(h.map((e) => (e.connection ? `engine:${e.connection}` : e.state))).toEqual([
      'connecting',
      'engine:connecting',
      'engine:connected',
      'connected',
      'engine:disconnected',
      'disconnected',
      'engine:connected',
      'connected',
      'engine:disconnected',
      'disconnected',
      'closed',
    ]);
    expect(h[0]!.at).toBe(t0);
    expect(h[4]!.at).toBe(down1);
    expect(h[5]).toMatchObject({ at: down1, reason: 'connection disconnected: lost unless it recovers within 3000 ms' });
    expect(h[7]!.reason).toMatch(/^connection recovered after \d+ ms$/);
    expect(h[10]).toMatchObject({ state: 'closed', reason: 'disconnected for 3000 ms' });
    expect(h[10]!.at - h[9]!.at).toBeGreaterThanOrEqual(3000);
    expect(h[10]!.at - h[9]!.at).toBeLessThan(3000 + 20);
    for (let i = 1; i < h.length; i++) expect(h[i]!.at).toBeGreaterThanOrEqual(h[i - 1]!.at);
  });

  it('estimates loss from heartbeat gaps on a lossy link, and measures RTT near the configured latency', () => {
    const net = new VirtualNetwork({ seed: 5, defaultLink: { latencyMs: 40, loss: 0.2 } });
    cleanups.push(() => net.close());
    const { a, b } = meshPairOnVirtual(net, { heartbeatIntervalMs: 100, heartbeatTimeoutMs: 5000 }, undefined, { maxMs: 30_000 });
    cleanups.push(() => a.close(), () => b.close());
    // The estimate covers the last 32 pings (3.2 s here): sample it every second for a minute.
    const samples: number[] = [];
    let nextSample = net.clock.now() + 5000;
    net.runUntil(
      () => {
        a.poll();
        b.poll();
        if (net.clock.now() >= nextSample) {
          samples.push(a.getLinkStats(3)!.loss);
          nextSample += 1000;
        }
        return false;
      },
      { maxMs: 60_000, stepMs: 5 },
    );
    const s = a.getLinkStats(3)!;
    expect(s.heartbeatsReceived).toBeGreaterThan(300);
    const mean = samples.reduce((x, y) => x + y, 0) / samples.length;
    expect(mean).toBeGreaterThan(0.12); // configured one-way loss 0.2
    expect(mean).toBeLessThan(0.3);
    for (const l of samples) expect(l).toBeLessThan(0.5);
    expect(s.rttMs).toBeGreaterThanOrEqual(80);
    expect(s.rttMs).toBeLessThan(120);
  });

  it('heartbeat RTT, jitter and engine RTT match the configured latency and jitter', () => {
    const net = new VirtualNetwork({ seed: 9 });
    cleanups.push(() => net.close());
    const [ha, hb, hc] = [net.createHost('a'), net.createHost('b'), net.createHost('c')];
    net.link(ha, hb, { latencyMs: 25, jitter: 4 }); // uniform ±4 ms each way
    net.link(ha, hc, { latencyMs: 30 }); // no jitter
    const meshes = [2, 3, 4].map((id) => {
      const m = new WebRTCMultiplayerPeer({ clock: net.clock, heartbeatIntervalMs: 100 });
      m.createMesh(id);
      return m;
    });
    cleanups.push(() => meshes.forEach((m) => m.close()));
    const [a, b, c] = meshes as [WebRTCMultiplayerPeer, WebRTCMultiplayerPeer, WebRTCMultiplayerPeer];
    for (const [x, hx, y, hy] of [[a, ha, b, hb], [a, ha, c, hc]] as const) {
      const cx = new WebRTCPeerConnection({}, { engine: hx.engine, autoPoll: true });
      const cy = new WebRTCPeerConnection({}, { engine: hy.engine, autoPoll: true });
      wire(cx, cy);
      x.addPeer(cx, y.getUniqueId());
      y.addPeer(cy, x.getUniqueId());
      cy.createOffer();
    }
    const poll = () => (meshes.forEach((m) => m.poll()), false);
    expect(net.runUntil(() => (poll(), a.getPeerIds().length === 2), { maxMs: 10_000 })).toBe(true);
    net.runUntil(poll, { maxMs: 30_000, stepMs: 5 }); // ~300 RTT samples per link
    const jittery = a.getLinkStats(3)!;
    const steady = a.getLinkStats(4)!;
    // RTT = 2 × latency: 50 ms (± the jitter of the last samples), 60 ms exactly without jitter
    expect(jittery.heartbeatsReceived).toBeGreaterThan(250);
    expect(Math.abs(jittery.rttMs - 50)).toBeLessThanOrEqual(3);
    expect(Math.abs(jittery.heartbeatRttMs - 50)).toBeLessThanOrEqual(8); // one sample: ±4 ms each way
    expect(steady.rttMs).toBeCloseTo(60, 6);
    expect(steady.heartbeatRttMs).toBeCloseTo(60, 6);
    // RFC 3550 jitter = mean |difference of successive RTTs|; the difference is a sum of four U(−4, 4),
    // σ = √(4 · 8² / 12) ≈ 4.6 ms, so the mean absolute difference is ≈ 4.6 · √(2/π) ≈ 3.7 ms
    expect(jittery.jitterMs).toBeGreaterThan(2.5);
    expect(jittery.jitterMs).toBeLessThan(5);
    expect(steady.jitterMs).toBeLessThan(0.01);
    // the engine's (SCTP) RTT: the virtual engine reports the link's mean round trip
    expect(jittery.engineRttMs).toBe(50);
    expect(steady.engineRttMs).toBe(60);
  });

  it('stats consistency: engine bytes match the channels and the virtual network direction counters', () => {
    const net = new VirtualNetwork({ seed: 14, defaultLink: { latencyMs: 15 } });
    cleanups.push(() => net.close());
    const { a, b, ha, hb, poll } = meshPairOnVirtual(net, { heartbeatIntervalMs: 100 });
    cleanups.push(() => a.close(), () => b.close());
    const before = { ab: net.directionStats(ha, hb), ba: net.directionStats(hb, ha) };
    a.targetPeer = 3;
    b.targetPeer = 2;
    let userBytes = 0;
    for (let i = 0; i < 500; i++) {
      const size = 1 + (i % 40) * 25;
      a.putPacket(new Uint8Array(size));
      userBytes += size;
      if (i % 10 === 0) b.putPacket(new Uint8Array(7));
      net.runUntil(() => (poll(), false), { maxMs: 4, stepMs: 2 });
    }
    net.runUntil(() => (poll(), false), { maxMs: 2000, stepMs: 5 });
    // quiesce: stop polling (no more heartbeats or acks) and let what is in flight land
    net.advance(1000);
    const sa = a.getLinkStats(3)!;
    const sb = b.getLinkStats(2)!;
    const channelSum = (m: WebRTCMultiplayerPeer, peer: number, k: 'bytesSent' | 'bytesReceived' | 'packetsSent') =>
      m.getPeer(peer)!.connection.getStats().channels.reduce((n, c) => n + c[k], 0);
    // engine counters = the sum of every channel's (control included), both directions, on both sides
    expect(sa.engineBytesSent).toBe(channelSum(a, 3, 'bytesSent'));
    expect(sa.engineBytesReceived).toBe(channelSum(a, 3, 'bytesReceived'));
    expect(sb.engineBytesSent).toBe(channelSum(b, 2, 'bytesSent'));
    expect(sb.engineBytesReceived).toBe(channelSum(b, 2, 'bytesReceived'));
    // lossless link, nothing in flight: what one side sent is what the other received
    expect(sb.engineBytesReceived).toBe(sa.engineBytesSent);
    expect(sa.engineBytesReceived).toBe(sb.engineBytesSent);
    expect(sb.channels[0]!.bytesReceived).toBe(userBytes);
    // the network carried exactly that payload, plus a 16-byte chunk header per message and the per-packet overhead
    const dir = { ab: net.directionStats(ha, hb), ba: net.directionStats(hb, ha) };
    const overhead = 48; // the default overheadBytes
    const wirePayload = (d: 'ab' | 'ba') => dir[d].bytesSent - before[d].bytesSent - overhead * (dir[d].packetsSent - before[d].packetsSent);
    const CHUNK_HEADER = 16;
    expect(dir.ab.packetsLost + dir.ba.packetsLost + dir.ab.packetsDownDropped + dir.ba.packetsDownDropped).toBe(0);
    expect(wirePayload('ab')).toBe(sa.engineBytesSent + CHUNK_HEADER * channelSum(a, 3, 'packetsSent'));
    expect(wirePayload('ba')).toBe(sb.engineBytesSent + CHUNK_HEADER * channelSum(b, 2, 'packetsSent'));
  });

  it('loss counts overdue heartbeats during a blackout and falls back once pings arrive again (sliding window)', () => {
    const net = new VirtualNetwork({ seed: 6, defaultLink: { latencyMs: 20 } });
    cleanups.push(() => net.close());
    const options = { heartbeatIntervalMs: 100, heartbeatTimeoutMs: 10_000, disconnectGraceMs: 60_000 };
    const { a, b, ha, hb, poll } = meshPairOnVirtual(net, options, undefined, { connected: (a) => a.getPeerIds().length === 1 });
    cleanups.push(() => a.close(), () => b.close());
    net.runUntil(poll, { maxMs: 5000, stepMs: 5 });
    expect(a.getLinkStats(3)!.loss).toBe(0);
    net.partition([ha], [hb]);
    const during: number[] = [];
    for (let k = 0; k < 6; k++) {
      net.runUntil(poll, { maxMs: 500, stepMs: 5 });
      during.push(a.getLinkStats(3)!.loss);
    }
    // 100 ms pings, window of 32: after t ms of blackout about (t/100 − 1)/32 of the window is overdue
    expect(during[0]).toBeGreaterThan(0.05);
    for (let k = 1; k < during.length; k++) expect(during[k]).toBeGreaterThan(during[k - 1]!);
    expect(during.at(-1)).toBeGreaterThan(0.8);
    expect(a.getPeerIds()).toEqual([3]); // still within the heartbeat timeout and the grace
    net.heal();
    expect(net.runUntil(() => (poll(), a.getLinkStats(3)!.sinceHeardMs < 50), { maxMs: 5000 })).toBe(true);
    expect(a.getLinkStats(3)!.loss).toBeGreaterThan(0.5); // the gap is still in the window
    net.runUntil(poll, { maxMs: 4000, stepMs: 5 }); // > 32 pings later
    expect(a.getLinkStats(3)!.loss).toBe(0);
  });

  it('a 10 s partition of one lobby link: reconnection, and 10 000 numbered reliable packets arrive complete, in order, once', async () => {
    const net = new VirtualNetwork({ seed: 21, defaultLink: { latencyMs: 15, jitter: 2 } });
    const bus = new MemorySignalingBus();
    cleanups.push(() => net.close(), () => bus.close());
    const hosts = [net.createHost('a'), net.createHost('b'), net.createHost('c')];
    const meshes: LobbyMultiplayerPeer[] = [];
    for (const h of hosts) {
      meshes.push(await Mesh.join({ signaling: bus, engine: h.engine, clock: net.clock, ...(meshes[0] && { lobby: meshes[0].lobby }) }));
    }
    cleanups.push(() => meshes.forEach((m) => m.close()));
    const [a, b, c] = meshes as [LobbyMultiplayerPeer, LobbyMultiplayerPeer, LobbyMultiplayerPeer];
    const pollAll = () => meshes.forEach((m) => m.poll());
    expect(await net.runUntilAsync(() => (pollAll(), meshes.every((m) => m.getPeerIds().length === 2)), { maxMs: 20_000 })).toBe(true);
    const ia = a.getUniqueId();
    const ib = b.getUniqueId();
    const events: string[] = [];
    for (const [name, m] of [['a', a], ['b', b], ['c', c]] as const) {
      m.on('link_lost', (id) => events.push(`${name}:lost:${id}`));
      m.on('reconnected', (id) => events.push(`${name}:back:${id}`));
      m.on('peer_disconnected', (id) => events.push(`${name}:gone:${id}`));
      m.on('peer_connected', (id) => events.push(`${name}:connected:${id}`));
    }
    const got: number[] = [];
    const TOTAL = 10_000;
    let next = 0;
    const start = net.clock.now();
    a.targetPeer = ib;
    let partitioned = false;
    let healed = false;
    const step = () => {
      const now = net.clock.now() - start;
      for (; next < TOTAL && next < now; next++) a.putPacket(numbered(next, 12)); // 1000 packets/s
      if (!partitioned && now >= 2000) {
        net.partition([hosts[0]!], [hosts[1]!]);
        partitioned = true;
      }
      if (!healed && now >= 12_000) {
        net.heal();
        healed = true;
      }
      pollAll();
      let p;
      for (let from = b.getPacketPeer(); (p = b.getPacket()) !== undefined; from = b.getPacketPeer()) if (from === ia) got.push(numberOf(p));
      while (c.getPacket() !== undefined);
      return got.length >= TOTAL;
    };
    expect(await net.runUntilAsync(step, { maxMs: 60_000, stepMs: 5 })).toBe(true);
    expect(got.length).toBe(TOTAL);
    expect(got.every((n, i) => n === i)).toBe(true);
    expect(events).toContain(`a:lost:${ib}`);
    expect(events).toContain(`a:back:${ib}`);
    expect(events).toContain(`b:back:${ia}`);
    expect(events.filter((e) => e.includes('gone') || e.includes('connected') || e.startsWith('c:'))).toEqual([]);
    const sa = a.getLinkStats(ib)!;
    expect(sa.reconnects).toBe(1);
    expect(sa.replayed).toBeGreaterThan(0);
    // deterministic (seeded): one side noticed first and the other saw its fresh offer; replays it already held were dropped
    expect(sa.history.filter((h) => h.connection === undefined).map((h) => h.state)).toEqual(['connecting', 'connected', 'reconnecting', 'connected']);
    expect(b.getLinkStats(ia)!.channels[0]!.duplicatesDropped + sa.replayed).toBeGreaterThan(0);
    expect(b.getLinkStats(ia)!.channels[0]!.gaps).toBe(0);
  });

  it('client_server lobby: a client cut off from the host for 10 s comes back as the same client, nothing lost', async () => {
    const net = new VirtualNetwork({ seed: 4, defaultLink: { latencyMs: 10 } });
    const bus = new MemorySignalingBus();
    cleanups.push(() => net.close(), () => bus.close());
    const [hh, hc] = [net.createHost('host'), net.createHost('client')];
    const host = await Mesh.join({ signaling: bus, mode: 'client_server', engine: hh.engine, clock: net.clock });
    const client = await Mesh.join({ signaling: bus, lobby: host.lobby, engine: hc.engine, clock: net.clock });
    cleanups.push(() => host.close(), () => client.close());
    const poll = () => (host.poll(), client.poll());
    expect(await net.runUntilAsync(() => (poll(), client.getConnectionStatus() === 2), { maxMs: 10_000 })).toBe(true);
    const cid = client.getUniqueId();
    const events: string[] = [];
    client.on('peer_disconnected', () => events.push('client:gone'));
    host.on('peer_disconnected', () => events.push('host:gone'));
    host.on('reconnected', (id) => events.push(`host:back:${id}`));
    client.on('reconnected', (id) => events.push(`client:back:${id}`));
    net.partition([hh], [hc]);
    client.targetPeer = 1;
    for (let i = 0; i < 100; i++) client.putPacket(numbered(i));
    await net.runUntilAsync(() => (poll(), false), { maxMs: 10_000 });
    expect(host.getPeer(cid)!.state).toBe('reconnecting');
    expect(client.getPeer(1)!.state).toBe('reconnecting');
    net.heal();
    const got: number[] = [];
    expect(
      await net.runUntilAsync(() => {
        poll();
        let p;
        while ((p = host.getPacket()) !== undefined) got.push(numberOf(p));
        return got.length === 100;
      }, { maxMs: 30_000 }),
    ).toBe(true);
    expect(got).toEqual([...Array(100).keys()]);
    expect(events.sort()).toEqual([`client:back:1`, `host:back:${cid}`]);
    expect(client.getConnectionStatus()).toBe(2);
    expect(host.getPeerIds()).toEqual([cid]);
  });
});
