/**
 * Typed errors. Every error rtcmesh throws is an {@link RtcmeshError} with a
 * stable {@link RtcmeshError.code}; the message says what was wrong and what to do.
 * @module
 */

/** Stable error codes. Match on these, not on messages. */
export const ErrorCode = {
  /** An argument has the wrong type, range or shape. */
  INVALID_ARGUMENT: 'INVALID_ARGUMENT',
  /** An options object has a key that is not recognised. */
  UNKNOWN_OPTION: 'UNKNOWN_OPTION',
  /** The call is not allowed in the object's current state. */
  INVALID_STATE: 'INVALID_STATE',
  /** A packet is larger than the negotiated maximum message size. */
  PACKET_TOO_LARGE: 'PACKET_TOO_LARGE',
  /** A channel or connection is not open for sending. */
  NOT_OPEN: 'NOT_OPEN',
  /** The WebRTC engine refused or failed an operation. */
  ENGINE_ERROR: 'ENGINE_ERROR',
  /** A session description could not be parsed or applied. */
  INVALID_SDP: 'INVALID_SDP',
  /** An ICE candidate could not be parsed or applied. */
  INVALID_CANDIDATE: 'INVALID_CANDIDATE',
  /** ICE gathering finished without a single local candidate (bad TURN credentials, unreachable servers, relay policy without TURN). */
  NO_CANDIDATES: 'NO_CANDIDATES',
  /** Data received from a remote peer could not be decoded. */
  MALFORMED_DATA: 'MALFORMED_DATA',
  /** A peer id is unknown, taken or out of range. */
  INVALID_PEER: 'INVALID_PEER',
  /** A new connection was refused (e.g. refuseNewConnections). */
  UNAUTHORIZED: 'UNAUTHORIZED',
  /** An operation did not complete in time. */
  TIMEOUT: 'TIMEOUT',
  /** The object was closed. */
  CLOSED: 'CLOSED',
  /** A message does not follow the signaling protocol (unknown type, missing or invalid field). */
  PROTOCOL_ERROR: 'PROTOCOL_ERROR',
  /** Too many messages in the rate-limit window; slow down. */
  RATE_LIMITED: 'RATE_LIMITED',
  /** The lobby is sealed and accepts no new peers. */
  LOBBY_SEALED: 'LOBBY_SEALED',
  /** The lobby has reached its maximum number of peers. */
  LOBBY_FULL: 'LOBBY_FULL',
  /** The server has reached its maximum number of lobbies or connections. */
  SERVER_FULL: 'SERVER_FULL',
  /** A signaling session could not be resumed (token invalid or expired, or the peer already left). */
  RESUME_FAILED: 'RESUME_FAILED',
  /** A host join found a live host (id 1) already holding the lobby (`Mesh.host` refused). */
  HOST_TAKEN: 'HOST_TAKEN',
  /** A join-only join found no such lobby (`create: false`, a client of a client_server lobby, or the host did not come within `waitForHostMs`). */
  LOBBY_NOT_FOUND: 'LOBBY_NOT_FOUND',
  /** A remote procedure failed on the remote peer (see RpcRemoteError). */
  REMOTE_ERROR: 'REMOTE_ERROR',
  /** The peer a pending operation was waiting on disconnected. */
  PEER_DISCONNECTED: 'PEER_DISCONNECTED',
  /** A server the object depends on could not be reached (e.g. Redis at `listen()` of a Redis-backed signaling server). */
  UNREACHABLE: 'UNREACHABLE',
  /** Nothing to read: no packet is queued (what `getPacketError()` reports after an empty `getPacket()`, Godot's ERR_UNAVAILABLE). */
  UNAVAILABLE: 'UNAVAILABLE',
} as const;

/** One of the {@link ErrorCode} values. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** The one error class rtcmesh throws; `code` is stable across versions. */
export class RtcmeshError extends Error {
  /** Stable machine-readable code. */
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RtcmeshError';
    this.code = code;
  }
}

/** True when `err` is an {@link RtcmeshError}, optionally with the given code. */
export function isRtcmeshError(err: unknown, code?: ErrorCode): err is RtcmeshError {
  return err instanceof RtcmeshError && (code === undefined || err.code === code);
}

/** Text of any thrown value, for wrapping engine errors. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
