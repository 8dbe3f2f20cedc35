/**
 * WebRTCMultiplayerPeer over real loopback connections: addPeer refusals and
 * their order, peers leaving or removed, and what close() releases and
 * resets. Connecting, routing and delivery: multiplayer-peer.test.ts.
 */
import { describe, expect, it } from 'vitest';
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
import { fullMesh, pollUntil, refusingOnce, star } from './mesh-helpers.js';
import { closeMeshesAfterEach, errorOf } from './multiplayer-peer-helpers.js';

const track = closeMeshesAfterEach();

describe('WebRTCMultiplayerPeer', () => {
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
