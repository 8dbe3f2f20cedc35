/**
 * Numeric enums with Godot's values, as `const` objects plus value types.
 * @module
 */

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
