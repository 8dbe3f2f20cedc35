/**
 * Writes one peer's snapshot (its sorted entries) into parts that fit the
 * part budget, with no partial object. An update's change mask and changed
 * values depend only on (object, tick, baseline): they are encoded once per
 * tick and copied for every peer with that baseline.
 * @module
 */
import { BitWriter, patchBits } from './bits.js';
import { writeCoded } from './history.js';
import type { HostObject } from './host-object.js';
import type { Schema } from './schema.js';
import { ENTRY_DESPAWN, ENTRY_FULL, ENTRY_UPDATE, MAX_ENTRIES_PER_PART, MAX_PARTS, writeEntryKind, writeSnapshotHeader, type SnapshotHeader } from './wire.js';

/** Schemas of at most this many slots keep an update's change mask as one integer. */
const MASK_INT_SLOTS = 30;
/** Finished parts are copied into shared slabs of this size (one allocation for many small messages); larger parts get their own buffer. */
const SLAB_BYTES = 16384;

/** Append `obj`'s encoded changes (see SnapshotWriter.encodeChanges). */
function appendChanges(w: BitWriter, obj: HostObject<any>): void {
  const nbits = obj.encBits;
  if (nbits <= 32) w.bits(obj.encW0, nbits);
  else if (nbits <= 64) {
    w.bits(obj.encW0, 32);
    w.bits(obj.encW1, nbits - 32);
  } else w.append(obj.encBytes, nbits);
}

/** Snapshot encoder of a host (one per host; reuses its buffers). */
export class SnapshotWriter {
  /** Header of the snapshot being written: the host fills tick, baseline, input ack… */
  readonly header: SnapshotHeader = { schemaHash: 0, tick: 0, rate: 0, baselineDelta: 0, partIndex: 0, partCount: 1, inputAck: -1, entryCount: 0 };
  private readonly w = new BitWriter(2048);
  private readonly scratch = new BitWriter(256);
  private maskSchema: Schema<any> | undefined;
  private lastMaskBits = 0;
  private lastMask = new Uint8Array(64);
  private tick = 0;
  private slab = new Uint8Array(SLAB_BYTES);
  private slabPos = 0;

  constructor(
    /** The host's objects by slot, and by id (read, never changed). */
    private readonly bySlot: readonly (HostObject<any> | undefined)[],
    private readonly objectMap: ReadonlyMap<number, HostObject<any>>,
  ) {}

  /**
   * Encode sorted entry keys (`(id * 4 + kind) * mul + slot`, slot only when
   * `mul` > 1) against baseline `b` (−1: reset) for tick `tick`, in one part
   * when it fits `budget` bytes, else in several.
   */
  write(sorted: Float64Array, b: number, mul: number, tick: number, budget: number): Uint8Array[] {
    this.tick = tick;
    return this.encodeParts(sorted, b, mul, budget, false) ?? this.encodeParts(sorted, b, mul, budget, true)!;
  }

  /** Encode `obj`'s changes against baseline `b` for `tick` now (the peers with that baseline copy them). */
  prepare(obj: HostObject<any>, b: number, tick: number): void {
    this.tick = tick;
    if (obj.encT !== tick || obj.encB !== b) this.encodeChanges(obj, b);
  }

  /** Encode the snapshot into parts; undefined when single-part encoding overflowed (retry multi-part). */
  private encodeParts(sorted: Float64Array, b: number, mul: number, budget: number, multi: boolean): Uint8Array[] | undefined {
    const w = this.w;
    const parts: Uint8Array[] = [];
    let count = 0;
    let prev = 0;
    this.begin(0, multi);
    const bySlot = this.bySlot;
    for (let i = 0; i < sorted.length; i++) {
      const key = sorted[i]!;
      const entry = Math.floor(key / mul);
      const slot = key - entry * mul;
      const id = Math.floor(entry / 4);
      const kind = entry - id * 4;
      const obj = kind === ENTRY_DESPAWN ? undefined : mul > 1 ? bySlot[slot]! : this.objectMap.get(id)!;
      const mark = w.bitLength;
      this.writeEntry(id, kind, prev, b, obj);
      if ((w.byteLength > budget && count > 0) || count === MAX_ENTRIES_PER_PART) {
        if (!multi) return undefined;
        w.truncate(mark);
        parts.push(this.end(count));
        if (parts.length >= MAX_PARTS) break; // cannot happen with sane budgets; the rest waits for the next tick
        this.begin(parts.length, multi);
        count = 0;
        this.writeEntry(id, kind, 0, b, obj);
      }
      count++;
      prev = id;
    }
    parts.push(this.end(count));
    if (multi) for (const part of parts) patchBits(part, this.partCountAt, parts.length, 8);
    return parts;
  }

  /** Bit positions of the current part's counts (patched when it ends). */
  private partCountAt = -1;
  private entryCountAt = -1;

  private begin(index: number, multi: boolean): void {
    const h = this.header;
    this.w.reset();
    h.partIndex = index;
    h.partCount = 0;
    h.entryCount = 0;
    const marks = writeSnapshotHeader(this.w, h, multi);
    this.partCountAt = marks.partCountAt;
    this.entryCountAt = marks.entryCountAt;
    this.maskSchema = undefined;
  }

