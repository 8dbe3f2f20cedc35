import { describe, expect, it } from 'vitest';
import {
  ChannelState,
  ConnectionState,
  ConnectionStatus,
  ErrorCode,
  RtcmeshError,
  TransferMode,
  WebRTCMultiplayerPeer,
  WebRTCPeerConnection,
  VirtualNetwork,
} from '../api.js';
import { wire } from '../helpers.js';
import { refusingOnce } from '../mesh/mesh-helpers.js';
import { meshPairOnVirtual } from './util.js';

it('an 8-peer mesh runs unchanged on the virtual network, with loss, on the virtual clock', () => {
  const net = new VirtualNetwork({ seed: 3, defaultLink: { latencyMs: 30, jitter: 5, loss: 0.2 } });
  const ids = [2, 3, 4, 5, 6, 7, 8, 9];
  const hosts = ids.map((id) => net.createHost(`peer${id}`));
  const meshes = ids.map((id) => { const m = new WebRTCMultiplayerPeer({ clock: net.clock }); m.createMesh(id); return m; });
  for (let i = 0; i < ids.length; i++) for (let j = i + 1; j < ids.length; j++) {
    const ca = new WebRTCPeerConnection({}, { engine: hosts[i]!.engine, autoPoll: true });
    const cb = new WebRTCPeerConnection({}, { engine: hosts[j]!.engine, autoPoll: true });
    wire(ca, cb);
    meshes[i]!.addPeer(ca, ids[j]!); meshes[j]!.addPeer(cb, ids[i]!);
    if (ids[i]! > ids[j]!) ca.createOffer(); else cb.createOffer();
  }
  const pollAll = () => { for (const m of meshes) m.poll(); };
  expect(net.runUntil(() => { pollAll(); return meshes.every((m) => m.getPeerIds().length === 7); }, { maxMs: 10_000 })).toBe(true);
  meshes[0]!.transferMode = TransferMode.RELIABLE;
  for (let k = 0; k < 100; k++) meshes[0]!.putPacket(new Uint8Array([k]));
  const got: number[][] = meshes.map(() => []);
  net.runUntil(() => { pollAll(); meshes.forEach((m, i) => { let p; while ((p = m.getPacket()) !== undefined) got[i]!.push(p[0]!); }); return got.slice(1).every((g) => g.length === 100); }, { maxMs: 30_000 });
  for (const g of got.slice(1)) expect(g).toEqual([...Array(100).keys()]);
  // Cut peer 2 off: the others see it leave.
  net.partition([hosts[0]!], hosts.slice(1));
  net.runUntil(() => { pollAll(); return meshes.slice(1).every((m) => m.getPeerIds().length === 6); }, { maxMs: 60_000 });
  expect(meshes[1]!.getPeerIds()).not.toContain(2);
  expect(meshes[0]!.getPeerIds()).toEqual([]);
  expect(meshes[0]!.getConnectionStatus()).toBe(ConnectionStatus.CONNECTED); // a mesh peer stays usable
  net.close();
});

