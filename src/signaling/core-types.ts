/**
 * Options, events, counters and the authorize hook of the signaling server's
 * lobby logic ({@link SignalingCore}).
 * @module
 */
import type { ErrorCode } from '../errors.js';
import { realClock, type Clock } from '../util/clock.js';
import { cryptoRandom, type RandomSource } from '../util/sans-io.js';
import type { LobbyMode } from './protocol.js';

/** What the authorize hook learns about the joining client. */
export interface AuthorizeRequest {
  /** The `auth` value the client sent with `join` (any JSON). */
  auth: unknown;
  /** True when the client is resuming an earlier session with a token. */
  resume: boolean;
  /** Peer id it resumes with (resume only). */
  id?: number;
  /** Remote address (`ip:port`) or a bus-local name. */
  remote: string;
  /** `Origin` header, when the client sent one. */
  origin?: string;
  /** HTTP headers of the WebSocket upgrade request (empty on the memory bus). */
  headers: Record<string, string | string[] | undefined>;
  /** True when the client asks to be the lobby's host (id 1). */
  host: boolean;
  /** The host key it sent (host joins; check it here for per-lobby keys). */
  hostKey?: string;
}

/** What the authorize hook learns about the lobby being joined. */
export interface AuthorizeLobby {
  name: string;
  mode: LobbyMode;
  /** Peers currently in it. */
  peers: number;
  sealed: boolean;
  /** True when this join would create the lobby. */
  creating: boolean;
  /** True when the lobby has a host (id 1), attached or within its resume grace. */
  hasHost: boolean;
}

/** Verdict of the authorize hook: a boolean, or an object carrying user data kept with the peer. */
export type AuthorizeResult = boolean | { allow: boolean; reason?: string; data?: unknown };

/** Decides whether a client may join a lobby. May be async. Throwing denies. */
export type AuthorizeHook = (request: AuthorizeRequest, lobby: AuthorizeLobby) => AuthorizeResult | Promise<AuthorizeResult>;

/** Limits and timers of the lobby logic. All times in milliseconds; 0 disables a timer. */
export interface SignalingCoreOptions {
  /** Peers per lobby (default 4096). */
  maxPeersPerLobby: number;
  /** Lobbies on the server (default 4096). */
  maxLobbies: number;
  /** Frames larger than this (bytes) get a PACKET_TOO_LARGE error (default 65536). */
  maxMessageBytes: number;
  /** A socket that has not joined within this time is closed (default 5000; 0 = never). */
  joinTimeoutMs: number;
  /** A sealed lobby is closed this long after sealing (default 10000). */
  sealGraceMs: number;
  /** A peer whose socket dropped keeps its place this long, waiting to resume (default 15000; 0 = leaves at once). */
  resumeGraceMs: number;
  /** Messages queued for a detached peer, oldest dropped first (default 256). */
  resumeQueueLimit: number;
  /**
   * Characters (≈ bytes) queued for one detached peer, oldest dropped first
   * (default 262144). Every queued message counts against this, its lobby's
   * `lobbyQueueBytes` and the server-wide `totalQueueBytes`.
   */
  resumeQueueBytes: number;
  /** Characters queued for all detached peers of one lobby; past it the receiving peer's oldest are dropped (default 1048576). */
  lobbyQueueBytes: number;
  /** Characters queued for detached peers server-wide; past it new messages for detached peers are dropped (default 67108864). */
  totalQueueBytes: number;
  /**
   * At most `messages` frames and `bytes` bytes per `windowMs` per socket
   * (default 200 frames, 1048576 bytes per 1000 ms).
   */
  rateLimit: { messages: number; windowMs: number; bytes: number };
  /**
   * Live lobbies one client address may have created (default 64; 0 = no
   * limit). The address is the transport's `SessionTransport.address`
   * (the WebSocket server: the remote IP). Past it, joins that would create a
   * lobby get SERVER_FULL.
   */
  maxLobbiesPerAddress: number;
  /**
   * Peers in their resume grace whose socket came from one address (default
   * 64; 0 = no limit). A peer that drops its socket past this leaves at once
   * instead of holding its place (and its lobby) for `resumeGraceMs`.
   */
  maxDetachedPerAddress: number;
  /** Lobbies one address may create per window (default 20 per 1000 ms); past it, RATE_LIMITED. */
  lobbyCreationRate: { count: number; windowMs: number };
  /** Protocol violations before the socket is closed (default 10). */
  maxStrikes: number;
  /**
   * Refused joins a socket may get over its lifetime before it is closed with
   * 1008 (default 10): sealed, full, server full, authorisation refused,
   * resume refused, join while already in a lobby or joining. Refusals are not
   * strikes (an honest client can be refused), but without this cap a socket
   * could retry a sealed or full lobby, or guess `auth`, at the rate limit
   * forever. The WebSocket client opens a new socket on its next `join()`.
   */
  maxJoinRefusals: number;
  /** Join authorisation hook (default: allow everyone). */
  authorize: AuthorizeHook | undefined;
  /**
   * The host key (default none). When set, a `host` join must carry it
   * (`UNAUTHORIZED` otherwise), and a host that comes back within the resume
   * grace with it reclaims id 1. When unset, a lobby's key is the one its host
   * sent when it took id 1 (none: id 1 can only be resumed with its token).
   */
  hostKey: string | undefined;
  /**
   * `client_server` lobbies are created only by `host` joins (default false):
   * any other join of an absent `client_server` lobby gets `LOBBY_NOT_FOUND`
   * (or waits with `waitForHostMs`). Off by default so that protocol-2 clients,
   * which create a lobby by joining it first, keep working.
   */
  clientServerJoinOnly: boolean;
  /** Cap on a joiner's `waitForHostMs` (default 60000; 0 = joiners never wait). */
  maxWaitForHostMs: number;
  /** Where peer ids, lobby names and epochs come from (default: the platform's CSPRNG). */
  random: RandomSource;
  /**
   * Time source for arming deadlines and rate-limit windows (default
   * `performance.now()`); must be the clock of the driver that calls `poll(now)`.
   */
  clock: Clock;
}

