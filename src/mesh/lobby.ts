/**
 * Lobby join: one call that connects to signaling, takes the id it is given,
 * creates a server, client or mesh peer accordingly, and then keeps the mesh
 * in step with the lobby: for every announced peer it creates a connection,
 * adds it, and lets exactly one side offer (the higher id, as Godot's demo
 * does, so offers never collide); departures remove peers.
 * @module
 */
import { ErrorCode, RtcmeshError, describeError, isRtcmeshError } from '../errors.js';
import { ConnectionState } from '../peer/enums.js';
import { WebRTCPeerConnection } from '../peer/peer-connection.js';
import type { PeerConnectionConfig } from '../peer/options.js';
import type { Engine } from '../transport/engine.js';
import type { EventEmitter } from 'eventemitter3';
import { checkInt, checkOptions, invalid } from '../util/validate.js';
import { MULTIPLAYER_PEER_OPTION_KEYS, WebRTCMultiplayerPeer, type MultiplayerPeerOptions } from './multiplayer-peer.js';
import { TransferMode } from './types.js';
import { resolveSignaling, type SignalingSource } from './signaling-source.js';

import type { LobbyMode } from '../signaling/protocol.js';

/** What the lobby join needs from a signaling client (WebSocket or in-memory). */
export interface LobbySignaling extends EventEmitter<LobbySignalingEvents> {
  /**
   * The lobby's name while in one; undefined once this client left it or
   * closed. The mesh does not reconnect lost links after that. A custom
   * client without this property counts as always in the lobby.
   */
  readonly lobby?: string | undefined;
  join(options?: { lobby?: string; mode?: LobbyMode; auth?: unknown }): Promise<{ lobby: string; id: number; mode: LobbyMode; peers: number[] }>;
  sendDescription(to: number, type: 'offer' | 'answer', sdp: string): void;
  sendCandidate(to: number, mid: string, index: number, candidate: string): void;
  /**
   * Ask the server whether peer `to` can still be reached; it answers with a
   * `peer_alive` event when it can. False when nothing was sent.
   * Optional: without it, vanished peers are noticed only through `peer_detached`.
   */
  probe?(to: number): boolean;
  seal(): void;
  leave(): void;
  close(): void;
}

/** Signaling events the lobby join listens to. */
export interface LobbySignalingEvents {
  peer_joined: (id: number) => void;
  peer_left: (id: number) => void;
  /** The peer's signaling connection dropped (it is in the server's resume grace). Older servers never send it; custom clients may never emit it. */
  peer_detached: (id: number) => void;
  /** A detached peer resumed its signaling connection. */
  peer_attached: (id: number) => void;
  /** Answer to `probe(id)`: the peer's signaling connection answered. */
  peer_alive: (id: number) => void;
  description: (from: number, type: 'offer' | 'answer', sdp: string) => void;
  candidate: (from: number, mid: string, index: number, candidate: string) => void;
  [event: string]: (...args: any[]) => void;
}

/** Options of {@link Mesh.join}. */
export interface JoinMeshOptions extends MultiplayerPeerOptions {
  /** A signaling server URL (`ws://…`), several URLs of one service (fail-over), a `MemorySignalingBus`, or a client not yet joined. */
  signaling: SignalingSource;
  /** Lobby name; omit or '' to create a new lobby. */
  lobby?: string;
  /** Kind of lobby when creating one. Default 'mesh'. */
  mode?: LobbyMode;
  /** Passed to the server's authorisation hook. */
  auth?: unknown;
  /** Config of every peer connection. Default: bind to all interfaces, no ICE servers. */
  connection?: PeerConnectionConfig;
  /** Engine for the connections. Default: the entry point's. */
  engine?: Engine;
  /** Extra channels of every link, by TransferMode. */
  channels?: TransferMode[];
  /** maxPacketLifeTime (ms) of the unreliable channels. Default 1. */
  unreliableLifetime?: number;
  /** Close the signaling client when the mesh closes. Default: true when the mesh created it (URL or bus). */
  closeSignaling?: boolean;
  /**
   * How long signaling gets to confirm that a silent peer is still there
   * (ms; 0 = never ask). When a link has been silent for
   * `heartbeatTimeoutMs − livenessTimeoutMs` (at least half the timeout), the
   * mesh asks the signaling server to check the peer's connection (`probe`);
   * a peer whose connection has not answered after `livenessTimeoutMs` has
   * vanished (process killed, cable cut) and its lost link is given up with
   * `peer_disconnected` instead of being reconnected. Default 2000.
   */
  livenessTimeoutMs?: number;
}