  private end(count: number): Uint8Array {
    const w = this.w;
    w.patch(this.entryCountAt, count, 16);
    const n = w.byteLength;
    if (n > SLAB_BYTES / 8) return w.finish();
    // A view into a slab: never written again (a full slab is left to the messages that use it).
    if (this.slabPos + n > SLAB_BYTES) {
      this.slab = new Uint8Array(SLAB_BYTES);
      this.slabPos = 0;
    }
    const at = this.slabPos;
    w.copyTo(this.slab, at);
    this.slabPos = (at + n + 7) & ~7;
    return this.slab.subarray(at, at + n);
  }

  private writeEntry(id: number, kind: number, prev: number, b: number, obj: HostObject<any> | undefined): void {
    const w = this.w;
    const schema = obj?.schema;
    if (kind === ENTRY_UPDATE && id - prev < 256 && schema!.leaves.length <= 8) {
      // The common case in one write: gap (exp-Golomb of id − prev − 1), kind 0, the mask or its "same" bit.
      if (obj!.encT !== this.tick || obj!.encB !== b) this.encodeChanges(obj!, b);
      const x = id - prev;
      const gapBits = 2 * (31 - Math.clz32(x)) + 1;
      const m = obj!.encMask;
      if (this.maskSchema === schema && this.lastMaskBits === m) w.bits(x * 4 + 1, gapBits + 2);
      else {
        const n = schema!.leaves.length;
        w.bits(x * 4 * (1 << n) + m, gapBits + 2 + n);
        this.maskSchema = schema;
        this.lastMaskBits = m;
      }
      appendChanges(w, obj!);
      return;
    }
    w.uvar(id - prev - 1);
    writeEntryKind(w, kind);
    if (obj === undefined || schema === undefined) return; // despawn
    const leaves = schema.leaves;
    if (kind === ENTRY_FULL) {
      w.uvar(obj.schemaIndex);
      const slots = obj.slots;
      for (let i = 0; i < leaves.length; i++) leaves[i]!.write(w, slots[i]!);
      return;
    }
    // The change mask and changed values depend only on (object, tick, baseline): encoded once, copied for every peer with that baseline.
    if (obj.encT !== this.tick || obj.encB !== b) this.encodeChanges(obj, b);
    const n = leaves.length;
    if (n <= MASK_INT_SLOTS) {
      const m = obj.encMask;
      if (this.maskSchema === schema && this.lastMaskBits === m) w.bits(1, 1);
      else {
        w.bits(0, 1);
        w.bits(m, n);
        this.maskSchema = schema;
        this.lastMaskBits = m;
      }
    } else {
      const mask = obj.encMaskSlots;
      let same = this.maskSchema === schema;
      for (let i = 0; same && i < n; i++) if (this.lastMask[i] !== mask[i]) same = false;
      w.bits(same ? 1 : 0, 1);
      if (!same) {
        for (let i = 0; i < n; i++) w.bits(mask[i]!, 1);
        if (this.lastMask.length < n) this.lastMask = new Uint8Array(n);
        this.lastMask.set(mask.subarray(0, n));
        this.maskSchema = schema;
      }
    }
    appendChanges(w, obj);
  }

  /** Encode `obj`'s change mask and changed values against baseline `b` into its per-tick cache. */
  private encodeChanges(obj: HostObject<any>, b: number): void {
    const schema = obj.schema;
    const leaves = schema.leaves;
    const n = leaves.length;
    const changed = obj.changed;
    const slots = obj.slots;
    const s = this.scratch;
    s.reset();
    const coded = schema.codedIndex;
    const history = obj.history;
    const hasCodes = schema.codedSlots.length > 0;
    const base = hasCodes ? history.find(b) : -1;
    const now = hasCodes ? history.newest() : -1; // recorded at the start of this tick()
    let m = 0;
    const wide = n > MASK_INT_SLOTS;
    if (wide && obj.encMaskSlots.length < n) obj.encMaskSlots = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const bit = changed[i]! > b ? 1 : 0;
      if (wide) obj.encMaskSlots[i] = bit;
      else m = m * 2 + bit;
      if (bit === 0) continue;
      const k = coded[i]!;
      if (k < 0) leaves[i]!.write(s, slots[i]!);
      else writeCoded(s, leaves[i]!, history.codeAt(now, k), base >= 0 ? history.codeAt(base, k) : -1e15); // no base cannot happen for a visible object: raw
    }
    obj.encMask = m;
    const nbits = s.bitLength;
    obj.encBits = nbits;
    if (nbits <= 64) {
      // Two numbers on the object (written with two writes, no bytes to read).
      obj.encW0 = nbits >= 32 ? s.wordAt(0) : s.wordAt(0) >>> (32 - nbits);
      obj.encW1 = nbits > 32 ? s.wordAt(4) >>> (64 - nbits) : 0;
    } else {
      const bytes = s.view();
      if (obj.encBytes.length < bytes.length) obj.encBytes = new Uint8Array(Math.max(16, bytes.length * 2));
      obj.encBytes.set(bytes);
    }
    obj.encT = this.tick;
    obj.encB = b;
  }
}
