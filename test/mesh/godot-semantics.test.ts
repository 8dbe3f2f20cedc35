/**
 * MultiplayerPeer / PacketPeer / WebRTCDataChannel semantics exactly as Godot
 * defines them (spec/mesh.md), over real node-datachannel on loopback; each
 * read before and after getPacket().
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ChannelState, ConnectionState, ErrorCode, TransferMode, WebRTCMultiplayerPeer } from '../api.js';
import { makePair, opened, waitUntil } from '../helpers.js';
import { fullMesh, pollUntil, star } from './mesh-helpers.js';

const live: { close(): void }[] = [];
afterEach(() => {
  for (const m of live.splice(0)) m.close();
});

describe('Godot semantics of the multiplayer peer', () => {
  it('getPacketPeer/Channel/Mode describe the NEXT available packet: read before getPacket(); 0/0/last mode when none', async () => {
    const meshes = await fullMesh([2, 3, 4], [TransferMode.UNRELIABLE_ORDERED]);
    live.push(...meshes);
    const [m2, m3, m4] = meshes as [WebRTCMultiplayerPeer, WebRTCMultiplayerPeer, WebRTCMultiplayerPeer];
    expect([m2.getPacketPeer(), m2.getPacketChannel(), m2.getPacketMode()]).toEqual([0, 0, TransferMode.RELIABLE]);
    expect(m2.getPacketError()).toBeUndefined(); // no getPacket() yet
    m3.targetPeer = 2;
    m3.transferChannel = 1; // custom channel 1: UNRELIABLE_ORDERED
    m3.putPacket(new Uint8Array([3]));
    await pollUntil(meshes, () => m2.getAvailablePacketCount() === 1, "3's packet");
    m4.targetPeer = 2;
    m4.transferMode = TransferMode.UNRELIABLE;
    m4.putPacket(new Uint8Array([4]));
    await pollUntil(meshes, () => m2.getAvailablePacketCount() === 2, "4's packet");
    const seen: { before: [number, number, number]; data: number; after: [number, number, number] }[] = [];
    for (let i = 0; i < 2; i++) {
      const before: [number, number, number] = [m2.getPacketPeer(), m2.getPacketChannel(), m2.getPacketMode()];
      // asking twice does not consume anything
      expect([m2.getPacketPeer(), m2.getPacketChannel(), m2.getPacketMode()]).toEqual(before);
      const data = m2.getPacket()![0]!;
      expect(m2.getPacketError()).toBeUndefined();
      seen.push({ before, data, after: [m2.getPacketPeer(), m2.getPacketChannel(), m2.getPacketMode()] });
    }
    const byData = new Map(seen.map((s) => [s.data, s]));
    expect(byData.get(3)!.before).toEqual([3, 1, TransferMode.UNRELIABLE_ORDERED]);
    expect(byData.get(4)!.before).toEqual([4, 0, TransferMode.UNRELIABLE]);
    // after the first read, the getters already describe the second packet
    expect(seen[0]!.after).toEqual(seen[1]!.before);
    // after the last read: 0 / 0 / the mode of the packet read last
    expect(seen[1]!.after).toEqual([0, 0, seen[1]!.before[2]]);
    expect(m2.getPacket()).toBeUndefined();
    expect(m2.getPacketError()).toBe(ErrorCode.UNAVAILABLE);
    const fresh = new WebRTCMultiplayerPeer();
    expect(fresh.getPacket()).toBeUndefined();
    expect(fresh.getPacketError()).toBe(ErrorCode.INVALID_STATE);
  });

  it('the packet the getters describe stays next until getPacket() takes it, even when packets arrive meanwhile (as in Godot)', async () => {
    const meshes = await fullMesh([2, 4]);
    live.push(...meshes);
    const [m2, m4] = meshes as [WebRTCMultiplayerPeer, WebRTCMultiplayerPeer];
    m4.targetPeer = 2;
    m4.transferMode = TransferMode.UNRELIABLE;
    m4.putPacket(new Uint8Array([1]));
    await pollUntil(meshes, () => m2.getAvailablePacketCount() === 1, 'the unreliable packet');
    expect([m2.getPacketPeer(), m2.getPacketMode()]).toEqual([4, TransferMode.UNRELIABLE]);
    // A reliable packet (a channel read before the unreliable one) arrives after the look-ahead.
    m4.transferMode = TransferMode.RELIABLE;
    m4.putPacket(new Uint8Array([2]));
    await pollUntil(meshes, () => m2.getAvailablePacketCount() === 2, 'the reliable packet');
    expect([m2.getPacketPeer(), m2.getPacketMode()]).toEqual([4, TransferMode.UNRELIABLE]);
    expect(Array.from(m2.getPacket()!)).toEqual([1]);
    expect([m2.getPacketPeer(), m2.getPacketMode()]).toEqual([4, TransferMode.RELIABLE]);
    expect(Array.from(m2.getPacket()!)).toEqual([2]);
    expect(m2.getPacketPeer()).toBe(0);
  });

  it('isServer() is true whenever the unique id is 1: createServer and createMesh(1), not clients or other mesh ids', () => {
    const make = (f: (m: WebRTCMultiplayerPeer) => void) => {
      const m = new WebRTCMultiplayerPeer();
      live.push(m);
      f(m);
      return m.isServer();
    };
    expect(make((m) => m.createServer())).toBe(true);
    expect(make((m) => m.createMesh(1))).toBe(true);
    expect(make((m) => m.createMesh(2))).toBe(false);
    expect(make((m) => m.createClient(5))).toBe(false);
    expect(make(() => undefined)).toBe(false);
  });

  it('disconnectPeer(id) closes now and removes on the next poll() with peer_disconnected; with force at once and silently', async () => {
    const [server, clients] = await star([2, 3]);
    live.push(server, ...clients);
    const events: string[] = [];
    server.on('peer_disconnected', (id, reason) => events.push(`${id}:${reason}`));
    server.disconnectPeer(2);
    expect(events).toEqual([]);
    expect(server.hasPeer(2)).toBe(true);
    expect(server.getPeer(2)!.connection.getConnectionState()).toBe(ConnectionState.CLOSED);
    server.poll();
    expect(events).toEqual(['2:disconnected']);
    expect(server.hasPeer(2)).toBe(false);
    server.disconnectPeer(3, true);
    expect(server.hasPeer(3)).toBe(false);
    server.poll();
    expect(events).toEqual(['2:disconnected']);
    // the remote sides notice their connection closing
    await pollUntil(clients, () => clients.every((c) => !c.hasPeer(1)), 'both clients to lose the server');
  });

  it('default channels report 65535 for an unset maxPacketLifeTime / maxRetransmits, on both sides', async () => {
    const meshes = await fullMesh([2, 3]);
    live.push(...meshes);
    for (const [m, peer] of [[meshes[0]!, 3], [meshes[1]!, 2]] as const) {
      const [reliable, ordered, unreliable] = m.getPeer(peer)!.channels;
      expect([reliable!.getMaxPacketLifeTime(), reliable!.getMaxRetransmits()]).toEqual([65535, 65535]);
      expect([ordered!.getMaxPacketLifeTime(), ordered!.getMaxRetransmits()]).toEqual([1, 65535]);
      expect([unreliable!.getMaxPacketLifeTime(), unreliable!.getMaxRetransmits()]).toEqual([1, 65535]);
    }
  });
});

describe('Godot semantics of WebRTCDataChannel', () => {
  it('getPacketError() says why getPacket() gave nothing: NOT_OPEN while connecting, UNAVAILABLE when empty, CLOSED after close; undefined after a packet', async () => {
    const [a, b] = makePair();
    live.push(a, b);
    const ca = a.createDataChannel('x', { negotiated: true, id: 7 });
    const cb = b.createDataChannel('x', { negotiated: true, id: 7 });
    expect(cb.getPacketError()).toBeUndefined();
    expect(cb.getPacket()).toBeUndefined();
    expect(cb.getPacketError()).toBe(ErrorCode.NOT_OPEN);
    a.createOffer();
    await Promise.all([opened(ca), opened(cb)]);
    expect(cb.getPacket()).toBeUndefined();
    expect(cb.getPacketError()).toBe(ErrorCode.UNAVAILABLE);
    ca.putPacket(new Uint8Array([1]));
    await waitUntil(() => cb.getAvailablePacketCount() === 1, 'the packet');
    expect([...cb.getPacket()!]).toEqual([1]);
    expect(cb.getPacketError()).toBeUndefined();
    expect(cb.getMaxPacketLifeTime()).toBe(65535);
    expect(cb.getMaxRetransmits()).toBe(65535);
    cb.close();
    await waitUntil(() => cb.getReadyState() === ChannelState.CLOSED, 'the channel to close');
    expect(cb.getPacket()).toBeUndefined();
    expect(cb.getPacketError()).toBe(ErrorCode.CLOSED);
  });
});
