/**
 * MultiplayerPeer and WebRTCMultiplayerPeer as Godot documents them
 * (doc/classes/MultiplayerPeer.xml, modules/webrtc/doc_classes/WebRTCMultiplayerPeer.xml,
 * and the behaviour of modules/webrtc/webrtc_multiplayer_peer.cpp), over real
 * node-datachannel on loopback. Each test quotes the sentence it checks;
 * Δ marks a difference listed in docs/godot.md.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  ChannelState,
  ConnectionState,
  ConnectionStatus,
  ErrorCode,
  TARGET_PEER_BROADCAST,
  TARGET_PEER_SERVER,
  TransferMode,
  WebRTCMultiplayerPeer,
  WebRTCPeerConnection,
} from '../api.js';
import { LOOPBACK } from '../helpers.js';
import { drain, fullMesh, link, pollUntil, star } from '../mesh/mesh-helpers.js';
import { codeOf, polled, relay } from './godot-helpers.js';

const live: { close(): void }[] = [];
const keep = <T extends { close(): void }>(x: T): T => (live.push(x), x);
afterEach(() => {
  for (const m of live.splice(0)) m.close();
});
const fresh = () => keep(new WebRTCMultiplayerPeer());
const connection = () => keep(new WebRTCPeerConnection(LOOPBACK, { autoPoll: true }));

describe('Godot MultiplayerPeer: enums, defaults, initialisation', () => {
  it('constants and enums keep Godot values', () => {
    expect(TransferMode).toEqual({ UNRELIABLE: 0, UNRELIABLE_ORDERED: 1, RELIABLE: 2 });
    expect(ConnectionStatus).toEqual({ DISCONNECTED: 0, CONNECTING: 1, CONNECTED: 2 });
    expect([TARGET_PEER_BROADCAST, TARGET_PEER_SERVER]).toEqual([0, 1]);
  });

  it('defaults: transfer_mode RELIABLE (2), transfer_channel 0, refuse_new_connections false, target TARGET_PEER_BROADCAST; DISCONNECTED', () => {
    const m = fresh();
    expect(m.transferMode).toBe(TransferMode.RELIABLE);
    expect(m.transferChannel).toBe(0);
    expect(m.refuseNewConnections).toBe(false);
    // "By default, the target peer is TARGET_PEER_BROADCAST."
    expect(m.targetPeer).toBe(TARGET_PEER_BROADCAST);
    expect(m.getConnectionStatus()).toBe(ConnectionStatus.DISCONNECTED);
    // Δ get_unique_id before create_*: 0 (Godot prints an error and returns 1)
    expect(m.getUniqueId()).toBe(0);
    expect(m.isServer()).toBe(false);
    expect(m.isServerRelaySupported()).toBe(false);
    // get_packet with nothing: no packet, the reason is kept
    expect(m.getPacket()).toBeUndefined();
    expect(m.getAvailablePacketCount()).toBe(0);
    // Δ put_packet before create_* throws (Godot: ERR_UNCONFIGURED)
    expect(codeOf(() => m.putPacket(new Uint8Array([1])))).toBe(ErrorCode.INVALID_STATE);
  });

  it('create_server: "unique ID of 1", relay supported; create_client: CONNECTING, relay supported; create_mesh: CONNECTED, no relay', () => {
    const s = fresh();
    s.createServer();
    expect([s.getUniqueId(), s.getConnectionStatus(), s.isServerRelaySupported(), s.isServer()]).toEqual([1, ConnectionStatus.CONNECTED, true, true]);
    const c = fresh();
    c.createClient(7);
    expect([c.getUniqueId(), c.getConnectionStatus(), c.isServerRelaySupported(), c.isServer()]).toEqual([7, ConnectionStatus.CONNECTING, true, false]);
    const m = fresh();
    m.createMesh(9);
    expect([m.getUniqueId(), m.getConnectionStatus(), m.isServerRelaySupported()]).toEqual([9, ConnectionStatus.CONNECTED, false]);
  });

  it('peer ids: create_client "must be between 2 and 2147483647", create_mesh "between 1 and 2147483647"; channels_config only TransferMode values', () => {
    expect(codeOf(() => fresh().createClient(1))).toBe(ErrorCode.INVALID_ARGUMENT);
    expect(codeOf(() => fresh().createClient(0))).toBe(ErrorCode.INVALID_ARGUMENT);
    expect(codeOf(() => fresh().createClient(2147483648))).toBe(ErrorCode.INVALID_ARGUMENT);
    expect(codeOf(() => fresh().createClient(2147483647))).toBeUndefined();
    expect(codeOf(() => fresh().createClient(2))).toBeUndefined();
    expect(codeOf(() => fresh().createMesh(0))).toBe(ErrorCode.INVALID_ARGUMENT);
    expect(codeOf(() => fresh().createMesh(-5))).toBe(ErrorCode.INVALID_ARGUMENT);
    expect(codeOf(() => fresh().createMesh(1))).toBeUndefined();
    expect(codeOf(() => fresh().createMesh(2147483647))).toBeUndefined();
    // "The 'channels_config' array must contain only enum values from 'MultiplayerPeer.TransferMode'"
    expect(codeOf(() => fresh().createServer([3 as TransferMode]))).toBe(ErrorCode.INVALID_ARGUMENT);
    expect(codeOf(() => fresh().createMesh(2, ['reliable' as unknown as TransferMode]))).toBe(ErrorCode.INVALID_ARGUMENT);
    // every custom channel has a transfer_channel number: 255 of them at most, numbered 1..255
    const many = fresh();
    many.createMesh(2, new Array<TransferMode>(255).fill(TransferMode.RELIABLE));
    many.transferChannel = 255;
    expect(codeOf(() => fresh().createMesh(2, new Array<TransferMode>(256).fill(TransferMode.RELIABLE)))).toBe(ErrorCode.INVALID_ARGUMENT);
  });

  it('generate_unique_id: "a randomly generated integer that can be used as a network unique ID" (2..2147483647)', () => {
    const m = fresh();
    const ids = new Set<number>();
    for (let i = 0; i < 200; i++) {
      const id = m.generateUniqueId();
      expect(Number.isInteger(id) && id >= 2 && id <= 2147483647).toBe(true);
      ids.add(id);
    }
    expect(ids.size).toBeGreaterThan(190);
    const c = fresh();
    c.createClient(m.generateUniqueId());
    expect(c.getConnectionStatus()).toBe(ConnectionStatus.CONNECTING);
  });

  it('Δ create_* on a peer already created throws INVALID_STATE (call close() first); after close() it can be created again', () => {
    const m = fresh();
    m.createMesh(3);
    expect(codeOf(() => m.createServer())).toBe(ErrorCode.INVALID_STATE);
    m.close();
    m.createServer();
    expect(m.getUniqueId()).toBe(1);
  });
});

describe('Godot WebRTCMultiplayerPeer.add_peer', () => {
  it('rules: unconfigured, client only peer 1, server never peer 1, id range, unreliable_lifetime ≥ 0, refuse_new_connections, STATE_NEW', () => {
    // ERR_UNCONFIGURED before create_*
    expect(codeOf(() => fresh().addPeer(connection(), 2))).toBe(ErrorCode.INVALID_STATE);
    const client = fresh();
    client.createClient(5);
    // "In this mode, you should only call add_peer once and with peer_id of 1."
    expect(codeOf(() => client.addPeer(connection(), 2))).toBe(ErrorCode.INVALID_PEER);
    expect(codeOf(() => client.addPeer(connection(), 1))).toBeUndefined();
    const server = fresh();
    server.createServer();
    expect(codeOf(() => server.addPeer(connection(), 1))).toBe(ErrorCode.INVALID_PEER);
    expect(codeOf(() => server.addPeer(connection(), 0))).toBe(ErrorCode.INVALID_ARGUMENT);
    expect(codeOf(() => server.addPeer(connection(), 2147483648))).toBe(ErrorCode.INVALID_ARGUMENT);
    expect(codeOf(() => server.addPeer(connection(), 2, -1))).toBe(ErrorCode.INVALID_ARGUMENT);
    // "Peers must be added in WebRTCPeerConnection.STATE_NEW state"
    const closed = connection();
    closed.close();
    expect(codeOf(() => server.addPeer(closed, 2))).toBe(ErrorCode.INVALID_STATE);
    // refuse_new_connections: "If true, this MultiplayerPeer refuses new connections." (Godot: ERR_UNAUTHORIZED)
    server.refuseNewConnections = true;
    expect(codeOf(() => server.addPeer(connection(), 3))).toBe(ErrorCode.UNAUTHORIZED);
    server.refuseNewConnections = false;
    expect(codeOf(() => server.addPeer(connection(), 3))).toBeUndefined();
    // mesh mode: any id in 1..2147483647, peer 1 included
    const mesh = fresh();
    mesh.createMesh(4);
    expect(codeOf(() => mesh.addPeer(connection(), 1))).toBeUndefined();
    expect(codeOf(() => mesh.addPeer(connection(), 2147483647))).toBeUndefined();
    // Δ a duplicate id throws (Godot replaces the peer silently)
    expect(codeOf(() => mesh.addPeer(connection(), 1))).toBe(ErrorCode.INVALID_PEER);
  });

  it('"Three channels will be created for reliable, unreliable, and ordered transport"; unreliable_lifetime → maxPacketLifeTime of unreliable and ordered; custom channels per TransferMode', () => {
    const m = fresh();
    m.createMesh(2, [TransferMode.UNRELIABLE, TransferMode.RELIABLE, TransferMode.UNRELIABLE_ORDERED]);
    const pc = connection();
    m.addPeer(pc, 3, 250);
    // has_peer: "Returns true if the given peer_id is in the peers map (it might not be connected though)."
    expect(m.hasPeer(3)).toBe(true);
    expect(m.hasPeer(4)).toBe(false);
    // get_peer: "connection", "channels", "connected"
    const info = m.getPeer(3)!;
    expect(info.connection).toBe(pc);
    expect(info.connected).toBe(false);
    expect(m.getPeers().map((p) => p.id)).toEqual([3]);
    const ch = info.channels;
    const described = ch.map((c) => [c.getLabel(), c.getId(), c.isNegotiated(), c.isOrdered(), c.getMaxPacketLifeTime(), c.getMaxRetransmits()]);
    expect(described).toEqual([
      ['reliable', 1, true, true, 65535, 65535],
      ['ordered', 2, true, true, 250, 65535],
      ['unreliable', 3, true, false, 250, 65535],
      // custom channel i: id 4+i, label its id; UNRELIABLE unordered and UNRELIABLE_ORDERED ordered, both maxPacketLifeTime 1
      ['4', 4, true, false, 1, 65535],
      ['5', 5, true, true, 65535, 65535],
      ['6', 6, true, true, 1, 65535],
    ]);
    expect(ch.every((c) => c.getReadyState() === ChannelState.CONNECTING)).toBe(true);
    expect(pc.getConnectionState()).toBe(ConnectionState.NEW);
    // "This class will not create offers nor set descriptions": nothing was negotiated
    expect(pc.getSignalingState()).toBe(0);
  });

  it('remove_peer: "If the peer was connected, and peer_connected was emitted for it, then peer_disconnected will be emitted"; not for a connecting peer', async () => {
    const meshes = await fullMesh([1, 2, 3]);
    live.push(...meshes);
    const [m1] = meshes as [WebRTCMultiplayerPeer];
    const gone: number[] = [];
    m1.on('peer_disconnected', (id) => gone.push(id));
    m1.removePeer(2);
    expect(gone).toEqual([2]);
    expect(m1.hasPeer(2)).toBe(false);
    m1.addPeer(connection(), 9);
    m1.removePeer(9);
    expect(gone).toEqual([2]);
    expect(m1.getPeer(9)).toBeUndefined();
  });
});

describe('Godot WebRTCMultiplayerPeer over real connections', () => {
  it('"This class will not create offers nor set descriptions, it will only poll them": poll-driven connections are polled by the multiplayer peer', async () => {
    const a = fresh();
    a.createMesh(1);
    const b = fresh();
    b.createMesh(2);
    const pa = keep(polled());
    const pb = keep(polled());
    relay(pa, pb);
    let offers = 0;
    pa.on('session_description_created', () => offers++);
    a.addPeer(pa, 2);
    b.addPeer(pb, 1);
    pa.createOffer();
    // the offer waits for a poll; only the multiplayer peers' poll() is called from here on
    await pollUntil([], () => pa.hasPendingEvents(), 'the offer to be ready');
    expect(offers).toBe(0);
    const connected: string[] = [];
    a.on('peer_connected', (id) => connected.push(`1 sees ${id}`));
    b.on('peer_connected', (id) => connected.push(`2 sees ${id}`));
    await pollUntil([a, b], () => connected.length === 2, 'both peers to connect');
    expect(offers).toBe(1);
    expect(connected.sort()).toEqual(['1 sees 2', '2 sees 1']);
  });

  it('client: CONNECTING until the server connects, then CONNECTED with peer_connected(1); the server gets peer_connected(client id)', async () => {
    const server = keep(fresh());
    server.createServer();
    const client = keep(fresh());
    client.createClient(42);
    const events: string[] = [];
    server.on('peer_connected', (id) => events.push(`server:${id}`));
    client.on('peer_connected', (id) => events.push(`client:${id}:${client.getConnectionStatus()}`));
    link(server, client);
    // has_peer while connecting
    expect(client.hasPeer(1)).toBe(true);
    expect(client.getPeer(1)!.connected).toBe(false);
    expect(client.getConnectionStatus()).toBe(ConnectionStatus.CONNECTING);
    await pollUntil([server, client], () => events.length === 2, 'both peer_connected');
    expect(events.sort()).toEqual([`client:1:${ConnectionStatus.CONNECTED}`, 'server:42']);
    expect(client.getConnectionStatus()).toBe(ConnectionStatus.CONNECTED);
    expect(client.getPeer(1)!.connected).toBe(true);
    // get_peer "connected": "all three channels are open"
    expect(client.getPeer(1)!.channels.every((c) => c.getReadyState() === ChannelState.OPEN)).toBe(true);
    // TARGET_PEER_SERVER: "Packets are sent to the server alone."
    client.targetPeer = TARGET_PEER_SERVER;
    client.putPacket(new Uint8Array([5]));
    await pollUntil([server, client], () => server.getAvailablePacketCount() === 1, 'the packet at the server');
    expect(drain(server)).toEqual([{ from: 42, channel: 0, mode: TransferMode.RELIABLE, data: [5] }]);
    // a client that loses the server is DISCONNECTED (Godot: remove_peer(1) in client mode)
    client.removePeer(1);
    expect(client.getConnectionStatus()).toBe(ConnectionStatus.DISCONNECTED);
    expect(codeOf(() => client.putPacket(new Uint8Array([1])))).toBe(ErrorCode.INVALID_STATE);
  });

  it('the server closing: the client gets peer_disconnected(1) and becomes DISCONNECTED', async () => {
    const [server, [client]] = await star([2]);
    live.push(server, client!);
    const gone: number[] = [];
    client!.on('peer_disconnected', (id) => gone.push(id));
    server.close();
    await pollUntil([client!], () => gone.length === 1, 'the client to notice', 30_000);
    expect(gone).toEqual([1]);
    expect(client!.getConnectionStatus()).toBe(ConnectionStatus.DISCONNECTED);
    expect(client!.hasPeer(1)).toBe(false);
  });

  it('set_target_peer: BROADCAST to all connected peers, a peer id to that peer, "a negative peer ID to send to all peers except that one"', async () => {
    const meshes = await fullMesh([1, 2, 3, 4]);
    live.push(...meshes);
    const [m1, m2, m3, m4] = meshes as [WebRTCMultiplayerPeer, WebRTCMultiplayerPeer, WebRTCMultiplayerPeer, WebRTCMultiplayerPeer];
    m1.targetPeer = TARGET_PEER_BROADCAST;
    m1.putPacket(new Uint8Array([0]));
    m1.targetPeer = -3;
    m1.putPacket(new Uint8Array([1]));
    m1.targetPeer = 4;
    m1.putPacket(new Uint8Array([2]));
    m1.targetPeer = -1; // excluding itself: everyone
    m1.putPacket(new Uint8Array([3]));
    await pollUntil(meshes, () => m2.getAvailablePacketCount() === 3 && m3.getAvailablePacketCount() === 2 && m4.getAvailablePacketCount() === 4, 'the packets');
    const data = (m: WebRTCMultiplayerPeer) => drain(m).map((p) => (expect(p.from).toBe(1), p.data[0]));
    expect(data(m2)).toEqual([0, 1, 3]);
    expect(data(m3)).toEqual([0, 3]);
    expect(data(m4)).toEqual([0, 1, 2, 3]);
    // Δ an unknown positive target throws (Godot: ERR_INVALID_PARAMETER "Invalid target peer")
    m1.targetPeer = 77;
    expect(codeOf(() => m1.putPacket(new Uint8Array([9])))).toBe(ErrorCode.INVALID_PEER);
  });

  it('put_packet with no peers broadcasts to nobody without error; get_packet then has nothing', () => {
    const s = fresh();
    s.createServer();
    expect(codeOf(() => s.putPacket(new Uint8Array([1])))).toBeUndefined();
    s.targetPeer = -5;
    expect(codeOf(() => s.putPacket(new Uint8Array([1])))).toBeUndefined();
    s.poll();
    expect(s.getAvailablePacketCount()).toBe(0);
    expect(s.getPacket()).toBeUndefined();
    expect(s.getPacketError()).toBe(ErrorCode.UNAVAILABLE);
    expect(s.getPacketPeer()).toBe(0);
  });

  it('transfer_channel: custom channels carry their own mode; get_packet_channel / get_packet_mode describe the packet; a missing channel fails', async () => {
    const meshes = await fullMesh([2, 3], [TransferMode.UNRELIABLE_ORDERED, TransferMode.RELIABLE]);
    live.push(...meshes);
    const [m2, m3] = meshes as [WebRTCMultiplayerPeer, WebRTCMultiplayerPeer];
    m2.transferChannel = 2;
    m2.transferMode = TransferMode.UNRELIABLE; // ignored on a custom channel: the channel's own mode applies
    m2.putPacket(new Uint8Array([2]));
    m2.transferChannel = 0;
    m2.transferMode = TransferMode.UNRELIABLE_ORDERED;
    m2.putPacket(new Uint8Array([0]));
    await pollUntil(meshes, () => m3.getAvailablePacketCount() === 2, 'both packets');
    const got = drain(m3).sort((x, y) => x.data[0]! - y.data[0]!);
    expect(got).toEqual([
      { from: 2, channel: 0, mode: TransferMode.UNRELIABLE_ORDERED, data: [0] },
      { from: 2, channel: 2, mode: TransferMode.RELIABLE, data: [2] },
    ]);
    // "Unable to send packet on channel %d, max channels: %d"
    m2.transferChannel = 3;
    expect(codeOf(() => m2.putPacket(new Uint8Array([3])))).toBe(ErrorCode.INVALID_ARGUMENT);
  });

  it('close(): back to CONNECTION_DISCONNECTED with no peers, target reset; Δ peer_disconnected(id, "closed") per connected peer; create again and reconnect', async () => {
    const meshes = await fullMesh([1, 2]);
    live.push(...meshes);
    const [m1, m2] = meshes as [WebRTCMultiplayerPeer, WebRTCMultiplayerPeer];
    m1.targetPeer = 2;
    m1.transferMode = TransferMode.UNRELIABLE;
    const gone: [number, string | undefined][] = [];
    m1.on('peer_disconnected', (id, reason) => gone.push([id, reason]));
    m1.close();
    expect(gone).toEqual([[2, 'closed']]);
    expect(m1.getConnectionStatus()).toBe(ConnectionStatus.DISCONNECTED);
    expect(m1.getPeers()).toEqual([]);
    expect(m1.hasPeer(2)).toBe(false);
    expect(m1.getUniqueId()).toBe(0);
    expect(m1.targetPeer).toBe(0);
    expect(m1.transferMode).toBe(TransferMode.UNRELIABLE); // a MultiplayerPeer property: kept
    await pollUntil([m2], () => !m2.hasPeer(1), 'peer 2 to lose peer 1', 30_000);
    m1.createMesh(1);
    m1.transferMode = TransferMode.RELIABLE;
    link(m1, m2);
    await pollUntil(meshes, () => m1.getPeerIds().includes(2) && m2.getPeerIds().includes(1), 'the new link');
    m2.targetPeer = 1;
    m2.putPacket(new Uint8Array([8]));
    await pollUntil(meshes, () => m1.getAvailablePacketCount() === 1, 'the packet');
    expect(m1.getPacketPeer()).toBe(2);
    expect([...m1.getPacket()!]).toEqual([8]);
  });

  it('get_max_packet_size: Δ 262136 (the SCTP message limit less the session header), Godot 1200', async () => {
    const meshes = await fullMesh([1, 2]);
    live.push(...meshes);
    expect(meshes[0]!.getMaxPacketSize()).toBe(262136);
    const m = meshes[0]!;
    m.targetPeer = 2;
    expect(codeOf(() => m.putPacket(new Uint8Array(262136)))).toBeUndefined();
    // above the SCTP message limit itself it fails
    expect(codeOf(() => m.putPacket(new Uint8Array(262145)))).toBe(ErrorCode.PACKET_TOO_LARGE);
  });

  it('get_available_packet_count counts every connected peer and channel', async () => {
    const [server, clients] = await star([2, 3]);
    live.push(server, ...clients);
    for (const c of clients) {
      c.transferMode = TransferMode.UNRELIABLE_ORDERED;
      c.putPacket(new Uint8Array([c.getUniqueId()]));
      c.transferMode = TransferMode.RELIABLE;
      c.putPacket(new Uint8Array([c.getUniqueId()]));
    }
    await pollUntil([server, ...clients], () => server.getAvailablePacketCount() === 4, 'four packets');
    const got = drain(server);
    expect(got.map((p) => p.from).sort()).toEqual([2, 2, 3, 3]);
    expect(server.getAvailablePacketCount()).toBe(0);
  });
});
