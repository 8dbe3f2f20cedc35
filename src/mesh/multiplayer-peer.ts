/**
 * WebRTCMultiplayerPeer: many WebRTC connections keyed by peer id, with the
 * same negotiated channel layout on every link, driven by `poll()` once per
 * tick. Godot's WebRTCMultiplayerPeer, with its sharp edges removed:
 * unreliable channels are really unreliable, a DISCONNECTED peer gets a grace
 * period, a failed `addPeer` leaves nothing behind, duplicate ids are refused.
 *
 * It also maintains and monitors every link (issue #7): heartbeats on a
 * reserved control channel detect a vanished peer; reliable channels carry a
 * session header so nothing is lost or duplicated across a reconnect; a
 * subclass that can re-create connections (the lobby) gets automatic
 * reconnection; {@link WebRTCMultiplayerPeer.getStats} tells how each link does.
 * @module
 */
import { EventEmitter } from 'eventemitter3';
import { ErrorCode, RtcmeshError, describeError } from '../errors.js';
import { ChannelState, ConnectionState } from '../peer/enums.js';
import { WebRTCPeerConnection } from '../peer/peer-connection.js';
import type { WebRTCDataChannel } from '../peer/data-channel.js';
import { PacketQueue } from '../peer/packet-queue.js';
import { randomInt } from '../signaling/tokens.js';
import { realClock, type Clock } from '../util/clock.js';
import { checkBool, checkInt, checkOneOf, checkOptions, invalid } from '../util/validate.js';
import { MAX_CUSTOM_CHANNELS, channelIndexFor, channelLayout, transferChannelOf, type ChannelSpec } from './channel-layout.js';
import { CONTROL_CHANNEL_ID, CONTROL_CHANNEL_LABEL, FrameType, decodeFrame, encodeFrame, type Ack } from './health/control.js';
import { LinkHealth } from './health/link-health.js';
import { backoffAfter, resolveReconnect, type MeshReconnectOptions, type ReconnectPolicy } from './health/reconnect.js';
import { MAX_SESSION_HEADER, ReceiveSession, SendSession, type ReplayLimits } from './health/session.js';
import type { LinkChannelStats, LinkState, LinkStateChange, LinkStats, MeshStats } from './health/stats.js';
import { varintLength } from './health/varint.js';
import type { EngineConnectionState } from '../transport/engine.js';
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
  /** Time source for heartbeats, timeouts and backoff. Default: real monotonic time. */
  clock?: Clock;
  /** How long a DISCONNECTED link may take to recover before it counts as lost (ms). Default 5000. */
  disconnectGraceMs?: number;
  /** Heartbeat period on the control channel (ms). Default 1000. */
  heartbeatIntervalMs?: number;
  /**
   * A vanished peer is detected within this time (ms): a link is lost after
   * `heartbeatTimeoutMs − min(100, heartbeatTimeoutMs / 10)` ms of silence, the
   * margin leaving room for a frame in flight and the tick. 0 turns detection
   * off (heartbeats still measure RTT). Default 5000. Must exceed the interval.
   */
  heartbeatTimeoutMs?: number;
  /**
   * Reliable channels carry a session header (sequence numbers) so reliable
   * packets survive a reconnect exactly once and in order. Every peer of a mesh
   * must use the same setting. Default true.
   */
  session?: boolean;
  /** Most unacknowledged reliable packets held per channel for replay. Default 65536. */
  replayBufferPackets?: number;
  /** Most unacknowledged reliable bytes held per channel for replay. Default 64 MiB. */
  replayBufferBytes?: number;
  /** Period of the `stats` event (ms); 0 turns it off. Emitted only while listened to. Default 1000. */
  statsIntervalMs?: number;
  /**
   * Automatic reconnection of lost links (used by lobby meshes, which can
   * re-create connections through signaling); `false` turns it off.
   */
  reconnect?: MeshReconnectOptions | boolean;
}

/** What {@link WebRTCMultiplayerPeer.getPeer} reports about one peer. */
export interface PeerInfo {
  id: number;
  /** The current connection (a fresh one after each reconnect). */
  connection: WebRTCPeerConnection;
  /** User channels by layout index (the control channel is not listed). */
  channels: readonly WebRTCDataChannel[];
  /** True once the link first opened, and through reconnection attempts. */
  connected: boolean;
  /** Link lifecycle: connecting, connected, disconnected (within the grace) or reconnecting. */
  state: LinkState;
}

/** Counters for monitoring (the top of {@link MeshStats}). */
export type MultiplayerPeerStats = MeshStats;

/** Events of a {@link WebRTCMultiplayerPeer} (the MultiplayerPeer events, link maintenance included). */
export type MeshEvents = MultiplayerPeerEvents;

interface ChannelCounters {
  packetsSent: number;
  bytesSent: number;
  packetsReceived: number;
  bytesReceived: number;
  droppedWhileDown: number;
}

interface Reconnection {
  lostAt: number;
  reason: string;
  attempt: number;
  startedAt: number | undefined;
  nextAt: number;
}

interface PeerEntry {
  id: number;
  connection: WebRTCPeerConnection;
  channels: WebRTCDataChannel[];
  control: WebRTCDataChannel;
  specs: ChannelSpec[];
  /** peer_connected was emitted (stays true while reconnecting). */
  connected: boolean;
  state: LinkState;
  /** The current connection has every channel open. */
  linkUp: boolean;
  disconnectedSince: number | undefined;
  inbox: PacketQueue[];
  send: (SendSession | undefined)[];
  recv: (ReceiveSession | undefined)[];
  ackSent: number[];
  lastAckAt: number;
  counters: ChannelCounters[];
  health: LinkHealth;
  heartbeatsSent: number;
  heartbeatsReceived: number;
  controlMalformed: number;
  reconnects: number;
  rc: Reconnection | undefined;
  history: LinkStateChange[];
  /** Engine connection state last seen by poll() (undefined before the first look). */
  connState?: ConnectionState;
}

