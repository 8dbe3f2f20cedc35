/**
 * Claims of docs/maintain.md (hand-built reconnection, maintenance API,
 * closed-link stats, the `stats` event), checked on the virtual network
 * (virtual clock: the doc says everything runs unchanged there). Each `it()`
 * quotes the claim it checks.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createMetrics, ErrorCode, MemorySignalingBus, Mesh, SignalingServer, TransferMode, VirtualNetwork, WebRTCMultiplayerPeer, WebRTCPeerConnection, type MeshStats, type Reconnector } from '../api.js';
import { meshPairOnVirtual, virtualPair } from '../virtual/util.js';
// the control channel's frame codec (internal), to send a frame a healthy peer never sends
import { encodeFrame, FrameType } from '../../src/mesh/health/control.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

function network(seed: number): VirtualNetwork {
  const net = new VirtualNetwork({ seed, defaultLink: { latencyMs: 10 } });
  cleanups.push(() => net.close());
  return net;
}

describe('docs/maintain.md: hand-built meshes and the reconnector option', () => {
  it('"objection(peerId) (a reason to give up on a lost link at once)": peer_disconnected with the objection, no link_lost, no attempt', () => {
    const net = network(41);
    const attempts: number[] = [];
    const reconnector: Reconnector = { canReconnect: () => true, startAttempt: (_id, n) => void attempts.push(n), objection: () => 'it left for good' };
    const { a, b, ha, hb, poll } = meshPairOnVirtual(net, { reconnector });
    cleanups.push(() => (a.close(), b.close()));
    const events: string[] = [];
    a.on('link_lost', (id) => events.push(`link_lost:${id}`));
    a.on('reconnecting', (id) => events.push(`reconnecting:${id}`));
    a.on('peer_disconnected', (id, reason) => events.push(`peer_disconnected:${id}:${reason}`));
    net.partition([ha], [hb]);
    expect(net.runUntil(() => (poll(), events.length > 0), { maxMs: 10_000 })).toBe(true);
    expect(events).toEqual(['peer_disconnected:3:heartbeat timeout: nothing heard for 4900 ms; it left for good']);
    expect(attempts).toEqual([]);
    expect(a.getPeerIds()).toEqual([]);
  });

  it('"startAttempt gives the peer a fresh connection with mesh.maintenance.replaceConnection": link_lost, reconnecting(id, attempt), reconnected(id, downtimeMs), never a second peer_connected, same ids, held reliable packets delivered once', () => {
    const net = network(42);
    const [ha, hb] = [net.createHost(), net.createHost()];
    const meshes: { a?: WebRTCMultiplayerPeer; b?: WebRTCMultiplayerPeer } = {};
    let healed = false;
    // Only the higher id (3, on b) runs the signaling of an attempt, once the other side is reconnecting too.
    const passive: Reconnector = { canReconnect: () => true, startAttempt: () => {} };
    const active: Reconnector = {
      canReconnect: () => true,
      startAttempt: () => {
        const { a, b } = meshes;
        if (!a || !b || !healed || a.getPeer(3)?.state !== 'reconnecting') return; // this attempt times out; the next one is tried
        const [ca, cb] = virtualPair(ha, hb);
        a.maintenance.replaceConnection(3, ca);
        b.maintenance.replaceConnection(2, cb);
        cb.createOffer();
      },
    };
    const reconnect = { attemptTimeoutMs: 2000, backoffMs: 100, maxBackoffMs: 400, maxAttempts: 50, giveUpMs: 60_000 };
    const { a, b, poll } = meshPairOnVirtual(net, [{ reconnect, reconnector: passive }, { reconnect, reconnector: active }], [ha, hb]);
    meshes.a = a;
    meshes.b = b;
    cleanups.push(() => (a.close(), b.close()));
    const events: string[] = [];
    const downtime: number[] = [];
    a.on('peer_connected', (id) => events.push(`peer_connected:${id}`));
    a.on('link_lost', (id, reason) => events.push(`link_lost:${id}:${reason}`));
    a.on('reconnecting', (id, n) => events.push(`reconnecting:${id}:${n}`));
    a.on('reconnected', (id, ms) => (events.push(`reconnected:${id}`), downtime.push(ms)));
    a.on('peer_disconnected', (id) => events.push(`peer_disconnected:${id}`));

    net.partition([ha], [hb]);
    expect(net.runUntil(() => (poll(), a.getPeer(3)?.state === 'reconnecting' && b.getPeer(2)?.state === 'reconnecting'), { maxMs: 10_000 })).toBe(true);
    const lostAt = net.clock.now();
    // "the peer stays in getPeerIds() while it is re-established"; reliable packets are held, unreliable ones dropped and counted, putPacket does not throw
    expect(a.getPeerIds()).toEqual([3]);
    a.targetPeer = 3;
    a.transferMode = TransferMode.RELIABLE;
    for (const v of [1, 2, 3]) a.putPacket(new Uint8Array([v]));
    a.transferMode = TransferMode.UNRELIABLE;
    a.putPacket(new Uint8Array([99]));
    expect(a.getLinkStats(3)!.channels.find((c) => c.mode === TransferMode.UNRELIABLE)?.droppedWhileDown).toBe(1);
    net.runUntil(poll, { maxMs: 3000 });
    net.heal();
    healed = true;
    expect(net.runUntil(() => (poll(), events.includes('reconnected:3')), { maxMs: 30_000 })).toBe(true);
    const got: number[] = [];
    net.runUntil(() => {
      poll();
      while (b.getAvailablePacketCount() > 0) got.push(b.getPacket()![0]!);
      return false;
    }, { maxMs: 2000 });
    expect(got).toEqual([1, 2, 3]);
    expect(events[0]).toBe('link_lost:3:heartbeat timeout: nothing heard for 4900 ms');
    const attempts = events.filter((e) => e.startsWith('reconnecting'));
    expect(attempts.length).toBeGreaterThan(1);
    attempts.forEach((e, i) => expect(e).toBe(`reconnecting:3:${i + 1}`));
    expect(events.at(-1)).toBe('reconnected:3');
    expect(events.filter((e) => e.startsWith('peer_connected') || e.startsWith('peer_disconnected'))).toEqual([]);
    expect(downtime[0]).toBeGreaterThanOrEqual(3000);
    expect(downtime[0]).toBeLessThanOrEqual(net.clock.now() - lostAt + 5000);
    expect(a.getUniqueId()).toBe(2);
    expect(a.getPeerIds()).toEqual([3]);
    expect(a.getLinkStats(3)!.state).toBe('connected');
    expect(a.getLinkStats(3)!.reconnects).toBe(1);
  });

  it('"mesh.maintenance also has lastHeard(peerId) and removePeer(peerId, reason)": peer_disconnected(id, reason); getClosedLinkStats ends with the closed entry', () => {
    const net = network(43);
    const { a, b, poll } = meshPairOnVirtual(net);
    cleanups.push(() => (a.close(), b.close()));
    net.runUntil(poll, { maxMs: 1500 });
    const heard = a.maintenance.lastHeard(3);
    expect(typeof heard).toBe('number');
    expect(heard).toBeLessThanOrEqual(net.clock.now());
    expect(heard).toBeGreaterThan(net.clock.now() - 1500);
    const reasons: [number, string | undefined][] = [];
    a.on('peer_disconnected', (id, reason) => reasons.push([id, reason]));
    a.maintenance.removePeer(3, 'kicked by the test');
    expect(reasons).toEqual([[3, 'kicked by the test']]);
    expect(a.getPeerIds()).toEqual([]);
    expect(a.maintenance.lastHeard(3)).toBeUndefined();
    expect(a.getLinkStats(3)).toBeUndefined();
    const closed = a.getClosedLinkStats(3)!;
    expect(closed.state).toBe('closed');
    expect(closed.history.at(-1)).toMatchObject({ state: 'closed', reason: 'kicked by the test' });
    // "Unknown ids are ignored"
    expect(() => a.maintenance.removePeer(3, 'again')).not.toThrow();
    expect(reasons).toHaveLength(1);
    expect(() => a.maintenance.replaceConnection(77, new WebRTCPeerConnection({}, { engine: net.createHost().engine }))).toThrow(
      expect.objectContaining({ code: ErrorCode.INVALID_PEER }),
    );
  });

  it('"getClosedLinkStats(id) the final snapshot of a removed one (… the last 32 removed links are kept)"', () => {
    const net = network(44);
    const host = net.createHost();
    const m = new WebRTCMultiplayerPeer({ clock: net.clock });
    cleanups.push(() => m.close());
    m.createMesh(1);
    for (let id = 2; id <= 34; id++) {
      m.addPeer(new WebRTCPeerConnection({}, { engine: host.engine }), id);
      m.removePeer(id);
    }
    expect(m.getClosedLinkStats(2)).toBeUndefined(); // the 33rd most recent
    expect(m.getClosedLinkStats(3)?.state).toBe('closed');
    expect(m.getClosedLinkStats(34)?.state).toBe('closed');
  });
});

describe('docs/maintain.md: monitoring', () => {
  it('"The stats event delivers the same snapshot every statsIntervalMs (default 1000, 0 = off) while someone listens"', () => {
    const net = network(45);
    const { a, b, poll } = meshPairOnVirtual(net);
    const off = meshPairOnVirtual(net, { statsIntervalMs: 0 });
    cleanups.push(() => (a.close(), b.close(), off.a.close(), off.b.close()));
    const at: number[] = [];
    const snapshots: MeshStats[] = [];
    a.on('stats', (s) => (at.push(net.clock.now()), snapshots.push(s)));
    let offCount = 0;
    off.a.on('stats', () => offCount++);
    net.runUntil(() => (poll(), off.poll(), false), { maxMs: 5500, stepMs: 10 });
    expect(at.length).toBeGreaterThanOrEqual(4);
    expect(at.length).toBeLessThanOrEqual(6);
    for (let i = 1; i < at.length; i++) expect(at[i]! - at[i - 1]!).toBeGreaterThanOrEqual(1000);
    for (let i = 1; i < at.length; i++) expect(at[i]! - at[i - 1]!).toBeLessThan(1100);
    expect(snapshots.at(-1)!.links.map((l) => l.peerId)).toEqual([3]);
    expect(offCount).toBe(0);
  });
});

describe('docs/maintain.md: vanished lobby members', () => {
  /** Two lobby members on the virtual network; `a`'s signaling client records when it probes. */
  async function lobbyPair(seed: number, livenessTimeoutMs?: number) {
    const net = network(seed);
    const bus = new MemorySignalingBus();
    cleanups.push(() => bus.close());
    const [ha, hb] = [net.createHost(), net.createHost()];
    const ca = bus.createClient();
    const probes: { at: number; id: number }[] = [];
    const probe = ca.probe.bind(ca);
    ca.probe = (id: number) => (probes.push({ at: net.clock.now(), id }), probe(id));
    const a = await Mesh.join({ signaling: ca, engine: ha.engine, clock: net.clock, ...(livenessTimeoutMs !== undefined && { livenessTimeoutMs }) });
    const b = await Mesh.join({ signaling: bus, engine: hb.engine, clock: net.clock, lobby: a.lobby });
    cleanups.push(() => (a.close(), b.close()));
    const poll = () => (a.poll(), b.poll(), false);
    expect(await net.runUntilAsync(() => (poll(), a.getPeerIds().length === 1 && b.getPeerIds().length === 1), { maxMs: 20_000 })).toBe(true);
    await net.runUntilAsync(poll, { maxMs: 2000 });
    return { net, a, b, ha, hb, probes, poll };
  }

  it('"when a link has been silent for [the silence that loses it (4900 ms)] − livenessTimeoutMs − 100 ms (2.8 s by default; at least half the timeout), the mesh sends probe"', async () => {
    const { net, a, b, ha, hb, probes, poll } = await lobbyPair(51);
    const id = b.getUniqueId();
    net.partition([ha], [hb]);
    expect(await net.runUntilAsync(() => (poll(), probes.length > 0), { maxMs: 6000, stepMs: 5 })).toBe(true);
    const heard = a.mesh.maintenance.lastHeard(id)!;
    expect(probes[0]!.id).toBe(id);
    expect(probes[0]!.at - heard).toBeGreaterThanOrEqual(2800);
    expect(probes[0]!.at - heard).toBeLessThan(2800 + 20);
  });

  it('"at least half the timeout": with livenessTimeoutMs 4000 the probe goes at half of the 4900 ms silence', async () => {
    const { net, a, b, ha, hb, probes, poll } = await lobbyPair(52, 4000);
    net.partition([ha], [hb]);
    expect(await net.runUntilAsync(() => (poll(), probes.length > 0), { maxMs: 6000, stepMs: 5 })).toBe(true);
    const heard = a.mesh.maintenance.lastHeard(b.getUniqueId())!;
    expect(probes[0]!.at - heard).toBeGreaterThanOrEqual(2450);
    expect(probes[0]!.at - heard).toBeLessThan(2450 + 20);
  });

  it('"livenessTimeoutMs … 0 = never check": no probe, and a WebRTC-only outage is reconnected', async () => {
    const { net, ha, hb, a, probes, poll } = await lobbyPair(53, 0);
    const events: string[] = [];
    a.on('link_lost', () => events.push('link_lost'));
    a.on('peer_disconnected', () => events.push('peer_disconnected'));
    net.partition([ha], [hb]);
    await net.runUntilAsync(poll, { maxMs: 7000 });
    expect(probes).toEqual([]);
    expect(events).toEqual(['link_lost']);
  });
});

