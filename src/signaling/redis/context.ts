/**
 * What the join and signal handlers of the Redis back end need from it (so
 * they depend on this interface, not on the back end's class: no import
 * cycle), plus the small shared types.
 * @module
 */
import type { EventEmitter } from 'eventemitter3';
import type { SignalingCoreOptions, SignalingServerEvents } from '../core-types.js';
import type { CoreCounters, Session } from '../core-model.js';
import type { CoreOutput } from '../core-output.js';
import type { Deadline } from '../deadlines.js';
import { HOST_PEER_ID, type LobbyMode } from '../protocol.js';
import type { RedisSignalingStore } from './store.js';

/** A lobby member attached to a socket of this process. */
export interface LocalPeer {
  lobby: string;
  id: number;
  epoch: string;
  mode: LobbyMode;
  data: unknown;
}

/** Whether `a` sees `b` in a lobby of `mode`: everyone in a mesh; only host↔client in client/server. */
export function sees(mode: LobbyMode, a: number, b: number): boolean {
  return mode === 'mesh' || a === HOST_PEER_ID || b === HOST_PEER_ID;
}

/** The back end as its handlers see it. */
export interface RedisBackendContext extends EventEmitter<SignalingServerEvents> {
  readonly options: SignalingCoreOptions;
  readonly store: RedisSignalingStore;
  readonly out: CoreOutput;
  readonly stats: CoreCounters;
  /** The lobby peer each session carries. */
  readonly peerOf: Map<Session, LocalPeer>;
  /** Attached peers on this process by `lobby\nid`. */
  readonly attached: Map<string, Session>;
  /** Joins and resumes waiting for Redis. */
  inFlight: number;
  /** Joins waiting for their lobby's host to create it. */
  waitingForHost: number;
  after(ms: number, fire: () => void): Deadline;
  track<T>(p: Promise<T>): Promise<T | undefined>;
  register(s: Session, p: LocalPeer): void;
  unregister(s: Session): LocalPeer | undefined;
  settled(): void;
  armJoinTimer(s: Session): void;
  detachOrRemove(p: LocalPeer): void;
  cancelGrace(lobby: string, id: number): void;
}