it('a failed addPeer leaves nothing on the connection: the same connection is added again and the link works', () => {
  const net = new VirtualNetwork({ seed: 5, defaultLink: { latencyMs: 10 } });
  const [ha, hb] = [net.createHost('a'), net.createHost('b')];
  const a = new WebRTCMultiplayerPeer({ clock: net.clock });
  const b = new WebRTCMultiplayerPeer({ clock: net.clock });
  a.createMesh(2, [TransferMode.RELIABLE]);
  b.createMesh(3, [TransferMode.RELIABLE]);
  // the engine refuses custom channel 1 (id 4): channels 1, 2 and 3 exist by then
  const engine = refusingOnce(ha.engine, '4');
  const ca = new WebRTCPeerConnection({}, { engine, autoPoll: true });
  const cb = new WebRTCPeerConnection({}, { engine: hb.engine, autoPoll: true });
  wire(ca, cb);
  const mine = ca.createDataChannel('mine', { negotiated: true, id: 50 }); // the user's own channel stays
  const theirs = cb.createDataChannel('mine', { negotiated: true, id: 50 });
  let failure: unknown;
  try {
    a.addPeer(ca, 3);
  } catch (err) {
    failure = err;
  }
  expect(engine.refused).toBe(1);
  expect(failure).toBeInstanceOf(RtcmeshError);
  expect((failure as RtcmeshError).code).toBe(ErrorCode.ENGINE_ERROR);
  expect(ca.getDataChannels()).toEqual([mine]);
  expect(a.hasPeer(3)).toBe(false);
  // the retry gets the same negotiated ids on the same connection, at once (no time passes)
  a.addPeer(ca, 3);
  b.addPeer(cb, 2);
  expect(ca.getDataChannels().map((c) => c.getId())).toEqual([50, 1, 2, 3, 4, 1000]);
  cb.createOffer();
  expect(net.runUntil(() => { a.poll(); b.poll(); return a.getPeerIds().length === 1 && b.getPeerIds().length === 1; }, { maxMs: 10_000 })).toBe(true);
  expect(mine.getReadyState()).toBe(ChannelState.OPEN);
  expect(theirs.getReadyState()).toBe(ChannelState.OPEN);
  a.targetPeer = 3;
  a.transferChannel = 1;
  a.putPacket(new Uint8Array([42]));
  const got: { from: number; channel: number; data: number[] }[] = [];
  net.runUntil(() => { a.poll(); b.poll(); let p; for (let from = b.getPacketPeer(), channel = b.getPacketChannel(); (p = b.getPacket()) !== undefined; from = b.getPacketPeer(), channel = b.getPacketChannel()) got.push({ from, channel, data: [...p] }); return got.length === 1; }, { maxMs: 5000 });
  expect(got).toEqual([{ from: 2, channel: 1, data: [42] }]);
  a.close();
  b.close();
  net.close();
});

describe('the DISCONNECTED grace period (disconnectGraceMs)', () => {
  const GRACE = 3000;
  /** Two mesh peers (2 and 3) linked on the virtual network; ICE goes DISCONNECTED 1 s into a partition and FAILED only after 60 s. */
  function graceSetup() {
    const net = new VirtualNetwork({ seed: 11, defaultLink: { latencyMs: 10 }, ice: { disconnectedAfterMs: 1000, failedAfterMs: 60_000 } });
    // heartbeat detection off: only the connection state decides
    const { a, b, ha, hb, ca, cb, poll } = meshPairOnVirtual(net, { disconnectGraceMs: GRACE, heartbeatTimeoutMs: 0 }, [net.createHost('a'), net.createHost('b')]);
    const gone: string[] = [];
    a.on('peer_disconnected', (id, reason) => gone.push(`a:${id}:${reason}`));
    b.on('peer_disconnected', (id, reason) => gone.push(`b:${id}:${reason}`));
    /** Poll both until `check()` holds (checked after every network event). */
    const run = (check: () => boolean, maxMs = 120_000) => net.runUntil(() => { poll(); return check(); }, { maxMs });
    /** Poll both until the clock reads `at`. */
    const runTo = (at: number) => run(() => net.clock.now() >= at);
    /** Cut the link; resolves at the moment both connections are DISCONNECTED. */
    const partition = () => {
      net.partition([ha], [hb]);
      expect(run(() => ca.getConnectionState() === ConnectionState.DISCONNECTED && cb.getConnectionState() === ConnectionState.DISCONNECTED)).toBe(true);
      return net.clock.now();
    };
    return { net, a, b, ca, cb, gone, run, runTo, partition };
  }

  it('a partition shorter than the grace keeps the peer, and the link carries data again', () => {
    const { net, a, b, ca, cb, gone, run, runTo, partition } = graceSetup();
    const since = partition();
    runTo(since + GRACE - 1000);
    expect(a.getPeerIds()).toEqual([3]);
    expect(b.getPeerIds()).toEqual([2]);
    net.heal();
    expect(run(() => ca.getConnectionState() === ConnectionState.CONNECTED && cb.getConnectionState() === ConnectionState.CONNECTED)).toBe(true);
    // well past the moment the grace would have run out: still there, nothing reported
    runTo(since + 2 * GRACE);
    expect(gone).toEqual([]);
    expect(a.getPeerIds()).toEqual([3]);
    expect(b.getPeerIds()).toEqual([2]);
    expect(a.getLinkStats(3)!.state).toBe('connected');
    a.targetPeer = 3;
    a.putPacket(new Uint8Array([9]));
    let got: Uint8Array | undefined;
    expect(run(() => (got = b.getPacket()) !== undefined, 10_000)).toBe(true);
    expect([...got!]).toEqual([9]);
    a.close();
    b.close();
    net.close();
  });

  it('a partition longer than the grace removes the peer with peer_disconnected on both sides', () => {
    const { net, a, b, gone, run, runTo, partition } = graceSetup();
    const since = partition();
    runTo(since + GRACE - 10);
    expect(gone).toEqual([]);
    expect(a.hasPeer(3)).toBe(true);
    expect(run(() => gone.length === 2)).toBe(true);
    expect(gone.sort()).toEqual([`a:3:disconnected for ${GRACE} ms`, `b:2:disconnected for ${GRACE} ms`]);
    expect(a.hasPeer(3)).toBe(false);
    expect(b.hasPeer(2)).toBe(false);
    expect(a.getConnectionStatus()).toBe(ConnectionStatus.CONNECTED); // a mesh peer stays usable
    a.close();
    b.close();
    net.close();
  });
});

