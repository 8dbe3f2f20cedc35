/**
 * An in-memory MultiplayerPeer for RPC tests: a hub routes putPacket between
 * fakes synchronously into per-peer inboxes, honouring targetPeer (0 / 1 /
 * positive / negative), transferMode and transferChannel. Links open and close
 * on the next poll(), like the real mesh.
 */
import { EventEmitter } from 'eventemitter3';
import {
  ConnectionStatus,
  TransferMode,
  type MultiplayerPeer,
  type MultiplayerPeerEvents,
} from '../../src/mesh/types.js';

type Topology = 'mesh' | 'server' | 'client';

interface Packet {
  from: number;
  channel: number;
  mode: TransferMode;
  data: Uint8Array;
}

export class FakeHub {
  readonly peers = new Map<number, FakeMesh>();
  /** Packets put, for assertions. */
  packetsSent = 0;

  add(id: number, topology: Topology, maxPacketSize = 262144): FakeMesh {
    const m = new FakeMesh(this, id, topology, maxPacketSize);
    this.peers.set(id, m);
    return m;
  }

  /** Open a link between two fakes (connected on both sides at their next poll). */
  link(a: number, b: number): void {
    this.peers.get(a)!.addLink(b);
    this.peers.get(b)!.addLink(a);
  }

  /** Close a link (disconnected on both sides at their next poll). */
  unlink(a: number, b: number): void {
    this.peers.get(a)!.dropLink(b);
    this.peers.get(b)!.dropLink(a);
  }

  deliver(from: number, to: number, channel: number, mode: TransferMode, data: Uint8Array): void {
    this.packetsSent++;
    this.peers.get(to)?.inbox.push({ from, channel, mode, data: data.slice() });
  }
}

export class FakeMesh extends EventEmitter<MultiplayerPeerEvents> implements MultiplayerPeer {
  targetPeer = 0;
  transferMode: TransferMode = TransferMode.RELIABLE;
  transferChannel = 0;
  refuseNewConnections = false;
  readonly inbox: Packet[] = [];
  private readonly connected = new Set<number>();
  private readonly events: (() => void)[] = [];
  private last: Packet | undefined;

  constructor(
    private readonly hub: FakeHub,
    private readonly id: number,
    private readonly topology: Topology,
    private readonly maxPacketSize: number,
  ) {
    super();
  }

  addLink(peer: number): void {
    this.events.push(() => {
      this.connected.add(peer);
      this.emit('peer_connected', peer);
    });
  }

  dropLink(peer: number): void {
    this.events.push(() => {
      if (this.connected.delete(peer)) this.emit('peer_disconnected', peer);
    });
  }

  putPacket(data: Uint8Array): void {
    if (!(data instanceof Uint8Array)) throw new Error('putPacket needs bytes');
    if (data.length > this.maxPacketSize) throw new Error(`packet of ${data.length} bytes too large`);
    const t = this.targetPeer;
    const targets = t > 0 ? [t] : [...this.connected].filter((p) => p !== -t);
    if (t > 0 && !this.connected.has(t)) throw new Error(`peer ${t} not connected`);
    const channel = this.transferChannel;
    const mode = channel > 0 ? TransferMode.RELIABLE : this.transferMode;
    for (const p of targets) this.hub.deliver(this.id, p, channel, mode, data);
  }

  getAvailablePacketCount(): number {
    return this.inbox.length;
  }
  getPacket(): Uint8Array | undefined {
    this.last = this.inbox.shift();
    return this.last?.data;
  }
  // As in Godot: these describe the NEXT packet getPacket() returns.
  getPacketPeer(): number {
    return this.inbox[0]?.from ?? 0;
  }
  getPacketChannel(): number {
    return this.inbox[0]?.channel ?? 0;
  }
  getPacketMode(): TransferMode {
    return this.inbox[0]?.mode ?? this.last?.mode ?? TransferMode.RELIABLE;
  }
  getUniqueId(): number {
    return this.id;
  }
  isServer(): boolean {
    return this.id === 1;
  }
  isServerRelaySupported(): boolean {
    return this.topology !== 'mesh';
  }
  getConnectionStatus(): ConnectionStatus {
    if (this.topology === 'client') return this.connected.has(1) ? ConnectionStatus.CONNECTED : ConnectionStatus.CONNECTING;
    return ConnectionStatus.CONNECTED;
  }
  getMaxPacketSize(): number {
    return this.maxPacketSize;
  }
  getPeerIds(): number[] {
    return [...this.connected];
  }
  poll(): void {
    const ev = this.events.splice(0);
    for (const e of ev) e();
  }
  close(): void {
    for (const p of [...this.connected]) this.hub.unlink(this.id, p);
  }
}
