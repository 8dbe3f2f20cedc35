/**
 * Mesh.join over a real `ws` signaling server on loopback (and the in-memory
 * bus): meshes and stars form by themselves, departures are noticed.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ConnectionState,
  ConnectionStatus,
  MemorySignalingBus,
  Mesh,
  SignalingServer,
  TransferMode,
  type LobbyMultiplayerPeer,
} from '../api.js';
import { runNode } from '../helpers.js';
import { drain, pollUntil } from './mesh-helpers.js';

const connection = { bindAddress: '127.0.0.1' };
let server: SignalingServer;
let url: string;
const meshes: LobbyMultiplayerPeer[] = [];

beforeEach(async () => {
  server = new SignalingServer({ resumeGraceMs: 200, pingIntervalMs: 0 });
  url = (await server.listen({ port: 0, host: '127.0.0.1' })).url;
});
afterEach(async () => {
  for (const m of meshes.splice(0)) m.close();
  await server.close();
});

async function join(options: Omit<Parameters<typeof Mesh.join>[0], 'signaling'> & { signaling?: Parameters<typeof Mesh.join>[0]['signaling'] }) {
  const mesh = await Mesh.join({ signaling: url, connection, ...options });
  meshes.push(mesh);
  return mesh;
}

const allConnected = (ms: { getPeerIds(): number[] }[], n: number) => () => ms.every((m) => m.getPeerIds().length === n);

describe('Mesh.join', () => {
  it('forms an 8-peer full mesh through a real signaling server and broadcasts across it', async () => {
    const first = await join({ mode: 'mesh' });
    expect(first.getUniqueId()).toBe(1);
    expect(first.lobby).toMatch(/.{8,}/);
    const rest = await Promise.all(Array.from({ length: 7 }, () => join({ lobby: first.lobby })));
    const all = [first, ...rest];
    const ids = all.map((m) => m.getUniqueId());
    expect(new Set(ids).size).toBe(8);
    for (const id of ids.slice(1)) expect(id).toBeGreaterThanOrEqual(2);
    await pollUntil(all, allConnected(all, 7), 'all 28 links to open', 30_000);
    for (const m of all) {
      m.targetPeer = 0;
      m.putPacket(new Uint8Array([m.getUniqueId() & 0xff]));
    }
    await pollUntil(all, () => all.every((m) => m.getAvailablePacketCount() === 7), 'every broadcast');
    for (const m of all) {
      const from = drain(m).map((p) => p.from).sort((a, b) => a - b);
      expect(from).toEqual(ids.filter((id) => id !== m.getUniqueId()).sort((a, b) => a - b));
    }
    // every link has the layout with matching ids
    for (const m of all) for (const p of m.getPeers()) expect(p.channels.map((c) => c.getId())).toEqual([1, 2, 3]);
  });

  it('forms a server with four clients in a client_server lobby; clients see only the server', async () => {
    const host = await join({ mode: 'client_server', create: true, channels: [TransferMode.UNRELIABLE] });
    expect(host.isServer()).toBe(true);
    const clients = await Promise.all(Array.from({ length: 4 }, () => join({ lobby: host.lobby, channels: [TransferMode.UNRELIABLE] })));
    const all = [host, ...clients];
    await pollUntil(all, () => host.getPeerIds().length === 4 && clients.every((c) => c.getConnectionStatus() === ConnectionStatus.CONNECTED), 'the star');
    for (const c of clients) {
      expect(c.getPeerIds()).toEqual([1]);
      expect(c.isServer()).toBe(false);
      expect(c.getPeer(1)!.channels).toHaveLength(4);
    }
    expect(host.getPeerIds().sort()).toEqual(clients.map((c) => c.getUniqueId()).sort());
  });

  it('removes a peer that leaves the lobby and keeps the rest working', async () => {
    const a = await join({});
    const b = await join({ lobby: a.lobby });
    const c = await join({ lobby: a.lobby });
    await pollUntil([a, b, c], allConnected([a, b, c], 2), 'the 3-mesh');
    const gone: number[] = [];
    a.on('peer_disconnected', (id) => gone.push(id));
    const cId = c.getUniqueId();
    c.close();
    await pollUntil([a, b], () => gone.includes(cId) && b.getPeerIds().length === 1, 'the departure to be noticed');
    a.targetPeer = b.getUniqueId();
    a.putPacket(new Uint8Array([5]));
    await pollUntil([a, b], () => b.getAvailablePacketCount() === 1, 'a packet between the survivors');
  });

  it('a peer that leaves the lobby through signaling while its links are up is removed by the others ("left the lobby")', async () => {
    const a = await join({});
    const b = await join({ lobby: a.lobby });
    const c = await join({ lobby: a.lobby });
    await pollUntil([a, b, c], allConnected([a, b, c], 2), 'the 3-mesh');
    const cId = c.getUniqueId();
    const gone: string[] = [];
    a.on('peer_disconnected', (id, reason) => gone.push(`a:${id}:${reason}`));
    b.on('peer_disconnected', (id, reason) => gone.push(`b:${id}:${reason}`));
    expect(c.getPeer(a.getUniqueId())!.connection.getConnectionState()).toBe(ConnectionState.CONNECTED);
    c.signaling.leave(); // signaling only: c's WebRTC links are still open
    await pollUntil([a, b], () => gone.length === 2, 'both others to drop the departed peer');
    expect(gone.sort()).toEqual([`a:${cId}:left the lobby`, `b:${cId}:left the lobby`]);
    expect(a.getPeerIds()).toEqual([b.getUniqueId()]);
    // the one that left drops its links as the others close them, and does not try to reconnect through a lobby it left
    const lost: string[] = [];
    c.on('peer_disconnected', (id, reason) => lost.push(`${id}:${reason}`));
    c.on('reconnecting', (id) => lost.push(`reconnecting ${id}`));
    await pollUntil([c], () => c.getPeers().length === 0, 'the leaver to drop its links');
    expect(lost).toHaveLength(2);
    for (const l of lost) expect(l).toMatch(/^\d+:.*this peer is no longer in the lobby/);
    a.targetPeer = 0;
    a.putPacket(new Uint8Array([5]));
    await pollUntil([a, b], () => b.getAvailablePacketCount() === 1, 'a packet between the survivors');
  });

  it('notices a peer process killed with SIGKILL; the survivors keep exchanging data', async () => {
    const a = await join({ disconnectGraceMs: 500 });
    const b = await join({ lobby: a.lobby, disconnectGraceMs: 500 });
    const fixture = fileURLToPath(new URL('../fixtures/lobby-member.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', fixture, url, a.lobby], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    try {
      await pollUntil([a, b], () => /connected 2/.test(out) && a.getPeerIds().length === 2 && b.getPeerIds().length === 2, 'the child to join', 30_000);
      const childId = Number(/joined (\d+)/.exec(out)![1]);
      const lost: string[] = [];
      a.on('peer_disconnected', (id, reason) => lost.push(`a:${id}:${reason}`));
      b.on('peer_disconnected', (id, reason) => lost.push(`b:${id}:${reason}`));
      child.kill('SIGKILL');
      await pollUntil([a, b], () => lost.length === 2, 'both survivors to report the killed peer', 30_000);
      expect(lost.map((l) => l.split(':').slice(0, 2).join(':')).sort()).toEqual([`a:${childId}`, `b:${childId}`].sort());
      a.targetPeer = 0;
      a.putPacket(new Uint8Array([1]));
      await pollUntil([a, b], () => b.getAvailablePacketCount() === 1, 'data between the survivors');
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('works the same over the in-memory signaling bus', async () => {
    const bus = new MemorySignalingBus();
    const a = await join({ signaling: bus });
    const others = await Promise.all([join({ signaling: bus, lobby: a.lobby }), join({ signaling: bus, lobby: a.lobby })]);
    const all = [a, ...others];
    await pollUntil(all, allConnected(all, 2), 'the 3-mesh over the bus');
    bus.close();
  });

  it('over the in-memory bus, a peer that leaves or closes is removed by the others ("left the lobby")', async () => {
    const bus = new MemorySignalingBus();
    const a = await join({ signaling: bus });
    const [b, c] = await Promise.all([join({ signaling: bus, lobby: a.lobby }), join({ signaling: bus, lobby: a.lobby })]);
    const all = [a, b, c];
    await pollUntil(all, allConnected(all, 2), 'the 3-mesh over the bus');
    const [bId, cId] = [b.getUniqueId(), c.getUniqueId()];
    const gone: string[] = [];
    a.on('peer_disconnected', (id, reason) => gone.push(`a:${id}:${reason}`));
    b.on('peer_disconnected', (id, reason) => gone.push(`b:${id}:${reason}`));
    c.on('peer_disconnected', (id, reason) => gone.push(`c:${id}:${reason}`));
    c.signaling.leave(); // signaling only, links still up
    await pollUntil([a, b], () => gone.filter((g) => !g.startsWith('c:')).length === 2, 'a and b to drop c');
    expect(gone.filter((g) => !g.startsWith('c:')).sort()).toEqual([`a:${cId}:left the lobby`, `b:${cId}:left the lobby`]);
    gone.length = 0;
    b.close(); // the mesh's own close leaves the lobby too
    expect(gone).toEqual([`b:${a.getUniqueId()}:closed`]); // and tells b's own listeners at once
    await pollUntil([a], () => gone.length === 2, 'a to drop b');
    expect(gone[1]).toBe(`a:${bId}:left the lobby`);
    expect(a.getPeers()).toEqual([]);
    expect(a.getConnectionStatus()).toBe(ConnectionStatus.CONNECTED); // alone in the lobby, still usable
    bus.close();
  });

  it('a process that closes its lobby meshes and server exits by itself (no open handles)', async () => {
    const fixture = fileURLToPath(new URL('../fixtures/mesh-exit.ts', import.meta.url));
    const result = await runNode(fixture);
    expect(result.stderr).toBe('');
    expect(result.stdout.trim()).toBe('closed');
    expect(result.code).toBe(0);
  });

  it('rejects bad options with typed errors', async () => {
    await expect(Mesh.join({ signaling: 'http://nope' })).rejects.toThrow(/ws:\/\/ or wss:\/\/ URL/);
    await expect(Mesh.join({ signaling: url, lobbby: 'x' } as never)).rejects.toThrow(/unknown option "lobbby"/);
  });
});
