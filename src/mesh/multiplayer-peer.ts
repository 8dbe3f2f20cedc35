/**
 * WebRTCMultiplayerPeer: many WebRTC connections keyed by peer id, with the
 * same negotiated channel layout on every link, driven by `poll()` once per
 * tick. Godot's WebRTCMultiplayerPeer, with its sharp edges removed:
 * unreliable channels are really unreliable, a DISCONNECTED peer gets a grace
 * period, a failed `addPeer` leaves nothing behind, duplicate ids are refused.
 *
 * The class is a table of {@link MeshLink}s (one state machine per remote
 * peer: heartbeats, replay session, reconnection) plus put/get packet. Lost
 * links are re-established when a {@link Reconnector} (the lobby) is given.
 * Sans-IO: `poll(now)` advances it, `nextDeadline()` says when next.
 * @module
 */
import { EventEmitter } from 'eventemitter3';
import { ErrorCode, RtcmeshError } from '../errors.js';
import type { WebRTCPeerConnection } from '../peer/peer-connection.js';
import type { Clock } from '../util/clock.js';
import type { Pollable } from '../util/sans-io.js';
import { checkBool, checkInt, checkNow, checkPeerId } from '../util/validate.js';
import { channelLayout } from './channel-layout.js';
import { ConnectionStatus, MAX_PEER_ID, MIN_PEER_ID, TARGET_PEER_SERVER, TransferMode } from './constants.js';
import { MAX_SESSION_HEADER } from './health/session.js';
import type { LinkStats, MeshStats } from './health/stats.js';
import { PacketReader } from './packet-reader.js';
import { PacketWriter } from './packet-writer.js';
import { LinkMaintenance } from './link-maintenance.js';
import { checkAddPeer, checkPutPacket, checkTransferMode } from './peer-checks.js';
import { PeerRole } from './peer-role.js';
import { MeshLink, type LinkObserver, type Reconnector } from './link.js';
import { linkEvents } from './link-events.js';
import { StatsSchedule, meshStats } from './link-stats.js';
import { LinkTable, closeLinks } from './link-table.js';
import { resolvePeerOptions, type MultiplayerPeerOptions, type ResolvedPeerOptions } from './peer-options.js';
import type { MeshEvents, MeshMode, MultiplayerPeer, PeerInfo, TakenPacket } from './types.js';

export type { MeshEvents, MeshMode, MultiplayerPeerStats, PeerInfo } from './types.js';

export { MULTIPLAYER_PEER_OPTION_KEYS, type MultiplayerPeerOptions } from './peer-options.js';

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
export class WebRTCMultiplayerPeer extends EventEmitter<MeshEvents> implements MultiplayerPeer, Pollable {
  /** `putPacket` sends or copies its bytes before it returns: the array may be reused. */
  readonly copiesPutPackets = true;
  private readonly role = new PeerRole();
  /** Time source of `poll()` without an argument and of the calls that stamp events. */
  readonly clock: Clock;
  /** Validated options: link settings, randomness, reconnector. */
  private readonly options: ResolvedPeerOptions;
  private readonly observer: LinkObserver = linkEvents(this, () => this.role.linkOpened(), (id, reason) => this.drop(id, reason, true));
  /** @internal Link maintenance for a {@link Reconnector} (the lobby): fresh connections, restarts, silence, removal with a reason. */
  readonly maintenance: LinkMaintenance;
  private readonly statsSchedule: StatsSchedule;
  /** `now` of the last poll (a deadline in the past when events are waiting). */
  private lastPoll = -Infinity;
  private target = 0;
  private mode_: TransferMode = TransferMode.RELIABLE;
  private channel_ = 0;
  private refuse = false;
  private readonly counters = { packetsSent: 0, packetsReceived: 0, broadcastFailures: 0 };
  private readonly reader = new PacketReader(this.counters);
  private readonly table: LinkTable;
  private readonly writer: PacketWriter;

