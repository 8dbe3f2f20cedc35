/**
 * The peer layer over the virtual engine, through the behaviours the shared
 * conformance suite checks on node-datachannel: offer/answer/candidates,
 * in-band channel options, negotiated channels, text vs binary, max message
 * size, close from either side, garbage SDP and candidates. Runs once on the
 * virtual clock and once in real time.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  ChannelState,
  ConnectionState,
  ErrorCode,
  GatheringState,
  SignalingState,
  WriteMode,
  isRtcmeshError,
  type RtcmeshError,
  type WebRTCDataChannel,
  type WebRTCPeerConnection,
} from '../api.js';
import { VirtualNetwork, type VirtualHost } from '../../src/transport/virtual/index.js';
import { waitUntil } from '../helpers.js';
import { virtualPair } from './util.js';

const CANDIDATE = /^(?:a=)?candidate:\S+ \d+ (?:udp|tcp) \d+ \S+ \d+ typ (?:host|srflx|prflx|relay)/;

for (const mode of ['virtual', 'realtime'] as const) {
  describe(`peer layer on the virtual engine (${mode} clock)`, () => {
    let net: VirtualNetwork;
    let a: VirtualHost;
    let b: VirtualHost;
    const open: WebRTCPeerConnection[] = [];

    function setup(): void {
      net = new VirtualNetwork({ seed: 7, clock: mode });
      a = net.createHost('alice');
      b = net.createHost('bob');
      net.link(a, b, { latencyMs: 5 });
    }

    async function until(check: () => boolean, what: string): Promise<void> {
      if (mode === 'virtual') {
        if (!net.runUntil(check, { maxMs: 30_000 })) throw new Error(`simulated 30 s without ${what}`);
      } else await waitUntil(check, what);
    }

    function pair(config = {}): [WebRTCPeerConnection, WebRTCPeerConnection] {
      const p = virtualPair(a, b, config);
      open.push(...p);
      return p;
    }

    afterEach(() => {
      for (const pc of open.splice(0)) pc.close();
      net.close();
    });

    it('exchanges offer, answer and real-looking candidates, then connects', async () => {
      setup();
      const [pa, pb] = pair();
      const descriptions: string[] = [];
      const candidates: string[] = [];
      const signaling: SignalingState[] = [];
      pa.on('session_description_created', (type, sdp) => {
        descriptions.push(type);
        expect(sdp).toMatch(/^v=0\r\n/);
      });
      pb.on('session_description_created', (type) => descriptions.push(type));
      pa.on('ice_candidate_created', (_m, _i, c) => candidates.push(c));
      pb.on('ice_candidate_created', (_m, _i, c) => candidates.push(c));
      pa.on('signaling_state_changed', (s) => signaling.push(s));
      pa.createDataChannel('x');
      pa.createOffer();
      await until(() => pa.getConnectionState() === ConnectionState.CONNECTED && pb.getConnectionState() === ConnectionState.CONNECTED, 'connected');
      expect(descriptions).toEqual(['offer', 'answer']);
      expect(candidates.length).toBe(2);
      for (const c of candidates) expect(c).toMatch(CANDIDATE);
      expect(signaling).toEqual([SignalingState.HAVE_LOCAL_OFFER, SignalingState.STABLE]);
      expect(pa.getGatheringState()).toBe(GatheringState.COMPLETE);
      expect(pb.getSignalingState()).toBe(SignalingState.STABLE);
      const stats = pa.getStats();
      expect(stats.rttMs).toBe(10);
      expect(stats.selectedCandidatePair?.local.address).toBe(a.address);
      expect(stats.selectedCandidatePair?.remote.address).toBe(b.address);
      expect(stats.selectedCandidatePair?.local.type).toBe('host');
    });

    it('delivers in-band channels with every option intact', async () => {
      setup();
      const [pa, pb] = pair();
      const received: WebRTCDataChannel[] = [];
      pb.on('data_channel_received', (ch) => received.push(ch));
      const c1 = pa.createDataChannel('chat', { ordered: false, maxRetransmits: 3, protocol: 'p1' });
      const c2 = pa.createDataChannel('state', { maxPacketLifeTime: 250 });
      const c3 = pa.createDataChannel('');
      pa.createOffer();
      await until(() => received.length === 3 && [c1, c2, c3, ...received].every((c) => c.getReadyState() === ChannelState.OPEN), 'channels open');
      const byLabel = new Map(received.map((c) => [c.getLabel(), c]));
      const r1 = byLabel.get('chat')!;
      const r2 = byLabel.get('state')!;
      const r3 = byLabel.get('')!;
      expect([r1.isOrdered(), r1.getMaxRetransmits(), r1.getMaxPacketLifeTime(), r1.getProtocol(), r1.isNegotiated()]).toEqual([false, 3, 65535, 'p1', false]);
      expect([r2.isOrdered(), r2.getMaxRetransmits(), r2.getMaxPacketLifeTime(), r2.getProtocol()]).toEqual([true, 65535, 250, '']);
      expect(r3.isOrdered()).toBe(true);
      for (const [local, remote] of [[c1, r1], [c2, r2], [c3, r3]] as const) {
        expect(local.getId()).toBeGreaterThanOrEqual(0);
        expect(remote.getId()).toBe(local.getId());
      }
      expect(new Set([c1.getId(), c2.getId(), c3.getId()]).size).toBe(3);
    });

    it('opens negotiated channels on both sides with the same id, text and binary kept apart', async () => {
      setup();
      const [pa, pb] = pair();
      const ca = pa.createDataChannel('n', { negotiated: true, id: 7 });
      const cb = pb.createDataChannel('n', { negotiated: true, id: 7 });
      let inBand = 0;
      pb.on('data_channel_received', () => inBand++);
      pa.createOffer();
      await until(() => ca.getReadyState() === ChannelState.OPEN && cb.getReadyState() === ChannelState.OPEN, 'negotiated open');
      expect([ca.getId(), cb.getId()]).toEqual([7, 7]);
      const got: [string, boolean][] = [];
      cb.on('packet', (d, isText) => got.push([new TextDecoder().decode(d), isText]));
      ca.writeMode = WriteMode.TEXT;
      ca.putPacket(new TextEncoder().encode('héllo'));
      ca.writeMode = WriteMode.BINARY;
      ca.putPacket(new Uint8Array([0x61, 0x62]));
      await until(() => got.length === 2, 'two packets');
      expect(got).toEqual([
        ['héllo', true],
        ['ab', false],
      ]);
      expect(inBand).toBe(0);
      const back: number[] = [];
      ca.on('packet', (d) => back.push(d.length));
      cb.putPacket(new Uint8Array(1000));
      await until(() => back.length === 1, 'reply');
      expect(back).toEqual([1000]);
      expect(pa.getStats().bytesSent).toBe(8);
      expect(pa.getStats().bytesReceived).toBe(1000);
    });

    it('enforces the max message size (262144 by default, the smaller side wins)', async () => {
      setup();
      const [pa, pb] = pair();
      const ca = pa.createDataChannel('n', { negotiated: true, id: 1 });
      const cb = pb.createDataChannel('n', { negotiated: true, id: 1 });
      pa.createOffer();
      await until(() => ca.getReadyState() === ChannelState.OPEN && cb.getReadyState() === ChannelState.OPEN, 'open');
      expect(ca.getMaxPacketSize()).toBe(262144);
      expect(pa.getMaxMessageSize()).toBe(262144);
      const got: number[] = [];
      cb.on('packet', (d) => got.push(d.length));
      ca.putPacket(new Uint8Array(262144));
      let err: unknown;
      try {
        ca.putPacket(new Uint8Array(262145));
      } catch (e) {
        err = e;
      }
      expect(isRtcmeshError(err, ErrorCode.PACKET_TOO_LARGE)).toBe(true);
      await until(() => got.length === 1, 'big packet');
      expect(got).toEqual([262144]);

      const [pc, pd] = pair({ maxMessageSize: 100_000 });
      void pd;
      const cc = pc.createDataChannel('n', { negotiated: true, id: 1 });
      const cd = pd.createDataChannel('n', { negotiated: true, id: 1 });
      pc.createOffer();
      await until(() => cc.getReadyState() === ChannelState.OPEN && cd.getReadyState() === ChannelState.OPEN, 'open');
      expect(cc.getMaxPacketSize()).toBe(100_000);
      expect(() => cc.putPacket(new Uint8Array(100_001))).toThrow(/larger than the negotiated maximum/);
    });

    for (const closer of ['offerer', 'answerer'] as const) {
      it(`closing from the ${closer} drives both connections and all channels to closed`, async () => {
        setup();
        const [pa, pb] = pair();
        const received: WebRTCDataChannel[] = [];
        pb.on('data_channel_received', (ch) => received.push(ch));
        const ca = pa.createDataChannel('x');
        pa.createOffer();
        await until(() => received.length === 1 && received[0]!.getReadyState() === ChannelState.OPEN && ca.getReadyState() === ChannelState.OPEN, 'open');
        const [first, second] = closer === 'offerer' ? [pa, pb] : [pb, pa];
        first.close();
        await until(() => second.getConnectionState() === ConnectionState.CLOSED, 'remote closed');
        expect(first.getConnectionState()).toBe(ConnectionState.CLOSED);
        expect(ca.getReadyState()).toBe(ChannelState.CLOSED);
        expect(received[0]!.getReadyState()).toBe(ChannelState.CLOSED);
        expect(a.connectionCount() + b.connectionCount()).toBe(0);
      });
    }

    it('closing one channel closes its remote end and leaves the connection up', async () => {
      setup();
      const [pa, pb] = pair();
      const ca = pa.createDataChannel('n', { negotiated: true, id: 3 });
      const cb = pb.createDataChannel('n', { negotiated: true, id: 3 });
      pa.createOffer();
      await until(() => ca.getReadyState() === ChannelState.OPEN && cb.getReadyState() === ChannelState.OPEN, 'open');
      cb.close();
      await until(() => ca.getReadyState() === ChannelState.CLOSED && cb.getReadyState() === ChannelState.CLOSED, 'channel closed');
      expect(pa.getConnectionState()).toBe(ConnectionState.CONNECTED);
    });

    it('rejects garbage SDP and garbage candidates with typed errors, state intact', async () => {
      setup();
      const [pa, pb] = pair();
      const errors: RtcmeshError[] = [];
      pb.on('error', (e) => errors.push(e));
      expect(pb.setRemoteDescription('offer', 'v=0\r\nthis is not sdp\r\n')).toBe(false);
      expect(pb.setRemoteDescription('offer', 'garbage')).toBe(false);
      expect(pb.getSignalingState()).toBe(SignalingState.STABLE);
      // A well-formed-looking candidate that the engine refuses (port 0) and one the peer layer refuses.
      pa.createDataChannel('x');
      pa.createOffer();
      await until(() => pa.getConnectionState() === ConnectionState.CONNECTED, 'connected after the garbage');
      expect(pb.addIceCandidate('0', 0, 'candidate:1 1 udp 2122317823 10.9.9.9 0 typ host')).toBe(false);
      expect(pb.addIceCandidate('0', 0, 'not a candidate')).toBe(false);
      expect(errors.map((e) => e.code)).toEqual([ErrorCode.INVALID_SDP, ErrorCode.INVALID_SDP, ErrorCode.INVALID_CANDIDATE, ErrorCode.INVALID_CANDIDATE]);
      expect(pb.getConnectionState()).toBe(ConnectionState.CONNECTED);
    });
  });
}

describe('virtual engine directly', () => {
  it('throws on garbage SDP and candidates and names the problem', () => {
    const net = new VirtualNetwork();
    const h = net.createHost();
    const noop = () => {};
    const conn = h.engine.createConnection(
      { iceServers: [], iceTransportPolicy: 'all' },
      { localDescription: noop, localCandidate: noop, stateChange: noop, gatheringStateChange: noop, signalingStateChange: noop, dataChannel: noop },
    );
    expect(() => conn.addRemoteCandidate('0', 'candidate:1 1 udp 1 10.0.0.9 5000 typ host')).toThrow(/without remote description/);
    expect(() => conn.setRemoteDescription('offer', 'v=0\r\ns=-\r\n')).toThrow(/no ICE user fragment/);
    expect(() => conn.setRemoteDescription('answer', 'v=0\r\n')).toThrow(/Unexpected remote answer/);
    conn.close();
    conn.close();
    expect(h.connectionCount()).toBe(0);
    net.close();
  });
});

describe('virtual engine ICE policy', () => {
  it('relay-only policy gathers no candidate (no TURN on the virtual network) and reports NO_CANDIDATES', () => {
    const net = new VirtualNetwork();
    const a = net.createHost();
    const b = net.createHost();
    const [pa] = virtualPair(a, b, { iceTransportPolicy: 'relay', iceServers: [{ urls: 'turn:turn.invalid:3478', username: 'u', credential: 'p' }] });
    const codes: string[] = [];
    let candidates = 0;
    pa.on('error', (e) => codes.push(e.code));
    pa.on('ice_candidate_created', () => candidates++);
    pa.createDataChannel('x');
    pa.createOffer();
    net.advance(100);
    expect(candidates).toBe(0);
    expect(pa.getGatheringState()).toBe(GatheringState.COMPLETE);
    expect(codes).toEqual([ErrorCode.NO_CANDIDATES]);
    net.close();
  });
});