describe('docs/maintain.md: heartbeats and lobby reconnection', () => {
  it('"Each side sends a PING every heartbeatIntervalMs (default 1000) and answers every PING with a PONG"', () => {
    const net = network(61);
    const { a, b, poll } = meshPairOnVirtual(net);
    cleanups.push(() => (a.close(), b.close()));
    const before = a.getLinkStats(3)!;
    const bBefore = b.getLinkStats(2)!;
    net.runUntil(poll, { maxMs: 10_000 });
    const after = a.getLinkStats(3)!;
    const sent = after.heartbeatsSent - before.heartbeatsSent;
    expect(sent).toBeGreaterThanOrEqual(9);
    expect(sent).toBeLessThanOrEqual(11);
    // every PING of b was answered: a received b's pings, and b's RTT is measured from a's PONGs
    expect(after.heartbeatsReceived - before.heartbeatsReceived).toBeGreaterThanOrEqual(9);
    expect(b.getLinkStats(2)!.heartbeatsSent - bBefore.heartbeatsSent).toBeGreaterThanOrEqual(9);
    expect(b.getLinkStats(2)!.rttMs).toBeGreaterThanOrEqual(20);
  });

  it('"An offer arriving on a connection that already negotiated means the remote restarted the link, so the lower id treats the link as lost at once and answers on a fresh connection"', async () => {
    const net = network(62);
    const bus = new MemorySignalingBus();
    cleanups.push(() => bus.close());
    const [ha, hb] = [net.createHost(), net.createHost()];
    const ca = bus.createClient();
    const cb = bus.createClient();
    const answers: number[] = [];
    const send = ca.sendDescription.bind(ca);
    ca.sendDescription = (to, type, sdp) => (type === 'answer' && answers.push(to), send(to, type, sdp));
    const a = await Mesh.join({ signaling: ca, engine: ha.engine, clock: net.clock });
    const b = await Mesh.join({ signaling: cb, engine: hb.engine, clock: net.clock, lobby: a.lobby });
    cleanups.push(() => (a.close(), b.close()));
    const poll = () => (a.poll(), b.poll(), false);
    expect(await net.runUntilAsync(() => (poll(), a.getPeerIds().length === 1 && b.getPeerIds().length === 1), { maxMs: 20_000 })).toBe(true);
    const idB = b.getUniqueId();
    expect(idB).toBeGreaterThan(1);
    answers.length = 0;
    const events: string[] = [];
    a.on('link_lost', (id, reason) => events.push(`link_lost:${id === idB ? 'b' : id}:${reason}`));
    a.on('peer_disconnected', (id) => events.push(`peer_disconnected:${id}`));
    const firstConnection = a.getPeer(idB)!.connection;
    // b's process restarted its side without closing the old connection: a fresh offer arrives through signaling
    const fresh = new WebRTCPeerConnection({}, { engine: hb.engine, autoPoll: true });
    cleanups.push(() => fresh.close());
    fresh.createDataChannel('x', { negotiated: true, id: 1 });
    fresh.on('session_description_created', (type, sdp) => type === 'offer' && cb.sendDescription(1, 'offer', sdp));
    fresh.createOffer();
    expect(await net.runUntilAsync(() => (poll(), events.length > 0 && answers.length > 0), { maxMs: 5000 })).toBe(true);
    expect(events).toEqual(['link_lost:b:the peer restarted the link']);
    expect(answers).toEqual([idB]);
    expect(a.getPeer(idB)!.state).toBe('reconnecting');
    expect(a.getPeer(idB)!.connection).not.toBe(firstConnection);
  });
});

