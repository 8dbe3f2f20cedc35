/**
 * Constants and the MultiplayerPeer contract shared by the mesh and RPC layers.
 * @module
 */
import type { EventEmitter } from 'eventemitter3';
import type { RtcmeshError } from '../errors.js';
import type { WebRTCDataChannel } from '../peer/data-channel.js';
import type { WebRTCPeerConnection } from '../peer/peer-connection.js';
import type { LinkState, MeshStats } from './health/stats.js';

export { TransferMode, ConnectionStatus, TARGET_PEER_BROADCAST, TARGET_PEER_SERVER, MIN_PEER_ID, MAX_PEER_ID } from './constants.js';
import type { TransferMode, ConnectionStatus } from './constants.js';

/** Events every multiplayer peer emits. */
export interface MultiplayerPeerEvents {
  /** A peer's link is fully open (all channels). */
  peer_connected: (id: number) => void;
  /** A peer is gone; `reason` says why when known. */
  peer_disconnected: (id: number, reason?: string) => void;
  /** Sending to one peer of a broadcast failed; counted, never thrown. */
  send_failed: (id: number, error: Error) => void;
  /** A connected link failed (heartbeat timeout, connection failed or closed); reconnection starts. */
  link_lost: (id: number, reason: string) => void;
  /** Reconnection attempt number `attempt` (1-based) starts. */
  reconnecting: (id: number, attempt: number) => void;
  /** The link is back with the same peer id; unacknowledged reliable packets were replayed. */
  reconnected: (id: number, downtimeMs: number) => void;
  /**
   * A reliable channel's replay buffer overflowed: it was emptied, and packets
   * sent on it are not held for replay until the remote has acknowledged
   * everything sent so far (then buffering resumes; it may overflow again).
   */
  replay_overflow: (id: number, channel: number) => void;
  /**
   * The remote peer's process restarted (its link came back, on a fresh
   * connection, with a new session epoch — e.g. a host that reclaimed id 1):
   * whatever state it held for us is gone. Reliable packets its previous
   * instance had not acknowledged were resent to the new one; what it sends
   * now starts a new sequence. Emitted right after `reconnected`.
   */
  peer_restarted: (id: number) => void;
  /** Periodic monitoring snapshot. */
  stats: (stats: MeshStats) => void;
  /**
   * A lobby peer refused the link to this one (its `refuseNewConnections` is
   * on), as told through signaling (protocol 5): this peer does not connect
   * to it while both stay in the lobby. Emitted by a lobby-joined mesh
   * (`Mesh.join`) only, in both lobby modes; a client refused by the host
   * also gets `connection_failed`.
   */
  link_refused: (id: number, error: RtcmeshError) => void;
  /**
   * Godot's `connection_failed`: this client's connection to the server
   * (peer 1) failed before it was established — the lobby host refused it
   * (`refuseNewConnections`). The link to peer 1 is removed, the status is
   * DISCONNECTED, the client left the signaling lobby, and pending `ready()`
   * promises reject with the same `error` (UNAUTHORIZED). Emitted by a
   * client of a client_server lobby (`Mesh.join`) only; close the mesh and
   * join again once the host accepts clients.
   */
  connection_failed: (error: RtcmeshError) => void;
}

/**
 * The MultiplayerPeer contract (Godot's MultiplayerPeer), implemented by
 * {@link WebRTCMultiplayerPeer}. The RPC layer depends only on this.
 */
export interface MultiplayerPeer extends EventEmitter<MultiplayerPeerEvents> {
  /** Destination of `putPacket`: 0 all, 1 server, >1 that peer, <0 all but that peer. */
  targetPeer: number;
  /** Mode used when `transferChannel` is 0. Default RELIABLE. */
  transferMode: TransferMode;
  /** 0 = the default channel of `transferMode`; N > 0 = custom channel N. */
  transferChannel: number;
  /** Refuse new peers. */
  refuseNewConnections: boolean;

  /** Send one packet to `targetPeer`. */
  putPacket(data: Uint8Array): void;
  getAvailablePacketCount(): number;
  /** Next packet; then `getPacketPeer/Channel/Mode` describe it. */
  getPacket(): Uint8Array | undefined;
  getPacketPeer(): number;
  getPacketChannel(): number;
  getPacketMode(): TransferMode;
  /**
   * Optional: `getPacket()` and where that packet came from in one call
   * (what `getPacketPeer/Channel/Mode` said before it), written into `into`;
   * false when none waits. The RPC endpoint reads this way when the mesh has it.
   */
  takePacket?(into: TakenPacket): boolean;
  /**
   * Optional: true when `putPacket` is done with its array once it returns
   * (the bytes were sent or copied), so the caller may reuse the array for
   * the next packet. The RPC endpoint then encodes each immediate call into
   * one reused buffer instead of a fresh array.
   */
  readonly copiesPutPackets?: boolean;

  getUniqueId(): number;
  isServer(): boolean;
  isServerRelaySupported(): boolean;
  getConnectionStatus(): ConnectionStatus;
  getMaxPacketSize(): number;
  /** Ids of connected peers. */
  getPeerIds(): number[];
  /** Advance state machines and deliver events; once per tick (`now`: clock ms, default the peer's clock). */
  poll(now?: number): void;
  close(): void;
}

/** A packet and its origin, filled by {@link MultiplayerPeer.takePacket}. */
export interface TakenPacket {
  data: Uint8Array | undefined;
  peer: number;
  channel: number;
  mode: TransferMode;
}

/** Which role this multiplayer peer plays. */
export type MeshMode = 'server' | 'client' | 'mesh';

/** What {@link WebRTCMultiplayerPeer.getPeer} reports about one peer. */
export interface PeerInfo {
  id: number;
  /** The current connection (a fresh one after each reconnect). */
  connection: WebRTCPeerConnection;
  /**
   * User channels by layout index (the control channel is not listed). The
   * mesh takes their packets as they arrive: read them with the mesh's
   * `getPacket`, not the channel's (monitoring with `getBufferedAmount` or
   * `getStats` is fine).
   */
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
