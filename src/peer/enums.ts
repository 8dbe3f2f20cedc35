/**
 * Numeric enums with Godot's values, as `const` objects plus value types, and
 * the mapping of the engines' state names onto them.
 * @module
 */
import type { EngineConnectionState, EngineGatheringState, EngineSignalingState } from '../transport/engine.js';

/** Connection state (Godot WebRTCPeerConnection.ConnectionState). */
export const ConnectionState = { NEW: 0, CONNECTING: 1, CONNECTED: 2, DISCONNECTED: 3, FAILED: 4, CLOSED: 5 } as const;
export type ConnectionState = (typeof ConnectionState)[keyof typeof ConnectionState];

/** ICE gathering state. */
export const GatheringState = { NEW: 0, GATHERING: 1, COMPLETE: 2 } as const;
export type GatheringState = (typeof GatheringState)[keyof typeof GatheringState];

/** Signaling state. */
export const SignalingState = {
  STABLE: 0,
  HAVE_LOCAL_OFFER: 1,
  HAVE_REMOTE_OFFER: 2,
  HAVE_LOCAL_PRANSWER: 3,
  HAVE_REMOTE_PRANSWER: 4,
  CLOSED: 5,
} as const;
export type SignalingState = (typeof SignalingState)[keyof typeof SignalingState];

/** Data channel ready state. */
export const ChannelState = { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 } as const;
export type ChannelState = (typeof ChannelState)[keyof typeof ChannelState];

/** How `putPacket` sends: as a text (string) message or a binary one. */
export const WriteMode = { TEXT: 0, BINARY: 1 } as const;
export type WriteMode = (typeof WriteMode)[keyof typeof WriteMode];

/** Name of an enum value, for messages and logs. */
export function enumName<T extends Record<string, number>>(table: T, value: number): string {
  for (const [name, v] of Object.entries(table)) if (v === value) return name;
  return String(value);
}

/** @internal An engine's connection state as a {@link ConnectionState}. */
export const CONNECTION_STATES: Record<EngineConnectionState, ConnectionState> = {
  new: ConnectionState.NEW,
  connecting: ConnectionState.CONNECTING,
  connected: ConnectionState.CONNECTED,
  disconnected: ConnectionState.DISCONNECTED,
  failed: ConnectionState.FAILED,
  closed: ConnectionState.CLOSED,
};

/** @internal An engine's gathering state as a {@link GatheringState}. */
export const GATHERING_STATES: Record<EngineGatheringState, GatheringState> = {
  new: GatheringState.NEW,
  gathering: GatheringState.GATHERING,
  complete: GatheringState.COMPLETE,
};

/** @internal An engine's signaling state as a {@link SignalingState}. */
export const SIGNALING_STATES: Record<EngineSignalingState, SignalingState> = {
  stable: SignalingState.STABLE,
  'have-local-offer': SignalingState.HAVE_LOCAL_OFFER,
  'have-remote-offer': SignalingState.HAVE_REMOTE_OFFER,
  'have-local-pranswer': SignalingState.HAVE_LOCAL_PRANSWER,
  'have-remote-pranswer': SignalingState.HAVE_REMOTE_PRANSWER,
  closed: SignalingState.CLOSED,
};