const JOIN_KEYS = [
  'signaling',
  'lobby',
  'mode',
  'auth',
  'connection',
  'engine',
  'channels',
  'unreliableLifetime',
  'closeSignaling',
  'livenessTimeoutMs',
  ...MULTIPLAYER_PEER_OPTION_KEYS,
] as const;


/** Most early signaling messages held for a peer not announced yet. */
const MAX_EARLY_MESSAGES = 64;

/** Probes start this much before `heartbeatTimeoutMs − livenessTimeoutMs` of silence: room for the tick. */
const PROBE_LEAD_MS = 100;

type Early = { kind: 'description'; type: 'offer' | 'answer'; sdp: string } | { kind: 'candidate'; mid: string; index: number; candidate: string };

/** A multiplayer peer that follows a signaling lobby. Create it with {@link Mesh.join}. */
export class LobbyMultiplayerPeer extends WebRTCMultiplayerPeer {
  /** The lobby's name (share it so others can join). */
  lobby = '';
  /** Kind of lobby joined. */
  lobbyMode: LobbyMode = 'mesh';
  /** Signaling messages dropped because they did not fit (unknown sender, too many early ones). */
  signalingDropped = 0;
  private early = new Map<number, Early[]>();
  /** Peers announced before our own join completed (a synchronous bus can do that). */
  private announcedEarly: number[] | undefined = [];
  private detach: (() => void) | undefined;
  /** Peers currently in the lobby (as announced by signaling). */
  private readonly members = new Set<number>();
  /** Members whose signaling connection is down (announced by `peer_detached`, cleared by `peer_attached`/`peer_left`). */
  private readonly detachedMembers = new Set<number>();
  /** Connections that have had a remote offer applied (a second offer means the remote restarted the link). */
  private readonly offered = new WeakSet<WebRTCPeerConnection>();
  /** Liveness checks through signaling, by peer: when asked (clock ms) and whether it answered. */
  private readonly probes = new Map<number, { sentAt: number; answered: boolean }>();

  /** @internal use {@link Mesh.join}. */
  constructor(
    readonly signaling: LobbySignaling,
    private readonly settings: Required<Pick<JoinMeshOptions, 'unreliableLifetime' | 'closeSignaling' | 'livenessTimeoutMs'>> &
      Pick<JoinMeshOptions, 'connection' | 'engine'>,
    options: MultiplayerPeerOptions,
  ) {
    super(options);
  }

  /** @internal */
  async start(options: JoinMeshOptions, channels: TransferMode[]): Promise<void> {
    const s = this.signaling;
    const listeners = {
      peer_joined: (id: number) => {
        this.members.add(id);
        this.connectTo(id);
      },
      peer_left: (id: number) => {
        this.members.delete(id);
        this.detachedMembers.delete(id);
        this.early.delete(id);
        if (this.announcedEarly) this.announcedEarly = this.announcedEarly.filter((p) => p !== id);
        this.drop(id, 'left the lobby', true); // forgets its probe too
      },
      peer_detached: (id: number) => {
        if (this.members.has(id)) this.detachedMembers.add(id);
      },
      peer_attached: (id: number) => {
        this.detachedMembers.delete(id);
        // Dropped while it was away (its link was lost too): connect afresh, same id.
        if (this.members.has(id) && !this.announcedEarly) this.connectTo(id);
      },
      peer_alive: (id: number) => {
        const probe = this.probes.get(id);
        if (probe) probe.answered = true;
      },
      description: (from: number, type: 'offer' | 'answer', sdp: string) => this.route(from, { kind: 'description', type, sdp }),
      candidate: (from: number, mid: string, index: number, candidate: string) => this.route(from, { kind: 'candidate', mid, index, candidate }),
    } satisfies Partial<LobbySignalingEvents>;
    const entries: [string, (...args: any[]) => void][] = Object.entries(listeners);
    for (const [event, fn] of entries) s.on(event, fn);
    this.detach = () => {
      for (const [event, fn] of entries) s.off(event, fn);
    };
    const joined = await s.join({
      ...(options.lobby !== undefined && { lobby: options.lobby }),
      ...(options.mode !== undefined && { mode: options.mode }),
      ...(options.auth !== undefined && { auth: options.auth }),
    });
    this.lobby = joined.lobby;
    this.lobbyMode = joined.mode;
    if (joined.mode === 'mesh') this.createMesh(joined.id, channels);
    else if (joined.id === 1) this.createServer(channels);
    else this.createClient(joined.id, channels);
    for (const id of joined.peers) this.members.add(id);
    const announced = this.announcedEarly ?? [];
    this.announcedEarly = undefined;
    for (const id of [...joined.peers, ...announced]) this.connectTo(id);
  }

