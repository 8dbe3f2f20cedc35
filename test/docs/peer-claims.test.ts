/**
 * Claims of docs/peer.md and the WebRTCPeerConnection / WebRTCDataChannel
 * tables of docs/godot.md that no other test asserted, checked over real
 * node-datachannel on 127.0.0.1. Each `it()` quotes the claim it checks.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  ChannelState,
  ConnectionState,
  ErrorCode,
  RtcmeshError,
  SignalingState,
  WebRTCPeerConnection,
  WriteMode,
  type WebRTCDataChannel,
} from '../api.js';
import { codeOf } from '../godot/godot-helpers.js';
import { DEFAULT_QUEUE_LIMITS } from '../../src/peer/packet-queue.js';
import { LOOPBACK, opened, reachState, waitForEvent, waitUntil, wire } from '../helpers.js';

const live: WebRTCPeerConnection[] = [];
function make(autoPoll = true): WebRTCPeerConnection {
  const pc = new WebRTCPeerConnection(LOOPBACK, { autoPoll });
  live.push(pc);
  return pc;
}
function pair(): [WebRTCPeerConnection, WebRTCPeerConnection] {
  const a = make();
  const b = make();
  wire(a, b);
  return [a, b];
}
afterEach(() => {
  for (const pc of live.splice(0)) pc.close();
});

/** An open in-band channel pair: `a` creates `label`, `b` receives it. */
async function channelPair(label = 'c'): Promise<{ a: WebRTCPeerConnection; b: WebRTCPeerConnection; ca: WebRTCDataChannel; cb: WebRTCDataChannel }> {
  const [a, b] = pair();
  const ca = a.createDataChannel(label);
  const received = waitForEvent<[WebRTCDataChannel]>(b, 'data_channel_received');
  a.createOffer();
  const [cb] = await received;
  await opened(ca);
  await opened(cb);
  return { a, b, ca, cb };
}

describe('docs/godot.md: WebRTCPeerConnection', () => {
  it('"WebRTCPeerConnection.new() … already initialised (state NEW), as Godot\'s is after initialize()"', () => {
    const pc = make();
    expect(pc.getConnectionState()).toBe(ConnectionState.NEW);
    expect(pc.getSignalingState()).toBe(SignalingState.STABLE);
    // usable as it is: a channel and an offer need no initialize() first
    expect(pc.createDataChannel('x').getReadyState()).toBe(ChannelState.CONNECTING);
    expect(codeOf(() => pc.createOffer())).toBeUndefined();
  });

  it('create_data_channel: "only in state NEW before createOffer()/setRemoteDescription()"; "Δ throws … on id without negotiated, and outside NEW"', async () => {
    const a = make();
    expect(codeOf(() => a.createDataChannel('in-band', { id: 5 }))).toBe(ErrorCode.INVALID_ARGUMENT);
    expect(codeOf(() => a.createDataChannel('bogus', { nope: 1 } as never))).toBeDefined();
    a.createDataChannel('first');
    a.createOffer();
    expect(codeOf(() => a.createDataChannel('after-offer'))).toBe(ErrorCode.INVALID_STATE);

    // the answerer: after setRemoteDescription()
    const offerer = make();
    const answerer = make();
    offerer.createDataChannel('x');
    const [type, sdp] = await new Promise<[string, string]>((resolve) => {
      offerer.once('session_description_created', (t, s) => resolve([t, s]));
      offerer.createOffer();
    });
    expect(type).toBe('offer');
    expect(answerer.setRemoteDescription('offer', sdp)).toBe(true);
    expect(codeOf(() => answerer.createDataChannel('after-remote'))).toBe(ErrorCode.INVALID_STATE);
  });

  it('set_remote_description: "Δ a malformed or misplaced description returns false and emits error (INVALID_SDP)" — a real answer with no offer out', async () => {
    // a genuine answer, taken from a negotiation between two other connections
    const offerer = make();
    const answerer = make();
    offerer.createDataChannel('x');
    const answer = new Promise<string>((resolve) => answerer.once('session_description_created', (_t, s) => resolve(s)));
    offerer.once('session_description_created', (_t, s) => answerer.setRemoteDescription('offer', s));
    offerer.createOffer();
    const sdp = await answer;

    const stray = make();
    stray.createDataChannel('y');
    const errors: RtcmeshError[] = [];
    stray.on('error', (e) => errors.push(e));
    expect(stray.setRemoteDescription('answer', sdp)).toBe(false);
    await waitUntil(() => errors.length === 1, 'the error event');
    expect(errors[0]!.code).toBe(ErrorCode.INVALID_SDP);
    // "leaving the connection as it was"
    expect(stray.getSignalingState()).toBe(SignalingState.STABLE);
    expect(stray.getConnectionState()).toBe(ConnectionState.NEW);
  });

  it('add_ice_candidate: "candidates that arrive before the remote description are held"; "only a wrong argument type throws"; peer.md: the offerer holds its own candidates until the answer', async () => {
    const a = make();
    const b = make();
    let answer: string | undefined;
    const held: boolean[] = [];
    a.on('session_description_created', (type, sdp) => b.setRemoteDescription(type, sdp));
    let fromA = 0;
    a.on('ice_candidate_created', (mid, index, c) => (fromA++, b.addIceCandidate(mid, index, c)));
    // the answer is kept back: b's candidates reach a before its remote description
    b.on('session_description_created', (_type, sdp) => (answer = sdp));
    b.on('ice_candidate_created', (mid, index, c) => held.push(a.addIceCandidate(mid, index, c)));
    const ca = a.createDataChannel('held');
    const received = waitForEvent<[WebRTCDataChannel]>(b, 'data_channel_received');
    a.createOffer();
    await waitUntil(() => answer !== undefined && held.length > 0, "the answer and b's first candidate");
    expect(a.getSignalingState()).toBe(SignalingState.HAVE_LOCAL_OFFER);
    // peer.md: "The offerer holds its own ICE candidates until the answer is applied, then sends them all"
    expect(fromA).toBe(0);
    expect(held.every((ok) => ok)).toBe(true);
    expect(codeOf(() => a.addIceCandidate(0 as never, 0, 'candidate:x'))).toBe(ErrorCode.INVALID_ARGUMENT);
    expect(a.setRemoteDescription('answer', answer!)).toBe(true);
    const [cb] = await received;
    await opened(ca);
    await opened(cb);
    expect(cb.getLabel()).toBe('held');
    expect(fromA).toBeGreaterThan(0);
  });

  it('get_signaling_state: "STABLE once the answer is set or created"; peer.md: "getSignalingState() reads CLOSED once the connection is CLOSED"', async () => {
    const { a, b } = await channelPair();
    expect(a.getSignalingState()).toBe(SignalingState.STABLE);
    expect(b.getSignalingState()).toBe(SignalingState.STABLE);
    b.close();
    expect(b.getConnectionState()).toBe(ConnectionState.CLOSED);
    expect(b.getSignalingState()).toBe(SignalingState.CLOSED);
    await reachState(a, ConnectionState.CLOSED);
    expect(a.getSignalingState()).toBe(SignalingState.CLOSED);
  });
});

