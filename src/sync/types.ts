/**
 * Shared types of the sync layer: error codes of dropped input, the error
 * event, counters, and the transport the layer sends through (and its check).
 * @module
 */
import { invalid } from '../util/validate.js';

/** Why an inbound sync message (or part of one) was dropped. Never thrown: counted and reported. */
export const SyncErrorCode = {
  /** Bits that do not decode: truncated, out-of-range values, bad counts, wrong message kind. */
  MALFORMED: 'MALFORMED',
  /** A snapshot from a peer that is not the authority, or client traffic at a non-host. */
  NOT_AUTHORITY: 'NOT_AUTHORITY',
  /** Host and peer were built with different schema lists (or input schemas). */
  SCHEMA_MISMATCH: 'SCHEMA_MISMATCH',
  /** A snapshot names an object the client does not have, or spawns one it cannot hold. */
  UNKNOWN_OBJECT: 'UNKNOWN_OBJECT',
  /** A snapshot's baseline is a tick this client never completed (or no longer remembers). */
  BASELINE_MISSING: 'BASELINE_MISSING',
  /** An acknowledgement of a tick that was never sent to that peer. */
  BAD_ACK: 'BAD_ACK',
  /** More inputs than allowed per message or queued per peer. */
  INPUT_FLOOD: 'INPUT_FLOOD',
  /** The client's memory bound was reached (objects or pending parts); the message was dropped. */
  LIMIT: 'LIMIT',
} as const;
/** One of the {@link SyncErrorCode} values. */
export type SyncErrorCode = (typeof SyncErrorCode)[keyof typeof SyncErrorCode];

/** Payload of the `sync_error` event. */
export interface SyncErrorEvent {
  code: SyncErrorCode;
  /** Peer the offending message came from. */
  peer: number;
  message: string;
}

/**
 * What the sync layer needs from the layer below: unreliable datagrams to
 * and from peers. {@link rpcTransport} adapts an `RpcEndpoint`; tests and
 * benchmarks may pass their own.
 */
export interface SyncTransport {
  /** This peer's id. */
  ownId(): number;
  /** The peer whose snapshots are authoritative (normally 1). */
  authority(): number;
  /** Connected peers this side exchanges sync traffic with. */
  peers(): readonly number[];
  /**
   * Send one message, unreliably (it may be lost, duplicated or reordered);
   * false when the transport refused it. Never throws. `data` is the
   * transport's to keep (the sync layer never writes it again); it may be a
   * view into a larger buffer (mind `byteOffset`/`byteLength` if you use `data.buffer`).
   */
  send(peer: number, data: Uint8Array): boolean;
  /** Largest message the transport carries, in bytes. */
  maxMessageSize(): number;
  /** Register the receiver (one per transport). */
  onMessage(handler: (peer: number, data: unknown) => void): void;
  /** Register a listener for peers that leave. */
  onPeerLeft(handler: (peer: number) => void): void;
  /**
   * Register a listener for peers whose process restarted under the same id
   * (what they held for this side is gone). Optional: without it a restarted
   * peer is resynchronised by the usual rules (a reset once its baseline is
   * older than the window).
   */
  onPeerRestarted?(handler: (peer: number) => void): void;
  /** Detach the handlers. */
  close(): void;
}

/** Counters common to host and client. */
export interface SyncCounters {
  messagesSent: number;
  bytesSent: number;
  messagesReceived: number;
  bytesReceived: number;
  /** Dropped inbound messages or parts by {@link SyncErrorCode}. */
  errors: Record<string, number>;
}

export function newCounters(): SyncCounters {
  return { messagesSent: 0, bytesSent: 0, messagesReceived: 0, bytesReceived: 0, errors: {} };
}

const TRANSPORT_METHODS = ['ownId', 'authority', 'peers', 'send', 'maxMessageSize', 'onMessage', 'onPeerLeft', 'close'] as const;

/** A {@link SyncTransport}: an object with every required method. */
export function checkTransport(transport: unknown, what: string): void {
  if (transport === null || typeof transport !== 'object') invalid(what, 'a SyncTransport (e.g. rpcTransport(endpoint))', transport);
  const missing = TRANSPORT_METHODS.filter((m) => typeof (transport as Record<string, unknown>)[m] !== 'function');
  if (missing.length > 0) invalid(what, `a SyncTransport (e.g. rpcTransport(endpoint)); it lacks ${missing.join(', ')}()`, transport);
}