  private connectTo(id: number): void {
    if (this.announcedEarly) {
      this.announcedEarly.push(id);
      return;
    }
    if (this.getMode() === undefined || this.hasPeer(id) || id === this.getUniqueId()) return;
    const connection = this.newConnection();
    try {
      this.addPeer(connection, id, this.settings.unreliableLifetime);
    } catch {
      // refused (refuseNewConnections, mode rules): this peer stays unconnected
      connection.close();
      this.early.delete(id);
      return;
    }
    this.wire(connection, id);
    if (this.getUniqueId() > id) connection.createOffer();
    const held = this.early.get(id);
    this.early.delete(id);
    for (const message of held ?? []) this.apply(id, message);
  }

  private newConnection(): WebRTCPeerConnection {
    return new WebRTCPeerConnection(this.settings.connection ?? {}, {
      autoPoll: true,
      ...(this.settings.engine && { engine: this.settings.engine }),
    });
  }

  /** Send a connection's descriptions and candidates to `id` through signaling, while it is that peer's current connection. */
  private wire(connection: WebRTCPeerConnection, id: number): void {
    const send = (fn: () => void) => {
      if (this.getPeer(id)?.connection !== connection) return;
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

  /** Whether our own signaling client is still in the lobby (see {@link LobbySignaling.lobby}). */
  private inLobby(): boolean {
    return !('lobby' in this.signaling) || this.signaling.lobby !== undefined;
  }

  /** Put a fresh, wired connection under peer `id` (the old one is closed). */
  private freshConnection(id: number): WebRTCPeerConnection {
    const connection = this.newConnection();
    try {
      this.replaceConnection(id, connection);
    } catch (err) {
      connection.close();
      throw err;
    }
    this.wire(connection, id);
    return connection;
  }

  /** A lost link is re-established while the peer is still in the lobby. */
  protected override canReconnect(peerId: number): boolean {
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
  protected override reconnectObjection(peerId: number): string | undefined {
    if (!this.inLobby()) return 'this peer is no longer in the lobby (signaling left or closed), not reconnecting';
    if (this.detachedMembers.has(peerId)) return 'the peer left signaling (detached), not reconnecting';
    const liveness = this.settings.livenessTimeoutMs;
    const info = this.getPeer(peerId);
    if (liveness <= 0 || !info?.connected) return undefined; // a first connection is retried as usual
    const probe = this.probes.get(peerId);
    if (!probe) {
      if (info.state !== 'reconnecting') this.sendProbe(peerId); // lost right now, not through silence
      return undefined;
    }
    if (!probe.answered && this.clock.now() - probe.sentAt >= liveness) {
      return `the peer did not answer through signaling within ${liveness} ms (vanished), not reconnecting`;
    }
    return undefined;
  }

  private sendProbe(peerId: number): void {
    if (this.detachedMembers.has(peerId)) return; // known gone: nothing to ask
    let sent = false;
    try {
      sent = this.signaling.probe?.(peerId) === true;
    } catch {
      // a custom client that refuses: treated as unable to ask
    }
    if (sent) this.probes.set(peerId, { sentAt: this.clock.now(), answered: false });
    else this.probes.delete(peerId);
  }

  /** Ask signaling about peers whose links have been silent long enough (before the heartbeat timeout decides). */
  private checkSilentLinks(): void {
    const liveness = this.settings.livenessTimeoutMs;
    const silence = this.linkSilenceMs;
    if (liveness <= 0 || silence <= 0 || !this.detach) return;
    const askAt = Math.max(silence / 2, silence - liveness - PROBE_LEAD_MS);
    for (const id of this.members) {
      const silent = this.silentFor(id);
      if (silent < 0) continue; // not up: connecting, or reconnecting with its check under way
      if (silent < askAt) this.probes.delete(id);
      else if (!this.probes.has(id)) this.sendProbe(id);
    }
  }

  protected override drop(peerId: number, reason: string, notify: boolean): void {
    this.probes.delete(peerId);
    super.drop(peerId, reason, notify);
  }

  /** Liveness checks first, so a link lost on this tick already knows its answer. */
  override poll(): void {
    this.checkSilentLinks();
    super.poll();
  }

  /**
   * One reconnection attempt: libdatachannel has no ICE restart, so the link
   * gets a fresh connection. The higher id offers (as for the first
   * connection); the lower id prepares a fresh connection and waits for the
   * offer, keeping one that is still negotiating.
   */
  protected override startReconnectAttempt(peerId: number, _attempt: number): void {
    const current = this.getPeer(peerId)?.connection;
    if (!current) return;
    // Every attempt asks again whether the peer is still there (it may vanish while being reconnected).
    if (this.settings.livenessTimeoutMs > 0 && this.probes.get(peerId)?.answered !== false) this.sendProbe(peerId);
    if (this.getUniqueId() > peerId) {
      this.freshConnection(peerId).createOffer();
      return;
    }
    const state = current.getConnectionState();
    const waiting = state === ConnectionState.NEW || (state === ConnectionState.CONNECTING && this.offered.has(current));
    if (!waiting) this.freshConnection(peerId);
  }

  private route(from: number, message: Early): void {
    const probe = this.probes.get(from);
    if (probe) probe.answered = true; // it signals, so it is there
    if (this.hasPeer(from)) return this.apply(from, message);
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
    const connection = this.getPeer(from)?.connection;
    if (!connection) return;
    // Remote input: the connection reports bad SDP/candidates as `error` events.
    if (message.kind === 'description') {
      let target = connection;
      if (message.type === 'offer' && this.offered.has(connection)) {
        // A second offer: the remote started a fresh connection for this link.
        if (!this.restartLink(from, 'the peer restarted the link')) return;
        target = this.freshConnection(from);
      }
      if (message.type === 'offer') this.offered.add(target);
      target.setRemoteDescription(message.type, message.sdp);
    } else {
      connection.addIceCandidate(message.mid, message.index, message.candidate);
    }
  }

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
    this.detach?.();
    this.detach = undefined;
    this.early.clear();
    this.members.clear();
    this.detachedMembers.clear();
    this.probes.clear();
    try {
      this.signaling.leave(); // first, so the lobby hears of the departure before the links close
    } catch {
      // signaling already closed
    }
    super.close();
    try {
      if (this.settings.closeSignaling) this.signaling.close();
    } catch {
      // signaling already closed
    }
  }
}

/** Lobby entry points. */
export const Mesh = {
  /**
   * Join (or create) a lobby and return a multiplayer peer that follows it.
   * Call `poll()` on it every tick; `peer_connected` fires as links open.
   * @throws RtcmeshError for bad options, or the signaling client's join error.
   */
  async join(options: JoinMeshOptions): Promise<LobbyMultiplayerPeer> {
    const opts = checkOptions<JoinMeshOptions>(options, JOIN_KEYS, 'Mesh.join() options');
    const { client: s, owned } = resolveSignaling(opts.signaling as SignalingSource);
    const channels = opts.channels ?? [];
    if (!Array.isArray(channels)) invalid('channels', 'an array of TransferMode values', channels);
    const settings = {
      unreliableLifetime: opts.unreliableLifetime === undefined ? 1 : checkInt(opts.unreliableLifetime, 0, 65535, 'unreliableLifetime'),
      livenessTimeoutMs: opts.livenessTimeoutMs === undefined ? 2000 : checkInt(opts.livenessTimeoutMs, 0, 3_600_000, 'livenessTimeoutMs'),
      closeSignaling: opts.closeSignaling ?? owned,
      ...(opts.connection !== undefined && { connection: opts.connection }),
      ...(opts.engine !== undefined && { engine: opts.engine }),
    };
    const peerOptions: Record<string, unknown> = {};
    for (const key of MULTIPLAYER_PEER_OPTION_KEYS) if (opts[key] !== undefined) peerOptions[key] = opts[key];
    const mesh = new LobbyMultiplayerPeer(s, settings, peerOptions as MultiplayerPeerOptions);
    try {
      await mesh.start(opts as JoinMeshOptions, channels);
    } catch (err) {
      mesh.close();
      if (err instanceof RtcmeshError) throw err;
      throw new RtcmeshError(ErrorCode.ENGINE_ERROR, `Mesh.join() failed: ${describeError(err)}`, { cause: err });
    }
    return mesh;
  },
};
