/**
 * The state the lobby logic keeps: lobbies, their peers, and the sessions
 * (connections) that carry them. Plain data plus the visibility rule; the
 * behaviour lives in `core.ts` and `core-join.ts`.
 * @module
 */
import type { SignalingStats } from './core-types.js';
import type { Deadline } from './deadlines.js';
import { HOST_PEER_ID, type LobbyMode } from './protocol.js';
import type { SessionTransport, SignalingSession } from './transport.js';

/** A lobby member, attached (with a session) or detached (waiting to resume). */
export interface Peer {
  id: number;
  lobby: Lobby;
  session: Session | undefined;
  /** What the authorize hook returned for it. */
  data: unknown;
  /** Messages waiting while detached. */
  queue: string[];
  /** Characters in `queue`. */
  queueBytes: number;
  /** While detached: the address its dropped socket came from (it holds the peer against that address's limit). */
  heldBy?: string;
  graceTimer: Deadline | undefined;
}

/** A lobby. */
export interface Lobby {
  name: string;
  /** Random tag of this incarnation of the name (resume tokens carry it). */
  epoch: string;
  mode: LobbyMode;
  peers: Map<number, Peer>;
  usedIds: Set<number>;
  sealed: boolean;
  sealTimer: Deadline | undefined;
  /**
   * True while a lobby recreated from a resume token (after a server restart)
   * waits `resumeGraceMs` for its other members to come back: its member list
   * is not complete, and late members may still resume into it. Then
   * `partialTimer` makes the list authoritative and sends every member a
   * `peers` roster. (With `resumeGraceMs` 0 it stays partial.)
   */
  partial: boolean;
  partialTimer: Deadline | undefined;
  /**
   * The key that lets a restarted host reclaim id 1 within its resume grace:
   * the server's `hostKey` option, else the key sent by the peer that took
   * id 1. Undefined: id 1 comes back only with its resume token.
   */
  hostKey: string | undefined;
  /** Characters queued for its detached peers. */
  queuedBytes: number;
  /** Address of the client that created it (counted against that address's lobbies). */
  owner?: string;
}

/** Who a session reports to. */
export interface SessionOwner {
  receive(s: Session, data: string, bytes: number, isBinary: boolean): void;
  sessionClosed(s: Session, code: number, reason: string): void;
}

/** One connection as the lobby logic keeps it. */
export class Session implements SignalingSession {
  peer: Peer | undefined;
  joining = false;
  isClosed = false;
  strikes = 0;
  /** Joins refused on this socket, over its lifetime. */
  refusals = 0;
  windowStart = -Infinity;
  windowCount = 0;
  windowDropped = 0;
  windowBytes = 0;
  joinTimer: Deadline | undefined;
  /** Sessions waiting for this one's liveness check (`probe`); created on the first probe (most sessions are never probed). */
  probers: Set<Session> | undefined = undefined;
  /** A liveness check of this session is under way. */
  checking = false;

  constructor(
    readonly owner: SessionOwner,
    readonly io: SessionTransport,
  ) {}

  receive(data: string, bytes: number, isBinary: boolean): void {
    this.owner.receive(this, data, bytes, isBinary);
  }

  closed(code: number, reason: string): void {
    this.owner.sessionClosed(this, code, reason);
  }
}

/** Whether `a` is told about and may signal `b`: everyone in a mesh; only host↔client in client/server. */
export function sees(lobby: Lobby, a: number, b: number): boolean {
  return lobby.mode === 'mesh' || a === HOST_PEER_ID || b === HOST_PEER_ID;
}

/** The ids of `lobby` that peer `id` sees. */
export function visibleIds(lobby: Lobby, id: number): number[] {
  const out: number[] = [];
  for (const other of lobby.peers.keys()) if (other !== id && sees(lobby, id, other)) out.push(other);
  return out;
}

/** Counters kept by the lobby logic: the counting part of {@link SignalingStats}. */
export type CoreCounters = Pick<
  SignalingStats,
  | 'connectionsTotal'
  | 'messagesIn'
  | 'relayed'
  | 'relayDropped'
  | 'queuedBytes'
  | 'addressLimited'
  | 'joins'
  | 'resumes'
  | 'errors'
  | 'abuseClosed'
  | 'joinTimeouts'
>;

/** Fresh counters. */
export function newCounters(): CoreCounters {
  return { connectionsTotal: 0, messagesIn: 0, relayed: 0, relayDropped: 0, queuedBytes: 0, addressLimited: 0, joins: 0, resumes: 0, errors: {}, abuseClosed: 0, joinTimeouts: 0 };
}
