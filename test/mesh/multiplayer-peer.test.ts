/**
 * WebRTCMultiplayerPeer over real loopback connections: connecting, channel
 * layout, routing and delivery, roles, ids and failed broadcasts. addPeer
 * refusals, peers leaving, removePeer() and close(): multiplayer-peer-lifecycle.test.ts.
 */
import { describe, expect, it, vi } from 'vitest';
import {
  ConnectionStatus,
  ErrorCode,
  RtcmeshError,
  TransferMode,
  WebRTCMultiplayerPeer,
  WebRTCPeerConnection,
} from '../api.js';
import { LOOPBACK, wire } from '../helpers.js';
import { drain, fullMesh, link, pollUntil, star } from './mesh-helpers.js';
import { closeMeshesAfterEach, errorOf } from './multiplayer-peer-helpers.js';

const track = closeMeshesAfterEach();

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
});
