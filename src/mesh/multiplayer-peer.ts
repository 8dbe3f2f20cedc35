/**
 * WebRTCMultiplayerPeer: many WebRTC connections keyed by peer id, with the
 * same negotiated channel layout on every link, driven by `poll()` once per
 * tick. Godot's WebRTCMultiplayerPeer, with its sharp edges removed:
 * unreliable channels are really unreliable, a DISCONNECTED peer gets a grace
 * period, a failed `addPeer` leaves nothing behind, duplicate ids are refused.
 * @module
 */
import { EventEmitter } from 'eventemitter3';
import { ErrorCode, RtcmeshError, describeError } from '../errors.js';
import { ChannelState, ConnectionState } from '../peer/enums.js';
import { WebRTCPeerConnection } from '../peer/peer-connection.js';
import type { WebRTCDataChannel } from '../peer/data-channel.js';
import { realClock, type Clock } from '../util/clock.js';
import { checkBool, checkInt, checkOneOf, checkOptions, invalid } from '../util/validate.js';
import { MAX_CUSTOM_CHANNELS, channelIndexFor, channelLayout, transferChannelOf, type ChannelSpec } from './channel-layout.js';
import {
  ConnectionStatus,
  MAX_PEER_ID,
  MIN_PEER_ID,
  TARGET_PEER_SERVER,
  TransferMode,
  type MultiplayerPeer,
  type MultiplayerPeerEvents,
} from './types.js';

/** Which role this multiplayer peer plays. */
export type MeshMode = 'server' | 'client' | 'mesh';

/** Options fixed for the lifetime of a {@link WebRTCMultiplayerPeer}. */
export interface MultiplayerPeerOptions {
  /** Time source for the disconnect grace period. Default: real monotonic time. */
  clock?: Clock;
  /** How long a DISCONNECTED link may take to recover before its peer is removed (ms). Default 5000. */
  disconnectGraceMs?: number;
}

/** What {@link WebRTCMultiplayerPeer.getPeer} reports about one peer. */
export interface PeerInfo {
  id: number;
  connection: WebRTCPeerConnection;
  /** Channels by layout index. */
  channels: readonly WebRTCDataChannel[];
  /** True once every channel has opened. */
  connected: boolean;
}

/** Counters for monitoring. */
export interface MultiplayerPeerStats {
  packetsSent: number;
  packetsReceived: number;
  /** Per-peer send failures during broadcasts. */
  broadcastFailures: number;
  peersConnected: number;
  peersConnecting: number;
}

interface PeerEntry {
  id: number;
  connection: WebRTCPeerConnection;
  channels: WebRTCDataChannel[];
  specs: ChannelSpec[];
  connected: boolean;
  disconnectedSince: number | undefined;
}

const MODES = [TransferMode.UNRELIABLE, TransferMode.UNRELIABLE_ORDERED, TransferMode.RELIABLE] as const;

/**
 * A multiplayer peer over WebRTC. Initialise with {@link createServer},
 * {@link createClient} or {@link createMesh}; add a {@link WebRTCPeerConnection}
 * per remote peer with {@link addPeer} (its signaling is yours, or use
 * `Mesh.join` to do it through a lobby); call {@link poll} every tick.
 */
export class WebRTCMultiplayerPeer extends EventEmitter<MultiplayerPeerEvents> implements MultiplayerPeer {
  private mode: MeshMode | undefined;
  private uniqueId = 0;
  private status: ConnectionStatus = ConnectionStatus.DISCONNECTED;
  private customChannels: TransferMode[] = [];
  private readonly peers = new Map<number, PeerEntry>();
  private readonly clock: Clock;
  private readonly graceMs: number;
  private target = 0;
  private mode_: TransferMode = TransferMode.RELIABLE;
  private channel_ = 0;
  private refuse = false;
  private rrOrder: number[] = [];
  private rrNext = 0;
  private last = { peer: 0, index: 0, mode: TransferMode.RELIABLE as TransferMode };
  private counters = { packetsSent: 0, packetsReceived: 0, broadcastFailures: 0 };

