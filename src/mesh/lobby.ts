/**
 * The lobby: a driver-free state machine that holds a
 * {@link WebRTCMultiplayerPeer} and keeps it in step with a signaling lobby.
 * Signaling events are queued as they arrive and turned into mesh calls inside
 * {@link LobbyMultiplayerPeer.poll}: for every announced peer it creates a
 * connection, adds it, and lets exactly one side offer (the higher id, as
 * Godot's demo does, so offers never collide); departures remove peers; lost
 * links are re-established through signaling (it is the mesh's
 * {@link Reconnector}).
 *
 * It offers the whole multiplayer-peer API (forwarded to {@link LobbyMultiplayerPeer.mesh}),
 * so a game loop, an `RpcEndpoint` or a test uses it as it would the mesh.
 * @module
 */
import { ErrorCode, RtcmeshError, isRtcmeshError } from '../errors.js';
import { ConnectionState } from '../peer/enums.js';
import { WebRTCPeerConnection } from '../peer/peer-connection.js';
import type { IceServerConfig } from '../peer/options.js';
import type { LobbyMode, RefusalCode } from '../signaling/protocol.js';
import type { Pollable } from '../util/sans-io.js';
import { ConnectionStatus, type TransferMode } from './constants.js';
import type { LobbyJoinRequest, LobbySignaling, LobbySignalingEvents, JoinMeshOptions } from './lobby-signaling.js';
import type { Reconnector } from './link.js';
import { MultiplayerPeerFacade } from './facade.js';
import { ReadyTracker } from './ready.js';
import { LobbyRefusals, hostRefusal, meshRefusal, refusalOf } from './lobby-refusals.js';
import { LobbyProbes } from './lobby-probes.js';
import { checkInt, checkNow } from '../util/validate.js';
import { WebRTCMultiplayerPeer, type MultiplayerPeerOptions } from './multiplayer-peer.js';

export type { JoinMeshOptions, LobbySignaling, LobbySignalingEvents, LobbyJoinRequest, LobbyJoinResult } from './lobby-signaling.js';

/** Most early signaling messages held for a peer not announced yet. */
const MAX_EARLY_MESSAGES = 64;
/** Most signaling events queued between two polls (beyond, they are dropped and counted). */
const MAX_QUEUED_EVENTS = 65536;

type Early = { kind: 'description'; type: 'offer' | 'answer'; sdp: string } | { kind: 'candidate'; mid: string; index: number; candidate: string };

/** A signaling event waiting for the next poll. */
type Input =
  | { kind: 'connect' | 'joined' | 'left' | 'detached' | 'attached' | 'alive'; id: number }
  | { kind: 'message'; from: number; message: Early }
  | { kind: 'refused'; id: number; code: RefusalCode };

/** Lobby settings fixed by `Mesh.join`. */
export interface LobbySettings {
  unreliableLifetime: number;
  closeSignaling: boolean;
  livenessTimeoutMs: number;
  connection?: JoinMeshOptions['connection'];
  engine?: JoinMeshOptions['engine'];
}

/** A multiplayer peer that follows a signaling lobby. Create it with `Mesh.join`. */
export class LobbyMultiplayerPeer extends MultiplayerPeerFacade implements Pollable {
  /** The lobby's name (share it so others can join). */
  lobby = '';
  /** Kind of lobby joined. */
  lobbyMode: LobbyMode = 'mesh';
  /** Signaling messages dropped because they did not fit (unknown sender, too many early ones, queue full, a refusal from a peer this one does not link to). */
  signalingDropped = 0;
  private readonly inputs: Input[] = [];
  private early = new Map<number, Early[]>();
  private detach: (() => void) | undefined;
  /** False until our own join completed: inputs wait. */
  private joined = false;
  /** Peers currently in the lobby (as announced by signaling). */
  private readonly members = new Set<number>();
  /** Members whose signaling connection is down (announced by `peer_detached`, cleared by `peer_attached`/`peer_left`). */
  private readonly detachedMembers = new Set<number>();
  /** Connections that have had a remote offer applied (a second offer means the remote restarted the link). */
  private readonly offered = new WeakSet<WebRTCPeerConnection>();
  /** Liveness checks through signaling, by peer: when asked (clock ms) and whether it answered. */
  private readonly probes: LobbyProbes;
  /** `now` of the current (or last) poll. */
  private now = -Infinity;
  private readonly readiness = new ReadyTracker();
  /** STUN/TURN servers the signaling server handed out (join answer, then refreshes); used unless `connection.iceServers` was given. */
  private lobbyIceServers: IceServerConfig[] | undefined;
  /** Links refused both ways (told through signaling, protocol 5). */
  private readonly refusals: LobbyRefusals;

