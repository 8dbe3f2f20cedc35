import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  ConnectionState,
  ConnectionStatus,
  ErrorCode,
  RtcmeshError,
  TransferMode,
  WebRTCMultiplayerPeer,
  RpcEndpoint,
  WebRTCPeerConnection,
  getDefaultEngine,
} from '../api.js';
import { LOOPBACK, wire } from '../helpers.js';
import { drain, fullMesh, link, pollUntil, refusingOnce, star } from './mesh-helpers.js';

const live: WebRTCMultiplayerPeer[] = [];
const track = (ms: WebRTCMultiplayerPeer[]) => {
  live.push(...ms);
  return ms;
};
afterEach(() => {
  for (const m of live.splice(0)) m.close();
});

function errorOf(fn: () => unknown): RtcmeshError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(RtcmeshError);
    return e as RtcmeshError;
  }
  throw new Error('expected an error');
}

describe('WebRTCMultiplayerPeer', () => {
  it('connects two mesh peers by hand and exchanges packets both ways', async () => {
    const a = new WebRTCMultiplayerPeer();
    const b = new WebRTCMultiplayerPeer();
    track([a, b]);
    a.createMesh(5);
    b.createMesh(9);
    const connected: string[] = [];
    a.on('peer_connected', (id) => connected.push(`a:${id}`));
    b.on('peer_connected', (id) => connected.push(`b:${id}`));
    const ca = new WebRTCPeerConnection(LOOPBACK); // poll mode: the mesh polls it
    const cb = new WebRTCPeerConnection(LOOPBACK);
    wire(ca, cb);
    a.addPeer(ca, 9);
    b.addPeer(cb, 5);
    expect(a.hasPeer(9)).toBe(true);
    expect(a.getPeerIds()).toEqual([]);
    cb.createOffer();
    await pollUntil([a, b], () => connected.length === 2, 'both peers to connect');
    expect(connected.sort()).toEqual(['a:9', 'b:5']);
    a.targetPeer = 9;
    a.putPacket(new Uint8Array([1, 2]));
    b.targetPeer = 0;
    b.putPacket(new Uint8Array([3]));
    await pollUntil([a, b], () => a.getAvailablePacketCount() === 1 && b.getAvailablePacketCount() === 1, 'packets');
    expect(drain(b)).toEqual([{ from: 5, channel: 0, mode: TransferMode.RELIABLE, data: [1, 2] }]);
    expect(drain(a)).toEqual([{ from: 9, channel: 0, mode: TransferMode.RELIABLE, data: [3] }]);
    expect(a.getStats()).toMatchObject({ packetsSent: 1, packetsReceived: 1, peersConnected: 1 });
  });

  it('negotiates the channel layout with matching ids, lifetimes and ordering on both sides', async () => {
    const meshes = track(await fullMesh([2, 3], [TransferMode.RELIABLE, TransferMode.UNRELIABLE_ORDERED, TransferMode.UNRELIABLE]));
    for (const m of meshes) {
      const other = m.getUniqueId() === 2 ? 3 : 2;
      const channels = m.getPeer(other)!.channels;
      expect(channels.map((c) => c.getId())).toEqual([1, 2, 3, 4, 5, 6]);
      expect(channels.map((c) => c.getLabel())).toEqual(['reliable', 'ordered', 'unreliable', '4', '5', '6']);
      expect(channels.map((c) => c.isNegotiated())).toEqual([true, true, true, true, true, true]);
      expect(channels.map((c) => c.isOrdered())).toEqual([true, true, false, true, true, false]);
      expect(channels.map((c) => c.getMaxPacketLifeTime())).toEqual([65535, 1, 1, 65535, 1, 1]);
    }
  });

  it('honours a custom unreliable lifetime on the remote side', async () => {
    const a = new WebRTCMultiplayerPeer();
    const b = new WebRTCMultiplayerPeer();
    track([a, b]);
    a.createMesh(2);
    b.createMesh(3);
    link(a, b, 250);
    await pollUntil([a, b], () => a.getPeerIds().length === 1 && b.getPeerIds().length === 1, 'link');
    expect(b.getPeer(2)!.channels.map((c) => c.getMaxPacketLifeTime())).toEqual([65535, 250, 250]);
  });

  it('routes broadcast, single-peer and all-but-one targets', async () => {
    const meshes = track(await fullMesh([2, 3, 4, 5]));
    const [m2, m3, m4, m5] = meshes as [WebRTCMultiplayerPeer, WebRTCMultiplayerPeer, WebRTCMultiplayerPeer, WebRTCMultiplayerPeer];
    m2.targetPeer = 0;
    m2.putPacket(new Uint8Array([10]));
    m2.targetPeer = 4;
    m2.putPacket(new Uint8Array([20]));
    m2.targetPeer = -3;
    m2.putPacket(new Uint8Array([30]));
    const expected = new Map([
      [m3, [[10]]],
      [m4, [[10], [20], [30]]],
      [m5, [[10], [30]]],
    ]);
    await pollUntil(meshes, () => [...expected].every(([m, e]) => m.getAvailablePacketCount() === e.length), 'all packets');
    for (const [m, e] of expected) {
      const got = drain(m);
      expect(got.map((p) => p.data)).toEqual(e);
      expect(got.every((p) => p.from === 2)).toBe(true);
    }
    expect(m2.getAvailablePacketCount()).toBe(0);
    m2.targetPeer = 77;
    expect(errorOf(() => m2.putPacket(new Uint8Array([1]))).code).toBe(ErrorCode.INVALID_PEER);
  });

  it('reports peer, channel and mode for every combination of mode and channel', async () => {
    const custom = [TransferMode.RELIABLE, TransferMode.UNRELIABLE_ORDERED, TransferMode.UNRELIABLE];
    const [a, b] = track(await fullMesh([2, 3], custom)) as [WebRTCMultiplayerPeer, WebRTCMultiplayerPeer];
    a.targetPeer = 3;
    const sent: { channel: number; mode: TransferMode; tag: number }[] = [];
    let tag = 0;
    for (const mode of [TransferMode.RELIABLE, TransferMode.UNRELIABLE_ORDERED, TransferMode.UNRELIABLE]) {
      for (let channel = 0; channel <= custom.length; channel++) {
        a.transferMode = mode;
        a.transferChannel = channel;
        a.putPacket(new Uint8Array([++tag]));
        // channel 0 follows transferMode; channel N uses custom channel N's own mode
        sent.push({ channel, mode: channel === 0 ? mode : custom[channel - 1]!, tag });
      }
    }
    await pollUntil([a, b], () => b.getAvailablePacketCount() === sent.length, 'every packet');
    const got = drain(b).map((p) => ({ channel: p.channel, mode: p.mode, tag: p.data[0]!, from: p.from }));
    expect(got.every((p) => p.from === 2)).toBe(true);
    expect(got.map(({ from: _f, ...rest }) => rest).sort((x, y) => x.tag - y.tag)).toEqual(sent);
    a.transferChannel = 4;
    expect(errorOf(() => a.putPacket(new Uint8Array([1]))).message).toMatch(/transferChannel 4 does not exist/);
  });

  it('receives fairly: round-robin across peers', async () => {
    const meshes = track(await fullMesh([2, 3, 4]));
    const [m2, m3, m4] = meshes as [WebRTCMultiplayerPeer, WebRTCMultiplayerPeer, WebRTCMultiplayerPeer];
    m3.targetPeer = 2;
    m4.targetPeer = 2;
    for (let i = 0; i < 3; i++) {
      m3.putPacket(new Uint8Array([30 + i]));
      m4.putPacket(new Uint8Array([40 + i]));
    }
    await pollUntil(meshes, () => m2.getAvailablePacketCount() === 6, 'six packets');
    const from = drain(m2).map((p) => p.from);
    // alternates between the two senders rather than draining one first
    for (let i = 1; i < from.length; i++) expect(from[i]).not.toBe(from[i - 1]);
  });

  it('connects a server and four clients; clients become CONNECTED with the server link', async () => {
    const [server, clients] = await star([2, 3, 4, 5]);
    track([server, ...clients]);
    expect(server.getPeerIds().sort()).toEqual([2, 3, 4, 5]);
    expect(server.isServer()).toBe(true);
    expect(server.isServerRelaySupported()).toBe(true);
    for (const c of clients) {
      expect(c.getPeerIds()).toEqual([1]);
      expect(c.isServer()).toBe(false);
    }
    server.targetPeer = 0;
    server.putPacket(new Uint8Array([7]));
    clients[0]!.targetPeer = 1;
    clients[0]!.putPacket(new Uint8Array([8]));
    await pollUntil([server, ...clients], () => clients.every((c) => c.getAvailablePacketCount() === 1) && server.getAvailablePacketCount() === 1, 'packets');
    expect(drain(server)).toEqual([{ from: 2, channel: 0, mode: TransferMode.RELIABLE, data: [8] }]);
    for (const c of clients) expect(drain(c)[0]!.from).toBe(1);
  });

  it('refuses bad peers in the documented order and leaves nothing behind', () => {
    const client = new WebRTCMultiplayerPeer();
    const server = new WebRTCMultiplayerPeer();
    const mesh = new WebRTCMultiplayerPeer();
    track([client, server, mesh]);
    const conn = () => new WebRTCPeerConnection(LOOPBACK);
    expect(errorOf(() => mesh.addPeer(conn(), 2)).code).toBe(ErrorCode.INVALID_STATE);
    client.createClient(5);
    server.createServer();
    mesh.createMesh(3);
    expect(errorOf(() => client.addPeer(conn(), 7)).message).toMatch(/only connects to the server/);
    expect(errorOf(() => server.addPeer(conn(), 1)).message).toMatch(/server is peer 1 itself/);
    expect(errorOf(() => mesh.addPeer(conn(), 0)).code).toBe(ErrorCode.INVALID_ARGUMENT);
    expect(errorOf(() => mesh.addPeer(conn(), 3)).message).toMatch(/own id/);
    expect(errorOf(() => mesh.addPeer(conn(), 4, -1)).message).toMatch(/unreliableLifetime/);
    mesh.refuseNewConnections = true;
    const refused = conn();
    expect(errorOf(() => mesh.addPeer(refused, 4)).code).toBe(ErrorCode.UNAUTHORIZED);
    expect(refused.getDataChannels()).toHaveLength(0);
    expect(mesh.hasPeer(4)).toBe(false);
    mesh.refuseNewConnections = false;
    const used = conn();
    used.createDataChannel('x', { negotiated: true, id: 9 });
    used.createOffer();
    expect(errorOf(() => mesh.addPeer(used, 4)).message).toMatch(/state NEW/);
    const clash = conn();
    clash.createDataChannel('mine', { negotiated: true, id: 2 });
    expect(errorOf(() => mesh.addPeer(clash, 4)).message).toMatch(/already has a channel with id 2/);
    expect(clash.getDataChannels()).toHaveLength(1);
    mesh.addPeer(conn(), 4);
    expect(errorOf(() => mesh.addPeer(conn(), 4)).message).toMatch(/already present/);
    expect(mesh.getPeers().map((p) => p.id)).toEqual([4]);
    expect(errorOf(() => mesh.createMesh(3)).code).toBe(ErrorCode.INVALID_STATE);
    expect(errorOf(() => client.createClient(1)).code).toBe(ErrorCode.INVALID_ARGUMENT);
    expect(errorOf(() => new WebRTCMultiplayerPeer().createMesh(2, [7 as TransferMode])).message).toMatch(/channels\[0\]/);
    expect(errorOf(() => (mesh.transferChannel = 256)).code).toBe(ErrorCode.INVALID_ARGUMENT);
    expect(errorOf(() => mesh.putPacket('x' as never)).code).toBe(ErrorCode.INVALID_ARGUMENT);
  });

  it('addPeer reports the first failing check in spec order when several apply', () => {
    const conn = () => new WebRTCPeerConnection(LOOPBACK);
    const used = () => {
      const c = conn();
      c.close();
      return c;
    };
    const fresh = new WebRTCPeerConnection(LOOPBACK);
    // not initialised beats everything
    expect(errorOf(() => new WebRTCMultiplayerPeer().addPeer(used(), 0, -1)).code).toBe(ErrorCode.INVALID_STATE);
    const client = new WebRTCMultiplayerPeer();
    const server = new WebRTCMultiplayerPeer();
    const mesh = new WebRTCMultiplayerPeer();
    track([client, server, mesh]);
    client.createClient(5);
    server.createServer();
    mesh.createMesh(3);
    for (const m of [client, server, mesh]) m.refuseNewConnections = true;
    // client refusal before the id range check, the lifetime, refuseNewConnections and the connection state
    const c0 = errorOf(() => client.addPeer(used(), 0, -1));
    expect(c0.code).toBe(ErrorCode.INVALID_PEER);
    expect(c0.message).toMatch(/only connects to the server/);
    expect(errorOf(() => client.addPeer(fresh, 2147483648)).message).toMatch(/only connects to the server/);
    // server refusal of peer 1 before the lifetime, refuseNewConnections and the connection state
    expect(errorOf(() => server.addPeer(used(), 1, -1)).message).toMatch(/server is peer 1 itself/);
    // range before lifetime
    const range = errorOf(() => mesh.addPeer(used(), 0, -1));
    expect(range.code).toBe(ErrorCode.INVALID_ARGUMENT);
    expect(range.message).toMatch(/peerId/);
    expect(errorOf(() => mesh.addPeer(used(), 3, -1)).message).toMatch(/own id/);
    // lifetime before refuseNewConnections
    expect(errorOf(() => mesh.addPeer(used(), 4, -1)).message).toMatch(/unreliableLifetime/);
    expect(errorOf(() => client.addPeer(used(), 1, 70000)).message).toMatch(/unreliableLifetime/);
    // refuseNewConnections before the connection state
    expect(errorOf(() => mesh.addPeer(used(), 4)).code).toBe(ErrorCode.UNAUTHORIZED);
    expect(errorOf(() => server.addPeer(used(), 2)).code).toBe(ErrorCode.UNAUTHORIZED);
    mesh.refuseNewConnections = false;
    expect(errorOf(() => mesh.addPeer(used(), 4)).code).toBe(ErrorCode.INVALID_STATE);
    expect(errorOf(() => mesh.addPeer({} as WebRTCPeerConnection, 4)).code).toBe(ErrorCode.INVALID_ARGUMENT);
    // nothing was created anywhere
    expect(fresh.getDataChannels()).toHaveLength(0);
    for (const m of [client, server, mesh]) expect(m.getPeers()).toEqual([]);
    fresh.close();
  });

  it('a failed addPeer removes the channels it made from the connection (node-datachannel: a retry needs initialize())', async () => {
    const a = new WebRTCMultiplayerPeer();
    const b = new WebRTCMultiplayerPeer();
    track([a, b]);
    a.createMesh(2);
    b.createMesh(3);
    // the engine refuses the control channel, the last one addPeer creates: three channels exist by then
    const engine = refusingOnce(getDefaultEngine(), 'rtcmesh-control');
    const ca = new WebRTCPeerConnection(LOOPBACK, { engine, autoPoll: true });
    const cb = new WebRTCPeerConnection(LOOPBACK, { autoPoll: true });
    wire(ca, cb);
    const mine = ca.createDataChannel('mine', { negotiated: true, id: 50 }); // the user's own channel stays
    const failed = errorOf(() => a.addPeer(ca, 3));
    expect(engine.refused).toBe(1);
    expect(failed.code).toBe(ErrorCode.ENGINE_ERROR);
    expect(ca.getDataChannels()).toEqual([mine]);
    expect(a.hasPeer(3)).toBe(false);
    // libdatachannel never opens a channel on a stream id used before: the retry fails loudly, leaving nothing
    const again = errorOf(() => a.addPeer(ca, 3));
    expect(again.code).toBe(ErrorCode.ENGINE_ERROR);
    expect(again.message).toMatch(/stream id 1 was used before.*initialize\(\)/);
    expect(ca.getDataChannels()).toEqual([mine]);
    expect(a.hasPeer(3)).toBe(false);
    // the same connection object, re-initialised, works
    ca.initialize(LOOPBACK);
    a.addPeer(ca, 3);
    b.addPeer(cb, 2);
    cb.createOffer();
    await pollUntil([a, b], () => a.getPeerIds().length === 1 && b.getPeerIds().length === 1, 'the retried link to open');
    expect(a.getPeer(3)!.channels.map((c) => c.getId())).toEqual([1, 2, 3]);
  });

  it('removes a peer whose connection closed and keeps working with the rest', async () => {
    const meshes = track(await fullMesh([2, 3, 4]));
    const [m2, m3, m4] = meshes as [WebRTCMultiplayerPeer, WebRTCMultiplayerPeer, WebRTCMultiplayerPeer];
    const gone: string[] = [];
    m2.on('peer_disconnected', (id, reason) => gone.push(`2:${id}:${reason}`));
    m3.on('peer_disconnected', (id) => gone.push(`3:${id}`));
    m4.close();
    await pollUntil([m2, m3], () => gone.length === 2, 'both survivors to notice');
    // Which the engine reports first, the closed connection or its closed channels, is a race.
    expect(gone.sort()).toEqual([expect.stringMatching(/^2:4:(connection closed|a channel closed)$/), '3:4']);
    m2.targetPeer = 0;
    m2.putPacket(new Uint8Array([1]));
    await pollUntil([m2, m3], () => m3.getAvailablePacketCount() === 1, 'a packet after the departure');
    expect(m2.getPeerIds()).toEqual([3]);
    expect(m2.getPeer(4)).toBeUndefined();
  });

  it('client status goes DISCONNECTED when the server goes away; disconnectPeer(force) is silent', async () => {
    const [server, clients] = await star([2, 3]);
    track([server, ...clients]);
    const events: number[] = [];
    server.on('peer_disconnected', (id) => events.push(id));
    server.disconnectPeer(2, true);
    expect(server.hasPeer(2)).toBe(false);
    await pollUntil([clients[0]!], () => clients[0]!.getConnectionStatus() === ConnectionStatus.DISCONNECTED, 'client 2 to lose the server');
    server.disconnectPeer(3); // Godot: closed now, removed (and reported) on the next poll()
    expect(events).toEqual([]);
    expect(server.hasPeer(3)).toBe(true);
    expect(server.getPeer(3)!.connection.getConnectionState()).toBe(ConnectionState.CLOSED);
    server.poll();
    expect(events).toEqual([3]);
    expect(server.hasPeer(3)).toBe(false);
    expect(errorOf(() => server.disconnectPeer(3)).code).toBe(ErrorCode.INVALID_PEER);
  });

  it('generateUniqueId() draws crypto-random ids from 2..2147483647, usable with createClient/createMesh', () => {
    const m = new WebRTCMultiplayerPeer();
    const ids = Array.from({ length: 1000 }, () => m.generateUniqueId());
    for (const id of ids) {
      expect(Number.isInteger(id)).toBe(true);
      expect(id).toBeGreaterThanOrEqual(2);
      expect(id).toBeLessThanOrEqual(2147483647);
    }
    expect(new Set(ids).size).toBeGreaterThan(990); // 31 random bits: a repeat among 1000 is very unlikely
    // the extremes of the generator map to the ends of the range; the biased top is redrawn
    const words = [0, 2147483645, 0xffffffff, 7];
    const spy = vi.spyOn(globalThis.crypto, 'getRandomValues').mockImplementation(<T extends ArrayBufferView | null>(buf: T): T => {
      (buf as unknown as Uint32Array)[0] = words.shift()!;
      return buf;
    });
    try {
      expect([m.generateUniqueId(), m.generateUniqueId(), m.generateUniqueId()]).toEqual([2, 2147483647, 9]);
    } finally {
      spy.mockRestore();
    }
    m.createClient(m.generateUniqueId());
    expect(m.getUniqueId()).toBeGreaterThanOrEqual(2);
    m.close();
    const mesh = new WebRTCMultiplayerPeer();
    const id = mesh.generateUniqueId();
    mesh.createMesh(id);
    expect(mesh.getUniqueId()).toBe(id);
    mesh.close();
  });

  it('removePeer() closes and forgets a peer, telling both sides; unknown ids are ignored', async () => {
    const meshes = track(await fullMesh([2, 3, 4]));
    const [m2, m3, m4] = meshes as [WebRTCMultiplayerPeer, WebRTCMultiplayerPeer, WebRTCMultiplayerPeer];
    const gone: string[] = [];
    m2.on('peer_disconnected', (id, reason) => gone.push(`2:${id}:${reason}`));
    m3.on('peer_disconnected', (id, reason) => gone.push(`3:${id}:${reason}`));
    const connection = m2.getPeer(3)!.connection;
    m2.removePeer(3);
    expect(gone).toEqual(['2:3:removed']); // synchronously, with its reason
    expect(m2.hasPeer(3)).toBe(false);
    expect(m2.getPeer(3)).toBeUndefined();
    expect(m2.getPeerIds()).toEqual([4]);
    expect(connection.getConnectionState()).toBe(ConnectionState.CLOSED);
    await pollUntil([m3], () => gone.length === 2, 'peer 3 to notice');
    expect(gone[1]).toBe('3:2:connection closed');
    m2.removePeer(3); // gone already: nothing happens
    m2.removePeer(99);
    expect(gone).toHaveLength(2);
    expect(errorOf(() => m2.removePeer(0)).code).toBe(ErrorCode.INVALID_ARGUMENT);
    // a peer still connecting is removed silently (it was never announced)
    m4.addPeer(new WebRTCPeerConnection(LOOPBACK), 7);
    const events: number[] = [];
    m4.on('peer_disconnected', (id) => events.push(id));
    m4.removePeer(7);
    expect(m4.hasPeer(7)).toBe(false);
    expect(events).toEqual([]);
    // the rest keeps working
    m2.targetPeer = 0;
    m2.putPacket(new Uint8Array([1]));
    await pollUntil([m2, m4], () => m4.getAvailablePacketCount() === 1, 'a packet after the removal');
  });

  it('a broadcast that fails for one peer is counted and reported with send_failed; the others still get it', async () => {
    const a = new WebRTCMultiplayerPeer({ session: false });
    const b = new WebRTCMultiplayerPeer({ session: false });
    const small = new WebRTCMultiplayerPeer({ session: false });
    track([a, b, small]);
    a.createMesh(2);
    b.createMesh(3);
    small.createMesh(4);
    link(a, b);
    // peer 4 accepts messages of at most 1024 bytes
    const ca = new WebRTCPeerConnection(LOOPBACK, { autoPoll: true });
    const cs = new WebRTCPeerConnection({ ...LOOPBACK, maxMessageSize: 1024 }, { autoPoll: true });
    wire(ca, cs);
    a.addPeer(ca, 4);
    small.addPeer(cs, 2);
    cs.createOffer();
    await pollUntil([a, b, small], () => a.getPeerIds().length === 2 && b.getPeerIds().length === 1 && small.getPeerIds().length === 1, 'both links');
    expect(a.getMaxPacketSize()).toBe(1024);
    const failures: [number, unknown][] = [];
    a.on('send_failed', (id, err) => failures.push([id, err]));
    a.targetPeer = 0;
    a.putPacket(new Uint8Array(2000)); // does not throw
    expect(failures).toHaveLength(1);
    expect(failures[0]![0]).toBe(4);
    expect(failures[0]![1]).toBeInstanceOf(RtcmeshError);
    expect((failures[0]![1] as RtcmeshError).code).toBe(ErrorCode.PACKET_TOO_LARGE);
    expect(a.getStats()).toMatchObject({ packetsSent: 1, broadcastFailures: 1 });
    await pollUntil([a, b], () => b.getAvailablePacketCount() === 1, 'the broadcast at peer 3');
    expect(b.getPacket()!.length).toBe(2000);
    // all but peer 3: only peer 4, which fails again
    a.targetPeer = -3;
    a.putPacket(new Uint8Array(2000));
    expect(a.getStats()).toMatchObject({ packetsSent: 1, broadcastFailures: 2 });
    // to peer 4 alone the error is thrown, not counted
    a.targetPeer = 4;
    expect(errorOf(() => a.putPacket(new Uint8Array(2000))).code).toBe(ErrorCode.PACKET_TOO_LARGE);
    expect(a.getStats()).toMatchObject({ packetsSent: 1, broadcastFailures: 2 });
    expect(failures).toHaveLength(2);
  });

  it('getConnectionStatus() and isServerRelaySupported() follow the role', () => {
    const m = new WebRTCMultiplayerPeer();
    expect(m.getConnectionStatus()).toBe(ConnectionStatus.DISCONNECTED);
    expect(m.isServerRelaySupported()).toBe(false);
    m.createClient(9);
    expect(m.getConnectionStatus()).toBe(ConnectionStatus.CONNECTING); // until the server link opens
    expect(m.isServerRelaySupported()).toBe(true);
    m.close();
    expect(m.getConnectionStatus()).toBe(ConnectionStatus.DISCONNECTED);
    m.createServer();
    expect(m.getConnectionStatus()).toBe(ConnectionStatus.CONNECTED);
    expect(m.isServerRelaySupported()).toBe(true);
    m.close();
    m.createMesh(4);
    expect(m.getConnectionStatus()).toBe(ConnectionStatus.CONNECTED);
    expect(m.isServerRelaySupported()).toBe(false); // every pair of a mesh has its own link
    m.close();
    expect(m.getConnectionStatus()).toBe(ConnectionStatus.DISCONNECTED);
    expect(m.isServerRelaySupported()).toBe(false);
  });

  it('close() releases every connection', async () => {
    const meshes = await fullMesh([2, 3]);
    const conns = meshes.flatMap((m) => m.getPeers().map((p) => p.connection));
    for (const m of meshes) m.close();
    expect(conns.every((c) => c.getConnectionState() === ConnectionState.CLOSED)).toBe(true);
    expect(meshes[0]!.getConnectionStatus()).toBe(ConnectionStatus.DISCONNECTED);
    expect(meshes[0]!.getPeers()).toEqual([]);
  });

  it('close() resets the transient state as Godot does and emits peer_disconnected("closed") for each connected peer', async () => {
    const meshes = track(await fullMesh([2, 3, 4], [TransferMode.UNRELIABLE]));
    const [m2, m3] = meshes as [WebRTCMultiplayerPeer, WebRTCMultiplayerPeer, WebRTCMultiplayerPeer];
    m3.targetPeer = 2;
    m3.transferChannel = 1;
    m3.putPacket(new Uint8Array([1]));
    m3.putPacket(new Uint8Array([2]));
    await pollUntil(meshes, () => m2.getAvailablePacketCount() === 2, 'two packets');
    m2.getPacket(); // one read, one left unread: the getters describe it
    expect([m2.getPacketPeer(), m2.getPacketChannel(), m2.getPacketMode()]).toEqual([3, 1, TransferMode.UNRELIABLE]);
    m2.addPeer(new WebRTCPeerConnection(LOOPBACK), 9); // still connecting at close(): closed silently
    m2.targetPeer = -4;
    m2.transferMode = TransferMode.UNRELIABLE_ORDERED;
    m2.transferChannel = 1;
    m2.refuseNewConnections = true;
    const sent = m2.getStats().packetsReceived;
    const seen: string[] = [];
    m2.on('peer_disconnected', (id, reason) => {
      // listeners already see the closed peer
      expect(m2.getConnectionStatus()).toBe(ConnectionStatus.DISCONNECTED);
      expect(m2.getPeers()).toEqual([]);
      seen.push(`${id}:${reason}`);
    });
    const connections = m2.getPeers().map((p) => p.connection);
    m2.close();
    expect(seen.sort()).toEqual(['3:closed', '4:closed']);
    expect(connections.every((c) => c.getConnectionState() === ConnectionState.CLOSED)).toBe(true);
    // Godot's close(): peers, role, id, custom channels, target and last packet reset
    expect(m2.getPeers()).toEqual([]);
    expect(m2.getMode()).toBeUndefined();
    expect(m2.getUniqueId()).toBe(0);
    expect(m2.getCustomChannels()).toEqual([]);
    expect(m2.getConnectionStatus()).toBe(ConnectionStatus.DISCONNECTED);
    expect(m2.targetPeer).toBe(0);
    expect([m2.getPacketPeer(), m2.getPacketChannel(), m2.getPacketMode()]).toEqual([0, 0, TransferMode.RELIABLE]);
    expect(m2.getAvailablePacketCount()).toBe(0); // the unread packet went with its peer
    expect(m2.getPacket()).toBeUndefined();
    // kept: the send settings, refuseNewConnections and the counters
    expect([m2.transferMode, m2.transferChannel, m2.refuseNewConnections]).toEqual([TransferMode.UNRELIABLE_ORDERED, 1, true]);
    expect(m2.getStats().packetsReceived).toBe(sent);
    expect(errorOf(() => m2.putPacket(new Uint8Array([1]))).code).toBe(ErrorCode.INVALID_STATE);
    m2.close(); // again: nothing happens
    expect(seen).toHaveLength(2);
    m2.createMesh(5); // usable again
    expect(m2.getUniqueId()).toBe(5);
  });

  it('close() cancels the pending requests of an RpcEndpoint bound to the mesh', async () => {
    const [m2, m3] = track(await fullMesh([2, 3])) as [WebRTCMultiplayerPeer, WebRTCMultiplayerPeer];
    const ep2 = new RpcEndpoint(m2).register('slow', () => 1, { mode: 'any_peer' });
    const ep3 = new RpcEndpoint(m3).register('slow', () => new Promise<number>(() => {}), { mode: 'any_peer' }); // never answers
    const request = ep2.request(3, 'slow');
    ep2.flush();
    await pollUntil([m2, m3], () => (ep3.poll(), ep3.getStats().messagesReceived > 0), 'the request to arrive');
    const gone: number[] = [];
    ep2.on('peer_disconnected', (id) => gone.push(id));
    m2.close();
    const err = await request.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(RtcmeshError);
    expect((err as RtcmeshError).code).toBe(ErrorCode.PEER_DISCONNECTED);
    expect(gone).toEqual([3]);
    expect(ep2.getStats().pendingRequests).toBe(0);
    ep2.close();
    ep3.close();
  });
});