  constructor(options: MultiplayerPeerOptions = {}) {
    super();
    const opts = checkOptions<MultiplayerPeerOptions>(options, ['clock', 'disconnectGraceMs'], 'WebRTCMultiplayerPeer options');
    if (opts.clock !== undefined && typeof opts.clock?.now !== 'function') invalid('clock', 'an object with now()', opts.clock);
    this.clock = opts.clock ?? realClock;
    this.graceMs = opts.disconnectGraceMs === undefined ? 5000 : checkInt(opts.disconnectGraceMs, 0, 3_600_000, 'disconnectGraceMs');
  }

  // ---- initialisation ----------------------------------------------------

  /** Become the server (id 1). Status is CONNECTED at once. */
  createServer(channels: TransferMode[] = []): void {
    this.init('server', 1, channels, ConnectionStatus.CONNECTED);
  }

  /** Become a client with `id` (2..2147483647); CONNECTED once the server link opens. */
  createClient(id: number, channels: TransferMode[] = []): void {
    checkInt(id, MIN_PEER_ID, MAX_PEER_ID, 'createClient() id (1 is the server)');
    this.init('client', id, channels, ConnectionStatus.CONNECTING);
  }

  /** Become a mesh member with `id` (1..2147483647). Status is CONNECTED at once. */
  createMesh(id: number, channels: TransferMode[] = []): void {
    checkInt(id, 1, MAX_PEER_ID, 'createMesh() id');
    this.init('mesh', id, channels, ConnectionStatus.CONNECTED);
  }

  private init(mode: MeshMode, id: number, channels: TransferMode[], status: ConnectionStatus): void {
    if (!Array.isArray(channels)) invalid('channels', 'an array of TransferMode values', channels);
    if (channels.length > MAX_CUSTOM_CHANNELS) invalid('channels', `at most ${MAX_CUSTOM_CHANNELS} custom channels`, channels);
    channels.forEach((m, i) => checkOneOf(m, MODES, `channels[${i}] (a TransferMode)`));
    if (this.mode !== undefined) {
      throw new RtcmeshError(ErrorCode.INVALID_STATE, `this multiplayer peer is already a ${this.mode}; call close() before creating it again`);
    }
    this.mode = mode;
    this.uniqueId = id;
    this.customChannels = [...channels];
    this.status = status;
  }

  // ---- properties --------------------------------------------------------

  /** 0 all, 1 server, >1 that peer, <0 all but that peer. */
  get targetPeer(): number {
    return this.target;
  }

  set targetPeer(id: number) {
    this.target = checkInt(id, -MAX_PEER_ID, MAX_PEER_ID, 'targetPeer');
  }

  get transferMode(): TransferMode {
    return this.mode_;
  }

  set transferMode(mode: TransferMode) {
    this.mode_ = checkOneOf(mode, MODES, 'transferMode (a TransferMode)');
  }

  get transferChannel(): number {
    return this.channel_;
  }

  set transferChannel(channel: number) {
    this.channel_ = checkInt(channel, 0, 255, 'transferChannel');
  }

  get refuseNewConnections(): boolean {
    return this.refuse;
  }

  set refuseNewConnections(value: boolean) {
    this.refuse = checkBool(value, 'refuseNewConnections');
  }

  // ---- peers -------------------------------------------------------------

