/**
 * Wire layout of sync messages. Every message is bit-packed (see bits.ts):
 *
 * ```
 * snapshot part (host → client)
 *   kind 2 = 1 | tick 32 | baselineDelta 6 (0 = reset) | [reset only: schemaHash 16 | rate 8]
 *   | multi 1 [partIndex 8 | partCount 8] | hasInputAck 1 [inputAck 32] | entryCount 16
 *   entries, sorted by object id, ids as gaps (uvar of id − previous − 1):
 *     gap | 0 | sameMask 1 [changeMask (slotCount bits)] | changed slots   update
 *     gap | 1 0 | schemaIndex (uvar) | every slot                         full state (spawn, or enters interest)
 *     gap | 1 1                                                          despawn
 *   In an update, an integer-coded slot (ints, quantised floats) is
 *   `1 | EG3(zigzag(code − code at the baseline))` or `0 | raw code`,
 *   whichever is shorter; sameMask 1 reuses the previous update's mask
 *   (same schema) in this part. A delta snapshot needs a completed baseline,
 *   which only exists after a reset the client accepted (schema hash checked).
 * client message (client → host)
 *   kind 2 = 2 | schemaHash 16 | hasAck 1 [ackTick 32] | inputCount uvar [firstSeq 32 | inputs…]
 * ```
 * @module
 */
import { TruncatedError, type BitReader, type BitWriter } from './bits.js';

export const KIND_SNAPSHOT = 1;
export const KIND_CLIENT = 2;

/** Per-peer history of sent ticks; a baseline older than this is not used (the peer gets a reset). */
export const WINDOW = 32;
/** Largest baseline delta the header can carry. */
export const MAX_BASELINE_DELTA = 63;
export const MAX_PARTS = 255;
export const MAX_ENTRIES_PER_PART = 65535;

export const ENTRY_UPDATE = 0;
export const ENTRY_FULL = 1;
export const ENTRY_DESPAWN = 2;

/** Header of one snapshot part. */
export interface SnapshotHeader {
  schemaHash: number;
  tick: number;
  rate: number;
  /** tick − baseline, or 0 for a reset (no baseline). */
  baselineDelta: number;
  partIndex: number;
  partCount: number;
  /** Last input sequence the host processed for this peer, or −1. */
  inputAck: number;
  entryCount: number;
}

/** Bit positions to patch once the part is complete. */
export interface HeaderMarks {
  partCountAt: number;
  entryCountAt: number;
}

export function writeSnapshotHeader(w: BitWriter, h: SnapshotHeader, multi: boolean): HeaderMarks {
  w.bits(KIND_SNAPSHOT, 2);
  w.bits(h.tick, 32);
  w.bits(h.baselineDelta, 6);
  if (h.baselineDelta === 0) {
    w.bits(h.schemaHash, 16);
    w.bits(h.rate, 8);
  }
  w.bool(multi);
  let partCountAt = -1;
  if (multi) {
    w.bits(h.partIndex, 8);
    partCountAt = w.bitLength;
    w.bits(h.partCount, 8);
  }
  w.bool(h.inputAck >= 0);
  if (h.inputAck >= 0) w.bits(h.inputAck, 32);
  const entryCountAt = w.bitLength;
  w.bits(h.entryCount, 16);
  return { partCountAt, entryCountAt };
}

/** Reads the rest of a snapshot header after its kind bits. */
export function readSnapshotHeader(r: BitReader, out: SnapshotHeader): SnapshotHeader {
  out.tick = r.bits(32);
  out.baselineDelta = r.bits(6);
  if (out.baselineDelta === 0) {
    out.schemaHash = r.bits(16);
    out.rate = r.bits(8);
  } else {
    out.schemaHash = -1; // checked on the reset this chain of deltas started from
    out.rate = -1;
  }
  if (r.bool()) {
    out.partIndex = r.bits(8);
    out.partCount = r.bits(8);
    if (out.partCount < 2 || out.partIndex >= out.partCount) throw new TruncatedError(`part ${out.partIndex} of ${out.partCount}`);
  } else {
    out.partIndex = 0;
    out.partCount = 1;
  }
  out.inputAck = r.bool() ? r.bits(32) : -1;
  out.entryCount = r.bits(16);
  if (out.rate === 0) throw new TruncatedError('tick rate 0');
  if (out.baselineDelta > 32) throw new TruncatedError(`baseline ${out.baselineDelta} ticks back`);
  if (out.baselineDelta > out.tick) throw new TruncatedError('baseline before tick 0');
  return out;
}

/** Entry kind: `0` update, `10` full, `11` despawn (SnapshotReader.decode reads it inline). */
export function writeEntryKind(w: BitWriter, kind: number): void {
  if (kind === ENTRY_UPDATE) w.bits(0, 1);
  else w.bits(kind === ENTRY_FULL ? 0b10 : 0b11, 2);
}
