/**
 * The second half of the peer conformance suite (see conformance.ts, which
 * runs it inside the same describe): garbage SDP and candidates, option and
 * config validation, malformed packets, the bounded inbound queue, stats,
 * re-initialising and throwing listeners.
 */
import { expect, it } from 'vitest';
import { ChannelState, ConnectionState, ErrorCode, RtcmeshError, SignalingState, type PeerConnectionConfig } from '../api.js';
import { opened, reachState, waitForEvent, waitUntil } from '../helpers.js';
import type { ConformanceEnv, ConformanceFixture } from './conformance-fixture.js';

/** The peer layer's own candidate syntax check (src/peer/peer-connection.ts). */
const CANDIDATE_SYNTAX = /^(?:a=)?candidate:\S+ \d+ (?:udp|tcp) \d+ \S+ \d+ typ (?:host|srflx|prflx|relay)(?: .*)?$/i;

/** Registers the tests in the current describe(), on connections from the fixture. */
export function definePeerErrorConformance(env: ConformanceEnv, { make, pair }: ConformanceFixture): void {
  it('reports garbage SDP and garbage candidates as errors, leaving state intact', async () => {
    const [a, b] = pair();
    const errors: RtcmeshError[] = [];
    b.on('error', (e) => errors.push(e));
    expect(b.setRemoteDescription('offer', 'this is not sdp')).toBe(false);
    expect(b.setRemoteDescription('offer', 'v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=garbage\r\n')).toBe(false);
    expect(b.setRemoteDescription('answer', 'v=0\r\n')).toBe(false);
    expect(b.addIceCandidate('0', 0, 'candidate:garbage')).toBe(false);
    expect(b.getConnectionState()).toBe(ConnectionState.NEW);
    expect(b.getSignalingState()).toBe(SignalingState.STABLE);
    await waitUntil(() => errors.length >= 4, 'error events');
    expect(errors.map((e) => e.code)).toEqual([ErrorCode.INVALID_SDP, ErrorCode.INVALID_SDP, ErrorCode.INVALID_SDP, ErrorCode.INVALID_CANDIDATE]);
    // The connection still works afterwards.
    const ch = a.createDataChannel('after');
    a.createOffer();
    await opened(ch);
    // a channel's open and the connection's state change are separate engine callbacks
    await reachState(a, ConnectionState.CONNECTED);
    await reachState(b, ConnectionState.CONNECTED);
    // A candidate that looks right to the peer layer but that the engine
    // refuses, after the remote description: applied at once, so the
    // engine's refusal is reported (not held for later).
    expect(CANDIDATE_SYNTAX.test(env.refusedCandidate)).toBe(true);
    const before = b.getStats().candidateErrors;
    const refused = waitForEvent<[RtcmeshError]>(b, 'error');
    expect(b.addIceCandidate('0', 0, env.refusedCandidate)).toBe(false);
    const [err] = await refused;
    expect(err).toBeInstanceOf(RtcmeshError);
    expect(err.code).toBe(ErrorCode.INVALID_CANDIDATE);
    expect(err.message).toMatch(/candidate rejected/);
    expect(b.getStats().candidateErrors).toBe(before + 1);
    expect(b.getConnectionState()).toBe(ConnectionState.CONNECTED);
    expect(() => b.setRemoteDescription('bogus' as 'offer', 'v=0')).toThrowError(RtcmeshError);
  });

  it('validates channel options with errors that name the option', () => {
    const a = make();
    const code = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        expect(e).toBeInstanceOf(RtcmeshError);
        return `${(e as RtcmeshError).code}: ${(e as RtcmeshError).message}`;
      }
      return 'no error';
    };
    expect(code(() => a.createDataChannel('x', { maxRetransmits: 1, maxPacketLifeTime: 1 }))).toMatch(/maxPacketLifeTime and maxRetransmits/);
    expect(code(() => a.createDataChannel('x', { negotiated: true }))).toMatch(/^INVALID_ARGUMENT: id must be set/);
    expect(code(() => a.createDataChannel('x', { negotiated: true, id: 65535 }))).toMatch(/id must be an integer from 0 to 65534/);
    expect(code(() => a.createDataChannel('x', { id: 3 }))).toMatch(/id must be left unset unless negotiated/);
    expect(code(() => a.createDataChannel('x', { Ordered: false } as never))).toMatch(/^UNKNOWN_OPTION: .*"Ordered"/);
    expect(code(() => a.createDataChannel('x', { ordered: 'no' } as never))).toMatch(/ordered must be true or false/);
    expect(code(() => a.createDataChannel('x', { maxRetransmits: -1 }))).toMatch(/maxRetransmits must be an integer/);
    expect(code(() => a.createDataChannel(42 as never))).toMatch(/label must be a string/);
    expect(code(() => a.createOffer())).toMatch(/^INVALID_STATE: .*at least one data channel/);
    a.createDataChannel('ok', { negotiated: true, id: 4 });
    expect(code(() => a.createDataChannel('dup', { negotiated: true, id: 4 }))).toMatch(/id 4 already exists/);
    a.createOffer();
    expect(code(() => a.createDataChannel('late'))).toMatch(/^INVALID_STATE: createDataChannel\(\) is only allowed in state NEW/);
    expect(code(() => a.createOffer())).toMatch(/^INVALID_STATE/);
  });

  it('validates the connection config and ICE servers', () => {
    const bad: [unknown, RegExp][] = [
      [{ iceServers: 'stun:x' }, /iceServers must be an array/],
      [{ iceServers: [{ urls: 'http://x' }] }, /iceServers\[0\]\.urls must be a URL/],
      [{ iceServers: [{ urls: [] }] }, /non-empty array/],
      [{ iceServers: [{ urls: 'turn:127.0.0.1:3478' }] }, /needs both username and credential/],
      [{ iceServers: [{ urls: 'stun:127.0.0.1:3478?transport=udp' }] }, /without "\?transport"/],
      [{ iceServers: [{ urls: 'stun:127.0.0.1:99999' }] }, /port must be an integer from 1 to 65535/],
      [{ iceServers: [{ url: 'stun:x' }] }, /unknown option "url"/],
      [{ portRange: { min: 5000, max: 4000 } }, /portRange\.max/],
      [{ iceTransportPolicy: 'none' }, /iceTransportPolicy must be one of/],
      [{ bindAdress: '127.0.0.1' }, /unknown option "bindAdress"/],
    ];
    for (const [config, message] of bad) {
      expect(() => make(config as PeerConnectionConfig)).toThrowError(message);
    }
    const ok = make({
      ...env.config,
      iceServers: [
        { urls: ['stun:127.0.0.1:3478', 'stun:[::1]'] },
        { urls: 'turn:127.0.0.1:3478?transport=tcp', username: 'u', credential: 'p' },
      ],
    });
    expect(ok.getConnectionState()).toBe(ConnectionState.NEW);
  });

  it('round-trips values with putVar/getVar and drops malformed packets with an event', async () => {
    const [a, b] = pair();
    const ca = a.createDataChannel('v', { negotiated: true, id: 5 });
    const cb = b.createDataChannel('v', { negotiated: true, id: 5 });
    a.createOffer();
    await Promise.all([opened(ca), opened(cb)]);
    const value = { pos: [1.5, -2, 3], name: 'ship', hp: 100, tags: ['a', 'b'], raw: new Uint8Array([1, 2]), nil: null };
    ca.putPacket(new Uint8Array([0xc1])); // 0xc1 is never valid msgpack
    ca.putPacket(new Uint8Array([0x92, 0x01])); // truncated array
    ca.putVar(value);
    await waitUntil(() => cb.getAvailablePacketCount() === 3, 'three packets');
    const malformed: RtcmeshError[] = [];
    cb.on('malformed_packet', (e) => malformed.push(e));
    const { raw, ...rest } = cb.getVar() as typeof value;
    const { raw: sentRaw, ...sentRest } = value;
    expect(rest).toEqual(sentRest);
    expect(raw).toBeInstanceOf(Uint8Array);
    expect([...raw]).toEqual([...sentRaw]);
    expect(malformed).toHaveLength(2);
    expect(malformed[0]!.code).toBe(ErrorCode.MALFORMED_DATA);
    expect(cb.getStats().packetsMalformed).toBe(2);
    expect(cb.getVar()).toBeUndefined();
  });

  it('bounds the inbound queue and counts what it drops', async () => {
    const [a, b] = pair({ ...env.config, inboundQueue: { maxPackets: 10 } });
    const ca = a.createDataChannel('q', { negotiated: true, id: 6 });
    const cb = b.createDataChannel('q', { negotiated: true, id: 6 });
    a.createOffer();
    await Promise.all([opened(ca), opened(cb)]);
    for (let i = 0; i < 50; i++) ca.putPacket(new Uint8Array([i]));
    await waitUntil(() => cb.getStats().packetsReceived === 50, 'all 50 packets to arrive');
    const stats = cb.getStats();
    expect(stats.packetsQueued).toBe(10);
    expect(stats.packetsDropped).toBe(40);
    expect(b.getStats().channels.find((c) => c.label === 'q')!.packetsDropped).toBe(40);
    expect([...cb.getPacket()!]).toEqual([0]);
  });

  it('reports stats consistent with the traffic sent', async () => {
    const [a, b] = pair();
    const ca = a.createDataChannel('s', { negotiated: true, id: 8 });
    const cb = b.createDataChannel('s', { negotiated: true, id: 8 });
    a.createOffer();
    await Promise.all([opened(ca), opened(cb)]);
    for (let i = 0; i < 20; i++) ca.putPacket(new Uint8Array(1000));
    await waitUntil(() => cb.getAvailablePacketCount() === 20, '20 packets');
    await reachState(a, ConnectionState.CONNECTED);
    const sa = a.getStats();
    const ch = sa.channels.find((c) => c.label === 's')!;
    expect(ch.packetsSent).toBe(20);
    expect(ch.bytesSent).toBe(20_000);
    expect(cb.getStats().bytesReceived).toBe(20_000);
    expect(sa.bytesSent).toBeGreaterThanOrEqual(20_000);
    expect(sa.connectionState).toBe(ConnectionState.CONNECTED);
    expect(sa.selectedCandidatePair).not.toBeNull();
    expect(['host', 'prflx', 'srflx', 'relay']).toContain(sa.selectedCandidatePair!.local.type);
    expect(b.getStats().channels[0]!.packetsQueued).toBe(20);
  });

  it('re-initialising closes the old connection and returns to NEW', async () => {
    const [a, b] = pair();
    const ca = a.createDataChannel('r', { negotiated: true, id: 9 });
    b.createDataChannel('r', { negotiated: true, id: 9 });
    a.createOffer();
    await opened(ca);
    a.initialize(env.config);
    expect(a.getConnectionState()).toBe(ConnectionState.NEW);
    expect(ca.getReadyState()).toBe(ChannelState.CLOSED);
    await reachState(b, ConnectionState.CLOSED);
    expect(a.getDataChannels()).toHaveLength(0);
    // the same negotiated id is free again on the fresh connection
    const again = a.createDataChannel('r', { negotiated: true, id: 9 });
    expect(a.getDataChannels()).toEqual([again]);
  });

  it('keeps throwing listener errors out of the engine (the process survives)', async () => {
    const [a, b] = pair();
    const ca = a.createDataChannel('t', { negotiated: true, id: 10 });
    const cb = b.createDataChannel('t', { negotiated: true, id: 10 });
    a.createOffer();
    await Promise.all([opened(ca), opened(cb)]);
    const boom = new Error('listener bug');
    const uncaught = new Promise<unknown>((resolve) => process.once('uncaughtException', resolve));
    cb.once('packet', () => {
      throw boom;
    });
    ca.putPacket(new Uint8Array([1]));
    expect(await uncaught).toBe(boom);
    const next = waitForEvent<[Uint8Array]>(cb, 'packet');
    ca.putPacket(new Uint8Array([2]));
    expect([...(await next)[0]]).toEqual([2]);
  });
}