  /**
   * Add the connection to a remote peer and create its channels. Checks, in
   * order: initialised; client mode only accepts peer 1; server mode refuses
   * peer 1; id in range and not our own; lifetime ≥ 0; `refuseNewConnections`;
   * the connection is in state NEW; the id is not present already. On any
   * failure nothing is created.
   * @param unreliableLifetime maxPacketLifeTime (ms) of the two unreliable channels.
   */
  addPeer(connection: WebRTCPeerConnection, peerId: number, unreliableLifetime = 1): void {
    if (this.mode === undefined) {
      throw new RtcmeshError(ErrorCode.INVALID_STATE, 'addPeer(): call createServer(), createClient() or createMesh() first');
    }
    checkInt(peerId, 1, MAX_PEER_ID, 'addPeer() peerId');
    if (this.mode === 'client' && peerId !== TARGET_PEER_SERVER) {
      throw new RtcmeshError(ErrorCode.INVALID_PEER, `addPeer(): a client only connects to the server (peer 1), not to peer ${peerId}`);
    }
    if (this.mode === 'server' && peerId === TARGET_PEER_SERVER) {
      throw new RtcmeshError(ErrorCode.INVALID_PEER, 'addPeer(): the server is peer 1 itself; clients have ids 2..2147483647');
    }
    if (peerId === this.uniqueId) {
      throw new RtcmeshError(ErrorCode.INVALID_PEER, `addPeer(): ${peerId} is this peer's own id`);
    }
    checkInt(unreliableLifetime, 0, 65535, 'addPeer() unreliableLifetime (ms)');
    if (this.refuse) {
      throw new RtcmeshError(ErrorCode.UNAUTHORIZED, `addPeer(): refuseNewConnections is on, so peer ${peerId} was refused`);
    }
    if (!(connection instanceof WebRTCPeerConnection)) invalid('addPeer() connection', 'a WebRTCPeerConnection', connection);
    if (connection.getConnectionState() !== ConnectionState.NEW) {
      throw new RtcmeshError(ErrorCode.INVALID_STATE, 'addPeer(): the connection must be in state NEW (fresh, or after initialize())');
    }
    if (this.peers.has(peerId)) {
      throw new RtcmeshError(ErrorCode.INVALID_PEER, `addPeer(): peer ${peerId} is already present; removePeer() it first`);
    }
    const specs = channelLayout(this.customChannels, unreliableLifetime);
    const taken = new Set(connection.getDataChannels().map((c) => c.getId()));
    const clash = specs.find((s) => taken.has(s.options.id));
    if (clash) {
      throw new RtcmeshError(ErrorCode.INVALID_ARGUMENT, `addPeer(): the connection already has a channel with id ${clash.options.id}, which the mesh layout needs`);
    }
    const channels: WebRTCDataChannel[] = [];
    try {
      for (const spec of specs) channels.push(connection.createDataChannel(spec.label, spec.options));
    } catch (err) {
      for (const ch of channels) ch.close();
      throw err instanceof RtcmeshError
        ? err
        : new RtcmeshError(ErrorCode.ENGINE_ERROR, `addPeer(): creating channels failed: ${describeError(err)}`, { cause: err });
    }
    this.peers.set(peerId, { id: peerId, connection, channels, specs, connected: false, disconnectedSince: undefined });
  }

  /** Close and forget a peer; emits `peer_disconnected` if it was connected. */
  removePeer(peerId: number): void {
    checkInt(peerId, 1, MAX_PEER_ID, 'removePeer() peerId');
    this.drop(peerId, 'removed', true);
  }

  /**
   * Disconnect a peer. With `force`, no `peer_disconnected` is emitted for it.
   * @throws RtcmeshError INVALID_PEER when the peer is unknown.
   */
  disconnectPeer(peerId: number, force = false): void {
    checkInt(peerId, 1, MAX_PEER_ID, 'disconnectPeer() peerId');
    checkBool(force, 'disconnectPeer() force');
    if (!this.peers.has(peerId)) throw new RtcmeshError(ErrorCode.INVALID_PEER, `disconnectPeer(): no peer ${peerId}`);
    this.drop(peerId, 'disconnected', !force);
  }

  /** Remove a peer, closing its connection; `notify` emits `peer_disconnected` with `reason` if it was connected. */
  protected drop(peerId: number, reason: string, notify: boolean): void {
    const entry = this.peers.get(peerId);
    if (!entry) return;
    this.peers.delete(peerId);
    entry.connection.close();
    if (entry.connected && notify) this.emit('peer_disconnected', peerId, reason);
    if (this.mode === 'client' && peerId === TARGET_PEER_SERVER) this.status = ConnectionStatus.DISCONNECTED;
  }