  /** @internal use `Mesh.join`. */
  constructor(
    readonly signaling: LobbySignaling,
    private readonly settings: LobbySettings,
    options: MultiplayerPeerOptions,
  ) {
    const reconnector: Reconnector = {
      canReconnect: (id) => this.canReconnect(id),
      objection: (id) => this.reconnectObjection(id),
      startAttempt: (id) => this.startReconnectAttempt(id),
    };
    super(new WebRTCMultiplayerPeer({ ...options, reconnector }));
    this.refusals = new LobbyRefusals(signaling);
    const maintenance = () => this.mesh.maintenance;
    this.probes = new LobbyProbes({
      signaling,
      livenessTimeoutMs: settings.livenessTimeoutMs,
      members: () => this.members,
      isDetached: (id) => this.detachedMembers.has(id),
      lastHeard: (id) => maintenance().lastHeard(id),
      silenceMs: () => maintenance().silenceMs,
      attached: () => this.detach !== undefined,
    });
    this.listen();
  }

  private listen(): void {
    const s = this.signaling;
    const queue = (input: Input) => {
      if (this.inputs.length >= MAX_QUEUED_EVENTS) this.signalingDropped++;
      else this.inputs.push(input);
    };
    const listeners = {
      peer_joined: (id: number) => queue({ kind: 'joined', id }),
      peer_left: (id: number) => queue({ kind: 'left', id }),
      peer_detached: (id: number) => queue({ kind: 'detached', id }),
      peer_attached: (id: number) => queue({ kind: 'attached', id }),
      peer_alive: (id: number) => queue({ kind: 'alive', id }),
      description: (from: number, type: 'offer' | 'answer', sdp: string) => queue({ kind: 'message', from, message: { kind: 'description', type, sdp } }),
      candidate: (from: number, mid: string, index: number, candidate: string) =>
        queue({ kind: 'message', from, message: { kind: 'candidate', mid, index, candidate } }),
      refused: (id: number, code: RefusalCode) => queue({ kind: 'refused', id, code }),
      // Not queued: it only changes the configuration of connections made later.
      ice_servers: (iceServers: IceServerConfig[]) => {
        if (Array.isArray(iceServers)) this.lobbyIceServers = iceServers;
      },
    } satisfies Partial<LobbySignalingEvents>;
    const entries: [string, (...args: any[]) => void][] = Object.entries(listeners);
    for (const [event, fn] of entries) s.on(event, fn);
    this.detach = () => {
      for (const [event, fn] of entries) s.off(event, fn);
    };
  }

  /** @internal join the lobby and take the role it gives (`Mesh.join` calls it once). */
  async start(request: LobbyJoinRequest, channels: TransferMode[]): Promise<void> {
    const joined = await this.signaling.join(request);
    if (Array.isArray(joined.iceServers)) this.lobbyIceServers = joined.iceServers;
    this.lobby = joined.lobby;
    this.lobbyMode = joined.mode;
    if (joined.mode === 'mesh') this.mesh.createMesh(joined.id, channels);
    else if (joined.id === 1) this.mesh.createServer(channels);
    else this.mesh.createClient(joined.id, channels);
    for (const id of joined.peers) this.members.add(id);
    if (joined.mode === 'mesh') this.readiness.waitFor(joined.peers);
    else if (joined.id !== 1) this.readiness.waitFor([1]);
    // connect to those present first, then to what was announced meanwhile
    this.inputs.unshift(...joined.peers.map((id): Input => ({ kind: 'connect', id })));
    this.joined = true;
  }

  // ---- the tick -------------------------------------------------------------

  /**
   * Once per tick: turn the signaling events that arrived into mesh calls
   * (connect, apply descriptions and candidates, remove departed peers), ask
   * signaling about silent links, then poll the mesh (every connection's
   * events fire here). A sans-IO signaling client is polled first.
   * @param now clock time (ms); default the mesh clock's `now()`.
   */
  poll(now: number = this.mesh.clock.now()): void {
    checkNow(now, 'poll() now');
    this.now = now;
    this.signaling.poll?.(now);
    if (this.joined) {
      const inputs = this.inputs.splice(0);
      for (const input of inputs) this.handle(input);
    }
    this.probes.checkSilent(now);
    this.mesh.poll(now);
    this.probes.prune((id) => this.mesh.hasPeer(id));
    this.readiness.settle(now, (id) => this.mesh.getPeer(id)?.state === 'connected');
  }

