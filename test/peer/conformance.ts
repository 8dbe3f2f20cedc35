/**
 * The peer-layer conformance suite: every engine must pass it. Each engine's
 * test file calls {@link definePeerConformance} with a factory. This file
 * holds negotiation, delivery, channels and closing; refusals, validation,
 * limits, stats and lifecycle are in conformance-errors.ts.
 */
import { describe, expect, it } from 'vitest';
import {
  ChannelState,
  ConnectionState,
  ErrorCode,
  GatheringState,
  RtcmeshError,
  SignalingState,
  WebRTCPeerConnection,
  WriteMode,
  type WebRTCDataChannel,
} from '../api.js';
import { opened, reachState, waitForEvent, waitUntil, wire } from '../helpers.js';
import { definePeerErrorConformance } from './conformance-errors.js';
import { conformanceFixture, type ConformanceEnv } from './conformance-fixture.js';

export type { ConformanceEnv } from './conformance-fixture.js';

async function receivedChannel(pc: WebRTCPeerConnection): Promise<WebRTCDataChannel> {
  const [ch] = await waitForEvent<[WebRTCDataChannel]>(pc, 'data_channel_received');
  return ch;
}

export function definePeerConformance(name: string, env: ConformanceEnv): void {
  describe(`peer conformance: ${name}`, () => {
    const { make, pair } = conformanceFixture(env);

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

    // The rest of the suite, in the same order: refusals, validation, limits, stats, lifecycle.
    definePeerErrorConformance(env, { make, pair });
  });
}