  /** One peer's connection and channels, or undefined. */
  getPeer(peerId: number): PeerInfo | undefined {
    const e = this.peers.get(peerId);
    return e && { id: e.id, connection: e.connection, channels: e.channels, connected: e.connected };
  }

  /** Every peer, connected or still connecting. */
  getPeers(): PeerInfo[] {
    return [...this.peers.keys()].map((id) => this.getPeer(id)!);
  }

  /** Ids of connected peers. */
  getPeerIds(): number[] {
    return [...this.peers.values()].filter((e) => e.connected).map((e) => e.id);
  }

  /** True while the peer is present, connecting or connected. */
  hasPeer(peerId: number): boolean {
    return this.peers.has(peerId);
  }

  getUniqueId(): number {
    return this.uniqueId;
  }

  isServer(): boolean {
    return this.mode === 'server';
  }

  /** The role chosen at creation, or undefined before. */
  getMode(): MeshMode | undefined {
    return this.mode;
  }

  /** The custom channels this peer was created with. */
  getCustomChannels(): readonly TransferMode[] {
    return this.customChannels;
  }

  /** Server and client modes can relay through the server (the RPC layer does). */
  isServerRelaySupported(): boolean {
    return this.mode === 'server' || this.mode === 'client';
  }

  getConnectionStatus(): ConnectionStatus {
    return this.status;
  }

  /** Largest packet every connected peer accepts. */
  getMaxPacketSize(): number {
    let max = Infinity;
    for (const e of this.peers.values()) if (e.connected) max = Math.min(max, e.channels[0]!.getMaxPacketSize() || max);
    return Number.isFinite(max) ? max : 262144;
  }

  /** Counters for monitoring. */
  getStats(): MultiplayerPeerStats {
    let connecting = 0;
    for (const e of this.peers.values()) if (!e.connected) connecting++;
    return { ...this.counters, peersConnected: this.peers.size - connecting, peersConnecting: connecting };
  }

  // ---- sending -----------------------------------------------------------

  /**
   * Send one packet to `targetPeer` on the channel picked by
   * `transferChannel` / `transferMode`. A broadcast (target ≤ 0) goes to every
   * connected peer except the excluded one; a failure for one peer is counted
   * and reported with `send_failed`, not thrown.
   * @throws RtcmeshError INVALID_STATE when not connected, INVALID_PEER for an
   *   unknown target, INVALID_ARGUMENT for a channel that does not exist, and
   *   the channel's own errors (NOT_OPEN, PACKET_TOO_LARGE) for a single target.
   */
  putPacket(data: Uint8Array): void {
    if (!(data instanceof Uint8Array)) invalid('putPacket() data', 'a Uint8Array', data);
    if (this.mode === undefined || this.status === ConnectionStatus.DISCONNECTED) {
      throw new RtcmeshError(ErrorCode.INVALID_STATE, 'putPacket(): the multiplayer peer is not connected; create it and wait for CONNECTED');
    }
    const index = channelIndexFor(this.channel_, this.mode_);
    if (index >= 3 + this.customChannels.length) {
      throw new RtcmeshError(
        ErrorCode.INVALID_ARGUMENT,
        `putPacket(): transferChannel ${this.channel_} does not exist; this peer has ${this.customChannels.length} custom channel(s)`,
      );
    }
    const target = this.target;
    if (target > 0) {
      const entry = this.peers.get(target);
      if (!entry) throw new RtcmeshError(ErrorCode.INVALID_PEER, `putPacket(): target peer ${target} is not connected to this peer`);
      entry.channels[index]!.putPacket(data);
      this.counters.packetsSent++;
      return;
    }
    const exclude = -target;
    for (const entry of this.peers.values()) {
      if (!entry.connected || entry.id === exclude) continue;
      try {
        entry.channels[index]!.putPacket(data);
        this.counters.packetsSent++;
      } catch (err) {
        this.counters.broadcastFailures++;
        this.emit('send_failed', entry.id, err as Error);
      }
    }
  }

