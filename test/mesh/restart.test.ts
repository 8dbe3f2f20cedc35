/**
 * Established WebRTC links do not depend on the signaling server: a mesh
 * formed with Mesh.join survives a restart of the server (same port, same
 * resume secret) without a single `peer_disconnected`, its members resume
 * with their ids, and the lobby keeps working for newcomers.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Mesh, SignalingServer, type LobbyMultiplayerPeer } from '../api.js';
import { drain, pollUntil } from './mesh-helpers.js';

const connection = { bindAddress: '127.0.0.1' };
const secret = 'mesh-restart-secret-0123456789';
const servers: SignalingServer[] = [];
const meshes: LobbyMultiplayerPeer[] = [];

afterEach(async () => {
  for (const m of meshes.splice(0)) m.close();
  await Promise.all(servers.splice(0).map((s) => s.close({ reconnect: false })));
});

async function startServer(port: number): Promise<{ server: SignalingServer; url: string; port: number }> {
  const server = new SignalingServer({ resumeSecret: secret, pingIntervalMs: 0 });
  servers.push(server);
  const address = await server.listen({ port, host: '127.0.0.1' });
  return { server, url: address.url, port: address.port };
}

async function join(url: string, lobby?: string): Promise<LobbyMultiplayerPeer> {
  const mesh = await Mesh.join({ signaling: url, connection, ...(lobby !== undefined && { lobby }) });
  meshes.push(mesh);
  return mesh;
}

/** Every mesh broadcasts its id; resolves when each has received one packet from every other. */
async function broadcastRound(all: LobbyMultiplayerPeer[], tag: number): Promise<void> {
  for (const m of all) {
    m.targetPeer = 0;
    m.putPacket(new Uint8Array([tag, m.getUniqueId() & 0xff]));
  }
  await pollUntil(all, () => all.every((m) => m.getAvailablePacketCount() === all.length - 1), `broadcast round ${tag}`);
  for (const m of all) {
    const got = drain(m);
    expect(got.map((p) => p.from).sort((x, y) => x - y)).toEqual(
      all
        .map((o) => o.getUniqueId())
        .filter((id) => id !== m.getUniqueId())
        .sort((x, y) => x - y),
    );
    expect(got.every((p) => p.data[0] === tag)).toBe(true);
  }
}

describe('a signaling server restart', () => {
  it('leaves established links up: no peer_disconnected, data keeps flowing, members resume with their ids', async () => {
    const first = await startServer(0);
    const a = await join(first.url);
    const b = await join(first.url, a.lobby);
    const c = await join(first.url, a.lobby);
    const trio = [a, b, c];
    await pollUntil(trio, () => trio.every((m) => m.getPeerIds().length === 2), 'the 3-mesh');
    await broadcastRound(trio, 1);

    const ids = trio.map((m) => m.getUniqueId());
    const lost: string[] = [];
    let resumed = 0;
    const reconnecting = new Set<LobbyMultiplayerPeer>();
    for (const m of trio) {
      m.on('peer_disconnected', (id, reason) => lost.push(`${m.getUniqueId()} lost ${id}: ${reason}`));
      m.signaling.on('reconnecting', () => reconnecting.add(m));
      m.signaling.on('resumed', () => resumed++);
    }

    await first.server.close({ reason: 'restart', reconnect: true });
    // The clients noticed (they are reconnecting) before the new instance starts.
    await pollUntil(trio, () => reconnecting.size === 3, 'every client to start reconnecting');
    // Data flows while there is no signaling server at all.
    await broadcastRound(trio, 2);
    const second = await startServer(first.port);
    await pollUntil(trio, () => resumed === 3, 'every client to resume');

    expect(trio.map((m) => m.getUniqueId())).toEqual(ids);
    expect(trio.map((m) => (m.signaling as unknown as { id: number | undefined }).id)).toEqual(ids);
    expect(second.server.getStats()).toMatchObject({ lobbies: 1, peers: 3, resumes: 3, joins: 0 });
    await broadcastRound(trio, 3);

    // The recreated lobby works for a newcomer: it gets a fresh id and links to all three.
    const d = await join(second.url, a.lobby);
    expect(ids).not.toContain(d.getUniqueId());
    const four = [...trio, d];
    await pollUntil(four, () => four.every((m) => m.getPeerIds().length === 3), 'the newcomer to link to everyone');
    await broadcastRound(four, 4);

    expect(lost).toEqual([]);
    for (const m of trio) expect(m.getPeerIds().sort((x, y) => x - y)).toEqual([...ids, d.getUniqueId()].filter((id) => id !== m.getUniqueId()).sort((x, y) => x - y));
  });
});
