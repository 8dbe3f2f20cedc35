/**
 * The lobby side of a host restart (issue #12): a client of a client_server
 * lobby keeps its link to a host that vanished from signaling (detached), and
 * when a new host instance reclaims id 1 (announced as `peer_attached(1)`)
 * it reconnects at once, keeping its id; reliable packets both ways arrive
 * exactly once. Real node-datachannel on loopback; the signaling server is a
 * small in-test relay that can reclaim ids, as `rtcmesh serve --host-key` does.
 */
import { EventEmitter } from 'eventemitter3';
import { afterEach, expect, it } from 'vitest';
import {
  ConnectionStatus,
  Mesh,
  TransferMode,
  type LobbyJoinRequest,
  type LobbyJoinResult,
  type LobbyMultiplayerPeer,
  type LobbySignaling,
  type LobbySignalingEvents,
} from '../../src/index.js';
import { pollUntil } from './mesh-helpers.js';

/** An in-process lobby server for one client_server lobby; a host joining with `host: true` takes id 1, reclaiming it from a dead one. */
class Relay {
  readonly clients = new Map<number, RelayClient>();
  private nextId = 2;
  join(client: RelayClient, request: LobbyJoinRequest): LobbyJoinResult {
    const id = request.host ? 1 : this.nextId++;
    const reclaim = request.host === true && this.everHosted;
    if (request.host) this.everHosted = true;
    const peers = [...this.clients.keys()];
    this.clients.set(id, client);
    for (const other of this.clients.values()) if (other !== client) other.deliver(reclaim ? 'peer_attached' : 'peer_joined', id);
    return { lobby: 'arena', id, mode: 'client_server', peers };
  }
  private everHosted = false;
  /** The process holding `id` died: its socket closed, the server keeps it in its grace (detached). */
  kill(id: number): void {
    this.clients.delete(id);
    for (const other of this.clients.values()) other.deliver('peer_detached', id);
  }
}

class RelayClient extends EventEmitter<LobbySignalingEvents> implements LobbySignaling {
  lobby: string | undefined;
  id = 0;
  constructor(private readonly relay: Relay) {
    super();
  }
  async join(request: LobbyJoinRequest = {}): Promise<LobbyJoinResult> {
    const result = this.relay.join(this, request);
    this.id = result.id;
    this.lobby = result.lobby;
    return result;
  }
  deliver(event: string, ...args: unknown[]): void {
    queueMicrotask(() => this.emit(event, ...args));
  }
  sendDescription(to: number, type: 'offer' | 'answer', sdp: string): void {
    if (this.relay.clients.get(this.id) === this) this.relay.clients.get(to)?.deliver('description', this.id, type, sdp);
  }
  sendCandidate(to: number, mid: string, index: number, candidate: string): void {
    if (this.relay.clients.get(this.id) === this) this.relay.clients.get(to)?.deliver('candidate', this.id, mid, index, candidate);
  }
  probe(to: number): boolean {
    if (this.relay.clients.has(to)) this.deliver('peer_alive', to);
    return true;
  }
  seal(): void {}
  leave(): void {
    if (this.relay.clients.get(this.id) === this) {
      this.relay.clients.delete(this.id);
      for (const other of this.relay.clients.values()) other.deliver('peer_left', this.id);
    }
    this.lobby = undefined;
  }
  close(): void {}
}

const live: LobbyMultiplayerPeer[] = [];
afterEach(() => {
  for (const m of live.splice(0)) m.close();
});

const options = {
  connection: { bindAddress: '127.0.0.1' },
  heartbeatIntervalMs: 50,
  heartbeatTimeoutMs: 600,
  livenessTimeoutMs: 200,
  reconnect: { attemptTimeoutMs: 3000, backoffMs: 100, maxBackoffMs: 500, maxAttempts: 50, giveUpMs: 30_000 },
};

function drainFrom(m: LobbyMultiplayerPeer, peer: number, into: number[]): void {
  while (m.getAvailablePacketCount() > 0) {
    const from = m.getPacketPeer();
    const p = m.getPacket()!;
    if (from === peer) into.push(p[0]!);
  }
}

function send(m: LobbyMultiplayerPeer, to: number, values: number[]): void {
  m.targetPeer = to;
  m.transferMode = TransferMode.RELIABLE;
  for (const v of values) m.putPacket(new Uint8Array([v]));
}

it('a client keeps its id and its link while the host restarts and reclaims id 1; nothing lost or duplicated', async () => {
  const relay = new Relay();
  const first = await Mesh.host({ ...options, signaling: new RelayClient(relay), lobby: 'arena', hostKey: 'k' });
  const client = await Mesh.join({ ...options, signaling: new RelayClient(relay), lobby: 'arena' });
  live.push(first, client);
  expect([first.getUniqueId(), client.getUniqueId()]).toEqual([1, 2]);
  const events: string[] = [];
  for (const e of ['link_lost', 'reconnected', 'peer_restarted', 'peer_disconnected'] as const) client.on(e, ((id: number) => void events.push(`${e}:${id}`)) as never);

  let ready = false;
  void client.ready(10_000).then(() => (ready = true));
  const atFirst: number[] = [];
  const atClient: number[] = [];
  await pollUntil([first, client], () => ready, 'the client to be ready');
  send(client, 1, [1, 2, 3]);
  send(first, 2, [11, 12]);
  await pollUntil([first, client], () => {
    drainFrom(first, 2, atFirst);
    drainFrom(client, 1, atClient);
    return atFirst.length === 3 && atClient.length === 2 && client.getLinkStats(1)!.channels[0]!.replayBuffered === 0;
  }, 'the first exchange');

  // the host process dies: its links drop, its signaling socket is gone (the server keeps id 1 in its grace)
  first.mesh.close();
  relay.kill(1);
  await pollUntil([client], () => client.getPeer(1)?.state === 'reconnecting', 'the client to notice');
  // a detached host is waited for, not dropped: same id, status CONNECTED, reliable packets held
  send(client, 1, [4, 5, 6]);
  for (let i = 0; i < 20; i++) client.poll();
  expect(client.getPeerIds()).toEqual([1]);
  expect(client.getConnectionStatus()).toBe(ConnectionStatus.CONNECTED);
  expect(events).not.toContain('peer_disconnected:1');

  // the host restarts and reclaims id 1 with its key
  const second = await Mesh.host({ ...options, signaling: new RelayClient(relay), lobby: 'arena', hostKey: 'k' });
  live.push(second);
  expect(second.getUniqueId()).toBe(1);
  const atSecond: number[] = [];
  await pollUntil([second, client], () => {
    drainFrom(second, 2, atSecond);
    return events.includes('peer_restarted:1') && atSecond.length >= 3;
  }, 'the client to reconnect to the new host', 20_000);
  expect(atSecond).toEqual([4, 5, 6]);
  send(second, 2, [21, 22]);
  await pollUntil([second, client], () => {
    drainFrom(client, 1, atClient);
    return atClient.length === 4;
  }, "the new host's packets");
  expect(atClient).toEqual([11, 12, 21, 22]);
  expect(client.getUniqueId()).toBe(2);
  expect(events.filter((e) => e.startsWith('peer_disconnected'))).toEqual([]);
  expect(events).toContain('link_lost:1');
});
