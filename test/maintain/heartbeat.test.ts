import { afterEach, describe, expect, it } from 'vitest';
import { ChannelState, ErrorCode, RtcmeshError, TransferMode, WebRTCMultiplayerPeer, type WebRTCDataChannel } from '../api.js';
import { waitUntil } from '../helpers.js';
import { link, pollUntil } from '../mesh/mesh-helpers.js';
import { FAST, ManualClock, healthMesh, numberOf, numbered, ticker } from './helpers.js';
import { killHard, spawnMember } from './process-mesh.js';
import { varintLength } from '../../src/mesh/health/varint.js';
import { FrameType, encodeFrame } from '../../src/mesh/health/control.js';

/** Allowance on top of heartbeatTimeoutMs for a loaded test machine (scheduling, not the mechanism). */
const DETECTION_MARGIN_MS = 2000;

const live: WebRTCMultiplayerPeer[] = [];
const stops: (() => void)[] = [];
afterEach(() => {
  for (const s of stops.splice(0)) s();
  for (const m of live.splice(0)) m.close();
});
function tick(): ReturnType<typeof ticker> {
  const t = ticker([]);
  stops.push(t.stop);
  return t;
}

function controlOf(m: WebRTCMultiplayerPeer, peer: number): WebRTCDataChannel {
  return m.getPeer(peer)!.connection.getDataChannels().find((c) => c.getId() === 1000)!;
}

