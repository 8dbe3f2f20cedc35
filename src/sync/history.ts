/**
 * Per-object history of integer-coded slot values by tick, so a value can be
 * sent as a difference from the value at the peer's acknowledged baseline.
 * Host and client keep the same structure; it grows lazily to a fixed bound
 * (an object that never changes holds one entry).
 * @module
 */
import type { BitWriter } from './bits.js';
import type { Leaf, Schema, SlotValue } from './schema.js';
import { WINDOW } from './wire.js';
import type { BlockArena } from './arena.js';

/** Entries kept: enough that the newest entry at or before any usable baseline (≤ WINDOW ticks back) survives. */
const CAPACITY = WINDOW + 2;
const EMPTY = new Int32Array(0);

/** Entries a history keeps inside its arena; one needing more moves to its own buffer. */
const ARENA_CAP = 12;

/** A client's arena of history blocks. */
export type HistoryArena = BlockArena<Int32Array>;

export class CodeHistory {
  /**
   * One buffer (one allocation to reach): the entries' ticks (`cap` of them),
   * then their codes, `cap` rows of one code per coded slot. Codes are
   * stored as int32 and read back unsigned (every coded leaf's code fits 32 bits).
   */
  private own: Int32Array;
  /** Where this history's block starts in {@link data} (0 in its own buffer). */
  private base = 0;
  /** In the arena (else in {@link own}). */
  private inArena = false;
  private cap = 1;
  private head = 0;
  private count = 0;
  private readonly n: number;

  /** With an `arena`, the history lives in it while it holds at most 12 entries ({@link release} it when done). */
  constructor(
    private readonly schema: Schema<any>,
    private readonly arena?: HistoryArena,
  ) {
    this.n = schema.codedSlots.length;
    if (arena !== undefined && this.n > 0) {
      this.own = EMPTY;
      this.inArena = true;
      this.base = arena.alloc(1 + this.n);
    } else this.own = new Int32Array(1 + this.n);
  }

  /** The buffer the history is in (the arena's may be replaced as it grows: read it each time). */
  private get buf(): Int32Array {
    return this.inArena ? this.arena!.buf : this.own;
  }

  /** Give the arena block back (the history must not be used after). */
  release(): void {
    if (this.inArena) this.arena!.release(this.base, this.cap * (1 + this.n));
    this.inArena = false;
    this.own = EMPTY;
    this.base = 0;
    this.cap = 1;
    this.count = 0;
    this.head = 0;
  }

  /**
   * Record the codes of `slots` as the value at `tick` (ticks only grow; the
   * same tick overwrites). With `changedAt` (the tick each slot last
   * changed), only the slots changed at `tick` are coded again; the rest are
   * copied from the previous entry.
   */
  record(tick: number, slots: readonly SlotValue[], changedAt?: Int32Array): void {
    const n = this.n;
    if (n === 0) return;
    const base = this.entryFor(tick);
    const prev = this.prevRow;
    const slotsIdx = this.schema.codedSlots;
    const leaves = this.schema.leaves;
    const codes = this.buf;
    if (changedAt !== undefined && prev >= 0) {
      for (let k = 0; k < n; k++) {
        const slot = slotsIdx[k]!;
        codes[base + k] = changedAt[slot] === tick ? leaves[slot]!.coded!.code(slots[slot]!) : codes[prev + k]!;
      }
      return;
    }
    for (let k = 0; k < n; k++) {
      const slot = slotsIdx[k]!;
      codes[base + k] = leaves[slot]!.coded!.code(slots[slot]!);
    }
  }

  /**
   * Record the value at `tick` from already decoded codes: coded slot `k`
   * takes `decoded[k]` where `mask` (by slot) is set, else the previous
   * entry's code (an update changes only the masked slots). Needs a previous entry.
   */
  recordCodes(tick: number, decoded: Float64Array, mask: Uint8Array): void {
    const n = this.n;
    if (n === 0) return;
    const base = this.entryFor(tick);
    const prev = this.prevRow;
    const slotsIdx = this.schema.codedSlots;
    const codes = this.buf;
    for (let k = 0; k < n; k++) codes[base + k] = mask[slotsIdx[k]!] ? decoded[k]! : codes[prev + k]!;
  }

  /** Row offset (of the previous newest entry) set by {@link entryFor}; −1 when there was none. */
  private prevRow = -1;

