/**
 * The peer-layer conformance suite: every engine must pass it. Each engine's
 * test file calls {@link definePeerConformance} with a factory.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  ChannelState,
  ConnectionState,
  ErrorCode,
  GatheringState,
  RtcmeshError,
  SignalingState,
  WebRTCPeerConnection,
  WriteMode,
  type Engine,
  type PeerConnectionConfig,
  type WebRTCDataChannel,
} from '../api.js';
import { opened, reachState, waitForEvent, waitUntil, wire } from '../helpers.js';

/** The peer layer's own candidate syntax check (src/peer/peer-connection.ts). */
const CANDIDATE_SYNTAX = /^(?:a=)?candidate:\S+ \d+ (?:udp|tcp) \d+ \S+ \d+ typ (?:host|srflx|prflx|relay)(?: .*)?$/i;

/** What an engine's test file provides. */
export interface ConformanceEnv {
  engine: () => Engine;
  config: PeerConnectionConfig;
  /**
   * A candidate that passes the peer layer's syntax check but that this
   * engine refuses once the remote description is set. Engines differ in what
   * they check (libdatachannel parses the priority as 32 bits; the virtual
   * engine checks the port), so each engine names its own.
   */
  refusedCandidate: string;
}

export function definePeerConformance(name: string, env: ConformanceEnv): void {
  describe(`peer conformance: ${name}`, () => {
    const open: WebRTCPeerConnection[] = [];
    const make = (config: PeerConnectionConfig = env.config, autoPoll = true) => {
      const pc = new WebRTCPeerConnection(config, { engine: env.engine(), autoPoll });
      open.push(pc);
      return pc;
    };
    const pair = (config?: PeerConnectionConfig) => {
      const a = make(config);
      const b = make(config);
      wire(a, b);
      return [a, b] as const;
    };
    afterEach(() => {
      for (const pc of open.splice(0)) pc.close();
    });

    async function receivedChannel(pc: WebRTCPeerConnection): Promise<WebRTCDataChannel> {
      const [ch] = await waitForEvent<[WebRTCDataChannel]>(pc, 'data_channel_received');
      return ch;
    }

    it('negotiates offer, answer and candidates and reaches CONNECTED on both sides', async () => {
      const [a, b] = pair();
      expect(a.getConnectionState()).toBe(ConnectionState.NEW);
      expect(a.getSignalingState()).toBe(SignalingState.STABLE);
      const types: string[] = [];
      a.on('session_description_created', (t) => types.push(`a:${t}`));
      b.on('session_description_created', (t) => types.push(`b:${t}`));
      let candidates = 0;
      a.on('ice_candidate_created', (_mid, index, c) => {
        candidates++;
        expect(index).toBeGreaterThanOrEqual(0);
        expect(c).toMatch(/candidate:/);
      });
      const gathering: Record<'a' | 'b', GatheringState[]> = { a: [], b: [] };
      const signaling: Record<'a' | 'b', SignalingState[]> = { a: [], b: [] };
      for (const [side, pc] of [['a', a], ['b', b]] as const) {
        pc.on('gathering_state_changed', (s) => gathering[side].push(s));
        pc.on('signaling_state_changed', (s) => signaling[side].push(s));
      }
      const ch = a.createDataChannel('x');
      a.createOffer();
      await opened(ch);
      await reachState(a, ConnectionState.CONNECTED);
      await reachState(b, ConnectionState.CONNECTED);
      expect(types).toEqual(['a:offer', 'b:answer']);
      expect(candidates).toBeGreaterThan(0);
      expect(a.getSignalingState()).toBe(SignalingState.STABLE);
      // Gathering may finish after the connection is up.
      await waitUntil(() => gathering.a.includes(GatheringState.COMPLETE) && gathering.b.includes(GatheringState.COMPLETE), 'gathering to complete');
      expect(gathering.a).toEqual([GatheringState.GATHERING, GatheringState.COMPLETE]);
      expect(gathering.b).toEqual([GatheringState.GATHERING, GatheringState.COMPLETE]);
      expect(a.getGatheringState()).toBe(GatheringState.COMPLETE);
      expect(signaling.a).toEqual([SignalingState.HAVE_LOCAL_OFFER, SignalingState.STABLE]);
      expect(signaling.b).toEqual([SignalingState.HAVE_REMOTE_OFFER, SignalingState.STABLE]);
    });

    it('negotiates maxMessageSize: each side announces its own, the smaller one applies on both', async () => {
      const trial = async (sizeA: number | undefined, sizeB: number | undefined) => {
        const a = make({ ...env.config, ...(sizeA !== undefined && { maxMessageSize: sizeA }) });
        const b = make({ ...env.config, ...(sizeB !== undefined && { maxMessageSize: sizeB }) });
        wire(a, b);
        const ca = a.createDataChannel('m', { negotiated: true, id: 0 });
        const cb = b.createDataChannel('m', { negotiated: true, id: 0 });
        a.createOffer();
        await Promise.all([opened(ca), opened(cb)]);
        const sizes = [ca.getMaxPacketSize(), cb.getMaxPacketSize(), a.getMaxMessageSize(), b.getMaxMessageSize()];
        return { ca, cb, sizes };
      };
      const DEFAULT = 262144;
      // Only A lowers it: B, which kept the default, is held to A's limit too.
      const low = await trial(100_000, undefined);
      expect(low.sizes).toEqual([100_000, 100_000, 100_000, 100_000]);
      let err: unknown;
      try {
        low.cb.putPacket(new Uint8Array(100_001));
      } catch (e) {
        err = e;
      }
      expect((err as RtcmeshError).code).toBe(ErrorCode.PACKET_TOO_LARGE);
      // Only A raises it: B's default still applies.
      expect((await trial(500_000, undefined)).sizes).toEqual([DEFAULT, DEFAULT, DEFAULT, DEFAULT]);
      // Both raise it: a packet above the default goes through.
      const high = await trial(500_000, 500_000);
      expect(high.sizes).toEqual([500_000, 500_000, 500_000, 500_000]);
      const got = waitForEvent<[Uint8Array]>(high.cb, 'packet');
      high.ca.putPacket(new Uint8Array(300_000).fill(7));
      expect((await got)[0].length).toBe(300_000);
    });

    it('setLocalDescription() accepts the emitted description and throws INVALID_ARGUMENT for any other', async () => {
      const a = make();
      a.createDataChannel('sld');
      const offer = waitForEvent<['offer' | 'answer', string]>(a, 'session_description_created');
      a.createOffer();
      const [type, sdp] = await offer;
      expect(type).toBe('offer');
      expect(() => a.setLocalDescription('offer', sdp)).not.toThrow();
      const refused = (t: 'offer' | 'answer', text: string) => {
        try {
          a.setLocalDescription(t, text);
        } catch (e) {
          expect(e).toBeInstanceOf(RtcmeshError);
          return `${(e as RtcmeshError).code}: ${(e as RtcmeshError).message}`;
        }
        return 'no error';
      };
      const edited = sdp.replace(/^a=ice-ufrag:.*$/m, 'a=ice-ufrag:edited');
      expect(edited).not.toBe(sdp);
      expect(refused('offer', edited)).toMatch(/^INVALID_ARGUMENT: setLocalDescription\(\): this offer is not the one .*pass that one unchanged/);
      expect(refused('offer', `${sdp}a=extra\r\n`)).toMatch(/^INVALID_ARGUMENT/);
      // the right text with the wrong type: no answer was emitted
      expect(refused('answer', sdp)).toMatch(/^INVALID_ARGUMENT: setLocalDescription\(\): this answer/);
      // a refusal changes nothing: the emitted offer is still the one accepted
      expect(() => a.setLocalDescription('offer', sdp)).not.toThrow();
    });

    it('delivers events only on poll() unless autoPoll is on', async () => {
      const a = make(env.config, false);
      const b = make(env.config, false);
      wire(a, b);
      const states: ConnectionState[] = [];
      a.on('connection_state_changed', (s) => states.push(s));
      const ch = a.createDataChannel('polled');
      a.createOffer();
      // Without poll() the offer is never delivered, so nothing can connect.
      await waitUntil(() => {
        a.poll();
        b.poll();
        return ch.getReadyState() === ChannelState.OPEN && states.includes(ConnectionState.CONNECTED);
      }, 'the polled connection to open');
      const before = states.length;
      b.close();
      await waitUntil(() => a.getConnectionState() === ConnectionState.CLOSED, 'A to see the close');
      expect(states.length).toBe(before); // not delivered yet
      a.poll();
      expect(states.at(-1)).toBe(ConnectionState.CLOSED);
    });

    it("a channel's poll() delivers its queued packets to packet listeners (poll mode)", async () => {
      const a = make(env.config, false);
      const b = make(env.config, false);
      wire(a, b);
      const ca = a.createDataChannel('p', { negotiated: true, id: 13 });
      const cb = b.createDataChannel('p', { negotiated: true, id: 13 });
      a.createOffer();
      await waitUntil(() => {
        a.poll();
        b.poll();
        return ca.getReadyState() === ChannelState.OPEN && cb.getReadyState() === ChannelState.OPEN;
      }, 'the polled channels to open');
      const got: number[] = [];
      cb.on('packet', (d) => got.push(d[0]!));
      for (const n of [1, 2, 3]) ca.putPacket(new Uint8Array([n]));
      await waitUntil(() => cb.getAvailablePacketCount() === 3, 'three queued packets');
      expect(got).toEqual([]); // queued, not delivered, until a poll
      cb.poll();
      expect(got).toEqual([1, 2, 3]);
      expect(cb.getAvailablePacketCount()).toBe(0);
      cb.poll(); // nothing queued: nothing happens
      expect(got).toEqual([1, 2, 3]);
    });

    it('receives an in-band channel with its options intact', async () => {
      const [a, b] = pair();
      const got = receivedChannel(b);
      const un = a.createDataChannel('ünïcode lane', { ordered: false, maxRetransmits: 0, protocol: 'game/1' });
      const life = a.createDataChannel('lifetime', { maxPacketLifeTime: 500 });
      const rel = a.createDataChannel('reliable');
      const received = new Map<string, WebRTCDataChannel>();
      b.on('data_channel_received', (ch) => received.set(ch.getLabel(), ch));
      a.createOffer();
      await got;
      await waitUntil(() => received.size === 3, 'three channels to arrive');
      const r1 = received.get('ünïcode lane')!;
      expect(r1.isOrdered()).toBe(false);
      expect(r1.getMaxRetransmits()).toBe(0);
      expect(r1.getMaxPacketLifeTime()).toBe(65535);
      expect(r1.getProtocol()).toBe('game/1');
      expect(r1.isNegotiated()).toBe(false);
      expect(r1.getId()).toBe(un.getId());
      const r2 = received.get('lifetime')!;
      expect(r2.getMaxPacketLifeTime()).toBe(500);
      expect(r2.getMaxRetransmits()).toBe(65535);
      expect(r2.isOrdered()).toBe(true);
      expect(r2.getId()).toBe(life.getId());
      const r3 = received.get('reliable')!;
      expect(r3.isOrdered()).toBe(true);
      expect(r3.getMaxRetransmits()).toBe(65535);
      expect(r3.getProtocol()).toBe('');
      expect(r3.getId()).toBe(rel.getId());
    });

    it('opens negotiated channels created on both sides with the same id', async () => {
      const [a, b] = pair();
      let inBand = 0;
      b.on('data_channel_received', () => inBand++);
      const ca = a.createDataChannel('game', { negotiated: true, id: 7, ordered: false, maxPacketLifeTime: 100 });
      const cb = b.createDataChannel('game', { negotiated: true, id: 7, ordered: false, maxPacketLifeTime: 100 });
      a.createOffer();
      await Promise.all([opened(ca), opened(cb)]);
      expect(ca.getId()).toBe(7);
      expect(cb.getId()).toBe(7);
      expect(cb.isNegotiated()).toBe(true);
      expect(cb.getMaxPacketLifeTime()).toBe(100);
      const got = waitForEvent<[Uint8Array]>(cb, 'packet');
      ca.putPacket(new Uint8Array([9, 8, 7]));
      expect([...(await got)[0]]).toEqual([9, 8, 7]);
      const back = waitForEvent<[Uint8Array]>(ca, 'packet');
      cb.putPacket(new Uint8Array([1]));
      expect([...(await back)[0]]).toEqual([1]);
      expect(inBand).toBe(0);
    });

    it('sends text in TEXT mode and bytes in BINARY mode', async () => {
      const [a, b] = pair();
      const ca = a.createDataChannel('t', { negotiated: true, id: 0 });
      const cb = b.createDataChannel('t', { negotiated: true, id: 0 });
      a.createOffer();
      await Promise.all([opened(ca), opened(cb)]);
      expect(ca.writeMode).toBe(WriteMode.BINARY);
      ca.writeMode = WriteMode.TEXT;
      // A NUL byte inside text is kept (Godot truncates there; we do not).
      ca.putPacket(new TextEncoder().encode('héllo\u0000world'));
      ca.writeMode = WriteMode.BINARY;
      ca.putPacket(new Uint8Array([0xff, 0x00, 0xfe]));
      await waitUntil(() => cb.getAvailablePacketCount() === 2, 'two packets');
      const text = cb.getPacket()!;
      expect(cb.wasStringPacket()).toBe(true);
      expect(new TextDecoder().decode(text)).toBe('héllo\u0000world');
      const bin = cb.getPacket()!;
      expect(cb.wasStringPacket()).toBe(false);
      expect([...bin]).toEqual([0xff, 0x00, 0xfe]);
      expect(cb.getPacket()).toBeUndefined();
      ca.writeMode = WriteMode.TEXT;
      expect(() => ca.putPacket(new Uint8Array([0xff, 0xfe]))).toThrowError(/UTF-8/);
      expect(() => {
        ca.writeMode = 5 as WriteMode;
      }).toThrowError(RtcmeshError);
    });

    it('refuses a packet larger than the max message size with a clear error', async () => {
      const [a, b] = pair();
      const ca = a.createDataChannel('big', { negotiated: true, id: 1 });
      const cb = b.createDataChannel('big', { negotiated: true, id: 1 });
      a.createOffer();
      await Promise.all([opened(ca), opened(cb)]);
      const max = ca.getMaxPacketSize();
      expect(max).toBeGreaterThan(1024);
      let err: unknown;
      try {
        ca.putPacket(new Uint8Array(max + 1));
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(RtcmeshError);
      expect((err as RtcmeshError).code).toBe(ErrorCode.PACKET_TOO_LARGE);
      expect((err as RtcmeshError).message).toContain(String(max));
      const got = waitForEvent<[Uint8Array]>(cb, 'packet');
      ca.putPacket(new Uint8Array(max).fill(3));
      expect((await got)[0].length).toBe(max);
    });

    it('refuses to send before the channel is open, naming the state', async () => {
      const [a] = pair();
      const ca = a.createDataChannel('early', { negotiated: true, id: 2 });
      expect(() => ca.putPacket(new Uint8Array(1))).toThrowError(/CONNECTING/);
      try {
        ca.putPacket(new Uint8Array(1));
      } catch (e) {
        expect((e as RtcmeshError).code).toBe(ErrorCode.NOT_OPEN);
      }
    });

    for (const closer of ['offerer', 'answerer'] as const) {
      it(`drives both sides to CLOSED when the ${closer} closes`, async () => {
        const [a, b] = pair();
        const ca = a.createDataChannel('c', { negotiated: true, id: 3 });
        const cb = b.createDataChannel('c', { negotiated: true, id: 3 });
        a.createOffer();
        await Promise.all([opened(ca), opened(cb)]);
        const [closing, other, otherCh] = closer === 'offerer' ? [a, b, cb] : [b, a, ca];
        const chClosed = waitForEvent(otherCh, 'close');
        closing.close();
        expect(closing.getConnectionState()).toBe(ConnectionState.CLOSED);
        await reachState(other, ConnectionState.CLOSED);
        await chClosed;
        expect(otherCh.getReadyState()).toBe(ChannelState.CLOSED);
        expect(() => otherCh.putPacket(new Uint8Array(1))).toThrowError(RtcmeshError);
        expect(other.getSignalingState()).toBe(SignalingState.CLOSED);
      });
    }

    it('closing one data channel closes its remote end and leaves the connection and other channels up', async () => {
      const [a, b] = pair();
      const ca = a.createDataChannel('n', { negotiated: true, id: 11 });
      const cb = b.createDataChannel('n', { negotiated: true, id: 11 });
      const keepA = a.createDataChannel('keep', { negotiated: true, id: 12 });
      const keepB = b.createDataChannel('keep', { negotiated: true, id: 12 });
      a.createOffer();
      await Promise.all([ca, cb, keepA, keepB].map(opened));
      await reachState(a, ConnectionState.CONNECTED);
      await reachState(b, ConnectionState.CONNECTED);
      const remoteClosed = waitForEvent(ca, 'close');
      const localClosed = waitForEvent(cb, 'close');
      cb.close();
      await Promise.all([remoteClosed, localClosed]);
      expect(ca.getReadyState()).toBe(ChannelState.CLOSED);
      expect(cb.getReadyState()).toBe(ChannelState.CLOSED);
      expect(() => ca.putPacket(new Uint8Array(1))).toThrowError(/CLOSED/);
      expect(a.getConnectionState()).toBe(ConnectionState.CONNECTED);
      expect(b.getConnectionState()).toBe(ConnectionState.CONNECTED);
      const got = waitForEvent<[Uint8Array]>(keepB, 'packet');
      keepA.putPacket(new Uint8Array([5]));
      expect([...(await got)[0]]).toEqual([5]);
    });

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
  });
}
