/**
 * Godot's `networking/webrtc_minimal` demo (godotengine/godot-demo-projects),
 * ported the way a Godot user ports it: the same objects, the same calls in
 * the same order, the same signal connections and the same `_process` poll
 * loop, over real node-datachannel on 127.0.0.1.
 *
 * - `minimal.gd`: two WebRTCPeerConnections in one process, each signal wired
 *   straight to the other connection's method, one negotiated channel "chat"
 *   (id 1) on each side.
 * - `chat.gd` + `main.gd` + `Signaling.gd`: the same pair split into two chat
 *   nodes and a local "signaling server" autoload that relays by node path.
 *
 * Lines a porter changes (see docs/godot.md, "Porting Godot's WebRTC demos"):
 * `WebRTCPeerConnection.new()` gets `{ bindAddress: '127.0.0.1' }` (tests stay
 * on loopback); `await get_tree().create_timer(1).timeout` becomes "poll until
 * the channel is open" (the demo's one second is a guess; Δ `putPacket` on a
 * channel not yet open throws NOT_OPEN where Godot returns an error); `print`
 * becomes a log the test asserts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ChannelState, ConnectionState, ErrorCode, WebRTCPeerConnection, WriteMode, type WebRTCDataChannel } from '../../api.js';
import { LOOPBACK } from '../../helpers.js';
import { codeOf, pollUntil } from '../godot-helpers.js';

const live: { close(): void }[] = [];
afterEach(() => {
  for (const x of live.splice(0)) x.close();
});

/** `WebRTCPeerConnection.new()`: already initialised (Godot's is too), bound to loopback for the test. */
function newPeerConnection(): WebRTCPeerConnection {
  const pc = new WebRTCPeerConnection(LOOPBACK);
  live.push(pc);
  return pc;
}

/** `PackedByteArray.get_string_from_utf8()` / `String.to_utf8_buffer()`. */
const getStringFromUtf8 = (bytes: Uint8Array | undefined) => new TextDecoder().decode(bytes);
const toUtf8Buffer = (s: string) => new TextEncoder().encode(s);

/** minimal.gd, member for member. */
class Minimal {
  // Create the two peers.
  p1 = newPeerConnection();
  p2 = newPeerConnection();
  ch1 = this.p1.createDataChannel('chat', { id: 1, negotiated: true });
  ch2 = this.p2.createDataChannel('chat', { id: 1, negotiated: true });
  /** What the demo prints. */
  readonly printed: string[] = [];
  /** ch1/ch2 ready states as `_process` sees them, recorded when they change. */
  readonly states: string[] = [];

  ready(): void {
    // `print(p1.create_data_channel("chat", { "id": 1, "negotiated": true }))`: a second
    // channel with the same negotiated id. Godot prints <null> (create_data_channel
    // returns null on failure); Δ rtcmesh throws INVALID_ARGUMENT naming the id.
    this.printed.push(`duplicate chat channel: ${codeOf(() => this.p1.createDataChannel('chat', { id: 1, negotiated: true }))}`);
    // Connect P1 session created to itself to set local description.
    this.p1.on('session_description_created', this.p1.setLocalDescription);
    // Connect P1 session and ICE created to p2 set remote description and candidates.
    this.p1.on('session_description_created', this.p2.setRemoteDescription);
    this.p1.on('ice_candidate_created', this.p2.addIceCandidate);

    // Same for P2.
    this.p2.on('session_description_created', this.p2.setLocalDescription);
    this.p2.on('session_description_created', this.p1.setRemoteDescription);
    this.p2.on('ice_candidate_created', this.p1.addIceCandidate);

    // Let P1 create the offer.
    this.p1.createOffer();
  }

  /** `await get_tree().create_timer(1).timeout` then the send: here, the send once ch1 is open. */
  sendFromP1(): void {
    this.ch1.putPacket(toUtf8Buffer('Hi from P1'));
  }

  sendFromP2(): void {
    this.ch2.putPacket(toUtf8Buffer('Hi from P2'));
  }

  process(): void {
    this.p1.poll();
    this.p2.poll();
    this.recordStates();
    if (this.ch1.getReadyState() === ChannelState.OPEN && this.ch1.getAvailablePacketCount() > 0) {
      this.printed.push(`P1 received: ${getStringFromUtf8(this.ch1.getPacket())} (string packet: ${this.ch1.wasStringPacket()})`);
    }
    if (this.ch2.getReadyState() === ChannelState.OPEN && this.ch2.getAvailablePacketCount() > 0) {
      this.printed.push(`P2 received: ${getStringFromUtf8(this.ch2.getPacket())} (string packet: ${this.ch2.wasStringPacket()})`);
    }
  }

  private recordStates(): void {
    const s = `${stateName(this.ch1)}/${stateName(this.ch2)}`;
    if (this.states.at(-1) !== s) this.states.push(s);
  }
}

const stateName = (ch: WebRTCDataChannel) => Object.entries(ChannelState).find(([, v]) => v === ch.getReadyState())![0];

/** Godot's main loop: `_process` every frame until `done()`. */
function frames(process: () => void, done: () => boolean, what: string): Promise<void> {
  return pollUntil([{ poll: process }], done, what);
}