describe('docs/maintain.md: Prometheus', () => {
  it('"Series (prefix rtcmesh_, configurable): …": every series the page lists is exposed, and the prefix applies', async () => {
    const doc = readFileSync(fileURLToPath(new URL('../../docs/maintain.md', import.meta.url)), 'utf8');
    const section = doc.slice(doc.indexOf('Series (prefix `rtcmesh_`'), doc.indexOf('Pass your own `registry`'));
    const names = [...section.matchAll(/`([a-z_{},*]+)(?:\{[a-z_,]+\})?`/g)]
      .map((m) => m[1]!.replace(/\{(state|code|local_type,remote_type)\}$/, '')) // label sets, not alternatives
      .filter((n) => n.includes('_') && !['mesh_id', 'peer_id', 'rtcmesh_'].includes(n))
      .flatMap((n) => {
        const brace = /^(.*)\{([a-z,]+)\}(.*)$/.exec(n);
        if (!brace) return [n];
        return brace[2]!.split(',').flatMap((alt) => {
          const expanded = `${brace[1]}${alt}${brace[3]}`;
          const again = /^(.*)\{([a-z,]+)\}(.*)$/.exec(expanded);
          return again ? again[2]!.split(',').map((b) => `${again[1]}${b}${again[3]}`) : [expanded];
        });
      });
    expect(names.length).toBeGreaterThan(30);
    const net = network(71);
    const { a, b } = meshPairOnVirtual(net);
    const server = new SignalingServer({ pingIntervalMs: 0 });
    cleanups.push(() => (a.close(), b.close()), () => void server.close());
    const metrics = createMetrics({ meshes: [a], signaling: server, prefix: 'game_' });
    const text = await metrics.metrics();
    const exposed = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!));
    const missing = names.filter((n) => {
      const re = new RegExp(`^game_${n.replace('*', '[a-z]+')}$`);
      return ![...exposed].some((e) => re.test(e));
    });
    expect(missing).toEqual([]);
  });
});

