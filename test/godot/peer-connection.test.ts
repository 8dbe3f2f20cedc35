/**
 * WebRTCPeerConnection as Godot's class reference documents it
 * (modules/webrtc/doc_classes/WebRTCPeerConnection.xml), over real
 * node-datachannel on loopback, used the Godot way: events in poll().
 * Each test quotes the sentence it checks.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  ChannelState,
  ConnectionState,
  ErrorCode,
  GatheringState,
  RtcmeshError,
  SignalingState,
  WebRTCDataChannel,
  type WebRTCPeerConnection,
} from '../api.js';
import { codeOf, openChannelPair, polled, pollUntil, relay } from './godot-helpers.js';

const live: WebRTCPeerConnection[] = [];
function pair(): [WebRTCPeerConnection, WebRTCPeerConnection] {
  const a = polled();
  const b = polled();
  live.push(a, b);
  relay(a, b);
  return [a, b];
}
afterEach(() => {
  for (const pc of live.splice(0)) pc.close();
});

describe('Godot WebRTCPeerConnection', () => {
  it('enums keep Godot values: ConnectionState, GatheringState, SignalingState', () => {
    // STATE_NEW = 0 … STATE_CLOSED = 5
    expect(ConnectionState).toEqual({ NEW: 0, CONNECTING: 1, CONNECTED: 2, DISCONNECTED: 3, FAILED: 4, CLOSED: 5 });
    // GATHERING_STATE_NEW = 0, GATHERING_STATE_GATHERING = 1, GATHERING_STATE_COMPLETE = 2
    expect(GatheringState).toEqual({ NEW: 0, GATHERING: 1, COMPLETE: 2 });
    // SIGNALING_STATE_STABLE = 0 … SIGNALING_STATE_CLOSED = 5
    expect(SignalingState).toEqual({ STABLE: 0, HAVE_LOCAL_OFFER: 1, HAVE_REMOTE_OFFER: 2, HAVE_LOCAL_PRANSWER: 3, HAVE_REMOTE_PRANSWER: 4, CLOSED: 5 });
  });

  it('"At least one WebRTCDataChannel must have been created before calling" create_offer: without one it fails', () => {
    const [a] = pair();
    // "The connection is new, data channels and an offer can be created in this state."
    expect(a.getConnectionState()).toBe(ConnectionState.NEW);
    expect(a.getGatheringState()).toBe(GatheringState.NEW);
    expect(a.getSignalingState()).toBe(SignalingState.STABLE);
    expect(codeOf(() => a.createOffer())).toBe(ErrorCode.INVALID_STATE);
    a.createDataChannel('x');
    expect(codeOf(() => a.createOffer())).toBeUndefined();
  });

  it('offer/answer as documented: signals in poll(), states NEW→CONNECTING→CONNECTED, signaling through HAVE_LOCAL_OFFER / HAVE_REMOTE_OFFER to STABLE', async () => {
    const [a, b] = pair();
    const sdp: string[] = [];
    const candidates: [string, string, number, string][] = [];
    const signalingSeen: Record<'a' | 'b', SignalingState[]> = { a: [], b: [] };
    a.on('session_description_created', (type) => {
      sdp.push(`a:${type}`);
      signalingSeen.a.push(a.getSignalingState());
    });
    b.on('session_description_created', (type) => sdp.push(`b:${type}`));
    for (const [side, pc] of [['a', a], ['b', b]] as const) {
      // "The three parameters are meant to be passed to the remote peer": media (String), index (int), name (String)
      pc.on('ice_candidate_created', (media, index, name) => candidates.push([side, media, index, name]));
    }
    // "If type is offer the peer will emit session_description_created with the appropriate answer."
    const origSet = b.setRemoteDescription.bind(b);
    b.setRemoteDescription = (type, s) => {
      const ok = origSet(type, s);
      if (type === 'offer') signalingSeen.b.push(b.getSignalingState());
      return ok;
    };
    const origSetA = a.setRemoteDescription.bind(a);
    a.setRemoteDescription = (type, s) => {
      const ok = origSetA(type, s);
      // "If type is answer the peer will start emitting ice_candidate_created."
      if (type === 'answer') signalingSeen.a.push(a.getSignalingState());
      return ok;
    };
    const channel = a.createDataChannel('chat');
    const states: Record<'a' | 'b', ConnectionState[]> = { a: [a.getConnectionState()], b: [b.getConnectionState()] };
    a.createOffer();
    // "Call this method [poll] frequently … to properly receive signals": nothing is emitted before poll().
    await pollUntil([], () => a.hasPendingEvents(), 'the offer to be ready');
    expect(sdp).toEqual([]);
    const note = () => {
      for (const [side, pc] of [['a', a], ['b', b]] as const) {
        const s = pc.getConnectionState();
        if (states[side].at(-1) !== s) states[side].push(s);
      }
    };
    await pollUntil(
      [a, b],
      () => {
        note();
        return a.getConnectionState() === ConnectionState.CONNECTED && b.getConnectionState() === ConnectionState.CONNECTED;
      },
      'both sides CONNECTED',
    );
    // "Emitted after a successful call to create_offer or set_remote_description (when it generates an answer)."
    expect(sdp).toEqual(['a:offer', 'b:answer']);
    // offerer: HAVE_LOCAL_OFFER when its offer is created, STABLE once the answer is set
    expect(signalingSeen.a).toEqual([SignalingState.HAVE_LOCAL_OFFER, SignalingState.STABLE]);
    // answerer: HAVE_REMOTE_OFFER once the offer is set (its answer then follows)
    expect(signalingSeen.b).toEqual([SignalingState.HAVE_REMOTE_OFFER]);
    expect([a.getSignalingState(), b.getSignalingState()]).toEqual([SignalingState.STABLE, SignalingState.STABLE]);
    // STATE_CONNECTING "ICE is in progress", then STATE_CONNECTED "all ICE transports are connected"
    expect(states.a).toEqual([ConnectionState.NEW, ConnectionState.CONNECTING, ConnectionState.CONNECTED]);
    expect(states.b).toEqual([ConnectionState.NEW, ConnectionState.CONNECTING, ConnectionState.CONNECTED]);
    for (const side of ['a', 'b']) expect(candidates.some((c) => c[0] === side)).toBe(true);
    for (const [, media, index, name] of candidates) {
      expect(typeof media).toBe('string');
      expect(Number.isInteger(index)).toBe(true);
      expect(name).toMatch(/candidate:/);
    }
    await pollUntil([a, b], () => a.getGatheringState() === GatheringState.COMPLETE && b.getGatheringState() === GatheringState.COMPLETE, 'gathering to complete');
    await pollUntil([a, b], () => channel.getReadyState() === ChannelState.OPEN, 'the channel to open');
  });

  it('data_channel_received: "Emitted when a new in-band channel is received, i.e. when the channel was created with negotiated: false"', async () => {
    const [a, b] = pair();
    const received: WebRTCDataChannel[] = [];
    b.on('data_channel_received', (ch) => received.push(ch));
    a.createDataChannel('in-band', { protocol: 'my-custom-protocol', ordered: false, maxRetransmits: 2 });
    // "negotiated": true … "data_channel_received" will not be called.
    const na = a.createDataChannel('out-of-band', { negotiated: true, id: 9 });
    const nb = b.createDataChannel('out-of-band', { negotiated: true, id: 9 });
    a.createOffer();
    await pollUntil([a, b], () => received.length === 1 && na.getReadyState() === ChannelState.OPEN && nb.getReadyState() === ChannelState.OPEN, 'the channels');
    // "The object will be an instance of WebRTCDataChannel."
    const ch = received[0]!;
    expect(ch).toBeInstanceOf(WebRTCDataChannel);
    expect([ch.getLabel(), ch.getProtocol(), ch.isNegotiated(), ch.isOrdered(), ch.getMaxRetransmits()]).toEqual([
      'in-band',
      'my-custom-protocol',
      false,
      false,
      2,
    ]);
    await pollUntil([a, b], () => ch.getReadyState() === ChannelState.OPEN, 'the received channel to open');
    expect(received).toHaveLength(1);
  });

  it('create_data_channel options: negotiated, id, maxRetransmits, maxPacketLifeTime, ordered, protocol; only one of maxRetransmits / maxPacketLifeTime', () => {
    const [a] = pair();
    const c1 = a.createDataChannel('one', { negotiated: true, id: 1, maxRetransmits: 1, ordered: false, protocol: 'p' });
    expect([c1.getLabel(), c1.isNegotiated(), c1.getId(), c1.getMaxRetransmits(), c1.getMaxPacketLifeTime(), c1.isOrdered(), c1.getProtocol()]).toEqual([
      'one',
      true,
      1,
      1,
      65535,
      false,
      'p',
    ]);
    const c2 = a.createDataChannel('two', { maxPacketLifeTime: 100 });
    // "ordered" (true by default); maxRetransmits "Will be 65535 if not specified"
    expect([c2.isNegotiated(), c2.isOrdered(), c2.getMaxPacketLifeTime(), c2.getMaxRetransmits(), c2.getProtocol()]).toEqual([false, true, 100, 65535, '']);
    // "Only one of maxRetransmits and maxPacketLifeTime can be specified, not both."
    expect(codeOf(() => a.createDataChannel('both', { maxRetransmits: 1, maxPacketLifeTime: 100 }))).toBe(ErrorCode.INVALID_ARGUMENT);
    // "negotiated": true … "id" must be set too.
    expect(codeOf(() => a.createDataChannel('no-id', { negotiated: true }))).toBe(ErrorCode.INVALID_ARGUMENT);
    // Δ (docs/godot.md): an unknown option throws (Godot returns null on failure)
    expect(codeOf(() => a.createDataChannel('typo', { maxPacketLifetime: 1 } as never))).toBe(ErrorCode.UNKNOWN_OPTION);
  });

  it('create_data_channel "can only be called when the connection is in state STATE_NEW": not after close()', () => {
    const [a] = pair();
    a.close();
    expect(a.getConnectionState()).toBe(ConnectionState.CLOSED);
    // Δ: Godot returns null; rtcmesh throws INVALID_STATE
    expect(codeOf(() => a.createDataChannel('late'))).toBe(ErrorCode.INVALID_STATE);
  });

  it('initialize accepts the documented iceServers shape: urls (array), username and credential', () => {
    const a = polled();
    live.push(a);
    // IP literals, so nothing is looked up; no offer is made, so nothing is contacted.
    a.initialize({
      iceServers: [
        { urls: ['stun:127.0.0.1:3478'] },
        { urls: ['turn:127.0.0.1:3478'], username: 'a_username', credential: 'a_password' },
      ],
    });
    expect(a.getConnectionState()).toBe(ConnectionState.NEW);
    // Δ: a malformed entry throws instead of being ignored
    expect(() => a.initialize({ iceServers: [{ urls: ['http://x'] }] })).toThrow(RtcmeshError);
  });

  it('close(): "Close the peer connection and all data channels associated with it"; STATE_CLOSED; reusable only after initialize()', async () => {
    const [a, b] = pair();
    const [ca, cb] = await openChannelPair(a, b, 'd', 3);
    a.close();
    // "The peer connection is closed (after calling close for example)."
    expect(a.getConnectionState()).toBe(ConnectionState.CLOSED);
    expect(ca.getReadyState()).toBe(ChannelState.CLOSED);
    expect(a.getSignalingState()).toBe(SignalingState.CLOSED);
    // "you cannot reuse this object for a new connection unless you call initialize"
    expect(codeOf(() => a.createOffer())).toBe(ErrorCode.INVALID_STATE);
    // the other side is notified: its channel closes
    await pollUntil([a, b], () => cb.getReadyState() === ChannelState.CLOSED, 'the remote channel to close');
    // initialize(): "Re-initialize this peer connection … going back to state STATE_NEW"
    a.initialize();
    b.initialize();
    expect([a.getConnectionState(), b.getConnectionState()]).toEqual([ConnectionState.NEW, ConnectionState.NEW]);
    expect(a.getSignalingState()).toBe(SignalingState.STABLE);
    const [ca2, cb2] = await openChannelPair(a, b, 'again', 3);
    ca2.putPacket(new Uint8Array([7]));
    await pollUntil([a, b], () => cb2.getAvailablePacketCount() === 1, 'the packet');
    expect([...cb2.getPacket()!]).toEqual([7]);
  });

  it('initialize() on a live connection closes it ("closing any previously active connection") and its channels', async () => {
    const [a, b] = pair();
    const [ca, cb] = await openChannelPair(a, b, 'd', 4);
    a.initialize();
    expect(a.getConnectionState()).toBe(ConnectionState.NEW);
    expect(ca.getReadyState()).toBe(ChannelState.CLOSED);
    expect(a.getDataChannels()).toEqual([]);
    await pollUntil([a, b], () => cb.getReadyState() === ChannelState.CLOSED, 'the remote channel to close');
  });

  it('add_ice_candidate with a malformed candidate: Δ not thrown (it is remote input) — returns false and emits error', async () => {
    const [a] = pair();
    const errors: RtcmeshError[] = [];
    a.on('error', (e) => errors.push(e));
    expect(a.addIceCandidate('0', 0, 'not a candidate')).toBe(false);
    await pollUntil([a], () => errors.length === 1, 'the error event');
    expect(errors[0]!.code).toBe(ErrorCode.INVALID_CANDIDATE);
  });
});