const CONNECTION_STATE_NAMES: Record<ConnectionState, EngineConnectionState> = {
  [ConnectionState.NEW]: 'new',
  [ConnectionState.CONNECTING]: 'connecting',
  [ConnectionState.CONNECTED]: 'connected',
  [ConnectionState.DISCONNECTED]: 'disconnected',
  [ConnectionState.FAILED]: 'failed',
  [ConnectionState.CLOSED]: 'closed',
};

const MODES = [TransferMode.UNRELIABLE, TransferMode.UNRELIABLE_ORDERED, TransferMode.RELIABLE] as const;
/** Every key of {@link MultiplayerPeerOptions} (shared with `Mesh.join`). */
export const MULTIPLAYER_PEER_OPTION_KEYS = [
  'clock',
  'disconnectGraceMs',
  'heartbeatIntervalMs',
  'heartbeatTimeoutMs',
  'session',
  'replayBufferPackets',
  'replayBufferBytes',
  'statsIntervalMs',
  'reconnect',
] as const;
/** Least time between two ACK frames of a link (ms). */
const ACK_INTERVAL_MS = 5;
/** Most packets held for the application per channel (beyond, they wait in the channel's own queue). */
const INBOX_LIMITS = { maxPackets: 65536, maxBytes: 64 * 1024 * 1024 };
const HISTORY_LENGTH = 32;
/** Final snapshots kept for {@link WebRTCMultiplayerPeer.getClosedLinkStats}. */
const CLOSED_LINKS_KEPT = 32;

/**
 * A multiplayer peer over WebRTC. Initialise with {@link createServer},
 * {@link createClient} or {@link createMesh}; add a {@link WebRTCPeerConnection}
 * per remote peer with {@link addPeer} (its signaling is yours, or use
 * `Mesh.join` to do it through a lobby); call {@link poll} every tick.
 *
 * Besides the user channels, every link has a control channel (negotiated id
 * 1000, `rtcmesh-control`, unordered, no retransmissions) carrying heartbeats
 * and acknowledgements; a peer counts as connected when all of them are open.
 */
export class WebRTCMultiplayerPeer extends EventEmitter<MeshEvents> implements MultiplayerPeer {
  private mode: MeshMode | undefined;
  private uniqueId = 0;
  private status: ConnectionStatus = ConnectionStatus.DISCONNECTED;
  private customChannels: TransferMode[] = [];
  private readonly peers = new Map<number, PeerEntry>();
  /** Time source of every timer of this peer. */
  protected readonly clock: Clock;
  private readonly graceMs: number;
  private readonly heartbeatMs: number;
  private readonly timeoutMs: number;
  /** Silence after which a link is lost: the timeout less a margin for a frame in flight and the tick. */
  private readonly silenceMs: number;
  private readonly sessions: boolean;
  private readonly replayLimits: ReplayLimits;
  private readonly statsMs: number;
  /** Reconnection policy, undefined when off. */
  protected readonly reconnectPolicy: ReconnectPolicy | undefined;
  private nextStatsAt = 0;
  private target = 0;
  private mode_: TransferMode = TransferMode.RELIABLE;
  private channel_ = 0;
  private refuse = false;
  /** Peer ids in the order getPacket() visits them, taken from `peers` by poll() after peers were added or removed. */
  private rrOrder: number[] = [];
  private rrNext = 0;
  private rrStale = false;
  private last = { peer: 0, index: 0, mode: TransferMode.RELIABLE as TransferMode };
  private counters = { packetsSent: 0, packetsReceived: 0, broadcastFailures: 0 };
  /** Final snapshots of removed links, oldest first. */
  private readonly closedLinks = new Map<number, LinkStats>();