describe('docs/maintain.md: link history', () => {
  it('"history holds the last 32 changes, oldest first, each with the mesh clock\'s time (at)"', () => {
    const net = new VirtualNetwork({ seed: 81, defaultLink: { latencyMs: 10 }, ice: { disconnectedAfterMs: 1000, failedAfterMs: 60_000 } });
    cleanups.push(() => net.close());
    const { a, b, ha, hb, poll } = meshPairOnVirtual(net, { heartbeatTimeoutMs: 0, disconnectGraceMs: 60_000 }, undefined, { connected: (a) => a.getPeerIds().length === 1 });
    cleanups.push(() => (a.close(), b.close()));
    const cycleEnds: number[] = [];
    for (let i = 0; i < 10; i++) {
      net.partition([ha], [hb]);
      expect(net.runUntil(() => (poll(), a.getPeer(3)!.state === 'disconnected'), { maxMs: 5000 })).toBe(true);
      net.heal();
      expect(net.runUntil(() => (poll(), a.getPeer(3)!.state === 'connected'), { maxMs: 5000 })).toBe(true);
      cycleEnds.push(net.clock.now());
    }
    // 4 entries at the start and 4 per outage (engine and link, down and back): 44 changes, the last 32 kept
    const h = a.getLinkStats(3)!.history;
    expect(h).toHaveLength(32);
    expect(h.at(-1)).toMatchObject({ state: 'connected', at: cycleEnds.at(-1) });
    expect(h.at(-1)!.reason).toMatch(/^connection recovered after \d+ ms$/);
    expect(h[0]!.at).toBeGreaterThan(0); // the first connection's entries are gone
    expect(h.filter((e) => e.state === 'connecting')).toEqual([]);
    for (let i = 1; i < h.length; i++) expect(h[i]!.at).toBeGreaterThanOrEqual(h[i - 1]!.at);
  });
});