describe('webrtc_minimal/minimal.gd ported', () => {
  it('two connections wired signal-to-method, one negotiated "chat" channel: both messages arrive as binary packets', async () => {
    const m = new Minimal();
    // Before _ready: both channels exist, CONNECTING, with what the options asked for.
    for (const ch of [m.ch1, m.ch2]) {
      expect(ch.getReadyState()).toBe(ChannelState.CONNECTING);
      expect([ch.getLabel(), ch.getId(), ch.isNegotiated(), ch.isOrdered(), ch.getProtocol()]).toEqual(['chat', 1, true, true, '']);
    }
    m.ready();
    expect(m.printed).toEqual([`duplicate chat channel: ${ErrorCode.INVALID_ARGUMENT}`]);
    // The failed duplicate left nothing behind: one channel on p1.
    expect(m.p1.getDataChannels()).toEqual([m.ch1]);

    await frames(() => m.process(), () => m.ch1.getReadyState() === ChannelState.OPEN, 'ch1 to open');
    m.sendFromP1();
    await frames(() => m.process(), () => m.printed.length === 2, 'P2 to print the message from P1');
    await frames(() => m.process(), () => m.ch2.getReadyState() === ChannelState.OPEN, 'ch2 to open');
    m.sendFromP2();
    await frames(() => m.process(), () => m.printed.length === 3, 'P1 to print the message from P2');

    expect(m.printed.slice(1)).toEqual(['P2 received: Hi from P1 (string packet: false)', 'P1 received: Hi from P2 (string packet: false)']);
    // The channels only ever went forward: CONNECTING, then OPEN (each side in its own frame or the same one).
    expect(m.states[0]).toBe('CONNECTING/CONNECTING');
    expect(m.states.at(-1)).toBe('OPEN/OPEN');
    expect(m.states.every((s) => /^(CONNECTING|OPEN)\/(CONNECTING|OPEN)$/.test(s))).toBe(true);
    expect(m.states.length).toBeLessThanOrEqual(3);
    expect([m.p1.getConnectionState(), m.p2.getConnectionState()]).toEqual([ConnectionState.CONNECTED, ConnectionState.CONNECTED]);
    // Nothing left unread.
    expect([m.ch1.getAvailablePacketCount(), m.ch2.getAvailablePacketCount()]).toEqual([0, 0]);
  });
});

/** Signaling.gd: the autoload "server" that relays between the two chat nodes by path. */
class Signaling {
  // We will store the two peers here.
  peers: string[] = [];

  constructor(private readonly getNode: (path: string) => Chat) {}

  register(path: string): void {
    expect(this.peers.length).toBeLessThan(2); // assert(peers.size() < 2)
    this.peers.push(path);
    if (this.peers.length === 2) this.getNode(this.peers[0]!).peer.createOffer();
  }

  private findOther(path: string): string {
    // Find the other registered peer.
    for (const p of this.peers) if (p !== path) return p;
    return '';
  }

  sendSession(path: string, type: 'offer' | 'answer', sdp: string): void {
    const other = this.findOther(path);
    expect(other).not.toBe('');
    this.getNode(other).peer.setRemoteDescription(type, sdp);
  }

  sendCandidate(path: string, media: string, index: number, sdp: string): void {
    const other = this.findOther(path);
    expect(other).not.toBe('');
    this.getNode(other).peer.addIceCandidate(media, index, sdp);
  }
}

/** chat.gd: a peer-to-peer chat node. */
class Chat {
  peer = newPeerConnection();
  // Create negotiated data channel.
  channel = this.peer.createDataChannel('chat', { negotiated: true, id: 1 });
  readonly printed: string[];

  constructor(
    private readonly path: string,
    private readonly signaling: Signaling,
    printed: string[],
  ) {
    this.printed = printed;
  }

  ready(): void {
    // Connect all functions.
    this.peer.on('ice_candidate_created', (media, index, sdp) => this.onIceCandidate(media, index, sdp));
    this.peer.on('session_description_created', (type, sdp) => this.onSession(type, sdp));
    // Register to the local signaling server.
    this.signaling.register(this.getPath());
  }

  getPath(): string {
    return this.path;
  }

  private onIceCandidate(media: string, index: number, sdp: string): void {
    // Send the ICE candidate to the other peer via the signaling server.
    this.signaling.sendCandidate(this.getPath(), media, index, sdp);
  }

  private onSession(type: 'offer' | 'answer', sdp: string): void {
    // Send the session to other peer via the signaling server.
    this.signaling.sendSession(this.getPath(), type, sdp);
    // Set generated description as local.
    this.peer.setLocalDescription(type, sdp);
  }

  process(): void {
    // Always poll the connection frequently.
    this.peer.poll();
    if (this.channel.getReadyState() === ChannelState.OPEN) {
      while (this.channel.getAvailablePacketCount() > 0) {
        this.printed.push(`${this.getPath()} received: ${getStringFromUtf8(this.channel.getPacket())}`);
      }
    }
  }

  sendMessage(message: string): void {
    this.channel.putPacket(toUtf8Buffer(message));
  }
}