  constructor(options: MultiplayerPeerOptions = {}) {
    super();
    const opts = checkOptions<MultiplayerPeerOptions>(options, MULTIPLAYER_PEER_OPTION_KEYS, 'WebRTCMultiplayerPeer options');
    if (opts.clock !== undefined && typeof opts.clock?.now !== 'function') invalid('clock', 'an object with now()', opts.clock);
    this.clock = opts.clock ?? realClock;
    this.graceMs = opts.disconnectGraceMs === undefined ? 5000 : checkInt(opts.disconnectGraceMs, 0, 3_600_000, 'disconnectGraceMs');
    this.heartbeatMs = opts.heartbeatIntervalMs === undefined ? 1000 : checkInt(opts.heartbeatIntervalMs, 1, 3_600_000, 'heartbeatIntervalMs');
    this.timeoutMs = opts.heartbeatTimeoutMs === undefined ? 5000 : checkInt(opts.heartbeatTimeoutMs, 0, 3_600_000, 'heartbeatTimeoutMs');
    if (this.timeoutMs !== 0 && this.timeoutMs <= this.heartbeatMs) {
      invalid('heartbeatTimeoutMs', `0 (off) or more than heartbeatIntervalMs (${this.heartbeatMs} ms); a few intervals is usual`, this.timeoutMs);
    }
    this.silenceMs = this.timeoutMs - Math.min(100, Math.floor(this.timeoutMs / 10));
    this.sessions = opts.session === undefined ? true : checkBool(opts.session, 'session');
    this.replayLimits = {
      packets: opts.replayBufferPackets === undefined ? 65536 : checkInt(opts.replayBufferPackets, 1, 2 ** 31, 'replayBufferPackets'),
      bytes: opts.replayBufferBytes === undefined ? 64 * 1024 * 1024 : checkInt(opts.replayBufferBytes, 1, 2 ** 40, 'replayBufferBytes'),
    };
    this.statsMs = opts.statsIntervalMs === undefined ? 1000 : checkInt(opts.statsIntervalMs, 0, 3_600_000, 'statsIntervalMs');
    this.reconnectPolicy = resolveReconnect(opts.reconnect);
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

  /** Mode `putPacket` uses when `transferChannel` is 0: RELIABLE (default), UNRELIABLE_ORDERED or UNRELIABLE. */
  get transferMode(): TransferMode {
    return this.mode_;
  }

  set transferMode(mode: TransferMode) {
    this.mode_ = checkOneOf(mode, MODES, 'transferMode (a TransferMode)');
  }

  /** 0 (default): the default channel of `transferMode`; N in 1..255: custom channel N (its own mode). */
  get transferChannel(): number {
    return this.channel_;
  }

  set transferChannel(channel: number) {
    this.channel_ = checkInt(channel, 0, 255, 'transferChannel');
  }

  /**
   * While true, {@link addPeer} refuses every new peer with UNAUTHORIZED
   * (a lobby mesh then leaves announced peers unconnected). Peers already
   * added stay. Default false; kept by {@link close}.
   */
  get refuseNewConnections(): boolean {
    return this.refuse;
  }

  set refuseNewConnections(value: boolean) {
    this.refuse = checkBool(value, 'refuseNewConnections');
  }

  // ---- peers -------------------------------------------------------------

  /**
   * Add the connection to a remote peer and create its channels. Checks, in
   * this order; the first that fails throws an {@link RtcmeshError}:
   *
   * 1. the peer is initialised (`createServer`/`createClient`/`createMesh`) — `INVALID_STATE`;
   * 2. client mode only accepts peer 1 — `INVALID_PEER`;
   * 3. server mode refuses peer 1 — `INVALID_PEER`;
   * 4. `peerId` is an integer in 1..2147483647 — `INVALID_ARGUMENT` — and not this peer's own id — `INVALID_PEER`;
   * 5. `unreliableLifetime` is an integer in 0..65535 — `INVALID_ARGUMENT`;
   * 6. `refuseNewConnections` is off — `UNAUTHORIZED`;
   * 7. `connection` is a {@link WebRTCPeerConnection} — `INVALID_ARGUMENT` — in state NEW — `INVALID_STATE`;
   * 8. `peerId` is not present already — `INVALID_PEER`;
   * 9. the connection has no channel with an id the layout needs (1.., 1000) — `INVALID_ARGUMENT`.
   *
   * Then the channels are created. If the engine refuses one (`ENGINE_ERROR`),
   * the channels already made are closed and removed from the connection
   * again, so a failed call leaves nothing behind and the same connection can
   * be passed again.
   * @param unreliableLifetime maxPacketLifeTime (ms) of the two unreliable channels.
   */
  addPeer(connection: WebRTCPeerConnection, peerId: number, unreliableLifetime = 1): void {
    if (this.mode === undefined) {
      throw new RtcmeshError(ErrorCode.INVALID_STATE, 'addPeer(): call createServer(), createClient() or createMesh() first');
    }
    if (this.mode === 'client' && peerId !== TARGET_PEER_SERVER) {
      throw new RtcmeshError(ErrorCode.INVALID_PEER, `addPeer(): a client only connects to the server (peer 1), not to peer ${String(peerId)}`);
    }
    if (this.mode === 'server' && peerId === TARGET_PEER_SERVER) {
      throw new RtcmeshError(ErrorCode.INVALID_PEER, 'addPeer(): the server is peer 1 itself; clients have ids 2..2147483647');
    }
    checkInt(peerId, 1, MAX_PEER_ID, 'addPeer() peerId');
    if (peerId === this.uniqueId) {
      throw new RtcmeshError(ErrorCode.INVALID_PEER, `addPeer(): ${peerId} is this peer's own id`);
    }
    checkInt(unreliableLifetime, 0, 65535, 'addPeer() unreliableLifetime (ms)');
    if (this.refuse) {
      throw new RtcmeshError(ErrorCode.UNAUTHORIZED, `addPeer(): refuseNewConnections is on, so peer ${peerId} was refused`);
    }
    this.checkConnection(connection, 'addPeer()');
    if (this.peers.has(peerId)) {
      throw new RtcmeshError(ErrorCode.INVALID_PEER, `addPeer(): peer ${peerId} is already present; removePeer() it first`);
    }
    const specs = channelLayout(this.customChannels, unreliableLifetime);
    const { channels, control } = this.createChannels(connection, specs, 'addPeer()');
    const now = this.clock.now();
    const session = (s: ChannelSpec) => this.sessions && s.mode === TransferMode.RELIABLE;
    this.rrStale = true;
    this.peers.set(peerId, {
      id: peerId,
      connection,
      channels,
      control,
      specs,
      connected: false,
      state: 'connecting',
      linkUp: false,
      disconnectedSince: undefined,
      inbox: specs.map(() => new PacketQueue(INBOX_LIMITS)),
      send: specs.map((s) => (session(s) ? new SendSession(this.replayLimits) : undefined)),
      recv: specs.map((s) => (session(s) ? new ReceiveSession() : undefined)),
      ackSent: specs.map(() => 0),
      lastAckAt: -Infinity,
      counters: specs.map(() => ({ packetsSent: 0, bytesSent: 0, packetsReceived: 0, bytesReceived: 0, droppedWhileDown: 0 })),
      health: new LinkHealth(),
      heartbeatsSent: 0,
      heartbeatsReceived: 0,
      controlMalformed: 0,
      reconnects: 0,
      rc: undefined,
      history: [{ state: 'connecting', at: now }],
    });
  }

  private checkConnection(connection: WebRTCPeerConnection, what: string): void {
    if (!(connection instanceof WebRTCPeerConnection)) invalid(`${what} connection`, 'a WebRTCPeerConnection', connection);
    if (connection.getConnectionState() !== ConnectionState.NEW) {
      throw new RtcmeshError(ErrorCode.INVALID_STATE, `${what}: the connection must be in state NEW (fresh, or after initialize())`);
    }
  }

  /** Create the layout's channels and the control channel on `connection`; on failure none is left behind (removed from the connection, ids free again). */
  private createChannels(connection: WebRTCPeerConnection, specs: ChannelSpec[], what: string): { channels: WebRTCDataChannel[]; control: WebRTCDataChannel } {
    const taken = new Set(connection.getDataChannels().map((c) => c.getId()));
    const clash = [...specs.map((s) => s.options.id), CONTROL_CHANNEL_ID].find((id) => taken.has(id));
    if (clash !== undefined) {
      throw new RtcmeshError(ErrorCode.INVALID_ARGUMENT, `${what}: the connection already has a channel with id ${clash}, which the mesh layout needs`);
    }
    const made: WebRTCDataChannel[] = [];
    try {
      for (const spec of specs) made.push(connection.createDataChannel(spec.label, spec.options));
      made.push(connection.createDataChannel(CONTROL_CHANNEL_LABEL, { negotiated: true, id: CONTROL_CHANNEL_ID, ordered: false, maxRetransmits: 0 }));
    } catch (err) {
      // roll back: the channels leave the connection and their ids are free for a retry
      for (const ch of made) connection.discardDataChannel(ch);
      throw err instanceof RtcmeshError
        ? err
        : new RtcmeshError(ErrorCode.ENGINE_ERROR, `${what}: creating channels failed: ${describeError(err)}`, { cause: err });
    }
    const control = made.pop()!;
    return { channels: made, control };
  }

  /**
   * Put a fresh connection (state NEW) under an existing peer, keeping its
   * id, session state, replay buffers and counters. The old connection is
   * closed; packets already received on it stay readable. Used by
   * reconnection (the lobby calls it); the link opens as channels open.
   * @throws RtcmeshError INVALID_PEER for an unknown peer, INVALID_STATE for a used connection.
   */
  protected replaceConnection(peerId: number, connection: WebRTCPeerConnection): void {
    const entry = this.peers.get(peerId);
    if (!entry) throw new RtcmeshError(ErrorCode.INVALID_PEER, `replaceConnection(): no peer ${peerId}`);
    this.checkConnection(connection, 'replaceConnection()');
    const { channels, control } = this.createChannels(connection, entry.specs, 'replaceConnection()');
    this.pull(entry);
    entry.connection.close();
    entry.connection = connection;
    entry.channels = channels;
    entry.control = control;
    entry.linkUp = false;
    entry.disconnectedSince = undefined;
  }

  /**
   * Close and forget a peer. If it was connected, `peer_disconnected(id,
   * "removed")` is emitted at once; a peer still connecting goes silently. An
   * id that is not present is ignored.
   * @throws RtcmeshError INVALID_ARGUMENT for an id outside 1..2147483647.
   */
  removePeer(peerId: number): void {
    checkInt(peerId, 1, MAX_PEER_ID, 'removePeer() peerId');
    this.drop(peerId, 'removed', true);
  }

  /**
   * Disconnect a peer (Godot's `disconnect_peer`): close its connection and
   * forget it. Without `force`, `peer_disconnected(id, "disconnected")` is
   * emitted at once if it was connected; with `force`, nothing is emitted.
   * The remote side notices its connection closing.
   * @throws RtcmeshError INVALID_PEER when the peer is not present,
   *   INVALID_ARGUMENT for a bad id or `force`.
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
    this.rrStale = true;
    const now = this.clock.now();
    entry.state = 'closed';
    this.record(entry, 'closed', now, reason);
    this.closedLinks.delete(peerId);
    this.closedLinks.set(peerId, this.linkStats(entry, now));
    if (this.closedLinks.size > CLOSED_LINKS_KEPT) this.closedLinks.delete(this.closedLinks.keys().next().value!);
    entry.connection.close();
    if (entry.connected && notify) this.emit('peer_disconnected', peerId, reason);
    if (this.mode === 'client' && peerId === TARGET_PEER_SERVER) this.status = ConnectionStatus.DISCONNECTED;
  }

  /** One peer's connection, channels and state, or undefined when not present (connecting peers included). */
  getPeer(peerId: number): PeerInfo | undefined {
    const e = this.peers.get(peerId);
    return e && { id: e.id, connection: e.connection, channels: e.channels, connected: e.connected, state: e.state };
  }

  /** Every peer, connected or still connecting. */
  getPeers(): PeerInfo[] {
    return [...this.peers.keys()].map((id) => this.getPeer(id)!);
  }

  /** Ids of connected peers (including those being reconnected). */
  getPeerIds(): number[] {
    return [...this.peers.values()].filter((e) => e.connected).map((e) => e.id);
  }

  /** True while the peer is present, connecting or connected. */
  hasPeer(peerId: number): boolean {
    return this.peers.has(peerId);
  }

  /** This peer's own id: 1 for the server, the id given to `createClient`/`createMesh`, 0 before (and after {@link close}). */
  getUniqueId(): number {
    return this.uniqueId;
  }

  /**
   * A random peer id for {@link createClient} or {@link createMesh}, drawn
   * uniformly from 2..2147483647 (never 0, the broadcast target, nor 1, the
   * server) with the platform's cryptographic random generator, as Godot's
   * `MultiplayerPeer.generate_unique_id()` does. Independent of this peer's
   * state; two peers that draw ids this way collide with probability about
   * n² / 2³² for n peers, so a lobby that assigns ids (`Mesh.join`) is safer
   * for larger groups.
   */
  generateUniqueId(): number {
    return randomInt(MIN_PEER_ID, MAX_PEER_ID);
  }

  /** True in server mode (after {@link createServer}). */
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

  /**
   * True in server and client modes: clients reach each other through the
   * server (the RPC layer relays). False in mesh mode, where every pair has
   * its own link, and before initialisation.
   */
  isServerRelaySupported(): boolean {
    return this.mode === 'server' || this.mode === 'client';
  }

  /**
   * DISCONNECTED before initialisation and after {@link close}; CONNECTED at
   * once after `createServer` or `createMesh`; after `createClient`,
   * CONNECTING until the link to the server (peer 1) opens, CONNECTED then,
   * and DISCONNECTED again when that peer is removed.
   */
  getConnectionStatus(): ConnectionStatus {
    return this.status;
  }

  /**
   * Largest packet every connected peer accepts: the smallest negotiated
   * maximum message size over open links (262144 with none), less the
   * session header's worst case when sessions are on. Larger packets fail
   * with PACKET_TOO_LARGE.
   */
  getMaxPacketSize(): number {
    let max = Infinity;
    for (const e of this.peers.values()) if (e.linkUp) max = Math.min(max, e.channels[0]!.getMaxPacketSize() || max);
    const size = Number.isFinite(max) ? max : 262144;
    return this.sessions ? size - MAX_SESSION_HEADER : size;
  }

  // ---- sending -----------------------------------------------------------

  /**
   * Send one packet to `targetPeer` on the channel picked by
   * `transferChannel` / `transferMode`. A broadcast (target ≤ 0) goes to every
   * connected peer except the excluded one; a failure for one peer is counted
   * and reported with `send_failed`, not thrown. While a peer's link is being
   * reconnected, reliable packets are held for it and unreliable ones dropped
   * (counted in its link stats).
   * @throws RtcmeshError, checked in this order: INVALID_ARGUMENT when `data`
   *   is not a Uint8Array; INVALID_STATE before initialisation or while the
   *   status is DISCONNECTED (a client that lost the server); INVALID_ARGUMENT
   *   when `transferChannel` names a custom channel that does not exist;
   *   INVALID_PEER when a positive target is not present. For a single target
   *   also the channel's own errors: NOT_OPEN while that peer is still
   *   connecting, PACKET_TOO_LARGE above the negotiated maximum (session
   *   header included), ENGINE_ERROR when the engine refuses the packet (a
   *   reliable packet with sessions on stays in the replay buffer instead).
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
      this.sendTo(entry, index, data);
      this.counters.packetsSent++;
      return;
    }
    const exclude = -target;
    for (const entry of this.peers.values()) {
      if (!entry.connected || entry.id === exclude) continue;
      try {
        this.sendTo(entry, index, data);
        this.counters.packetsSent++;
      } catch (err) {
        this.counters.broadcastFailures++;
        this.emit('send_failed', entry.id, err as Error);
      }
    }
  }

  private sendTo(entry: PeerEntry, index: number, data: Uint8Array): void {
    const channel = entry.channels[index]!;
    const session = entry.send[index];
    const counters = entry.counters[index]!;
    if (!entry.connected || !session) {
      if (entry.connected && !entry.linkUp) {
        counters.droppedWhileDown++;
        return;
      }
      channel.putPacket(data); // throws NOT_OPEN while connecting, as documented
    } else {
      const max = channel.getMaxPacketSize();
      if (max > 0 && data.length + varintLength(session.seq + 1) > max) {
        throw new RtcmeshError(
          ErrorCode.PACKET_TOO_LARGE,
          `packet of ${data.length} bytes plus its session header is larger than the negotiated maximum of ${max} bytes; split it (getMaxPacketSize() says what fits)`,
        );
      }
      const frame = session.frame(data);
      if (session.justOverflowed) this.emit('replay_overflow', entry.id, transferChannelOf(index));
      if (entry.linkUp) {
        try {
          channel.putPacket(frame);
        } catch {
          // the link is failing; the frame waits in the replay buffer
        }
      }
    }
    counters.packetsSent++;
    counters.bytesSent += data.length;
  }

  // ---- receiving ---------------------------------------------------------

  /** Move received packets from the link's channels to its inboxes, stripping session headers. */
  private pull(entry: PeerEntry): void {
    for (let i = 0; i < entry.channels.length; i++) {
      const channel = entry.channels[i]!;
      const inbox = entry.inbox[i]!;
      const recv = entry.recv[i];
      const counters = entry.counters[i]!;
      while (inbox.length < INBOX_LIMITS.maxPackets) {
        const raw = channel.getPacket();
        if (raw === undefined) break;
        const data = recv ? recv.accept(raw) : raw;
        if (data === undefined) continue;
        counters.packetsReceived++;
        counters.bytesReceived += data.length;
        inbox.push(data, channel.wasStringPacket());
      }
    }
  }

  /** Packets waiting to be read with {@link getPacket}, over every connected peer and channel. */
  getAvailablePacketCount(): number {
    let n = 0;
    for (const e of this.peers.values()) {
      if (!e.connected) continue;
      this.pull(e);
      for (const q of e.inbox) n += q.length;
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
      this.pull(entry);
      for (let i = 0; i < entry.inbox.length; i++) {
        const data = entry.inbox[i]!.shiftData();
        if (data === undefined) continue;
        this.rrNext = (at + 1) % order.length;
        const last = this.last;
        last.peer = entry.id;
        last.index = i;
        last.mode = entry.specs[i]!.mode;
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
   * keep, reconnect or remove peers by their state; send heartbeats and
   * acknowledgements. Emits every event from here.
   */
  poll(): void {
    if (this.mode === undefined) return;
    const now = this.clock.now();
    for (const entry of [...this.peers.values()]) {
      entry.connection.poll();
      if (this.peers.get(entry.id) !== entry) continue; // removed by a listener
      this.update(entry, now);
    }
    if (this.rrStale) {
      this.rrStale = false;
      this.rrOrder = [...this.peers.keys()];
      if (this.rrNext >= this.rrOrder.length) this.rrNext = 0;
    }
    if (this.statsMs > 0 && now >= this.nextStatsAt && this.listenerCount('stats') > 0) {
      this.nextStatsAt = now + this.statsMs;
      this.emit('stats', this.getStats());
    }
  }

  private allOpen(entry: PeerEntry): boolean {
    return entry.control.getReadyState() === ChannelState.OPEN && entry.channels.every((c) => c.getReadyState() === ChannelState.OPEN);
  }

  private update(entry: PeerEntry, now: number): void {
    const state = entry.connection.getConnectionState();
    if (state !== entry.connState) {
      if (entry.connState !== undefined) this.record(entry, entry.state, now, undefined, CONNECTION_STATE_NAMES[state]);
      entry.connState = state;
    }
    if (entry.rc) return this.updateReconnection(entry, now);
    let lost: string | undefined;
    if (state === ConnectionState.FAILED || state === ConnectionState.CLOSED) {
      lost = state === ConnectionState.FAILED ? 'connection failed' : 'connection closed';
    } else if (state === ConnectionState.DISCONNECTED) {
      if (entry.disconnectedSince === undefined) {
        entry.disconnectedSince = now;
        if (entry.state === 'connected') {
          entry.state = 'disconnected';
          this.record(entry, 'disconnected', now, `connection disconnected: lost unless it recovers within ${this.graceMs} ms`);
        }
      }
      if (now - entry.disconnectedSince >= this.graceMs) lost = `disconnected for ${this.graceMs} ms`;
    } else {
      if (entry.state === 'disconnected') {
        entry.state = 'connected';
        this.record(entry, 'connected', now, `connection recovered after ${Math.round(now - entry.disconnectedSince!)} ms`);
      }
      entry.disconnectedSince = undefined;
      if (entry.linkUp && (entry.control.getReadyState() === ChannelState.CLOSED || entry.channels.some((c) => c.getReadyState() === ChannelState.CLOSED))) {
        lost = 'a channel closed';
      }
    }
    if (lost === undefined && !entry.linkUp && state !== ConnectionState.DISCONNECTED && this.allOpen(entry)) {
      this.firstConnected(entry, now);
      if (this.peers.get(entry.id) !== entry) return;
    }
    if (entry.linkUp) {
      this.pull(entry);
      this.readControl(entry, now);
      if (lost === undefined && this.timeoutMs > 0 && now - entry.health.lastHeard >= this.silenceMs) {
        lost = `heartbeat timeout: nothing heard for ${Math.round(now - entry.health.lastHeard)} ms`;
      }
    }
    if (lost === undefined && !entry.connected && this.reconnectPolicy && now - entry.history[0]!.at >= this.reconnectPolicy.attemptTimeoutMs && this.canReconnect(entry.id)) {
      lost = `not connected within ${this.reconnectPolicy.attemptTimeoutMs} ms`;
    }
    if (lost !== undefined) {
      this.linkLost(entry, lost, now);
      return;
    }
    if (entry.linkUp) this.sendControl(entry, now);
  }

  private record(entry: PeerEntry, state: LinkState, at: number, reason?: string, connection?: EngineConnectionState): void {
    const change: LinkStateChange = { state, at };
    if (reason !== undefined) change.reason = reason;
    if (connection !== undefined) change.connection = connection;
    entry.history.push(change);
    if (entry.history.length > HISTORY_LENGTH) entry.history.shift();
  }

  // ---- control channel ---------------------------------------------------

  private acks(entry: PeerEntry): Ack[] {
    const acks: Ack[] = [];
    entry.recv.forEach((r, i) => {
      if (r && r.seq > 0) acks.push([i, r.seq]);
    });
    return acks;
  }

  private sendFrame(entry: PeerEntry, frame: Parameters<typeof encodeFrame>[0], now: number): void {
    try {
      entry.control.putPacket(encodeFrame(frame));
    } catch {
      return; // closing: the next poll notices
    }
    for (const [i, s] of frame.acks) entry.ackSent[i] = s;
    entry.lastAckAt = now;
  }

  private readControl(entry: PeerEntry, now: number): void {
    let raw;
    while ((raw = entry.control.getPacket()) !== undefined) {
      const frame = decodeFrame(raw);
      if (!frame) {
        entry.controlMalformed++;
        continue;
      }
      for (const [i, s] of frame.acks) {
        const session = entry.send[i];
        if (!session || !session.ack(s)) entry.controlMalformed++; // no such reliable channel, or acks what was never sent
      }
      entry.health.heard(now);
      if (frame.type === FrameType.PING) {
        entry.health.onPing(frame.seq, frame.time, now);
        entry.heartbeatsReceived++;
        this.sendFrame(entry, { type: FrameType.PONG, seq: frame.seq, time: frame.time, acks: this.acks(entry) }, now);
      } else if (frame.type === FrameType.PONG) {
        if (!entry.health.onPong(frame.time, now)) entry.controlMalformed++;
      }
    }
  }

  private sendControl(entry: PeerEntry, now: number): void {
    const h = entry.health;
    if (now >= h.nextPingAt) {
      h.nextPingAt = now + this.heartbeatMs;
      entry.heartbeatsSent++;
      this.sendFrame(entry, { type: FrameType.PING, seq: ++h.pingSeq >>> 0, time: now, acks: this.acks(entry) }, now);
      return;
    }
    if (now - entry.lastAckAt < ACK_INTERVAL_MS) return;
    if (entry.recv.some((r, i) => r !== undefined && r.seq > entry.ackSent[i]!)) {
      this.sendFrame(entry, { type: FrameType.ACK, acks: this.acks(entry) }, now);
    }
  }

  // ---- reconnection ------------------------------------------------------

  /**
   * How long the link to `peerId` has been silent (ms since a control frame
   * last arrived on its current connection), or -1 while the link is not up.
   * For subclasses that act before the heartbeat timeout (the lobby asks
   * signaling whether a silent peer is still there).
   */
  protected silentFor(peerId: number): number {
    const e = this.peers.get(peerId);
    return e && e.linkUp ? this.clock.now() - e.health.lastHeard : -1;
  }

  /** Silence (ms) after which a link is lost by heartbeat timeout; 0 when detection is off. */
  protected get linkSilenceMs(): number {
    return this.timeoutMs > 0 ? this.silenceMs : 0;
  }

  /**
   * Whether a lost link to `peerId` should be re-established. The base class
   * cannot create connections, so it says no; the lobby says yes while the
   * peer is still in the lobby.
   */
  protected canReconnect(_peerId: number): boolean {
    return false;
  }

  /**
   * Why a lost link to `peerId` must not be re-established although
   * {@link canReconnect} allows it, or undefined. The lobby objects when the
   * peer vanished from signaling (it cannot answer a new offer). Asked when
   * the link is lost and on every tick while reconnecting; an objection drops
   * the peer at once with `peer_disconnected(id, "<why the link was lost>; <objection>")`.
   */
  protected reconnectObjection(_peerId: number): string | undefined {
    return undefined;
  }

  /**
   * Start reconnection attempt `attempt` (1-based) to `peerId`: create a fresh
   * connection, {@link replaceConnection} it and run its signaling. The
   * attempt succeeds when every channel opens within `attemptTimeoutMs`.
   */
  protected startReconnectAttempt(_peerId: number, _attempt: number): void {}

  private linkLost(entry: PeerEntry, reason: string, now: number): void {
    if (!this.reconnectPolicy || !this.canReconnect(entry.id)) {
      this.drop(entry.id, reason, true);
      return;
    }
    const objection = this.reconnectObjection(entry.id);
    if (objection !== undefined) {
      this.drop(entry.id, `${reason}; ${objection}`, true);
      return;
    }
    this.pull(entry);
    entry.connection.close();
    entry.linkUp = false;
    entry.rc = { lostAt: now, reason, attempt: 0, startedAt: undefined, nextAt: now };
    if (!entry.connected) {
      // the first connection failed: retry quietly; the application does not know this peer yet
      this.record(entry, 'connecting', now, reason);
      return;
    }
    entry.state = 'reconnecting';
    this.record(entry, 'reconnecting', now, reason);
    this.emit('link_lost', entry.id, reason);
  }

  /**
   * The remote started a new connection (e.g. a fresh offer arrived while the
   * link looked alive): treat the link as lost now and open an attempt. True
   * when the peer is (now) reconnecting and the caller should put a fresh
   * connection under it.
   */
  protected restartLink(peerId: number, reason: string): boolean {
    const entry = this.peers.get(peerId);
    if (!entry) return false;
    const now = this.clock.now();
    if (!entry.rc) {
      this.linkLost(entry, reason, now);
      if (this.peers.get(peerId) !== entry || !entry.rc) return false;
    }
    const rc = entry.rc;
    if (rc.startedAt === undefined) {
      rc.attempt++;
      if (entry.connected) this.emit('reconnecting', entry.id, rc.attempt);
    }
    rc.startedAt = now;
    return this.peers.get(peerId) === entry;
  }

  private updateReconnection(entry: PeerEntry, now: number): void {
    const rc = entry.rc!;
    const policy = this.reconnectPolicy!;
    const giveUp = (why: string) =>
      this.drop(entry.id, `link lost (${rc.reason}) and reconnection failed: ${why} after ${rc.attempt} attempt(s) in ${Math.round(now - rc.lostAt)} ms`, true);
    if (!this.canReconnect(entry.id)) return giveUp('the peer left');
    const objection = this.reconnectObjection(entry.id);
    if (objection !== undefined) return this.drop(entry.id, `link lost (${rc.reason}); ${objection}`, true);
    if (rc.startedAt !== undefined) {
      const state = entry.connection.getConnectionState();
      if (state !== ConnectionState.FAILED && state !== ConnectionState.CLOSED && this.allOpen(entry)) return this.reconnected(entry, now);
      if (now - rc.startedAt >= policy.attemptTimeoutMs || state === ConnectionState.FAILED) {
        rc.startedAt = undefined;
        rc.nextAt = now + backoffAfter(policy, rc.attempt);
        if (rc.attempt >= policy.maxAttempts) return giveUp('no attempt succeeded');
      }
    }
    if (now - rc.lostAt >= policy.giveUpMs) return giveUp(`not back within ${policy.giveUpMs} ms`);
    if (rc.startedAt === undefined && now >= rc.nextAt) {
      rc.attempt++;
      rc.startedAt = now;
      if (entry.connected) this.emit('reconnecting', entry.id, rc.attempt);
      if (this.peers.get(entry.id) !== entry) return;
      try {
        this.startReconnectAttempt(entry.id, rc.attempt);
      } catch {
        // this attempt failed to start; it times out like any other
      }
    }
  }

  /** The peer's link is up for the first time: record it and emit `peer_connected`. */
  private firstConnected(entry: PeerEntry, now: number): void {
    entry.linkUp = true;
    entry.connected = true;
    entry.state = 'connected';
    entry.health.reset(now);
    this.record(entry, 'connected', now);
    if (this.mode === 'client') this.status = ConnectionStatus.CONNECTED;
    this.emit('peer_connected', entry.id);
  }

  private reconnected(entry: PeerEntry, now: number): void {
    const downtime = now - entry.rc!.lostAt;
    entry.rc = undefined;
    if (!entry.connected) {
      // a retried first connection: this is the peer's first appearance
      this.firstConnected(entry, now);
      return;
    }
    entry.state = 'connected';
    entry.linkUp = true;
    entry.reconnects++;
    entry.health.reset(now);
    entry.ackSent = entry.ackSent.map(() => 0);
    entry.lastAckAt = -Infinity;
    this.record(entry, 'connected', now, 'reconnected');
    entry.send.forEach((session, i) => {
      if (!session) return;
      const channel = entry.channels[i]!;
      for (const frame of session.pending()) {
        try {
          channel.putPacket(frame);
          session.replayed++;
        } catch {
          return; // lost again; the frames stay buffered
        }
      }
    });
    this.sendControl(entry, now);
    this.emit('reconnected', entry.id, downtime);
  }

  // ---- monitoring --------------------------------------------------------

  /** Snapshot of the mesh and of every link (see {@link MeshStats}). */
  getStats(): MeshStats {
    const now = this.clock.now();
    const links = [...this.peers.values()].map((e) => this.linkStats(e, now));
    const count = (s: LinkState) => links.filter((l) => l.state === s).length;
    return {
      at: now,
      id: this.uniqueId,
      ...this.counters,
      peersConnected: count('connected') + count('disconnected') + count('reconnecting'),
      peersConnecting: count('connecting'),
      peersReconnecting: count('reconnecting'),
      links,
    };
  }

  /**
   * Final snapshot of the link to a peer that was removed (state `closed`,
   * its history ending with the `closed` entry and the reason), taken as it
   * was removed; undefined when none is kept. The last 32 removed links are
   * kept; a peer removed again replaces its earlier snapshot.
   */
  getClosedLinkStats(peerId: number): LinkStats | undefined {
    const s = this.closedLinks.get(peerId);
    return s && { ...s, channels: s.channels.map((c) => ({ ...c })), history: s.history.map((h) => ({ ...h })) };
  }

  /** Snapshot of one link, or undefined for an unknown peer. */
  getLinkStats(peerId: number): LinkStats | undefined {
    const e = this.peers.get(peerId);
    return e && this.linkStats(e, this.clock.now());
  }

  private linkStats(e: PeerEntry, now: number): LinkStats {
    const engine = e.connection.getStats();
    const channels: LinkChannelStats[] = e.specs.map((spec, i) => {
      const c = e.counters[i]!;
      const send = e.send[i];
      const recv = e.recv[i];
      return {
        index: i,
        channel: transferChannelOf(i),
        label: spec.label,
        mode: spec.mode,
        session: send !== undefined,
        ...c,
        bufferedAmount: e.channels[i]!.getBufferedAmount(),
        queued: e.inbox[i]!.length + e.channels[i]!.getAvailablePacketCount(),
        replayBuffered: send?.buffered ?? 0,
        replayBufferedBytes: send?.bufferedBytes ?? 0,
        replayed: send?.replayed ?? 0,
        replayOverflows: send?.overflows ?? 0,
        replayOverflowed: send?.overflowed ?? false,
        duplicatesDropped: recv?.duplicates ?? 0,
        gaps: recv?.gaps ?? 0,
        malformed: recv?.malformed ?? 0,
      };
    });
    const sum = (k: 'packetsSent' | 'bytesSent' | 'packetsReceived' | 'bytesReceived' | 'replayed' | 'malformed') => channels.reduce((n, c) => n + c[k], 0);
    return {
      peerId: e.id,
      state: e.state,
      rttMs: e.health.rttMs,
      heartbeatRttMs: e.health.lastRttMs,
      engineRttMs: engine.rttMs,
      jitterMs: e.health.jitterMs,
      loss: e.health.loss(now),
      heartbeatsSent: e.heartbeatsSent,
      heartbeatsReceived: e.heartbeatsReceived,
      sinceHeardMs: e.linkUp ? now - e.health.lastHeard : -1,
      reconnects: e.reconnects,
      attempt: e.rc?.attempt ?? 0,
      controlMalformed: e.controlMalformed,
      sessionMalformed: sum('malformed'),
      candidatePair: engine.selectedCandidatePair,
      engineBytesSent: engine.bytesSent,
      engineBytesReceived: engine.bytesReceived,
      packetsSent: sum('packetsSent'),
      bytesSent: sum('bytesSent'),
      packetsReceived: sum('packetsReceived'),
      bytesReceived: sum('bytesReceived'),
      replayed: sum('replayed'),
      channels,
      history: e.history.map((h) => ({ ...h })),
    };
  }

  /**
   * Close every connection and return to the uninitialised state, as Godot's
   * `close()` does: no role, own id 0, no custom channels, no peers, status
   * DISCONNECTED, `targetPeer` back to 0 (broadcast), and the packet last
   * read forgotten (`getPacketPeer()` and `getPacketChannel()` 0,
   * `getPacketMode()` RELIABLE). Packets not read yet are dropped.
   * `transferMode`, `transferChannel`, `refuseNewConnections` and the
   * counters of {@link getStats} are kept. Create it again with
   * `createServer`, `createClient` or `createMesh`.
   *
   * Then, unlike Godot, every peer that was connected (its `peer_connected`
   * was emitted; links being reconnected included) gets
   * `peer_disconnected(id, "closed")`, so whatever tracks peers (an
   * `RpcEndpoint` cancels their pending requests with PEER_DISCONNECTED)
   * hears of it. Listeners already see the closed state. A peer still
   * connecting is closed silently. Calling `close()` again does nothing.
   */
  close(): void {
    const connected = [...this.peers.values()].filter((e) => e.connected).map((e) => e.id);
    const entries = [...this.peers.values()];
    this.peers.clear();
    this.rrOrder = [];
    this.rrNext = 0;
    this.mode = undefined;
    this.uniqueId = 0;
    this.customChannels = [];
    this.status = ConnectionStatus.DISCONNECTED;
    this.target = 0;
    this.last = { peer: 0, index: 0, mode: TransferMode.RELIABLE };
    for (const entry of entries) {
      entry.connection.close();
      entry.state = 'closed';
    }
    for (const id of connected) this.emit('peer_disconnected', id, 'closed');
  }
}