  /**
   * A promise that resolves when the mesh is usable: in a client_server
   * lobby, a client's link to the host (id 1) is open (the host itself is
   * ready at once); in a mesh lobby, the links to every member present when
   * this peer joined are open (members that left meanwhile are not waited
   * for). With `timeoutMs` it rejects with a TIMEOUT {@link RtcmeshError}
   * naming the peers that did not connect. Rejects with CLOSED when the mesh
   * closes first.
   *
   * Sans-IO: it settles inside {@link poll}, and the timeout is a deadline
   * checked there (it is part of {@link nextDeadline}), so keep polling —
   * from the game loop, a ticker or a `RealtimeDriver` — while you await it.
   * @param timeoutMs most milliseconds (by the mesh clock) to wait; default: no limit.
   * @throws RtcmeshError INVALID_ARGUMENT for a bad `timeoutMs`.
   */
  ready(timeoutMs?: number): Promise<void> {
    if (timeoutMs !== undefined) checkInt(timeoutMs, 0, 86_400_000, 'ready() timeoutMs');
    const now = Number.isFinite(this.now) ? Math.max(this.now, this.mesh.clock.now()) : this.mesh.clock.now();
    return this.readiness.wait(now, timeoutMs);
  }

  /**
   * The soonest clock time at which {@link poll} has something to do: now when
   * signaling events wait, else the soonest of the mesh's, the signaling
   * client's (when it has one), a liveness check's answer and a silent link's
   * probe time.
   */
  nextDeadline(): number {
    if (this.joined && this.inputs.length > 0) return this.now;
    let at = Math.min(this.mesh.nextDeadline(), this.readiness.nextDeadline(), this.probes.deadline());
    if (typeof this.signaling.nextDeadline === 'function') at = Math.min(at, this.signaling.nextDeadline());
    return Math.max(at, this.now);
  }

  private handle(input: Input): void {
    switch (input.kind) {
      case 'connect':
        return this.connectTo(input.id);
      case 'joined':
        this.members.add(input.id);
        this.detachedMembers.delete(input.id);
        this.refusals.forget(input.id); // a new instance: refusals start afresh
        // An id we are linked to joined again: a new instance (e.g. a restarted host reclaiming id 1). Reconnect now.
        if (this.mesh.hasPeer(input.id)) this.mesh.maintenance.retryNow(input.id, 'the peer joined the lobby again');
        return this.connectTo(input.id);
      case 'left':
        if (this.lobbyMode === 'mesh') this.readiness.forget(input.id);
        this.members.delete(input.id);
        this.detachedMembers.delete(input.id);
        this.early.delete(input.id);
        this.probes.delete(input.id);
        this.refusals.forget(input.id);
        return this.mesh.maintenance.removePeer(input.id, 'left the lobby');
      case 'detached':
        if (this.members.has(input.id)) this.detachedMembers.add(input.id);
        return;
      case 'attached': {
        this.detachedMembers.delete(input.id);
        if (!this.members.has(input.id)) return;
        // Back on signaling while its link is down or still forming: try again now rather than at the next backoff.
        const state = this.mesh.getPeer(input.id)?.state;
        if (state === 'reconnecting' || state === 'connecting') this.mesh.maintenance.retryNow(input.id, 'the peer is back on signaling');
        // Dropped while it was away (its link was lost too): connect afresh, same id.
        this.connectTo(input.id);
        return;
      }
      case 'alive': {
        this.probes.answered(input.id);
        return;
      }
      case 'message':
        return this.route(input.from, input.message);
      case 'refused':
        return this.onRefused(input.id, input.code);
    }
  }

  // ---- connections ------------------------------------------------------------

  private connectTo(id: number): void {
    const mesh = this.mesh;
    if (mesh.getMode() === undefined || mesh.hasPeer(id) || id === mesh.getUniqueId() || this.refusals.refusing(id)) return;
    const connection = this.newConnection();
    try {
      mesh.addPeer(connection, id, this.settings.unreliableLifetime);
    } catch (err) {
      // refused (refuseNewConnections, mode rules): this peer stays unconnected, and is told so once
      connection.close();
      this.early.delete(id);
      const code = refusalOf(err);
      if (code && this.members.has(id)) this.refusals.tell(id, code);
      return;
    }
    this.refusals.forget(id);
    this.wire(connection, id);
    if (mesh.getUniqueId() > id) connection.createOffer();
    const held = this.early.get(id);
    this.early.delete(id);
    for (const message of held ?? []) this.apply(id, message);
  }

