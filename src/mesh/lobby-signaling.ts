/**
 * What a lobby needs from a signaling client (WebSocket or in-memory), and
 * the options of `Mesh.join`. Types only.
 * @module
 */
import type { IceServerConfig } from '../peer/options.js';
import type { EventEmitter } from 'eventemitter3';
import type { PeerConnectionConfig } from '../peer/options.js';
import type { MemorySignalingBus } from '../signaling/memory-bus.js';
import type { LobbyMode, RefusalCode } from '../signaling/protocol.js';
import type { Engine } from '../transport/engine.js';
import type { TransferMode } from './constants.js';
import type { MultiplayerPeerOptions } from './peer-options.js';

/** Options of {@link LobbySignaling.join}. */
export interface LobbyJoinRequest {
  /** Lobby name; omit or '' to create a new lobby. */
  lobby?: string;
  /** Kind of lobby when creating one. */
  mode?: LobbyMode;
  /** Passed to the server's authorisation hook. */
  auth?: unknown;
  /** Join as the lobby's host (id 1); the server refuses with HOST_TAKEN while a live host holds it. */
  host?: boolean;
  /** Secret that lets a restarted host reclaim id 1 (checked by the server). */
  hostKey?: string;
  /** Whether joining may create the lobby (false: join-only, LOBBY_NOT_FOUND when it does not exist). */
  create?: boolean;
  /** How long the server may hold the join waiting for the host of a client_server lobby (ms). */
  waitForHostMs?: number;
}

/** The signaling server's answer to a join. */
export interface LobbyJoinResult {
  lobby: string;
  id: number;
  mode: LobbyMode;
  peers: number[];
  /** STUN/TURN servers (with TURN credentials) the server handed out; used unless `connection.iceServers` is given. */
  iceServers?: IceServerConfig[];
}

/** What the lobby needs from a signaling client (WebSocket or in-memory). */
export interface LobbySignaling extends EventEmitter<LobbySignalingEvents> {
  /**
   * The lobby's name while in one; undefined once this client left it or
   * closed. The mesh does not reconnect lost links after that. A custom
   * client without this property counts as always in the lobby.
   */
  readonly lobby?: string | undefined;
  join(options?: LobbyJoinRequest): Promise<LobbyJoinResult>;
  sendDescription(to: number, type: 'offer' | 'answer', sdp: string): void;
  sendCandidate(to: number, mid: string, index: number, candidate: string): void;
  /**
   * Ask the server whether peer `to` can still be reached; it answers with a
   * `peer_alive` event when it can. False when nothing was sent.
   * Optional: without it, vanished peers are noticed only through `peer_detached`.
   */
  probe?(to: number): boolean;
  /**
   * Tell peer `to` that this peer refused its link (it gets `refused`).
   * False when nothing was sent (a server older than protocol 5).
   * Optional: without it, a refused peer is not told and its `ready()`
   * waits for its timeout.
   */
  refuse?(to: number, code?: RefusalCode): boolean;
  seal(): void;
  leave(): void;
  close(): void;
  /** A sans-IO client: the lobby polls it from its own `poll(now)`. */
  poll?(now: number): void;
  /** A sans-IO client's next deadline; the lobby's includes it. */
  nextDeadline?(): number;
}

/** Signaling events the lobby listens to. */
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
  /** Peer `from` refused its link to this peer (the other side of `refuse`). Optional for custom clients. */
  refused: (from: number, code: RefusalCode) => void;
  /** Fresh STUN/TURN servers (refreshed TURN credentials) for connections created from now on. Optional for custom clients. */
  ice_servers: (iceServers: IceServerConfig[]) => void;
  [event: string]: (...args: any[]) => void;
}

/** A signaling server URL, several URLs of one signaling service (processes sharing lobbies through Redis: the client fails over between them), an in-memory bus, or a ready client (not yet joined). */
export type SignalingSource = string | readonly string[] | MemorySignalingBus | LobbySignaling;

/** Options of `Mesh.join`. */
export interface JoinMeshOptions extends MultiplayerPeerOptions {
  /** A signaling server URL (`ws://…`), a `MemorySignalingBus`, or a client not yet joined. */
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
   * Whether this join may create the lobby. Default: true in mesh lobbies
   * ("first joiner creates"); a client of a client_server lobby never
   * creates one (it fails with LOBBY_NOT_FOUND, or waits for the host with
   * `waitForHostMs`). `false`: join-only.
   */
  create?: boolean;
  /** How long the server may hold this join waiting for the host of a client_server lobby (ms). Default: fail at once. */
  waitForHostMs?: number;
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

/** Options of `Mesh.host`: those of `Mesh.join` (but `create`), plus the host key. */
export interface HostMeshOptions extends Omit<JoinMeshOptions, 'create' | 'waitForHostMs' | 'mode'> {
  /** Kind of lobby: 'client_server' (default; clients link to the host only) or 'mesh'. */
  mode?: LobbyMode;
  /**
   * Secret that lets this host reclaim id 1 after a restart (within the
   * server's grace); the server checks it (`rtcmesh serve --host-key KEY`, or
   * its `authorize` hook).
   */
  hostKey?: string;
}
