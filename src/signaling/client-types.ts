/**
 * The signaling client's interface, options and events (implemented by
 * {@link BaseSignalingClient} and its WebSocket and in-memory subclasses).
 * @module
 */
import type { EventEmitter } from 'eventemitter3';
import type { RtcmeshError } from '../errors.js';
import type { Clock } from '../util/clock.js';
import type { RandomSource } from '../util/sans-io.js';
import type { LobbyMode, RefusalCode } from './protocol.js';

/** Options of {@link SignalingClient.join}. */
export interface JoinOptions {
  /** Lobby to join (created when it does not exist, unless join-only). Omitted or `''` = create a new lobby with an unguessable name. */
  lobby?: string;
  /** Mode used when the lobby is created; default `'mesh'`. Ignored when joining an existing lobby. */
  mode?: LobbyMode;
  /** Passed to the server's authorize hook (any JSON value). */
  auth?: unknown;
  /**
   * Join as the lobby's host: create it with this peer as id 1. Rejects with
   * `HOST_TAKEN` when a live host holds it. A host that comes back within the
   * server's resume grace with the same `hostKey` reclaims id 1 (its process
   * restarted and lost its resume token). Needs a protocol-3 server.
   */
  host?: boolean;
  /**
   * The host's key (1–256 characters): checked against the server's key when
   * it has one (`UNAUTHORIZED` otherwise); else the lobby keeps it and a
   * restarted host must present it to reclaim id 1. Also passed to `authorize`.
   */
  hostKey?: string;
  /** `false`: join only, never create; rejects with `LOBBY_NOT_FOUND` when the lobby does not exist. */
  create?: boolean;
  /**
   * Join only; when the lobby does not exist yet, the server holds the join up
   * to this long (capped by its `maxWaitForHostMs`) for the host to create it,
   * then rejects with `LOBBY_NOT_FOUND`. The join timeout is extended by it.
   */
  waitForHostMs?: number;
}

/** A STUN or TURN server a server may hand out with a join (the W3C RTCIceServer shape). */
export interface SignalingIceServer {
  urls: string | string[];
  username?: string;
  credential?: string;
}

/** What a successful join returns. */
export interface JoinResult {
  lobby: string;
  /** This peer's id: 1 for the lobby's host (its creator, or a `host` join), else in 2..2147483647. */
  id: number;
  mode: LobbyMode;
  /** Peers already present that this peer should connect to: mesh → all others; client → [1]; host → clients present. */
  peers: number[];
  /**
   * True when this `host` join reclaimed id 1 from its own detached previous
   * process (same host key, within the resume grace). `peers` are the members
   * present; they were told `peer_attached` with `restarted` and rebuild their links.
   */
  reclaimed?: boolean;
  /** STUN/TURN servers with time-limited TURN credentials, handed out by a server configured with `turn` (issue #14). */
  iceServers?: SignalingIceServer[];
}

/** Events of a {@link SignalingClient}. */
export interface SignalingClientEvents {
  /**
   * Fresh STUN/TURN servers from the server (a resume's `joined`, or the
   * server's periodic `ice_servers` refresh before the credentials expire).
   * Use them for connections created from now on.
   */
  ice_servers: (iceServers: SignalingIceServer[]) => void;
  /** A peer this client should connect to arrived (client/server: host sees clients, clients see only the host). */
  peer_joined: (id: number) => void;
  /**
   * A known peer left the lobby (or did not resume in time). Once per peer.
   * Also emitted right after `resumed` for known peers that left while this
   * client was away, even when the server's own `peer_left` was lost (queue
   * overflow), and after a server restart once the recreated lobby stops
   * waiting for members that never came back.
   */
  peer_left: (id: number) => void;
  /**
   * A visible peer's signaling connection dropped: it is still in the lobby,
   * within the server's resume grace, and may come back (`peer_attached`) or
   * leave (`peer_left`). Only from servers that send it (see docs/signaling.md).
   */
  peer_detached: (id: number) => void;
  /** A peer reported by `peer_detached` resumed its signaling connection. */
  peer_attached: (id: number) => void;
  /**
   * Emitted right after `peer_attached` when the peer came back as a new
   * process: a restarted host that reclaimed id 1 with its host key (server
   * protocol 3). Its old WebRTC links are dead: drop them and connect afresh.
   * After a plain signaling blip only `peer_attached` is emitted (links unaffected).
   */
  peer_restarted: (id: number) => void;
  description: (from: number, type: 'offer' | 'answer', sdp: string) => void;
  candidate: (from: number, mid: string, index: number, candidate: string) => void;
  /** The host sealed the lobby; it will be closed after the server's grace period. */
  sealed: () => void;
  /** Answer to {@link SignalingClient.probe}: the peer's signaling connection answered a liveness check. */
  peer_alive: (id: number) => void;
  /**
   * Peer `from` refused its WebRTC link to this peer ({@link SignalingClient.refuse}
   * on its side; server protocol 5): `UNAUTHORIZED` when its
   * `refuseNewConnections` is on, `INVALID_PEER` when its role does not take
   * this peer (a code this version does not know reads as UNAUTHORIZED).
   */
  refused: (from: number, code: RefusalCode) => void;
  /** Error messages from the server, and protocol violations by the server. */
  error: (err: RtcmeshError) => void;
  /** The signaling link dropped; attempt `attempt` to reconnect is scheduled. */
  reconnecting: (attempt: number) => void;
  /** Rejoined with the same id after a blip. */
  resumed: () => void;
  /** Final: given up reconnecting, server shut down, lobby closed, or close() called. */
  closed: (reason: string) => void;
}

