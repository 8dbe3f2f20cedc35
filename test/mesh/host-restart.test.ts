/**
 * A host (id 1) that restarts: a client keeps its own id and its link to
 * peer 1 (reconnecting), the new host instance is recognised by its session
 * epoch, and no reliable packet is lost or delivered twice in either
 * direction. Real node-datachannel on loopback; the reconnection is driven by
 * a hand-written Reconnector, as the lobby drives it through signaling.
 */
import { afterEach, expect, it } from 'vitest';
import { TransferMode, WebRTCMultiplayerPeer, WebRTCPeerConnection } from '../../src/index.js';
import { LOOPBACK, wire } from '../helpers.js';
import { link, pollUntil } from './mesh-helpers.js';

const live: WebRTCMultiplayerPeer[] = [];
afterEach(() => {
  for (const m of live.splice(0)) m.close();
});

const FAST = { heartbeatIntervalMs: 50, heartbeatTimeoutMs: 600, reconnect: { attemptTimeoutMs: 3000, backoffMs: 50, maxBackoffMs: 200, maxAttempts: 100, giveUpMs: 30_000 } };

function readAll(m: WebRTCMultiplayerPeer, into: number[]): void {
  while (m.getAvailablePacketCount() > 0) {
    const from = m.getPacketPeer();
    const p = m.getPacket()!;
    if (from !== 0) into.push(p[0]!);
  }
}

function send(m: WebRTCMultiplayerPeer, to: number, values: number[]): void {
  m.targetPeer = to;
  m.transferMode = TransferMode.RELIABLE;
  for (const v of values) m.putPacket(new Uint8Array([v]));
}

it('a client keeps its id and its link to a restarted host: reliable packets both ways exactly once, peer_restarted reported', async () => {
  let host: WebRTCMultiplayerPeer | undefined;
  const client = new WebRTCMultiplayerPeer({
    ...FAST,
    reconnector: {
      canReconnect: (id) => id === 1,
      startAttempt: (id) => {
        if (!host || host.getMode() === undefined) return; // the host is not back yet: this attempt times out
        const toHost = new WebRTCPeerConnection(LOOPBACK, { autoPoll: true });
        const toClient = new WebRTCPeerConnection(LOOPBACK, { autoPoll: true });
        wire(toHost, toClient);
        if (host.hasPeer(5)) host.removePeer(5);
        host.addPeer(toClient, 5);
        client.maintenance.replaceConnection(id, toHost);
        toHost.createOffer(); // the higher id offers, as the lobby does
      },
    },
  });
  const first = new WebRTCMultiplayerPeer(FAST);
  live.push(client, first);
  first.createServer();
  client.createClient(5);
  host = first;
  link(first, client);
  await pollUntil([first, client], () => client.getPeerIds().length === 1 && first.getPeerIds().length === 1, 'the first host link');
  const events: string[] = [];
  for (const e of ['link_lost', 'reconnected', 'peer_restarted', 'peer_disconnected', 'peer_connected'] as const) client.on(e, ((id: number) => void events.push(`${e}:${id}`)) as never);

  // before the crash: both directions delivered and acknowledged
  const atFirst: number[] = [];
  const atClient: number[] = [];
  send(client, 1, [1, 2, 3]);
  send(first, 5, [11, 12]);
  await pollUntil([first, client], () => {
    readAll(first, atFirst);
    readAll(client, atClient);
    return atFirst.length === 3 && atClient.length === 2 && client.getLinkStats(1)!.channels[0]!.replayBuffered === 0 && first.getLinkStats(5)!.channels[0]!.replayBuffered === 0;
  }, 'the first exchange to be acknowledged');
  const firstEpoch = client.getLinkStats(1)!.remoteEpoch;
  expect(firstEpoch).not.toBe(0);

  // the host process dies (its connections drop without a word) …
  host = undefined;
  first.close();
  await pollUntil([client], () => client.getPeer(1)?.state === 'reconnecting', 'the client to notice');
  // … the client keeps its id, its link to 1 and its status; reliable packets wait for the host
  expect(client.getUniqueId()).toBe(5);
  expect(client.getPeerIds()).toEqual([1]);
  send(client, 1, [4, 5, 6]);
  expect(client.getLinkStats(1)!.channels[0]!.replayBuffered).toBe(3);

  // the host comes back as a new instance and takes id 1 again
  const second = new WebRTCMultiplayerPeer(FAST);
  live.push(second);
  second.createServer();
  host = second;
  client.maintenance.retryNow(1, 'the host is back'); // what the lobby does when signaling announces it
  const atSecond: number[] = [];
  await pollUntil([second, client], () => {
    readAll(second, atSecond);
    return events.includes('peer_restarted:1') && second.getPeerIds().includes(5) && atSecond.length >= 3;
  }, 'the link to the new host', 20_000);
  // the new host got exactly what the old one had not acknowledged, once, in order
  expect(atSecond).toEqual([4, 5, 6]);
  // and what the new host sends is not mistaken for duplicates of the old host's packets
  send(second, 5, [21, 22, 23]);
  await pollUntil([second, client], () => {
    readAll(client, atClient);
    readAll(second, atSecond);
    return atClient.length === 5;
  }, "the new host's packets");
  expect(atClient).toEqual([11, 12, 21, 22, 23]);
  expect(atFirst).toEqual([1, 2, 3]);
  const stats = client.getLinkStats(1)!;
  expect(stats.restarts).toBe(1);
  expect(stats.remoteEpoch).not.toBe(firstEpoch);
  expect(stats.channels[0]!.duplicatesDropped).toBe(0);
  expect(second.getLinkStats(5)!.channels[0]!.gaps).toBe(0);
  expect(events.filter((e) => e.startsWith('peer_disconnected') || e.startsWith('peer_connected'))).toEqual([]);
  expect(events.indexOf('reconnected:1')).toBeLessThan(events.indexOf('peer_restarted:1'));
});
