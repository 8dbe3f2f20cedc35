/**
 * What travels on a simulated SCTP association: user and control messages
 * (chunks), and bundles of them that share one link packet.
 * @module
 */
import type { EngineChannelInit } from '../engine.js';
import type { TimerHandle } from './scheduler.js';

/** Message kinds on the simulated SCTP association. */
export const DATA = 0;
export const DCEP_OPEN = 1;
export const DCEP_ACK = 2;
export const RESET = 3;
export const FORWARD = 4;
export const SHUTDOWN = 5;
export const KIND_NAMES = ['data', 'dcep-open', 'dcep-ack', 'reset', 'forward-tsn', 'shutdown'];

/** @internal One SCTP user message (shared by its retransmissions and duplicate copies). */
export class Message {
  tries = 0;
  received = false;
  timer: TimerHandle | undefined = undefined;
  /** SACKs that reported this message missing (fast retransmit after 3). */
  misses = -1;
  constructor(
    readonly tsn: number,
    readonly kind: number,
    readonly stream: number,
    /** Stream sequence number for ordered data; -1 otherwise. */
    readonly ssn: number,
    readonly data: Uint8Array | null,
    readonly isText: boolean,
    /** Retries allowed (-1 = unlimited). */
    readonly maxRtx: number,
    /** Give up after this time (Infinity = never). */
    readonly deadline: number,
    readonly extra: EngineChannelInit | null,
  ) {}
}

/** SCTP packet payload budget: chunks sent in the same instant share packets up to this size. */
export const BUNDLE_BYTES = 1200;
/** Per-chunk header bytes counted against the bundle budget. */
export const CHUNK_HEADER = 16;

/** @internal Several messages in one link packet (SCTP chunk bundling). */
export class Bundle {
  received = false;
  bytes = 0;
  /**
   * Chunks in order: a {@link Message}, or — for unordered channels with
   * maxRetransmits 0, which need no per-message state — a stream id followed
   * by the payload bytes.
   */
  readonly items: unknown[] = [];
}
