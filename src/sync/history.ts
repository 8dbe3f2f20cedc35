/**
 * Per-object history of integer-coded slot values by tick, so a value can be
 * sent as a difference from the value at the peer's acknowledged baseline.
 * Host and client keep the same structure; it grows lazily to a fixed bound
 * (an object that never changes holds one entry).
 * @module
 */
import type { BitReader, BitWriter } from './bits.js';
import type { Leaf, Schema, SlotValue } from './schema.js';
import { WINDOW } from './wire.js';

/** Entries kept: enough that the newest entry at or before any usable baseline (≤ WINDOW ticks back) survives. */
const CAPACITY = WINDOW + 2;

export class CodeHistory {
  private ticks = new Int32Array(1);
  /** Codes by entry (every coded leaf's code fits 32 unsigned bits). */
  private codes: Uint32Array;
  private head = 0;
  private count = 0;

  constructor(private readonly schema: Schema<any>) {
    this.codes = new Uint32Array(schema.codedSlots.length);
  }

  /**
   * Record the codes of `slots` as the value at `tick` (ticks only grow; the
   * same tick overwrites). With `changedAt` (the tick each slot last
   * changed), only the slots changed at `tick` are coded again; the rest are
   * copied from the previous entry.
   */
  record(tick: number, slots: readonly SlotValue[], changedAt?: Int32Array): void {
    const n = this.schema.codedSlots.length;
    if (n === 0) return;
    const base = this.entryFor(tick) * n;
    const prev = this.prevRow;
    const slotsIdx = this.schema.codedSlots;
    const leaves = this.schema.leaves;
    const codes = this.codes;
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
    const n = this.schema.codedSlots.length;
    if (n === 0) return;
    const base = this.entryFor(tick) * n;
    const prev = this.prevRow;
    const slotsIdx = this.schema.codedSlots;
    const codes = this.codes;
    for (let k = 0; k < n; k++) codes[base + k] = mask[slotsIdx[k]!] ? decoded[k]! : codes[prev + k]!;
  }

  /** Row offset (of the previous newest entry) set by {@link entryFor}; −1 when there was none. */
  private prevRow = -1;

  /** Index of the entry to write for `tick` (a new one, or the newest when it is of `tick`); sets {@link prevRow}. */
  private entryFor(tick: number): number {
    const n = this.schema.codedSlots.length;
    const cap = this.ticks.length;
    if (this.count > 0 && this.ticks[(this.head + cap - 1) % cap] === tick) {
      const at = (this.head + cap - 1) % cap;
      this.prevRow = at * n; // overwriting the newest: it holds the current codes
      return at;
    }
    if (this.count === cap && cap < CAPACITY) this.grow();
    const c = this.ticks.length;
    this.prevRow = this.count > 0 ? ((this.head + c - 1) % c) * n : -1;
    const at = this.head;
    this.head = (at + 1) % c;
    if (this.count < c) this.count++;
    this.ticks[at] = tick;
    return at;
  }

  /**
   * Forget the entries no baseline from `floor` on can need: all older than
   * the newest entry at or before `floor` (a peer whose baselines only grow
   * then keeps a few entries, not the whole window).
   */
  prune(floor: number): void {
    const cap = this.ticks.length;
    let oldest = (this.head + cap - this.count) % cap;
    while (this.count > 1) {
      const next = oldest + 1 === cap ? 0 : oldest + 1;
      if (this.ticks[next]! > floor) return;
      oldest = next;
      this.count--;
    }
  }

  /** Offset (into {@link codeAt}) of the newest entry at or before `tick`, or −1. */
  find(tick: number): number {
    const cap = this.ticks.length;
    const ticks = this.ticks;
    let at = this.head - 1;
    for (let i = 0; i < this.count; i++) {
      if (at < 0) at += cap;
      if (ticks[at]! <= tick) return at * this.schema.codedSlots.length;
      at--;
    }
    return -1;
  }

  /** Offset of the newest entry (the current value), or −1. */
  newest(): number {
    if (this.count === 0) return -1;
    const cap = this.ticks.length;
    return ((this.head + cap - 1) % cap) * this.schema.codedSlots.length;
  }

  /** Code of coded slot `k` in the entry at `offset`. */
  codeAt(offset: number, k: number): number {
    return this.codes[offset + k]!;
  }

  private grow(): void {
    const cap = this.ticks.length;
    const next = cap < 4 ? 4 : cap < 12 ? 12 : CAPACITY;
    const n = this.schema.codedSlots.length;
    const ticks = new Int32Array(next);
    const codes = new Uint32Array(next * n);
    // Unroll oldest → newest into 0…count-1.
    for (let i = 0; i < this.count; i++) {
      const from = (this.head + cap - this.count + i) % cap;
      ticks[i] = this.ticks[from]!;
      codes.set(this.codes.subarray(from * n, from * n + n), i * n);
    }
    this.ticks = ticks;
    this.codes = codes;
    this.head = this.count % next;
  }
}

const K = 3;
const LOW = (1 << K) - 1;

function egBits(v: number): number {
  const q = Math.floor(v / (1 << K)) + 1;
  return q < 2 ** 31 ? 2 * (31 - Math.clz32(q)) + 1 + K : 64 + K;
}

/** Write a coded leaf value given as its code: `1 + EG3(zigzag(code − base))` when shorter than raw, else `0 + raw`. */
export function writeCoded(w: BitWriter, leaf: Leaf, code: number, base: number): void {
  const coded = leaf.coded!;
  const d = code - base;
  const zz = d >= 0 ? 2 * d : -2 * d - 1;
  if (egBits(zz) < coded.bits) {
    w.bits(1, 1);
    w.uvar(Math.floor(zz / (1 << K)));
    w.bits(zz & LOW, K);
  } else {
    w.bits(0, 1);
    w.bits(code, coded.bits);
  }
}

/** Read the code {@link writeCoded} wrote (not range-checked: `coded.fromCode` checks it). */
export function readCode(r: BitReader, leaf: Leaf, base: number): number {
  const coded = leaf.coded!;
  if (r.bits(1) === 0) return r.bits(coded.bits);
  const zz = r.uvar() * (1 << K) + r.bits(K);
  return base + (zz % 2 === 0 ? zz / 2 : -(zz + 1) / 2);
}

/** Read what {@link writeCoded} wrote; throws on a code out of range. */
export function readCoded(r: BitReader, leaf: Leaf, base: number): SlotValue {
  const coded = leaf.coded!;
  if (r.bits(1) === 0) return coded.fromCode(r.bits(coded.bits));
  const zz = r.uvar() * (1 << K) + r.bits(K);
  const d = zz % 2 === 0 ? zz / 2 : -(zz + 1) / 2;
  return coded.fromCode(base + d);
}