  /** A connection the mesh polls (no autoPoll: its events fire inside the mesh's poll). */
  private newConnection(): WebRTCPeerConnection {
    const own = this.settings.connection ?? {};
    const config = own.iceServers === undefined && this.lobbyIceServers ? { ...own, iceServers: this.lobbyIceServers } : own;
    return new WebRTCPeerConnection(config, this.settings.engine ? { engine: this.settings.engine } : {});
  }

  /** Send a connection's descriptions and candidates to `id` through signaling, while it is that peer's current connection. */
  private wire(connection: WebRTCPeerConnection, id: number): void {
    const send = (fn: () => void) => {
      if (this.mesh.getPeer(id)?.connection !== connection) return;
      try {
        fn();
      } catch (err) {
        // This client left the lobby or closed: the negotiation cannot complete (the link is dropped or times out).
        if (isRtcmeshError(err, ErrorCode.INVALID_STATE) || isRtcmeshError(err, ErrorCode.CLOSED)) return;
        throw err;
      }
    };
    connection.on('session_description_created', (type, sdp) => send(() => this.signaling.sendDescription(id, type, sdp)));
    connection.on('ice_candidate_created', (mid, index, candidate) => send(() => this.signaling.sendCandidate(id, mid, index, candidate)));
  }

  /** Put a fresh, wired connection under peer `id` (the old one is closed). */
  private freshConnection(id: number): WebRTCPeerConnection {
    const connection = this.newConnection();
    try {
      this.mesh.maintenance.replaceConnection(id, connection);
    } catch (err) {
      connection.close();
      throw err;
    }
    this.wire(connection, id);
    return connection;
  }

  private route(from: number, message: Early): void {
    this.probes.answered(from); // it signals, so it is there
    if (this.mesh.hasPeer(from)) return this.apply(from, message);
    // A peer refused either way negotiates on: dropped (a member offering while we refuse is told, once).
    const offer = message.kind === 'description' && message.type === 'offer';
    if (this.refusals.drops(from, offer && this.members.has(from) && this.mesh.refuseNewConnections)) return void this.early.delete(from);
    // A message can overtake the announcement of its sender; hold a few.
    const list = this.early.get(from) ?? [];
    if (list.length >= MAX_EARLY_MESSAGES || this.early.size > 4096) {
      this.signalingDropped++;
      return;
    }
    list.push(message);
    this.early.set(from, list);
  }

  private apply(from: number, message: Early): void {
    const connection = this.mesh.getPeer(from)?.connection;
    if (!connection) return;
    // Remote input: the connection reports bad SDP/candidates as `error` events.
    if (message.kind === 'description') {
      let target = connection;
      if (message.type === 'offer' && this.offered.has(connection)) {
        // A second offer: the remote started a fresh connection for this link.
        if (!this.mesh.maintenance.restartLink(from, 'the peer restarted the link')) return;
        target = this.freshConnection(from);
      }
      if (message.type === 'offer') this.offered.add(target);
      target.setRemoteDescription(message.type, message.sdp);
    } else {
      connection.addIceCandidate(message.mid, message.index, message.candidate);
    }
  }

  // ---- refusals -------------------------------------------------------------------

  /**
   * Peer `from` refused its link to this one. A client refused by the host:
   * the join failed (Godot's `connection_failed`, when it never connected):
   * the link to the host is removed (status DISCONNECTED), `ready()` rejects,
   * and the client leaves the lobby. A mesh member (or a host refused by a
   * client): that one peer is not connected to while it stays; `ready()`
   * rejects naming it, and the links to the others go on.
   */
  private onRefused(from: number, code: RefusalCode): void {
    const mode = this.mesh.getMode();
    if (mode === undefined || (mode === 'client' && from !== 1) || !this.refusals.refusedBy(from, code)) {
      this.signalingDropped++; // not a peer we link to, known already, or too many
      return;
    }
    this.early.delete(from);
    this.probes.delete(from);
    if (mode === 'client') {
      const error = hostRefusal(code);
      const connecting = this.mesh.getConnectionStatus() === ConnectionStatus.CONNECTING;
      this.readiness.refused(from, error);
      this.mesh.maintenance.removePeer(from, `the host refused this client (${code})`);
      this.members.delete(from);
      try {
        this.signaling.leave();
      } catch {
        // signaling already closed
      }
      this.mesh.emit('link_refused', from, error);
      if (connecting) this.mesh.emit('connection_failed', error); // once connected, its loss was peer_disconnected(1)
      return;
    }
    const error = new RtcmeshError(ErrorCode.UNAUTHORIZED, meshRefusal(this.refusals.refusers()));
    this.readiness.refused(from, error);
    this.mesh.maintenance.removePeer(from, `the peer refused the link (${code})`);
    this.mesh.emit('link_refused', from, new RtcmeshError(ErrorCode.UNAUTHORIZED, meshRefusal([from])));
  }