describe('heartbeats and dead-link detection', () => {
  it('kill -9 of one process of a 4-peer mesh: the other three report peer_disconnected (heartbeat timeout) and keep exchanging data', async () => {
    const t = tick();
    const options = { heartbeatIntervalMs: 100, heartbeatTimeoutMs: 1000 };
    const meshes = await healthMesh([2, 3, 4], options, t);
    live.push(...meshes);
    const child = await spawnMember(meshes, 5, options);
    stops.push(() => child.kill('SIGKILL'));
    await waitUntil(() => meshes.every((m) => m.getPeerIds().length === 3), 'every survivor to see peer 5', 15_000);
    const gone: { id: number; reason: string | undefined; afterKillMs: number }[][] = meshes.map(() => []);
    let killedAt = 0;
    meshes.forEach((m, i) => m.on('peer_disconnected', (id, reason) => gone[i]!.push({ id, reason, afterKillMs: performance.now() - killedAt })));
    killedAt = performance.now();
    await killHard(child);
    await waitUntil(() => gone.every((g) => g.length === 1), 'every survivor to report peer 5 gone', 10_000);
    for (const g of gone) {
      expect(g[0]!.id).toBe(5);
      expect(g[0]!.reason).toMatch(/heartbeat timeout/);
      // Detected within the configured time. The 2000 ms margin is for this
      // shared 2-core machine only: the survivors are polled by a 2 ms
      // ticker that other test processes can starve, and SIGKILL delivery is
      // not instant; the mechanism itself reports within heartbeatTimeoutMs.
      expect(g[0]!.afterKillMs).toBeLessThanOrEqual(options.heartbeatTimeoutMs + DETECTION_MARGIN_MS);
    }
    for (const m of meshes) {
      expect(m.getPeerIds().sort()).toEqual(m.getUniqueId() === 2 ? [3, 4] : m.getUniqueId() === 3 ? [2, 4] : [2, 3]);
      m.targetPeer = 0;
      m.putPacket(new Uint8Array([m.getUniqueId()]));
    }
    const got = meshes.map(() => [] as number[]);
    await waitUntil(() => {
      meshes.forEach((m, i) => {
        let p;
        while ((p = m.getPacket()) !== undefined) got[i]!.push(p[0]!);
      });
      return got.every((g) => g.length === 2);
    }, 'the survivors to exchange packets');
    expect(got.map((g) => g.sort())).toEqual([[3, 4], [2, 4], [2, 3]]);
  });

  it('a peer that stops answering is removed after heartbeatTimeoutMs of its clock (manual clock)', async () => {
    const clock = new ManualClock();
    const a = new WebRTCMultiplayerPeer({ clock, heartbeatIntervalMs: 100, heartbeatTimeoutMs: 500 });
    const b = new WebRTCMultiplayerPeer({ heartbeatIntervalMs: 100, heartbeatTimeoutMs: 500 });
    live.push(a, b);
    a.createMesh(2);
    b.createMesh(3);
    link(a, b);
    await pollUntil([a, b], () => a.getPeerIds().length === 1 && b.getPeerIds().length === 1, 'the link');
    const events: string[] = [];
    a.on('peer_disconnected', (id, reason) => events.push(`${id}:${reason}`));
    // b answers while polled
    clock.t += 400;
    await pollUntil([a, b], () => a.getLinkStats(3)!.heartbeatsReceived > 0 && a.getLinkStats(3)!.rttMs >= 0, 'a first RTT sample');
    expect(events).toEqual([]);
    // now b is silent (not polled): lost after 500 − min(100, 500/10) = 450 ms of silence, so reported within 500 ms
    const heard = clock.t - a.getLinkStats(3)!.sinceHeardMs;
    clock.t = heard + 449;
    a.poll();
    expect(a.getPeerIds()).toEqual([3]);
    clock.t = heard + 450;
    a.poll();
    expect(events).toEqual(['3:heartbeat timeout: nothing heard for 450 ms']);
    expect(a.hasPeer(3)).toBe(false);
  });

  it('measures heartbeat RTT and jitter, reports the candidate pair, history and consistent byte counters', async () => {
    const t = tick();
    const [a, b] = (await healthMesh([2, 3], { ...FAST }, t)) as [WebRTCMultiplayerPeer, WebRTCMultiplayerPeer];
    live.push(a, b);
    a.targetPeer = 3;
    let userBytes = 0;
    let headerBytes = 0;
    const N = 300;
    for (let i = 0; i < N; i++) {
      const size = 1 + (i % 50) * 20;
      a.putPacket(new Uint8Array(size).fill(i & 0xff));
      userBytes += size;
      headerBytes += varintLength(i + 1);
    }
    a.transferMode = TransferMode.UNRELIABLE_ORDERED;
    a.putPacket(new Uint8Array(7));
    let received = 0;
    let receivedBytes = 0;
    await waitUntil(() => {
      let p;
      while ((p = b.getPacket()) !== undefined) {
        received++;
        receivedBytes += p.length;
      }
      return received === N + 1 && a.getLinkStats(3)!.heartbeatsReceived >= 3 && a.getLinkStats(3)!.channels[0]!.replayBuffered === 0;
    }, 'every packet, a few heartbeats and the acks');
    const sa = a.getLinkStats(3)!;
    const sb = b.getLinkStats(2)!;
    expect(sa.state).toBe('connected');
    expect(sa.rttMs).toBeGreaterThanOrEqual(0);
    expect(sa.heartbeatRttMs).toBeGreaterThanOrEqual(0);
    expect(sa.jitterMs).toBeGreaterThanOrEqual(0);
    expect(sa.loss).toBeGreaterThanOrEqual(0);
    expect(sa.loss).toBeLessThanOrEqual(1);
    expect(sa.candidatePair?.local.address).toBe('127.0.0.1');
    expect(sa.candidatePair?.local.type).toBe('host');
    expect(sa.candidatePair?.remote.type).toBe('host');
    const linkChanges = sa.history.filter((h) => h.connection === undefined);
    expect(linkChanges.map((h) => h.state)).toEqual(['connecting', 'connected']);
    // the engine connection's own changes are recorded too, in time order, before the link counted as connected
    const engineChanges = sa.history.filter((h) => h.connection !== undefined);
    expect(engineChanges.at(-1)).toMatchObject({ state: 'connecting', connection: 'connected' });
    for (let i = 1; i < sa.history.length; i++) expect(sa.history[i]!.at).toBeGreaterThanOrEqual(sa.history[i - 1]!.at);
    // application counters: exactly what was sent and received
    expect(sa.channels[0]).toMatchObject({ packetsSent: N, bytesSent: userBytes, session: true, replayed: 0 });
    expect(sa.channels[1]).toMatchObject({ packetsSent: 1, bytesSent: 7, session: false });
    expect(sb.channels[0]).toMatchObject({ packetsReceived: N, bytesReceived: userBytes, duplicatesDropped: 0, gaps: 0 });
    expect(sb.bytesReceived).toBe(receivedBytes);
    expect(sa.bytesSent).toBe(userBytes + 7);
    // the wire carries exactly the session headers on top of the reliable payload
    const raw = a.getPeer(3)!.channels[0]!.getStats();
    expect(raw.bytesSent - userBytes).toBe(headerBytes);
    // engine payload counters agree with the sum of every channel's (control included), within 1 %
    const engineSum = a.getPeer(3)!.connection.getStats().channels.reduce((n, c) => n + c.bytesSent, 0);
    expect(Math.abs(sa.engineBytesSent - engineSum)).toBeLessThanOrEqual(Math.max(64, engineSum * 0.01));
    // the same on the receiving side: engine bytes received against every channel's, and the reliable payload plus headers
    const receivedSum = b.getPeer(2)!.connection.getStats().channels.reduce((n, c) => n + c.bytesReceived, 0);
    expect(sb.engineBytesReceived).toBeGreaterThanOrEqual(userBytes + headerBytes + 7);
    expect(Math.abs(sb.engineBytesReceived - receivedSum)).toBeLessThanOrEqual(Math.max(64, receivedSum * 0.01));
    expect(b.getPeer(2)!.channels[0]!.getStats().bytesReceived - userBytes).toBe(headerBytes);
    // the periodic stats event
    const snapshot = await new Promise<import('../api.js').MeshStats>((resolve) => a.once('stats', resolve));
    expect(snapshot.id).toBe(2);
    expect(snapshot.links.map((l) => l.peerId)).toEqual([3]);
    expect(snapshot.peersConnected).toBe(1);
  });

  it('drops and counts garbage on the control channel and malformed session headers, never throwing', async () => {
    const t = tick();
    const [a, b] = (await healthMesh([2, 3], { ...FAST }, t)) as [WebRTCMultiplayerPeer, WebRTCMultiplayerPeer];
    live.push(a, b);
    const errors: unknown[] = [];
    a.on('peer_disconnected', (id) => errors.push(id));
    const control = controlOf(b, 2);
    expect(control.getReadyState()).toBe(ChannelState.OPEN);
    // undecodable frames, an ack for a channel that does not exist, an ack of packets never sent, a PONG echoing a time in the future,
    // a frame with another epoch on the same connection
    await waitUntil(() => a.getLinkStats(3)!.remoteEpoch !== 0, "b's first control frame");
    const { sessionEpoch: epochA, remoteEpoch: epochB } = a.getLinkStats(3)!;
    expect(epochB).toBe(b.getLinkStats(2)!.sessionEpoch);
    const epochs = { epoch: epochB, ackEpoch: epochA };
    const forged = [
      [],
      [9, 9, 9],
      [1, 0, 0],
      [3, 5],
      [...encodeFrame({ type: FrameType.ACK, ...epochs, acks: [[200, 1]] })],
      [...encodeFrame({ type: FrameType.ACK, ...epochs, acks: [[0, 0x7f]] })],
      [...encodeFrame({ type: FrameType.PONG, ...epochs, seq: 1, time: 1e15, acks: [] })],
      [...encodeFrame({ type: FrameType.PING, epoch: (epochB + 1) >>> 0 || 1, ackEpoch: epochA, seq: 1, time: 1, acks: [] })],
    ];
    for (const junk of forged) control.putPacket(new Uint8Array(junk));
    const reliable = b.getPeer(2)!.channels[0]!;
    reliable.putPacket(new Uint8Array([0x80])); // truncated varint
    reliable.putPacket(new Uint8Array([0x00, 1])); // sequence 0
    await waitUntil(() => a.getLinkStats(3)!.controlMalformed === forged.length && a.getLinkStats(3)!.sessionMalformed === 2, 'the garbage to be counted');
    b.targetPeer = 2;
    b.putPacket(new Uint8Array([42]));
    let got: Uint8Array | undefined;
    await waitUntil(() => (got ??= a.getPacket()) !== undefined, 'a good packet after the garbage');
    expect([...got!]).toEqual([42]);
    expect(errors).toEqual([]);
    expect(a.getPeerIds()).toEqual([3]);
  });

  it('keeps the control channel out of PeerInfo.channels and counts a peer connected only with it open', async () => {
    const t = tick();
    const [a, b] = (await healthMesh([2, 3], { ...FAST }, t)) as [WebRTCMultiplayerPeer, WebRTCMultiplayerPeer];
    live.push(a, b);
    const info = a.getPeer(3)!;
    expect(info.channels.map((c) => c.getId())).toEqual([1, 2, 3]);
    expect(info.state).toBe('connected');
    const control = controlOf(a, 3);
    expect(control.getLabel()).toBe('rtcmesh-control');
    expect(control.isOrdered()).toBe(false);
    expect(control.getMaxRetransmits()).toBe(0);
  });

  it('with session: false reliable packets go out raw (no header), and the replay buffer stays empty', async () => {
    const t = tick();
    const [a, b] = (await healthMesh([2, 3], { ...FAST, session: false }, t)) as [WebRTCMultiplayerPeer, WebRTCMultiplayerPeer];
    live.push(a, b);
    a.targetPeer = 3;
    a.putPacket(new Uint8Array([1, 2, 3]));
    let got: Uint8Array | undefined;
    await waitUntil(() => (got ??= b.getPacket()) !== undefined, 'the packet');
    expect([...got!]).toEqual([1, 2, 3]);
    expect(a.getPeer(3)!.channels[0]!.getStats().bytesSent).toBe(3);
    expect(a.getLinkStats(3)!.channels[0]).toMatchObject({ session: false, replayBuffered: 0, bytesSent: 3 });
    expect(a.getMaxPacketSize()).toBe(a.getPeer(3)!.channels[0]!.getMaxPacketSize());
  });

  it('refuses a reliable packet that does not fit with its header, without using up a sequence number', async () => {
    const t = tick();
    const [a, b] = (await healthMesh([2, 3], { ...FAST }, t)) as [WebRTCMultiplayerPeer, WebRTCMultiplayerPeer];
    live.push(a, b);
    a.targetPeer = 3;
    const max = a.getMaxPacketSize();
    expect(() => a.putPacket(new Uint8Array(a.getPeer(3)!.channels[0]!.getMaxPacketSize()))).toThrow(expect.objectContaining({ code: ErrorCode.PACKET_TOO_LARGE }));
    a.putPacket(new Uint8Array(max));
    let got: Uint8Array | undefined;
    await waitUntil(() => (got ??= b.getPacket()) !== undefined, 'the largest packet');
    expect(got!.length).toBe(max);
    expect(b.getLinkStats(2)!.channels[0]!.gaps).toBe(0);
  });

  it('replay_overflow: emitted when the replay buffer overflows; buffering resumes once the backlog is acknowledged', async () => {
    const t = tick();
    const [a, b] = (await healthMesh([2, 3], { ...FAST, replayBufferPackets: 8 }, t)) as [WebRTCMultiplayerPeer, WebRTCMultiplayerPeer];
    live.push(a, b);
    const overflows: [number, number][] = [];
    a.on('replay_overflow', (id, channel) => overflows.push([id, channel]));
    a.targetPeer = 3;
    let sent = 0;
    const send = (n: number) => {
      for (let i = 0; i < n; i++) a.putPacket(numbered(sent++));
    };
    const got: number[] = [];
    const take = () => {
      let p;
      while ((p = b.getPacket()) !== undefined) got.push(numberOf(p));
      return got.length;
    };
    send(20); // synchronously: no ack can come back in between, so the 9th overflows the buffer of 8
    expect(overflows).toEqual([[3, 0]]);
    expect(a.getLinkStats(3)!.channels[0]).toMatchObject({ replayBuffered: 0, replayOverflowed: true, replayOverflows: 1 });
    await waitUntil(() => take() === 20 && !a.getLinkStats(3)!.channels[0]!.replayOverflowed, 'the backlog to be delivered and acknowledged');
    send(5);
    expect(a.getLinkStats(3)!.channels[0]!.replayBuffered).toBe(5); // held for replay again
    expect(overflows).toHaveLength(1);
    send(10); // 15 unacknowledged > 8: overflows again, and says so again
    expect(overflows).toEqual([
      [3, 0],
      [3, 0],
    ]);
    await waitUntil(() => take() === 35 && !a.getLinkStats(3)!.channels[0]!.replayOverflowed, 'the rest');
    expect(got).toEqual([...Array(35).keys()]); // the link never broke: nothing lost
    expect(b.getLinkStats(2)!.channels[0]!.gaps).toBe(0);
  });

  it('validates the health options', () => {
    const code = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        expect(e).toBeInstanceOf(RtcmeshError);
        return (e as RtcmeshError).code;
      }
      return 'no error';
    };
    expect(code(() => new WebRTCMultiplayerPeer({ heartbeatIntervalMs: 0 }))).toBe(ErrorCode.INVALID_ARGUMENT);
    expect(code(() => new WebRTCMultiplayerPeer({ heartbeatIntervalMs: 1000, heartbeatTimeoutMs: 1000 }))).toBe(ErrorCode.INVALID_ARGUMENT);
    expect(code(() => new WebRTCMultiplayerPeer({ session: 'yes' as never }))).toBe(ErrorCode.INVALID_ARGUMENT);
    expect(code(() => new WebRTCMultiplayerPeer({ replayBufferPackets: 0 }))).toBe(ErrorCode.INVALID_ARGUMENT);
    expect(code(() => new WebRTCMultiplayerPeer({ reconnect: { maxAttempts: 0 } }))).toBe(ErrorCode.INVALID_ARGUMENT);
    expect(code(() => new WebRTCMultiplayerPeer({ reconnect: { tries: 3 } as never }))).toBe(ErrorCode.UNKNOWN_OPTION);
    expect(code(() => new WebRTCMultiplayerPeer({ heartbeatTimeoutMs: 0 }))).toBe('no error');
    expect(numbered(7)).toHaveLength(4);
  });
});