describe('webrtc_minimal/chat.gd + main.gd + Signaling.gd ported', () => {
  it('two chat nodes register with the local signaling autoload; the first registered offers; each prints the other\'s message', async () => {
    const printed: string[] = [];
    const nodes = new Map<string, Chat>();
    const signaling = new Signaling((path) => nodes.get(path)!);
    // main.gd _ready: Chat.new() twice, add_child each (which runs its _ready).
    const p1 = new Chat('/root/Main/@Node@2', signaling, printed);
    const p2 = new Chat('/root/Main/@Node@3', signaling, printed);
    for (const chat of [p1, p2]) {
      nodes.set(chat.getPath(), chat);
      chat.ready();
    }
    // Registering the second node made the first one offer: its connection negotiates.
    expect(signaling.peers).toEqual([p1.getPath(), p2.getPath()]);
    const tree = () => {
      for (const chat of nodes.values()) chat.process();
    };
    // "Wait one second and send message from P1": until its channel is open.
    await frames(tree, () => p1.channel.getReadyState() === ChannelState.OPEN, 'p1 chat channel to open');
    p1.sendMessage(`Hi from ${p1.getPath()}`);
    await frames(tree, () => p2.channel.getReadyState() === ChannelState.OPEN && printed.length === 1, 'p2 to print');
    p2.sendMessage(`Hi from ${p2.getPath()}`);
    await frames(tree, () => printed.length === 2, 'p1 to print');
    expect(printed).toEqual([`${p2.getPath()} received: Hi from ${p1.getPath()}`, `${p1.getPath()} received: Hi from ${p2.getPath()}`]);
    // Both packets were binary (put_packet on a channel in the default WRITE_MODE_BINARY).
    expect([p1.channel.wasStringPacket(), p2.channel.wasStringPacket()]).toEqual([false, false]);
  });

  it('the same chat with the channel in-band (no "negotiated"): the answering side gets it through data_channel_received, with the id assigned', async () => {
    // The porter's variation Godot documents: create_data_channel without
    // "negotiated" on one side only; the other side receives it.
    const a = newPeerConnection();
    const b = newPeerConnection();
    const chA = a.createDataChannel('chat');
    expect(chA.getId()).toBe(65535); // "65535 until an in-band channel is assigned its id"
    expect(chA.isNegotiated()).toBe(false);
    const received: WebRTCDataChannel[] = [];
    b.on('data_channel_received', (channel) => received.push(channel));
    a.on('session_description_created', a.setLocalDescription);
    a.on('session_description_created', b.setRemoteDescription);
    a.on('ice_candidate_created', b.addIceCandidate);
    b.on('session_description_created', b.setLocalDescription);
    b.on('session_description_created', a.setRemoteDescription);
    b.on('ice_candidate_created', a.addIceCandidate);
    a.createOffer();
    await frames(() => (a.poll(), b.poll()), () => chA.getReadyState() === ChannelState.OPEN && received.length === 1, 'the in-band channel to open and arrive');
    const chB = received[0]!;
    expect([chB.getLabel(), chB.isNegotiated(), chB.getId()]).toEqual(['chat', false, chA.getId()]);
    expect(chA.getId()).not.toBe(65535);
    // The received channel is kept by its connection (Δ: Godot needs you to keep a reference).
    expect(b.getDataChannels()).toContain(chB);
    await frames(() => (a.poll(), b.poll()), () => chB.getReadyState() === ChannelState.OPEN, 'the received channel to open');
    chA.writeMode = WriteMode.TEXT;
    chA.putPacket(toUtf8Buffer('text'));
    chA.writeMode = WriteMode.BINARY;
    chA.putPacket(toUtf8Buffer('binary'));
    const got: string[] = [];
    await frames(
      () => {
        a.poll();
        b.poll();
        while (chB.getAvailablePacketCount() > 0) got.push(`${getStringFromUtf8(chB.getPacket())}:${chB.wasStringPacket()}`);
      },
      () => got.length === 2,
      'both packets',
    );
    expect(got).toEqual(['text:true', 'binary:false']);
  });
});

describe('what minimal.gd relies on: connection methods are Callables bound to their object', () => {
  it('setRemoteDescription / addIceCandidate passed as another emitter\'s listeners act on their own connection', () => {
    const a = newPeerConnection();
    const b = newPeerConnection();
    const errors: string[] = [];
    a.on('error', (e) => errors.push(`a ${e.code}`));
    b.on('error', (e) => errors.push(`b ${e.code}`));
    // a's signal connected to b's method, as `p1.session_description_created.connect(p2.set_remote_description)`;
    // the emitter calls its listeners with itself as `this`.
    a.on('session_description_created', b.setRemoteDescription);
    a.on('ice_candidate_created', b.addIceCandidate);
    a.emit('session_description_created', 'answer', 'not an sdp');
    a.emit('ice_candidate_created', '0', 0, 'not a candidate');
    a.poll();
    b.poll();
    expect(errors.filter((e) => e.startsWith('a '))).toEqual([]);
    expect(errors.length).toBeGreaterThan(0);
  });
});
