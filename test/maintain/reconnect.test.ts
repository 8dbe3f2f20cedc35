import { afterEach, describe, expect, it } from 'vitest';
import { Mesh, MemorySignalingBus, type LobbyMultiplayerPeer, type JoinMeshOptions } from '../api.js';
import { LOOPBACK, waitUntil } from '../helpers.js';
import { FAST, numberOf, numbered, ticker } from './helpers.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

const RECONNECT = { attemptTimeoutMs: 1500, backoffMs: 100, maxBackoffMs: 500, maxAttempts: 100, giveUpMs: 30_000 };

/** Signaling between two members can be cut: messages to a blocked peer are dropped. */
interface Blockable {
  blocked: Set<number>;
}

async function lobby(count: number, extra: Partial<JoinMeshOptions> = {}): Promise<{ meshes: LobbyMultiplayerPeer[]; blocks: Blockable[] }> {
  const bus = new MemorySignalingBus();
  const t = ticker([]);
  cleanups.push(() => bus.close());
  cleanups.push(t.stop);
  const meshes: LobbyMultiplayerPeer[] = [];
  const blocks: Blockable[] = [];
  let name: string | undefined;
  for (let i = 0; i < count; i++) {
    const client = bus.createClient();
    const block: Blockable = { blocked: new Set() };
    const sendDescription = client.sendDescription.bind(client);
    const sendCandidate = client.sendCandidate.bind(client);
    client.sendDescription = (to, type, sdp) => (block.blocked.has(to) ? undefined : sendDescription(to, type, sdp));
    client.sendCandidate = (to, mid, index, c) => (block.blocked.has(to) ? undefined : sendCandidate(to, mid, index, c));
    const mesh = await Mesh.join({
      signaling: client,
      connection: LOOPBACK,
      ...FAST,
      reconnect: RECONNECT,
      ...(name !== undefined && { lobby: name }),
      ...extra,
    });
    name = mesh.lobby;
    cleanups.push(() => mesh.close());
    t.add(mesh);
    meshes.push(mesh);
    blocks.push(block);
  }
  await waitUntil(() => meshes.every((m) => m.getPeerIds().length === count - 1), 'the lobby mesh to connect', 20_000);
  return { meshes, blocks };
}

function record(m: LobbyMultiplayerPeer): string[] {
  const events: string[] = [];
  m.on('peer_connected', (id) => events.push(`connected:${id}`));
  m.on('peer_disconnected', (id, reason) => events.push(`disconnected:${id}:${reason}`));
  m.on('link_lost', (id) => events.push(`lost:${id}`));
  m.on('reconnected', (id) => events.push(`reconnected:${id}`));
  return events;
}