/** The client interface the mesh layer codes against. */
export interface SignalingClient extends EventEmitter<SignalingClientEvents> {
  /** This peer's id while in a lobby. */
  readonly id: number | undefined;
  /** The lobby's name while in a lobby. */
  readonly lobby: string | undefined;
  /**
   * Join (or create) a lobby. Rejects (never throws synchronously) with an {@link RtcmeshError}:
   * INVALID_ARGUMENT / UNKNOWN_OPTION, INVALID_STATE (already in a lobby), LOBBY_SEALED, LOBBY_FULL,
   * SERVER_FULL, UNAUTHORIZED, TIMEOUT, CLOSED.
   */
  join(options?: JoinOptions): Promise<JoinResult>;
  /** Send an offer or answer to a peer of the lobby. Queued while reconnecting. */
  sendDescription(to: number, type: 'offer' | 'answer', sdp: string): void;
  /** Send an ICE candidate to a peer of the lobby. Queued while reconnecting. */
  sendCandidate(to: number, mid: string, index: number, candidate: string): void;
  /**
   * Ask the server whether a peer of the lobby can still be reached: it
   * checks the peer's connection (a WebSocket ping) and answers with
   * `peer_alive(id)` when it replies (a detached peer gets no check: its
   * `peer_detached` came already). No answer means the peer's connection is dead
   * although the server has not noticed yet (a cut cable). False (nothing
   * sent) when not in a lobby, while the link to the server is down, or when
   * the server is older than protocol version 2.
   */
  probe(to: number): boolean;
  /**
   * Tell peer `to` of the lobby that this peer refused its WebRTC link
   * (it gets `refused(from, code)`), so it fails at once instead of waiting
   * for a link that will never open. `code` (default UNAUTHORIZED) says why.
   * Queued while reconnecting. False (nothing sent) when not in a lobby or
   * when the server is older than protocol version 5 (it does not know the
   * message). Errors the server answers it with (the peer left meanwhile) are
   * not emitted: the refusal has nobody to reach.
   * @throws RtcmeshError INVALID_ARGUMENT for a bad `to` or `code`.
   */
  refuse(to: number, code?: RefusalCode): boolean;
  /** Refuse new joins; host only (peer 1). */
  seal(): void;
  /** Leave the lobby; the client may join again. No-op when not in a lobby. */
  leave(): void;
  /** Close for good: releases the socket and every timer. */
  close(): void;
}

/** Reconnect policy. */
export interface ReconnectOptions {
  /** Attempts before giving up (default 10; 0 = never reconnect). */
  maxAttempts: number;
  /** First delay (default 250 ms), doubled each attempt, with jitter. */
  baseDelayMs: number;
  /** Largest delay (default 5000 ms). */
  maxDelayMs: number;
}

/** Options shared by every client. */
export interface BaseSignalingClientOptions {
  /** Time for a join to be answered (default 10000 ms). */
  joinTimeoutMs?: number;
  /** Reconnect policy. */
  reconnect?: Partial<ReconnectOptions>;
  /** Messages kept while reconnecting (default 1024; oldest dropped). */
  outboxLimit?: number;
  /**
   * Time source for the join timeout and reconnect backoff (default
   * `performance.now()`); must be the clock of the driver that calls `poll(now)`.
   */
  clock?: Clock;
  /** Where the reconnect jitter comes from (default: the platform's CSPRNG). */
  random?: RandomSource;
}

/** One open link to the server. */
export interface SignalingLink {
  send(text: string): void;
  close(code: number, reason: string): void;
}

/** What a link calls back. */
export interface SignalingLinkHandlers {
  message(text: string): void;
  /** Binary or otherwise unusable frame from the server. */
  invalid(reason: string): void;
  close(code: number, reason: string): void;
}