describe('docs/maintain.md: what happens to a lost link', () => {
  it('"No reconnection (hand-built meshes, or reconnect: false): the peer is removed and peer_disconnected(id, reason) fires, e.g. reason \\"heartbeat timeout: nothing heard for 4900 ms\\"" (a lobby mesh with reconnect: false, signaling alive)', async () => {
    const net = network(91);
    const bus = new MemorySignalingBus();
    cleanups.push(() => bus.close());
    const [ha, hb] = [net.createHost(), net.createHost()];
    const a = await Mesh.join({ signaling: bus, engine: ha.engine, clock: net.clock, reconnect: false });
    const b = await Mesh.join({ signaling: bus, engine: hb.engine, clock: net.clock, lobby: a.lobby, reconnect: false });
    cleanups.push(() => (a.close(), b.close()));
    const poll = () => (a.poll(), b.poll(), false);
    expect(await net.runUntilAsync(() => (poll(), a.getPeerIds().length === 1), { maxMs: 20_000 })).toBe(true);
    const events: string[] = [];
    a.on('link_lost', (id) => events.push(`link_lost:${id}`));
    a.on('peer_disconnected', (id, reason) => events.push(`peer_disconnected:${id === b.getUniqueId() ? 'b' : id}:${reason}`));
    net.partition([ha], [hb]);
    expect(await net.runUntilAsync(() => (poll(), events.length > 0), { maxMs: 10_000 })).toBe(true);
    expect(events).toEqual(['peer_disconnected:b:heartbeat timeout: nothing heard for 4900 ms']);
    expect(a.getPeerIds()).toEqual([]);
  });
});