describe('automatic reconnection through the lobby, nothing lost', () => {
  it('cuts a link underneath for 10 s: it reconnects with the same ids and 10 000 numbered reliable packets arrive complete, in order, once', async () => {
    const { meshes, blocks } = await lobby(3);
    const [a, b, c] = meshes as [LobbyMultiplayerPeer, LobbyMultiplayerPeer, LobbyMultiplayerPeer];
    const ia = a.getUniqueId();
    const ib = b.getUniqueId();
    const [ea, eb, ec] = [record(a), record(b), record(c)];
    const got: number[] = [];
    const take = () => {
      let p;
      for (let from = b.getPacketPeer(); (p = b.getPacket()) !== undefined; from = b.getPacketPeer()) if (from === ia) got.push(numberOf(p));
    };
    a.targetPeer = ib;
    let next = 0;
    const sendUpTo = (n: number) => {
      for (; next < n; next++) a.putPacket(numbered(next, 16));
    };
    // phase 1: 3000 packets, part of them still in flight when the cut comes
    for (let k = 1; k <= 30; k++) {
      sendUpTo(k * 100);
      take();
      await new Promise((r) => setImmediate(r));
    }
    blocks[0]!.blocked.add(ib);
    blocks[1]!.blocked.add(ia);
    // The cut: the engine connection underneath is closed, so the mesh learns of it only from engine events.
    a.getPeer(ib)!.connection.engineConnection!.close();
    const unblock = new Promise<void>((resolve) =>
      setTimeout(() => {
        blocks[0]!.blocked.clear();
        blocks[1]!.blocked.clear();
        resolve();
      }, 10_000),
    );
    // phase 2: 4000 more while the link is down (held for replay)
    await waitUntil(() => a.getPeer(ib)!.state === 'reconnecting' && b.getPeer(ia)!.state === 'reconnecting', 'both sides to lose the link');
    expect(a.getPeerIds()).toContain(ib);
    sendUpTo(7000);
    take();
    await unblock;
    await waitUntil(() => a.getPeer(ib)?.state === 'connected' && b.getPeer(ia)?.state === 'connected', 'the link to come back', 20_000);
    // phase 3: the rest
    sendUpTo(10_000);
    await waitUntil(() => {
      take();
      return got.length >= 10_000;
    }, 'every packet', 20_000);
    take();
    expect(got.length).toBe(10_000);
    expect(got.every((n, i) => n === i)).toBe(true);
    // recorded after the first connect: peer_connected must not fire again for a reconnect
    expect([...ea, ...eb].filter((e) => e.startsWith('connected'))).toEqual([]);
    expect(ea).toContain(`lost:${ib}`);
    expect(ea).toContain(`reconnected:${ib}`);
    expect(eb).toContain(`reconnected:${ia}`);
    expect([...ea, ...eb].filter((e) => e.startsWith('disconnected'))).toEqual([]);
    expect(ec).toEqual([]); // the third peer never noticed
    const sa = a.getLinkStats(ib)!;
    const sb = b.getLinkStats(ia)!;
    expect(sa.reconnects).toBe(1);
    expect(sb.reconnects).toBe(1);
    expect(sa.channels[0]!.packetsSent).toBe(10_000);
    expect(sa.replayed).toBeGreaterThanOrEqual(4000); // at least everything sent while down
    expect(sb.channels[0]!.packetsReceived).toBe(10_000);
    expect(sb.channels[0]!.gaps).toBe(0);
    const linkChanges = sa.history.filter((h) => h.connection === undefined);
    expect(linkChanges.map((h) => h.state)).toEqual(['connecting', 'connected', 'reconnecting', 'connected']);
    expect(linkChanges[2]!.reason).toBe('a channel closed');
    // the fresh connection's engine states were recorded while reconnecting
    expect(sa.history.filter((h) => h.state === 'reconnecting' && h.connection === 'connected')).toHaveLength(1);
  });

  it('gives up after giveUpMs and then reports peer_disconnected; unreliable packets are not replayed', async () => {
    const { meshes, blocks } = await lobby(2, { reconnect: { ...RECONNECT, attemptTimeoutMs: 2000, giveUpMs: 5000 } });
    const [a, b] = meshes as [LobbyMultiplayerPeer, LobbyMultiplayerPeer];
    const ia = a.getUniqueId();
    const ib = b.getUniqueId();
    const ea = record(a);
    const attempts: number[] = [];
    a.on('reconnecting', (_id, n) => attempts.push(n));
    blocks[0]!.blocked.add(ib);
    blocks[1]!.blocked.add(ia);
    b.getPeer(ia)!.connection.close();
    await waitUntil(() => a.getPeer(ib)?.state === 'reconnecting', 'a to lose the link');
    a.targetPeer = ib;
    a.transferMode = 0; // UNRELIABLE: dropped while down, counted
    a.putPacket(new Uint8Array([1]));
    expect(a.getLinkStats(ib)!.channels[2]!.droppedWhileDown).toBe(1);
    await waitUntil(() => !a.hasPeer(ib), 'a to give up', 10_000);
    expect(ea.at(-1)).toMatch(new RegExp(`^disconnected:${ib}:link lost \\(.*\\) and reconnection failed`));
    expect(attempts.length).toBeGreaterThanOrEqual(2);
    expect(attempts).toEqual(attempts.map((_, i) => i + 1));
  });

  it('retries a first connection whose signaling was lost; peer_connected fires once when it finally opens', async () => {
    const bus = new MemorySignalingBus();
    const t = ticker([]);
    cleanups.push(() => bus.close());
    cleanups.push(t.stop);
    let blocked = true;
    const make = () => {
      const client = bus.createClient();
      const sd = client.sendDescription.bind(client);
      client.sendDescription = (to, type, sdp) => (blocked ? undefined : sd(to, type, sdp));
      return client;
    };
    const options = { connection: LOOPBACK, ...FAST, reconnect: { ...RECONNECT, attemptTimeoutMs: 400 } };
    const a = await Mesh.join({ signaling: make(), ...options });
    const b = await Mesh.join({ signaling: make(), lobby: a.lobby, ...options });
    cleanups.push(() => a.close(), () => b.close());
    const ea = record(a);
    const eb = record(b);
    t.add(a);
    t.add(b);
    const hi = a.getUniqueId() > b.getUniqueId() ? a : b;
    const lo = hi === a ? b : a;
    // the first offer is lost; the offerer gives it attemptTimeoutMs, then offers on a fresh connection
    const linkChanges = () => (hi.getLinkStats(lo.getUniqueId())?.history ?? []).filter((h) => h.connection === undefined);
    await waitUntil(() => linkChanges().length >= 2, 'the first attempt to time out', 10_000);
    expect(hi.getPeer(lo.getUniqueId())!.state).toBe('connecting');
    blocked = false;
    await waitUntil(() => a.getPeerIds().length === 1 && b.getPeerIds().length === 1, 'the retried connection to open', 15_000);
    expect(ea).toEqual([`connected:${b.getUniqueId()}`]);
    expect(eb).toEqual([`connected:${a.getUniqueId()}`]);
    expect(linkChanges()[1]).toMatchObject({ state: 'connecting', reason: 'not connected within 400 ms' });
  });
});
