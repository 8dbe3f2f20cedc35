/**
 * Lobby mesh and `peer_detached`: a peer that drops off signaling while its
 * link is being reconnected is given up at once; if it comes back to
 * signaling, the lobby connects to it afresh under the same id.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Mesh, MemorySignalingBus, type LobbyMultiplayerPeer, type MemorySignalingClient } from '../api.js';
import { LOOPBACK, waitForEvent, waitUntil } from '../helpers.js';
import { FAST, ticker } from './helpers.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

/** A client whose descriptions and candidates can be dropped (`blocked.on = true`). */
function blockable(bus: MemorySignalingBus, blocked: { on: boolean }): MemorySignalingClient {
  const client = bus.createClient({ reconnect: { maxAttempts: 1_000_000, baseDelayMs: 1, maxDelayMs: 20 } });
  const sd = client.sendDescription.bind(client);
  const sc = client.sendCandidate.bind(client);
  client.sendDescription = (to, type, sdp) => (blocked.on ? undefined : sd(to, type, sdp));
  client.sendCandidate = (to, mid, index, c) => (blocked.on ? undefined : sc(to, mid, index, c));
  return client;
}

describe('lobby mesh and detached peers', () => {
  it('gives up on a reconnecting peer that leaves signaling; reconnects under the same id when it comes back', async () => {
    const bus = new MemorySignalingBus();
    const t = ticker([]);
    cleanups.push(() => bus.close(), t.stop);
    const blocked = { on: false };
    const ca = blockable(bus, blocked);
    const cb = blockable(bus, blocked);
    // While `down`, cb cannot reach the bus: its signaling stays detached.
    let down = false;
    const connect = bus.connect.bind(bus);
    bus.connect = (client, handlers) => (down && client === cb ? Promise.reject(new Error('unreachable')) : connect(client, handlers));

    const options = { connection: LOOPBACK, ...FAST, reconnect: { attemptTimeoutMs: 500, backoffMs: 50, maxBackoffMs: 200, maxAttempts: 1000, giveUpMs: 60_000 } };
    const a: LobbyMultiplayerPeer = await Mesh.join({ signaling: ca, ...options });
    const b: LobbyMultiplayerPeer = await Mesh.join({ signaling: cb, lobby: a.lobby, ...options });
    cleanups.push(() => a.close(), () => b.close());
    t.add(a);
    t.add(b);
    await waitUntil(() => a.getPeerIds().length === 1 && b.getPeerIds().length === 1, 'the pair to connect', 20_000);
    const ia = a.getUniqueId();
    const ib = b.getUniqueId();
    const events: string[] = [];
    a.on('peer_connected', (id) => events.push(`connected:${id}`));
    a.on('peer_disconnected', (id, reason) => events.push(`disconnected:${id}:${reason}`));
    a.on('link_lost', (id) => events.push(`lost:${id}`));

    // The link fails while both are in the lobby: a reconnects (signaling blocked, so it cannot succeed yet).
    blocked.on = true;
    b.getPeer(ia)!.connection.close();
    await waitUntil(() => a.getPeer(ib)?.state === 'reconnecting', 'a to start reconnecting', 10_000);
    expect(events).toEqual([`lost:${ib}`]);

    // b drops off signaling: a gives up on it at once, with a reason that says so.
    const gone = waitForEvent<[number, string]>(a, 'peer_disconnected');
    down = true;
    bus.interrupt(cb);
    const [id, reason] = await gone;
    expect(id).toBe(ib);
    expect(reason).toMatch(/^link lost \(.+\); the peer left signaling \(detached\), not reconnecting$/);
    expect(a.hasPeer(ib)).toBe(false);

    // b comes back to signaling within the grace: a connects to it afresh, same ids.
    const attached = waitForEvent<[number]>(a.signaling, 'peer_attached');
    blocked.on = false;
    down = false;
    expect((await attached)[0]).toBe(ib);
    await waitUntil(() => a.getPeer(ib)?.state === 'connected' && b.getPeer(ia)?.state === 'connected', 'the link to be re-established', 20_000);
    expect(events).toEqual([`lost:${ib}`, expect.stringMatching(new RegExp(`^disconnected:${ib}:`)), `connected:${ib}`]);
    expect(cb.id).toBe(ib);
    a.targetPeer = ib;
    a.putPacket(new Uint8Array([42]));
    await waitUntil(() => b.getAvailablePacketCount() > 0, 'a packet over the new link', 10_000);
    expect(b.getPacketPeer()).toBe(ia);
    expect([...b.getPacket()!]).toEqual([42]);
  });
});
