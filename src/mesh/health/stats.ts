/**
 * Shapes of the monitoring snapshot returned by `WebRTCMultiplayerPeer.getStats()`.
 * @module
 */
import type { EngineCandidatePair, EngineConnectionState } from '../../transport/engine.js';
import type { TransferMode } from '../constants.js';

/**
 * Lifecycle of one link as the application sees it: `connecting` (first
 * connection), `connected`, `disconnected` (the connection went DISCONNECTED;
 * it has `disconnectGraceMs` to recover before the link counts as lost),
 * `reconnecting`, `closed` (the peer was removed; only in history and in
 * `getClosedLinkStats()`).
 */
export type LinkState = 'connecting' | 'connected' | 'disconnected' | 'reconnecting' | 'closed';

/**
 * One entry of a link's state history. An entry with `connection` records a
 * change of the engine connection's state (ICE and DTLS together, as seen by
 * `poll()`), `state` being the link's state at that moment; the others record
 * a change of the link's state.
 */
export interface LinkStateChange {
  state: LinkState;
  /** Clock time (ms) of the change. */
  at: number;
  reason?: string;
  /** The engine connection's new state (engine entries only). */
  connection?: EngineConnectionState;
}

/** Counters of one user channel of a link, cumulative across reconnects. */
export interface LinkChannelStats {
  /** Layout index (0 reliable, 1 ordered, 2 unreliable, 3+ custom). */
  index: number;
  /** Transfer channel as `getPacketChannel()` reports it. */
  channel: number;
  label: string;
  mode: TransferMode;
  /** Carries the session header (reliable channel with sessions on). */
  session: boolean;
  /** Application packets/bytes (without the session header). */
  packetsSent: number;
  bytesSent: number;
  packetsReceived: number;
  bytesReceived: number;
  /** Bytes accepted by the engine and not yet sent, current connection. */
  bufferedAmount: number;
  /** Received packets waiting for `getPacket()`. */
  queued: number;
  /** Unacknowledged packets/bytes held for replay. */
  replayBuffered: number;
  replayBufferedBytes: number;
  /** Packets resent after reconnects. */
  replayed: number;
  /** Times the replay buffer overflowed (each emitted `replay_overflow`). */
  replayOverflows: number;
  /**
   * Buffering is suspended after an overflow, until the remote has
   * acknowledged everything sent so far: packets sent meanwhile are not held
   * for replay.
   */
  replayOverflowed: boolean;
  /** Received duplicates dropped (replays of packets already held). */
  duplicatesDropped: number;
  /** Sequence numbers never received (replay buffer overflow on the remote). */
  gaps: number;
  /** Session headers that did not decode (dropped). */
  malformed: number;
  /** Unreliable packets dropped because the link was down. */
  droppedWhileDown: number;
}

/** Everything known about one link. */
export interface LinkStats {
  peerId: number;
  state: LinkState;
  /** Smoothed heartbeat RTT (ms), -1 before the first sample. */
  rttMs: number;
  /** Last heartbeat RTT sample (ms), -1 before the first. */
  heartbeatRttMs: number;
  /** Engine (SCTP) RTT of the current connection (ms), -1 when unknown. */
  engineRttMs: number;
  /** Jitter of heartbeat RTT (ms). */
  jitterMs: number;
  /**
   * Fraction of the remote's heartbeats lost (0..1) over the last 32 it
   * should have sent on the current connection, pings overdue by two
   * intervals counting as lost (so it rises during a blackout).
   */
  loss: number;
  heartbeatsSent: number;
  heartbeatsReceived: number;
  /** Milliseconds since anything arrived on the control channel. */
  sinceHeardMs: number;
  /** Successful reconnections so far. */
  reconnects: number;
  /** Current reconnection attempt (0 when not reconnecting). */
  attempt: number;
  /** This peer's session epoch and the remote's (0 until heard); a new remote epoch means its process restarted. */
  sessionEpoch: number;
  remoteEpoch: number;
  /** Times the remote restarted (came back with a new session epoch). */
  restarts: number;
  /** Control frames that did not decode, or carried a wrong epoch (dropped). */
  controlMalformed: number;
  /** Session headers that did not decode (dropped). */
  sessionMalformed: number;
  /** In-band channels the remote opened on this link that were closed on sight (not negotiated by the mesh; see `acceptChannel`). */
  foreignChannelsClosed: number;
  /** In-band channels the `acceptChannel` hook kept, cumulative. */
  foreignChannelsAccepted: number;
  /** Candidate pair of the current connection, when known. */
  candidatePair: EngineCandidatePair | null;
  /** Engine payload bytes of the current connection (all channels, headers and control included). */
  engineBytesSent: number;
  engineBytesReceived: number;
  /** Application packets/bytes across every channel, cumulative. */
  packetsSent: number;
  bytesSent: number;
  packetsReceived: number;
  bytesReceived: number;
  replayed: number;
  channels: LinkChannelStats[];
  /** Recent link and engine connection state changes, oldest first (at most 32). */
  history: LinkStateChange[];
}

/** The whole mesh at one moment. */
export interface MeshStats {
  /** Clock time (ms) of the snapshot. */
  at: number;
  id: number;
  packetsSent: number;
  packetsReceived: number;
  /** Per-peer send failures during broadcasts. */
  broadcastFailures: number;
  /** Peers connected, disconnected (within the grace) or reconnecting: those in `getPeerIds()`. */
  peersConnected: number;
  peersConnecting: number;
  peersReconnecting: number;
  links: LinkStats[];
}