  /** Offset of the row to write for `tick` (a new entry, or the newest when it is of `tick`); sets {@link prevRow}. */
  private entryFor(tick: number): number {
    const n = this.n;
    let cap = this.cap;
    let base = this.base;
    if (this.count > 0 && this.buf[base + ((this.head + cap - 1) % cap)] === tick) {
      const at = base + cap + ((this.head + cap - 1) % cap) * n;
      this.prevRow = at; // overwriting the newest: it holds the current codes
      return at;
    }
    if (this.count === cap && cap < CAPACITY) {
      this.grow();
      cap = this.cap;
      base = this.base;
    }
    this.prevRow = this.count > 0 ? base + cap + ((this.head + cap - 1) % cap) * n : -1;
    const at = this.head;
    this.head = (at + 1) % cap;
    if (this.count < cap) this.count++;
    this.buf[base + at] = tick;
    return base + cap + at * n;
  }

  /**
   * Forget the entries no baseline from `floor` on can need: all older than
   * the newest entry at or before `floor` (a peer whose baselines only grow
   * then keeps a few entries, not the whole window).
   */
  prune(floor: number): void {
    const cap = this.cap;
    const buf = this.buf;
    const base = this.base;
    let oldest = (this.head + cap - this.count) % cap;
    while (this.count > 1) {
      const next = oldest + 1 === cap ? 0 : oldest + 1;
      if (buf[base + next]! > floor) return;
      oldest = next;
      this.count--;
    }
  }

  /** Offset (into {@link codeAt}) of the newest entry at or before `tick`, or −1. Valid until the next record. */
  find(tick: number): number {
    const cap = this.cap;
    const buf = this.buf;
    const base = this.base;
    let at = this.head - 1;
    for (let i = 0; i < this.count; i++) {
      if (at < 0) at += cap;
      if (buf[base + at]! <= tick) return base + cap + at * this.n;
      at--;
    }
    return -1;
  }

  /** Offset of the newest entry (the current value), or −1. Valid until the next record. */
  newest(): number {
    if (this.count === 0) return -1;
    const cap = this.cap;
    return this.base + cap + ((this.head + cap - 1) % cap) * this.n;
  }

  /** Code of coded slot `k` in the entry at `offset`. */
  codeAt(offset: number, k: number): number {
    return this.buf[offset + k]! >>> 0;
  }

  private grow(): void {
    const cap = this.cap;
    const next = cap < 4 ? 4 : cap < ARENA_CAP ? ARENA_CAP : CAPACITY;
    const n = this.n;
    const size = next * (1 + n);
    const old = this.buf;
    const oldBase = this.base;
    // In the arena up to ARENA_CAP entries; beyond, its own buffer.
    const arena = this.inArena && next <= ARENA_CAP ? this.arena! : undefined;
    const to = arena !== undefined ? arena.alloc(size) : 0;
    const buf = arena !== undefined ? arena.buf : new Int32Array(size); // (alloc may have replaced the arena's buffer)
    const src = arena !== undefined ? arena.buf : old;
    // Unroll oldest → newest into 0…count-1.
    for (let i = 0; i < this.count; i++) {
      const from = (this.head + cap - this.count + i) % cap;
      buf[to + i] = src[oldBase + from]!;
      const at = oldBase + cap + from * n;
      if (buf === src) buf.copyWithin(to + next + i * n, at, at + n);
      else buf.set(src.subarray(at, at + n), to + next + i * n);
    }
    if (this.inArena) this.arena!.release(oldBase, cap * (1 + n));
    if (arena === undefined) {
      this.own = buf;
      this.inArena = false;
    }
    this.base = to;
    this.cap = next;
    this.head = this.count % next;
  }
}

const K = 3;
const LOW = (1 << K) - 1;

function egBits(v: number): number {
  const q = Math.floor(v / (1 << K)) + 1;
  return q < 2 ** 31 ? 2 * (31 - Math.clz32(q)) + 1 + K : 64 + K;
}

/** Write a coded leaf value given as its code: `1 + EG3(zigzag(code − base))` when shorter than raw, else `0 + raw` (read back inline by SnapshotReader.decode). */
export function writeCoded(w: BitWriter, leaf: Leaf, code: number, base: number): void {
  const bits = leaf.coded!.bits;
  const d = code - base;
  const zz = d >= 0 ? 2 * d : -2 * d - 1;
  if (egBits(zz) < bits) {
    const q = Math.floor(zz / (1 << K)) + 1;
    const len = 31 - Math.clz32(q);
    if (len <= 13) {
      // In one write: 1, then EG(q − 1) (len zeros and q), then the low bits.
      w.bits((1 << (2 * len + 1 + K)) | (q << K) | (zz & LOW), 2 * len + 2 + K);
      return;
    }
    w.bits(1, 1);
    w.uvar(q - 1);
    w.bits(zz & LOW, K);
  } else if (bits < 32) w.bits(code, bits + 1); // 0, then the raw code
  else {
    w.bits(0, 1);
    w.bits(code, bits);
  }
}