  // ---- receiving ---------------------------------------------------------

  /** Packets waiting on connected peers' channels. */
  getAvailablePacketCount(): number {
    let n = 0;
    for (const e of this.peers.values()) {
      if (!e.connected) continue;
      for (const ch of e.channels) n += ch.getAvailablePacketCount();
    }
    return n;
  }

  /**
   * Next packet: peers in fair round-robin, each peer's channels in index
   * order. Afterwards `getPacketPeer/Channel/Mode` describe it.
   */
  getPacket(): Uint8Array | undefined {
    const order = this.rrOrder;
    for (let k = 0; k < order.length; k++) {
      const at = (this.rrNext + k) % order.length;
      const entry = this.peers.get(order[at]!);
      if (!entry || !entry.connected) continue;
      for (let i = 0; i < entry.channels.length; i++) {
        const data = entry.channels[i]!.getPacket();
        if (data === undefined) continue;
        this.rrNext = (at + 1) % order.length;
        this.last = { peer: entry.id, index: i, mode: entry.specs[i]!.mode };
        this.counters.packetsReceived++;
        return data;
      }
    }
    return undefined;
  }

  /** Sender of the packet last returned by `getPacket`. */
  getPacketPeer(): number {
    return this.last.peer;
  }

  /** Transfer channel of that packet (0 for the three default channels). */
  getPacketChannel(): number {
    return transferChannelOf(this.last.index);
  }

  /** Transfer mode of that packet. */
  getPacketMode(): TransferMode {
    return this.last.mode;
  }

  // ---- the tick ----------------------------------------------------------

  /**
   * Once per tick: poll every connection (its events fire now), then connect,
   * keep or remove peers by their state. Emits `peer_connected` /
   * `peer_disconnected` from here.
   */
  poll(): void {
    if (this.mode === undefined) return;
    const now = this.clock.now();
    for (const entry of [...this.peers.values()]) {
      entry.connection.poll();
      if (this.peers.get(entry.id) !== entry) continue; // removed by a listener
      this.update(entry, now);
    }
    this.rrOrder = [...this.peers.keys()];
    if (this.rrNext >= this.rrOrder.length) this.rrNext = 0;
  }

  private update(entry: PeerEntry, now: number): void {
    const state = entry.connection.getConnectionState();
    if (state === ConnectionState.FAILED || state === ConnectionState.CLOSED) {
      this.drop(entry.id, state === ConnectionState.FAILED ? 'connection failed' : 'connection closed', true);
      return;
    }
    if (state === ConnectionState.DISCONNECTED) {
      entry.disconnectedSince ??= now;
      if (now - entry.disconnectedSince >= this.graceMs) this.drop(entry.id, `disconnected for ${this.graceMs} ms`, true);
      return;
    }
    entry.disconnectedSince = undefined;
    if (entry.connected) {
      if (entry.channels.some((c) => c.getReadyState() === ChannelState.CLOSED)) this.drop(entry.id, 'a channel closed', true);
      return;
    }
    if (entry.channels.every((c) => c.getReadyState() === ChannelState.OPEN)) {
      entry.connected = true;
      if (this.mode === 'client') this.status = ConnectionStatus.CONNECTED;
      this.emit('peer_connected', entry.id);
    }
  }

  /** Close every connection and return to the uninitialised state. */
  close(): void {
    for (const entry of this.peers.values()) entry.connection.close();
    this.peers.clear();
    this.rrOrder = [];
    this.rrNext = 0;
    this.mode = undefined;
    this.uniqueId = 0;
    this.customChannels = [];
    this.status = ConnectionStatus.DISCONNECTED;
  }
}