  /** The lobby members that refused the link to this peer (told through signaling), ascending. */
  get refusedBy(): number[] {
    return this.refusals.refusers();
  }

  // ---- reconnection (the mesh's Reconnector) -------------------------------------

  /** Whether our own signaling client is still in the lobby (see {@link LobbySignaling.lobby}). */
  private inLobby(): boolean {
    return !('lobby' in this.signaling) || this.signaling.lobby !== undefined;
  }

  /** The host (id 1) of a client_server lobby, seen from a client: waited for while it is still a member. */
  private hostMayReturn(peerId: number): boolean {
    return peerId === 1 && this.lobbyMode === 'client_server' && this.mesh.getUniqueId() !== 1;
  }

  /** A lost link is re-established while the peer is still in the lobby. */
  private canReconnect(peerId: number): boolean {
    return this.detach !== undefined && this.members.has(peerId);
  }

  /**
   * A peer that vanished from signaling as well (process killed, cable cut)
   * cannot take part in a new negotiation: give up on its lost link at once
   * instead of waiting for the server's resume grace or `giveUpMs`. Vanished
   * means: the server announced it detached, or its signaling connection did
   * not answer a liveness check within `livenessTimeoutMs` (the server has
   * not noticed the dead socket yet). A link lost for another reason than
   * silence (connection failed or closed) is checked from the moment it is lost.
   * Nor can this peer reconnect once its own signaling client left the lobby
   * or closed.
   */
  private reconnectObjection(peerId: number): string | undefined {
    if (!this.inLobby()) return 'this peer is no longer in the lobby (signaling left or closed), not reconnecting';
    // The host of a client_server lobby may come back (restarted with its host key, within the server's grace): keep its link.
    if (this.hostMayReturn(peerId)) return undefined;
    if (this.detachedMembers.has(peerId)) return 'the peer left signaling (detached), not reconnecting';
    const liveness = this.settings.livenessTimeoutMs;
    const info = this.mesh.getPeer(peerId);
    if (liveness <= 0 || !info?.connected) return undefined; // a first connection is retried as usual
    const probe = this.probes.get(peerId);
    if (!probe) {
      if (info.state !== 'reconnecting') this.probes.send(peerId, this.now); // lost right now, not through silence
      return undefined;
    }
    if (!probe.answered && this.now - probe.sentAt >= liveness) {
      return `the peer did not answer through signaling within ${liveness} ms (vanished), not reconnecting`;
    }
    return undefined;
  }

  /**
   * One reconnection attempt: libdatachannel has no ICE restart, so the link
   * gets a fresh connection. The higher id offers (as for the first
   * connection); the lower id prepares a fresh connection and waits for the
   * offer, keeping one that is still negotiating.
   */
  private startReconnectAttempt(peerId: number): void {
    const current = this.mesh.getPeer(peerId)?.connection;
    if (!current) return;
    // Every attempt asks again whether the peer is still there (it may vanish while being reconnected).
    if (this.settings.livenessTimeoutMs > 0 && this.probes.get(peerId)?.answered !== false) this.probes.send(peerId, this.now);
    if (this.mesh.getUniqueId() > peerId) {
      this.freshConnection(peerId).createOffer();
      return;
    }
    const state = current.getConnectionState();
    const waiting = state === ConnectionState.NEW || (state === ConnectionState.CONNECTING && this.offered.has(current));
    if (!waiting) this.freshConnection(peerId);
  }

  // ---- lobby calls -----------------------------------------------------------------

  /** Stop accepting joins (lobby host only). */
  seal(): void {
    this.signaling.seal();
  }

  /**
   * Leave the lobby and close every connection (and the signaling client,
   * unless told not to). The others see a departure (`peer_left`, so
   * `peer_disconnected(id, "left the lobby")`), not a signaling connection
   * that dropped and might resume.
   */
  override close(): void {
    this.readiness.cancel('the mesh was closed');
    this.detach?.();
    this.detach = undefined;
    this.inputs.length = 0;
    this.early.clear();
    this.members.clear();
    this.detachedMembers.clear();
    this.probes.clear();
    this.refusals.clear();
    try {
      this.signaling.leave(); // first, so the lobby hears of the departure before the links close
    } catch {
      // signaling already closed
    }
    this.mesh.close();
    try {
      if (this.settings.closeSignaling) this.signaling.close();
    } catch {
      // signaling already closed
    }
  }
}