/** Defaults of {@link SignalingCoreOptions}. */
export const DEFAULT_CORE_OPTIONS: Readonly<SignalingCoreOptions> = {
  maxPeersPerLobby: 4096,
  maxLobbies: 4096,
  maxMessageBytes: 65536,
  joinTimeoutMs: 5000,
  sealGraceMs: 10_000,
  resumeGraceMs: 15_000,
  resumeQueueLimit: 256,
  resumeQueueBytes: 256 * 1024,
  lobbyQueueBytes: 1024 * 1024,
  totalQueueBytes: 64 * 1024 * 1024,
  rateLimit: { messages: 200, windowMs: 1000, bytes: 1024 * 1024 },
  maxLobbiesPerAddress: 64,
  maxDetachedPerAddress: 64,
  lobbyCreationRate: { count: 20, windowMs: 1000 },
  maxStrikes: 10,
  maxJoinRefusals: 10,
  authorize: undefined,
  hostKey: undefined,
  clientServerJoinOnly: false,
  maxWaitForHostMs: 60_000,
  random: cryptoRandom,
  clock: realClock,
};

/** Events of the lobby logic (re-emitted by the server). */
export interface SignalingServerEvents {
  /** A connection was accepted. */
  connection: (remote: string) => void;
  /** A connection ended. */
  disconnection: (remote: string, code: number, reason: string) => void;
  lobby_created: (lobby: string, mode: LobbyMode) => void;
  lobby_closed: (lobby: string, reason: string) => void;
  /** A peer joined (or resumed, `resumed` true; or a restarted host reclaimed id 1 with its key, `reclaimed` true); `data` is what authorize returned. */
  peer_joined: (lobby: string, id: number, info: { remote: string; resumed: boolean; data: unknown; reclaimed?: boolean }) => void;
  /** A peer's socket dropped; it has `resumeGraceMs` to resume. */
  peer_detached: (lobby: string, id: number) => void;
  peer_left: (lobby: string, id: number, reason: string) => void;
  sealed: (lobby: string) => void;
  /** A client broke a rule; it was sent an `error` with this code. */
  client_error: (remote: string, code: ErrorCode, message: string) => void;
  /** A socket was closed for abuse (too many violations, flood, too-large frame). */
  abuse_closed: (remote: string, reason: string) => void;
}

/** Counters, for logs and metrics. */
export interface SignalingStats {
  /** Open connections. */
  connections: number;
  /** Lobbies that exist. */
  lobbies: number;
  /** Peers in lobbies, attached or waiting to resume. */
  peers: number;
  /** Peers waiting to resume. */
  detachedPeers: number;
  /** Joins held waiting for their lobby's host (`waitForHostMs`). */
  waitingForHost: number;
  /** Connections accepted since start. */
  connectionsTotal: number;
  /** Frames received. */
  messagesIn: number;
  /** Offers, answers, candidates and refusals relayed. */
  relayed: number;
  /** Messages dropped from (or refused by) the queues of detached peers: count, byte or lobby/server budget overflow. */
  relayDropped: number;
  /** Characters (≈ bytes) queued for detached peers now (a gauge). */
  queuedBytes: number;
  /** Joins refused and peers not kept in grace because of a per-address limit. */
  addressLimited: number;
  joins: number;
  resumes: number;
  /** Error messages sent, by code. */
  errors: Record<string, number>;
  /** Sockets closed for abuse. */
  abuseClosed: number;
  /** Sockets closed by the join timeout. */
  joinTimeouts: number;
}