describe('docs/maintain.md: session epochs', () => {
  it('"An epoch never changes within one connection: such frames are dropped and counted in controlMalformed"; LinkStats reports sessionEpoch, remoteEpoch and restarts', () => {
    const net = network(101);
    const { a, b, poll } = meshPairOnVirtual(net);
    cleanups.push(() => (a.close(), b.close()));
    net.runUntil(poll, { maxMs: 1500 });
    const before = a.getLinkStats(3)!;
    const bEpoch = b.getLinkStats(2)!.sessionEpoch;
    expect(before.remoteEpoch).toBe(bEpoch);
    expect(before.sessionEpoch).toBe(b.getLinkStats(2)!.remoteEpoch);
    let restarted = 0;
    a.on('peer_restarted', () => restarted++);
    const control = b.getPeer(2)!.connection.getDataChannels().find((c) => c.getId() === 1000)!;
    const other = bEpoch === 0xffffffff ? 1 : bEpoch + 1;
    control.putPacket(encodeFrame({ type: FrameType.PING, epoch: other, ackEpoch: before.sessionEpoch, seq: 999, time: 0, acks: [] }));
    net.runUntil(poll, { maxMs: 200 });
    const after = a.getLinkStats(3)!;
    expect(after.controlMalformed).toBe(before.controlMalformed + 1);
    expect(after.remoteEpoch).toBe(bEpoch);
    expect(after.restarts).toBe(0);
    expect(restarted).toBe(0);
    expect(a.getPeerIds()).toEqual([3]);
  });
});
