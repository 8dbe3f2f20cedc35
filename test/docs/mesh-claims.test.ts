/**
 * Claims of docs/mesh.md and the MultiplayerPeer / WebRTCMultiplayerPeer
 * table of docs/godot.md that no other test asserted, checked over real
 * node-datachannel on 127.0.0.1. Each `it()` quotes the claim it checks.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  ConnectionStatus,
  ErrorCode,
  TransferMode,
  WebRTCMultiplayerPeer,
  WebRTCPeerConnection,
} from '../api.js';
import { codeOf } from '../godot/godot-helpers.js';
import { LOOPBACK } from '../helpers.js';
import { fullMesh, link, pollUntil, star } from '../mesh/mesh-helpers.js';

const live: { close(): void }[] = [];
function track<T extends { close(): void }>(x: T): T {
  live.push(x);
  return x;
}
afterEach(() => {
  for (const x of live.splice(0).reverse()) x.close();
});

const fresh = () => track(new WebRTCMultiplayerPeer());

describe('docs/mesh.md: roles', () => {
  it('"channels lists extra channels by TransferMode (at most 255, numbered 1…255). A bad id or mode throws INVALID_ARGUMENT"', () => {
    expect(codeOf(() => fresh().createServer(new Array(256).fill(TransferMode.RELIABLE)))).toBe(ErrorCode.INVALID_ARGUMENT);
    const p = fresh();
    expect(codeOf(() => p.createMesh(3, new Array(255).fill(TransferMode.UNRELIABLE)))).toBeUndefined();
    expect(p.getCustomChannels()).toHaveLength(255);
    p.transferChannel = 255; // the last custom channel is addressable
    expect(codeOf(() => fresh().createClient(1))).toBe(ErrorCode.INVALID_ARGUMENT);
    expect(codeOf(() => fresh().createMesh(0))).toBe(ErrorCode.INVALID_ARGUMENT);
    expect(codeOf(() => fresh().createMesh(2 ** 31))).toBe(ErrorCode.INVALID_ARGUMENT);
  });

  it('"getUniqueId() is the own id (0 when uninitialised)"; isServerRelaySupported() false before initialisation; getPacketError() INVALID_STATE when not initialised', () => {
    const p = fresh();
    expect(p.getUniqueId()).toBe(0);
    expect(p.isServer()).toBe(false);
    expect(p.isServerRelaySupported()).toBe(false);
    expect(p.getConnectionStatus()).toBe(ConnectionStatus.DISCONNECTED);
    expect(p.getPacket()).toBeUndefined();
    expect(p.getPacketError()).toBe(ErrorCode.INVALID_STATE);
    p.createServer();
    expect(p.getPacket()).toBeUndefined();
    expect(p.getPacketError()).toBe(ErrorCode.UNAVAILABLE);
  });
});

describe('docs/mesh.md: peers', () => {
  it('getPeer: "{ id, connection, channels, connected, state }"; "state is connecting, connected"; hasPeer "true while the peer is present, connecting or connected"; getPeers() lists connecting ones, getPeerIds() only connected', async () => {
    const a = fresh();
    const b = fresh();
    a.createMesh(2, [TransferMode.UNRELIABLE]);
    b.createMesh(3, [TransferMode.UNRELIABLE]);
    link(a, b);
    const info = a.getPeer(3)!;
    expect(info.id).toBe(3);
    expect(info.connection).toBeInstanceOf(WebRTCPeerConnection);
    expect(info.connected).toBe(false);
    expect(info.state).toBe('connecting');
    expect(a.hasPeer(3)).toBe(true);
    expect(a.getPeers().map((p) => p.id)).toEqual([3]);
    expect(a.getPeerIds()).toEqual([]);
    // godot.md: "channels lists the 3 default channels then the custom ones (not rtcmesh's control channel)"
    expect(info.channels.map((c) => [c.getLabel(), c.getId()])).toEqual([
      ['reliable', 1],
      ['ordered', 2],
      ['unreliable', 3],
      ['4', 4],
    ]);
    await pollUntil([a, b], () => a.getPeerIds().length === 1 && b.getPeerIds().length === 1, 'the link to open');
    expect(a.getPeer(3)!.connected).toBe(true);
    expect(a.getPeer(3)!.state).toBe('connected');
    expect(a.getPeer(99)).toBeUndefined();
    expect(a.hasPeer(99)).toBe(false);
  });

  it('disconnectPeer: "A peer that is not present throws INVALID_PEER"', () => {
    const p = fresh();
    p.createServer();
    expect(codeOf(() => p.disconnectPeer(5))).toBe(ErrorCode.INVALID_PEER);
    expect(codeOf(() => p.disconnectPeer(5, true))).toBe(ErrorCode.INVALID_PEER);
  });

  it('refuseNewConnections: "while true, addPeer refuses every new peer with UNAUTHORIZED … Peers already present stay"', async () => {
    const [m2, m3] = await fullMesh([2, 3]).then((ms) => ms.map(track));
    m2!.refuseNewConnections = true;
    expect(codeOf(() => m2!.addPeer(new WebRTCPeerConnection(LOOPBACK), 9))).toBe(ErrorCode.UNAUTHORIZED);
    m2!.poll();
    expect(m2!.getPeerIds()).toEqual([3]);
    m2!.putPacket(new Uint8Array([4]));
    await pollUntil([m2!, m3!], () => m3!.getAvailablePacketCount() === 1, 'a packet over the kept link');
  });
});

describe('docs/mesh.md: sending and receiving', () => {
  it('putPacket: "single target only: that peer is still connecting → NOT_OPEN"; a broadcast "skips peers that are not connected yet"', () => {
    const p = fresh();
    p.createMesh(2);
    p.addPeer(new WebRTCPeerConnection(LOOPBACK), 3);
    p.targetPeer = 3;
    expect(codeOf(() => p.putPacket(new Uint8Array([1])))).toBe(ErrorCode.NOT_OPEN);
    p.targetPeer = 0;
    expect(codeOf(() => p.putPacket(new Uint8Array([1])))).toBeUndefined();
    expect(p.getStats().broadcastFailures).toBe(0);
  });

  it('putPacket: checked in the documented order — bytes, then state, then transferChannel, then target', () => {
    const p = fresh();
    expect(codeOf(() => p.putPacket('x' as never))).toBe(ErrorCode.INVALID_ARGUMENT); // before INVALID_STATE
    p.createServer();
    p.transferChannel = 1;
    p.targetPeer = 7;
    expect(codeOf(() => p.putPacket(new Uint8Array([1])))).toBe(ErrorCode.INVALID_ARGUMENT); // channel before target
    p.transferChannel = 0;
    expect(codeOf(() => p.putPacket(new Uint8Array([1])))).toBe(ErrorCode.INVALID_PEER);
  });

  it('"getMaxPacketSize() … (262144 with no link), less the session header\'s worst case when sessions are on" — godot.md: 262136', async () => {
    const p = fresh();
    p.createServer();
    expect(p.getMaxPacketSize()).toBe(262136);
    const raw = track(new WebRTCMultiplayerPeer({ session: false }));
    raw.createServer();
    expect(raw.getMaxPacketSize()).toBe(262144);
    const [server, clients] = await star([2]);
    track(server);
    track(clients[0]!);
    expect(server.getMaxPacketSize()).toBe(262136);
    expect(clients[0]!.getMaxPacketSize()).toBe(262136);
    // a packet of exactly that size goes through (whatever its sequence number); with the
    // header it no longer fits the negotiated 262144, it is refused
    clients[0]!.putPacket(new Uint8Array(262136));
    clients[0]!.targetPeer = 1;
    expect(codeOf(() => clients[0]!.putPacket(new Uint8Array(262144)))).toBe(ErrorCode.PACKET_TOO_LARGE);
    await pollUntil([server, clients[0]!], () => server.getAvailablePacketCount() === 1, 'the largest packet');
    expect(server.getPacket()!.byteLength).toBe(262136);
  });

  it('"A packet getPacket() returns is yours to keep: nothing writes it again"', async () => {
    const [m2, m3] = (await fullMesh([2, 3])).map(track) as [WebRTCMultiplayerPeer, WebRTCMultiplayerPeer];
    m2.putPacket(new Uint8Array([1, 1, 1]));
    await pollUntil([m2, m3], () => m3.getAvailablePacketCount() === 1, 'the first packet');
    const first = m3.getPacket()!;
    for (let i = 2; i < 40; i++) m2.putPacket(new Uint8Array([i, i, i]));
    await pollUntil([m2, m3], () => m3.getAvailablePacketCount() === 38, 'more packets');
    const rest: number[][] = [];
    for (let d = m3.getPacket(); d; d = m3.getPacket()) rest.push([...d]);
    expect([...first]).toEqual([1, 1, 1]);
    expect(rest).toHaveLength(38);
    expect(rest[37]).toEqual([39, 39, 39]);
  });

  it('transferChannel: "N > 0: custom channel N" — getPacketChannel() of the receiver is N and getPacketMode() its mode', async () => {
    const ms = (await fullMesh([2, 3], [TransferMode.RELIABLE, TransferMode.UNRELIABLE_ORDERED])).map(track) as WebRTCMultiplayerPeer[];
    const [m2, m3] = ms as [WebRTCMultiplayerPeer, WebRTCMultiplayerPeer];
    m2.transferMode = TransferMode.UNRELIABLE; // ignored on a custom channel: it has its own mode
    m2.transferChannel = 2;
    m2.putPacket(new Uint8Array([9]));
    await pollUntil(ms, () => m3.getAvailablePacketCount() === 1, 'the packet on custom channel 2');
    expect([m3.getPacketPeer(), m3.getPacketChannel(), m3.getPacketMode()]).toEqual([2, 2, TransferMode.UNRELIABLE_ORDERED]);
  });
});
