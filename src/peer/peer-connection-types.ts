/**
 * The events and statistics of a {@link WebRTCPeerConnection}.
 * @module
 */
import type { RtcmeshError } from '../errors.js';
import type { EngineCandidatePair, SdpType } from '../transport/engine.js';
import type { DataChannelStats, WebRTCDataChannel } from './data-channel.js';
import type { ConnectionState, GatheringState, SignalingState } from './enums.js';

/** Events of a {@link WebRTCPeerConnection}. Delivered on `poll()` unless `autoPoll`. */
export interface PeerConnectionEvents {
  /** A local offer or answer to send to the remote peer (and to `setLocalDescription`). */
  session_description_created: (type: SdpType, sdp: string) => void;
  /** A local ICE candidate to send to the remote peer. */
  ice_candidate_created: (mid: string, index: number, candidate: string) => void;
  /** The remote side created an in-band (non-negotiated) channel. */
  data_channel_received: (channel: WebRTCDataChannel) => void;
  connection_state_changed: (state: ConnectionState) => void;
  gathering_state_changed: (state: GatheringState) => void;
  signaling_state_changed: (state: SignalingState) => void;
  /**
   * Something from the remote side or the network was rejected (bad SDP, bad
   * candidate, no local candidate gathered). Losing the remote peer is not an
   * error: it shows in `connection_state_changed` (DISCONNECTED, FAILED,
   * CLOSED) and each channel's `close`.
   */
  error: (error: RtcmeshError) => void;
}

/** Snapshot of a connection for monitoring. */
export interface PeerConnectionStats {
  connectionState: ConnectionState;
  gatheringState: GatheringState;
  signalingState: SignalingState;
  /** Engine round-trip time in milliseconds; -1 when unknown. */
  rttMs: number;
  /** Payload bytes on all channels. */
  bytesSent: number;
  bytesReceived: number;
  selectedCandidatePair: EngineCandidatePair | null;
  /** Local and remote candidates that were rejected. */
  candidateErrors: number;
  channels: DataChannelStats[];
}
