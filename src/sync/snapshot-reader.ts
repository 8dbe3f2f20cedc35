/**
 * Decodes the entries of one snapshot part (see wire.ts) into reused entry
 * records, without changing any replica: the client applies them only when
 * the whole part decoded. The counterpart of snapshot-writer.ts.
 * @module
 */
import { TruncatedError, type BitReader } from './bits.js';
import type { Replica } from './replica.js';
import type { Schema, SlotValue } from './schema.js';
import { ENTRY_DESPAWN, ENTRY_FULL, ENTRY_UPDATE } from './wire.js';

/** One decoded entry. */
export interface Entry {
  id: number;
  kind: number;
  schema: Schema<any> | undefined;
  /** The replica an update applies to. */
  replica: Replica<any> | undefined;
  /** A full entry's slots; an update's changed non-coded slots. */
  slots: SlotValue[];
  /** An update's changed slots (1), by slot. */
  mask: Uint8Array;
  /** An update's decoded codes, by coded slot (recorded as the new baseline without re-coding). */
  codes: Float64Array;
}

/** Why decoding stopped short of the last entry (not malformed data, which throws {@link TruncatedError}). */
export const enum DecodeStop {
  OK = 0,
  /** An update names an object the client does not have ({@link SnapshotReader.failId}). */
  UNKNOWN_OBJECT = 1,
  /** An update's object has no value at the baseline ({@link SnapshotReader.failId}). */
  NO_BASELINE = 2,
}

const K = 3; // exp-Golomb order of coded differences (history.ts writeCoded)

/** Entry decoder of a client (reuses its entry records). */
export class SnapshotReader {
  private readonly pool: Entry[] = [];
  /** Entries decoded by the last {@link decode}. */
  count = 0;
  /** Spawns (full entries of objects the client does not hold) in the last {@link decode}. */
  spawns = 0;
  /** Object id at which decoding stopped, when it stopped early. */
  failId = 0;

  /** Entry `i` of the last decode. */
  at(i: number): Entry {
    return this.pool[i]!;
  }

  /**
   * Decode `entryCount` entries built on baseline tick `b` from `r`. Throws
   * {@link TruncatedError} on malformed data; returns why it stopped early otherwise.
   */
  decode(r: BitReader, entryCount: number, b: number, schemas: readonly Schema<any>[], objects: ReadonlyMap<number, Replica<any>>): DecodeStop {
    let prev = 0;
    let spawns = 0;
    let maskSchema: Schema<any> | undefined;
    let lastMask: Uint8Array | undefined;
    this.count = 0;
    for (let n = 0; n < entryCount; n++) {
      const e = this.entry(n);
      const id = prev + r.uvar() + 1;
      if (id > 2 ** 32 - 1) throw new TruncatedError(`object id ${id} out of range`);
      prev = id;
      e.id = id;
      const kind = r.bits(1) === 0 ? ENTRY_UPDATE : r.bits(1) === 0 ? ENTRY_FULL : ENTRY_DESPAWN;
      e.kind = kind;
      this.count = n + 1;
      if (kind === ENTRY_DESPAWN) continue;
      if (kind === ENTRY_FULL) {
        const si = r.uvar();
        const schema = schemas[si];
        if (schema === undefined) throw new TruncatedError(`schema index ${si} out of range`);
        if (!objects.has(id)) spawns++;
        e.schema = schema;
        e.replica = undefined;
        const leaves = schema.leaves;
        if (e.slots.length < leaves.length) e.slots = new Array<SlotValue>(leaves.length).fill(0);
        for (let i = 0; i < leaves.length; i++) e.slots[i] = leaves[i]!.read(r);
        continue;
      }
      const replica = objects.get(id);
      if (replica === undefined) {
        this.failId = id;
        return DecodeStop.UNKNOWN_OBJECT;
      }
      const schema = replica.schema;
      e.schema = schema;
      e.replica = replica;
      const leaves = schema.leaves;
      const nl = leaves.length;
      if (e.mask.length < nl) e.mask = new Uint8Array(nl);
      if (e.slots.length < nl) e.slots = new Array<SlotValue>(nl).fill(0);
      if (e.codes.length < schema.codedSlots.length) e.codes = new Float64Array(schema.codedSlots.length);
      const mask = e.mask;
      if (r.bits(1) === 1) {
        if (maskSchema !== schema || lastMask === undefined) throw new TruncatedError('sameMask without a previous mask of that schema');
        for (let i = 0; i < nl; i++) mask[i] = lastMask[i]!;
      } else {
        if (nl <= 24) {
          const m = r.bits(nl); // the whole mask in one read
          for (let i = 0; i < nl; i++) mask[i] = (m >>> (nl - 1 - i)) & 1;
        } else for (let i = 0; i < nl; i++) mask[i] = r.bits(1);
        maskSchema = schema;
        lastMask = mask;
      }
      const coded = schema.codedIndex;
      const history = replica.history;
      const base = schema.codedSlots.length > 0 ? history.find(b) : -1;
      const codes = e.codes;
      const slots = e.slots;
      for (let i = 0; i < nl; i++) {
        if (mask[i] === 0) continue;
        const k = coded[i]!;
        const leaf = leaves[i]!;
        if (k < 0) {
          slots[i] = leaf.read(r);
          continue;
        }
        if (base < 0) {
          this.failId = id;
          return DecodeStop.NO_BASELINE;
        }
        const c = leaf.coded!;
        let code: number;
        if (r.bits(1) === 0) code = r.bits(c.bits);
        else {
          const zz = r.uvar() * (1 << K) + r.bits(K);
          code = history.codeAt(base, k) + (zz % 2 === 0 ? zz / 2 : -(zz + 1) / 2);
        }
        if (code < 0 || code > c.maxCode) throw new TruncatedError(`code ${code} of slot ${i} out of range`);
        codes[k] = code;
      }
    }
    this.spawns = spawns;
    return DecodeStop.OK;
  }

  private entry(i: number): Entry {
    let e = this.pool[i];
    if (e === undefined) this.pool[i] = e = { id: 0, kind: 0, schema: undefined, replica: undefined, slots: [], mask: new Uint8Array(0), codes: new Float64Array(0) };
    return e;
  }
}