describe('docs/godot.md + docs/peer.md: WebRTCDataChannel', () => {
  it('get_packet: "undefined when empty"; put_packet in TEXT mode: "the bytes must be UTF-8" and "Δ not cut at a NUL byte"; was_string_packet after a packet listener', async () => {
    const { ca, cb } = await channelPair();
    expect(cb.getPacket()).toBeUndefined();
    expect(cb.getPacketError()).toBe(ErrorCode.UNAVAILABLE);
    ca.writeMode = WriteMode.TEXT;
    expect(codeOf(() => ca.putPacket(new Uint8Array([0xff, 0xfe])))).toBe(ErrorCode.INVALID_ARGUMENT);
    // a valid text packet with a NUL byte arrives whole, as text
    const got = waitForEvent<[Uint8Array]>(cb, 'packet');
    ca.putPacket(new TextEncoder().encode('a\0b'));
    expect(new TextDecoder().decode((await got)[0])).toBe('a\0b');
    // was_string_packet: "true if the last received packet was transferred as text", listeners included
    expect(cb.wasStringPacket()).toBe(true);
    ca.writeMode = WriteMode.BINARY;
    const binary = waitForEvent<[Uint8Array, boolean]>(cb, 'packet');
    ca.putPacket(new Uint8Array([1]));
    expect((await binary)[1]).toBe(false);
    expect(cb.wasStringPacket()).toBe(false);
  });

  it('peer.md: after the remote closes, "getReadyState() is then CLOSED and putPacket() throws NOT_OPEN … Packets already received stay readable with getPacket()"', async () => {
    const { a, ca, cb } = await channelPair();
    ca.putPacket(new Uint8Array([1]));
    ca.putPacket(new Uint8Array([2]));
    await waitUntil(() => cb.getAvailablePacketCount() === 2, 'two packets queued');
    const closed = waitForEvent(cb, 'close');
    a.close();
    await closed;
    expect(cb.getReadyState()).toBe(ChannelState.CLOSED);
    expect(codeOf(() => cb.putPacket(new Uint8Array([3])))).toBe(ErrorCode.NOT_OPEN);
    expect([...cb.getPacket()!]).toEqual([1]);
    expect([...cb.getPacket()!]).toEqual([2]);
    expect(cb.getPacket()).toBeUndefined();
    expect(cb.getPacketError()).toBe(ErrorCode.CLOSED);
  });

  it('peer.md: "If a channel has packet listeners, the packets go to the listeners instead" (nothing is queued for getPacket())', async () => {
    const { ca, cb } = await channelPair();
    const got = waitForEvent<[Uint8Array]>(cb, 'packet');
    ca.putPacket(new Uint8Array([7]));
    expect([...(await got)[0]]).toEqual([7]);
    expect(cb.getAvailablePacketCount()).toBe(0);
    expect(cb.getPacket()).toBeUndefined();
  });

  it('peer.md: "The inbound queue is bounded (inboundQueue: { maxPackets, maxBytes }, default 65536 packets / 64 MiB)"', () => {
    expect(DEFAULT_QUEUE_LIMITS).toEqual({ maxPackets: 65536, maxBytes: 64 * 1024 * 1024 });
  });
});