  constructor(options: MultiplayerPeerOptions = {}) {
    super();
    const o = resolvePeerOptions(options);
    this.options = o;
    this.clock = o.clock;
    this.statsSchedule = new StatsSchedule(o.statsMs);
    this.table = new LinkTable(this.clock, () => this.reader.invalidate());
    this.writer = new PacketWriter(this.table.links, this.counters, (id, err) => this.emit('send_failed', id, err));
    this.maintenance = new LinkMaintenance(this.table.links, this.clock, o.link.timeoutMs > 0 ? o.link.silenceMs : 0, (id, reason) => this.drop(id, reason, true));
  }

  // ---- initialisation ----------------------------------------------------

  /** Become the server (id 1). Status is CONNECTED at once. */
  createServer(channels: TransferMode[] = []): void {
    this.role.server(channels);
  }

  /** Become a client with `id` (2..2147483647); CONNECTED once the server link opens. */
  createClient(id: number, channels: TransferMode[] = []): void {
    this.role.client(id, channels);
  }

  /** Become a mesh member with `id` (1..2147483647). Status is CONNECTED at once. */
  createMesh(id: number, channels: TransferMode[] = []): void {
    this.role.mesh(id, channels);
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
    this.mode_ = checkTransferMode(mode, 'transferMode (a TransferMode)');
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
    const { mode, uniqueId, customChannels } = this.role;
    checkAddPeer({ mode, uniqueId, refuse: this.refuse, present: this.table.links.has(peerId) }, connection, peerId, unreliableLifetime);
    const specs = channelLayout(customChannels, unreliableLifetime);
    this.table.add(new MeshLink(peerId, connection, specs, this.options.link, this.observer, () => this.options.reconnector, this.clock.now()));
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
   * Disconnect a peer (Godot's `disconnect_peer`). Without `force` its
   * connection is closed now and the peer removed on the next {@link poll},
   * which emits `peer_disconnected(id, "disconnected")` if it was connected
   * (until then it is still listed, its received packets still readable).
   * With `force` it is removed at once, silently. The remote side notices its
   * connection closing.
   * @throws RtcmeshError INVALID_PEER when the peer is not present,
   *   INVALID_ARGUMENT for a bad id or `force`.
   */
  disconnectPeer(peerId: number, force = false): void {
    checkInt(peerId, 1, MAX_PEER_ID, 'disconnectPeer() peerId');
    checkBool(force, 'disconnectPeer() force');
    const link = this.table.links.get(peerId);
    if (!link) throw new RtcmeshError(ErrorCode.INVALID_PEER, `disconnectPeer(): no peer ${peerId}`);
    if (force) return this.drop(peerId, 'disconnected', false);
    link.connection.close();
    this.table.disconnecting.add(peerId);
  }

  /** Remove a peer, closing its connection; `notify` emits `peer_disconnected(id, reason)` if it was connected. */
  private drop(peerId: number, reason: string, notify: boolean): void {
    const link = this.table.remove(peerId, reason);
    if (!link) return;
    if (link.connected && notify) this.emit('peer_disconnected', peerId, reason);
    this.role.peerRemoved(peerId);
  }

  /** One peer's connection, channels and state, or undefined when not present (connecting peers included). */
  getPeer(peerId: number): PeerInfo | undefined {
    checkPeerId(peerId, 'getPeer() peerId');
    return this.table.info(peerId);
  }

  /** Every peer, connected or still connecting. */
  getPeers(): PeerInfo[] {
    return [...this.table.links.keys()].map((id) => this.getPeer(id)!);
  }

  /** Ids of connected peers (including those being reconnected). */
  getPeerIds(): number[] {
    return [...this.table.links.values()].filter((l) => l.connected).map((l) => l.id);
  }

  /** True while the peer is present, connecting or connected. */
  hasPeer(peerId: number): boolean {
    checkPeerId(peerId, 'hasPeer() peerId');
    return this.table.links.has(peerId);
  }

  /** This peer's own id: 1 for the server, the id given to `createClient`/`createMesh`, 0 before (and after {@link close}). */
  getUniqueId(): number {
    return this.role.uniqueId;
  }

  /**
   * A random peer id for {@link createClient} or {@link createMesh}, drawn
   * uniformly from 2..2147483647 (never 0, the broadcast target, nor 1, the
   * server) from the `random` option (the platform's cryptographic generator
   * by default), as Godot's `MultiplayerPeer.generate_unique_id()` does.
   * Independent of this peer's state; two peers that draw ids this way
   * collide with probability about n² / 2³² for n peers, so a lobby that
   * assigns ids (`Mesh.join`) is safer for larger groups.
   */
  generateUniqueId(): number {
    return this.options.random.int(MIN_PEER_ID, MAX_PEER_ID);
  }

  /** True whenever the own id is 1 (Godot: `unique_id == TARGET_PEER_SERVER`): server mode, and `createMesh(1)`. */
  isServer(): boolean {
    return this.role.uniqueId === TARGET_PEER_SERVER;
  }

  /** The role chosen at creation, or undefined before. */
  getMode(): MeshMode | undefined {
    return this.role.mode;
  }

  /** The custom channels this peer was created with. */
  getCustomChannels(): readonly TransferMode[] {
    return this.role.customChannels;
  }

  /**
   * True in server and client modes: clients reach each other through the
   * server (the RPC layer relays). False in mesh mode, where every pair has
   * its own link, and before initialisation.
   */
  isServerRelaySupported(): boolean {
    return this.role.mode === 'server' || this.role.mode === 'client';
  }

  /**
   * DISCONNECTED before initialisation and after {@link close}; CONNECTED at
   * once after `createServer` or `createMesh`; after `createClient`,
   * CONNECTING until the link to the server (peer 1) opens, CONNECTED then,
   * and DISCONNECTED again when that peer is removed.
   */
  getConnectionStatus(): ConnectionStatus {
    return this.role.status;
  }

  /**
   * Largest packet every connected peer accepts: the smallest negotiated
   * maximum message size over open links (262144 with none), less the
   * session header's worst case when sessions are on. A packet that does not
   * fit with its actual header fails with PACKET_TOO_LARGE (a few bytes more
   * than this may fit while sequence numbers are small).
   */
  getMaxPacketSize(): number {
    const size = this.table.maxMessageSize();
    return this.options.link.sessions ? size - MAX_SESSION_HEADER : size;
  }

  // ---- sending -----------------------------------------------------------

  /**
   * Send one packet to `targetPeer` on the channel picked by
   * `transferChannel` / `transferMode`. A broadcast (target ≤ 0) goes to every
   * connected peer except the excluded one; a failure for one peer is counted
   * and reported with `send_failed`, not thrown. While a peer's link is being
   * reconnected, reliable packets are held for it and unreliable ones dropped
   * (counted in its link stats). `data` is not kept once the call returns
   * (it is copied into the replay buffer or by the engine): the caller may
   * reuse it.
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
    this.writer.send(this.target, checkPutPacket(this.role, data, this.channel_, this.mode_), data);
  }

  // ---- receiving ---------------------------------------------------------

  /** Packets waiting to be read with {@link getPacket}, over every connected peer and channel. */
  getAvailablePacketCount(): number {
    return this.reader.count(this.table.links.values());
  }

  /**
   * Next packet: peers in fair round-robin, each peer's channels in index
   * order; undefined when none waits (then {@link getPacketError} says why).
   * Read `getPacketPeer/Channel/Mode` BEFORE it: they describe the packet it
   * will return, as in Godot. The packet is the caller's to keep and is never
   * written again; it may be a view into a larger buffer (mind `byteOffset`
   * and `byteLength` before using its `.buffer`).
   */
  getPacket(): Uint8Array | undefined {
    return this.reader.get(this.role.mode !== undefined);
  }

  /**
   * {@link getPacket} and the packet's origin (what `getPacketPeer/Channel/Mode`
   * said before it) in one call, written into `into`; false when none waits.
   */
  takePacket(into: TakenPacket): boolean {
    return this.reader.take(into, this.role.mode !== undefined);
  }

  /**
   * Why the last {@link getPacket} returned nothing (Godot's PacketPeer
   * `get_packet_error()`): `UNAVAILABLE` when no packet was queued,
   * `INVALID_STATE` before initialisation (or after `close()`); undefined
   * when it returned a packet, or before the first call.
   */
  getPacketError(): ErrorCode | undefined {
    return this.reader.error;
  }

  /**
   * Sender of the NEXT available packet (the one {@link getPacket} returns
   * next), as Godot's `get_packet_peer()`; 0 when none is queued. As in
   * Godot, a packet once described stays the next one until `getPacket()`
   * takes it, whatever arrives meanwhile.
   */
  getPacketPeer(): number {
    return this.reader.peek()?.id ?? 0;
  }

  /** Transfer channel of the next available packet (0 for the three default channels, and when none is queued). */
  getPacketChannel(): number {
    return this.reader.nextTransferChannel();
  }

  /** Transfer mode of the next available packet; with none queued, the mode of the packet read last (RELIABLE before any). */
  getPacketMode(): TransferMode {
    return this.reader.nextMode();
  }

  // ---- the tick ----------------------------------------------------------

  /**
   * Once per tick: poll every connection (its events fire now), then advance
   * every link's state machine: connect, keep, reconnect or remove peers;
   * send heartbeats and acknowledgements. Emits every event from here.
   * @param now clock time (ms); default the `clock` option's `now()`, so a
   *   game loop just calls `poll()`.
   */
  poll(now: number = this.clock.now()): void {
    checkNow(now, 'poll() now');
    if (this.role.mode === undefined) return;
    this.lastPoll = now;
    for (const id of [...this.table.disconnecting]) this.drop(id, 'disconnected', true);
    this.table.update(now);
    this.reader.refresh(this.table.links.values());
    if (this.statsSchedule.due(now, this.listenerCount('stats') > 0)) this.emit('stats', this.getStats());
  }

  /**
   * The soonest clock time at which {@link poll} has something to do: a
   * heartbeat, acknowledgement, stats, grace, timeout or reconnection
   * deadline; the last poll's time (already due) while a connection has
   * events waiting; `Infinity` when idle or not initialised.
   */
  nextDeadline(): number {
    if (this.role.mode === undefined) return Infinity;
    const due = this.lastPoll;
    const waiting = this.reader.isStale || this.table.disconnecting.size > 0;
    const at = Math.min(waiting ? due : Infinity, this.table.nextDeadline(due), this.statsSchedule.nextDeadline(this.listenerCount('stats') > 0));
    return Math.max(at, due);
  }

  // ---- monitoring --------------------------------------------------------

  /** Snapshot of the mesh and of every link (see {@link MeshStats}). */
  getStats(): MeshStats {
    return meshStats(this.role.uniqueId, this.counters, this.table.links.values(), this.clock.now());
  }

  /**
   * Final snapshot of the link to a peer that was removed (state `closed`,
   * its history ending with the `closed` entry and the reason), taken as it
   * was removed; undefined when none is kept. The last 32 removed links are
   * kept; a peer removed again replaces its earlier snapshot.
   */
  getClosedLinkStats(peerId: number): LinkStats | undefined {
    checkPeerId(peerId, 'getClosedLinkStats() peerId');
    return this.table.closedLinks.get(peerId);
  }

  /** Snapshot of one link, or undefined for an unknown peer. */
  getLinkStats(peerId: number): LinkStats | undefined {
    checkPeerId(peerId, 'getLinkStats() peerId');
    return this.table.stats(peerId);
  }

  /**
   * Close every connection and return to the uninitialised state, as Godot's
   * `close()` does: no role, id 0, no custom channels or peers, status
   * DISCONNECTED, `targetPeer` 0, unread packets dropped; `transferMode`,
   * `transferChannel`, `refuseNewConnections` and the stats counters are kept.
   * Unlike Godot, every peer that was connected (reconnecting ones included)
   * then gets `peer_disconnected(id, "closed")` — listeners already see the
   * closed state — so an `RpcEndpoint` cancels its pending requests. A peer
   * still connecting is closed silently. A second call does nothing.
   */
  close(): void {
    const links = this.table.clear();
    const connected = links.filter((l) => l.connected).map((l) => l.id);
    this.reader.reset();
    this.writer.reset();
    this.role.clear();
    this.target = 0;
    closeLinks(links);
    for (const id of connected) this.emit('peer_disconnected', id, 'closed');
  }
}