it('on a lossy link, UNRELIABLE and UNRELIABLE_ORDERED packets are lost at about the loss rate (never retransmitted) while RELIABLE ones all arrive', () => {
  const LOSS = 0.2;
  const N = 500;
  const net = new VirtualNetwork({ seed: 21, defaultLink: { latencyMs: 10 } });
  // addPeer's default unreliableLifetime 1 ms: a lost packet is abandoned, not resent
  const { a, b, ha, hb, poll: pollBoth } = meshPairOnVirtual(net, {}, [net.createHost('a'), net.createHost('b')]);
  const got = new Map<TransferMode, number[]>([[TransferMode.UNRELIABLE, []], [TransferMode.UNRELIABLE_ORDERED, []], [TransferMode.RELIABLE, []]]);
  const poll = () => {
    pollBoth();
    let p;
    for (let mode = b.getPacketMode(); (p = b.getPacket()) !== undefined; mode = b.getPacketMode()) got.get(mode)!.push(new DataView(p.buffer, p.byteOffset).getUint16(0));
  };
  net.link(ha, hb, { forward: { loss: LOSS } }); // a → b loses packets from now on; b → a (acknowledgements) is clean
  a.targetPeer = 3;
  const packet = (k: number) => {
    const data = new Uint8Array(2);
    new DataView(data.buffer).setUint16(0, k);
    return data;
  };
  for (let k = 0; k < N; k++) {
    // one packet per mode every 20 ms, so each tick's packets travel in their own SCTP packet
    for (const mode of [TransferMode.UNRELIABLE, TransferMode.UNRELIABLE_ORDERED, TransferMode.RELIABLE]) {
      a.transferMode = mode;
      a.putPacket(packet(k));
    }
    const next = net.clock.now() + 20;
    net.runUntil(() => { poll(); return net.clock.now() >= next; });
  }
  expect(net.runUntil(() => { poll(); return got.get(TransferMode.RELIABLE)!.length === N; }, { maxMs: 30_000 })).toBe(true);
  const settle = net.clock.now() + 2000; // anything still in flight lands; nothing else may
  net.runUntil(() => { poll(); return net.clock.now() >= settle; });
  const all = [...Array(N).keys()];
  expect(got.get(TransferMode.RELIABLE)).toEqual(all);
  expect(net.directionStats(ha, hb).packetsLost).toBeGreaterThan(0);
  for (const mode of [TransferMode.UNRELIABLE, TransferMode.UNRELIABLE_ORDERED]) {
    const seen = got.get(mode)!;
    expect(new Set(seen).size).toBe(seen.length); // no duplicates
    const lost = (N - seen.length) / N;
    // 500 packets at 20 % loss: the expected 100 ± 9 lost, so well inside 12–28 %
    expect(lost).toBeGreaterThan(LOSS - 0.08);
    expect(lost).toBeLessThan(LOSS + 0.08);
  }
  const ordered = got.get(TransferMode.UNRELIABLE_ORDERED)!;
  expect(ordered).toEqual([...ordered].sort((x, y) => x - y)); // in order, with gaps
  a.close();
  b.close();
  net.close();
});
