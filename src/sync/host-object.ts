/**
 * A replicated object on the host: typed get/set over its slots, with the
 * tick each slot last changed (what per-peer deltas are built from).
 * @module
 */
import { ErrorCode, RtcmeshError } from '../errors.js';
import { invalid } from '../util/validate.js';
import { CodeHistory, type HistoryArena } from './history.js';
import type { FieldValue, Fields, InferFields, Schema, SlotValue } from './schema.js';

/** What a host object needs from its owner. */
export interface ObjectOwner {
  /** The tick being built (changes are stamped with it). */
  readonly currentTick: number;
  despawn(obj: HostObject<any>): void;
  /** The object changed for the first time in the current tick. */
  markDirty(obj: HostObject<any>): void;
  /** Where objects keep their code histories (one buffer for all: fewer cache misses per tick). */
  readonly historyArena?: HistoryArena;
}

/** A replicated object on the host. Create with `SyncHost.spawn`. */
export class HostObject<F extends Fields = Fields> {
  /** Tick each slot last changed. */
  readonly changed: Int32Array;
  /** Latest of {@link changed}. */
  lastChanged: number;
  /** False once despawned. */
  alive = true;
  /** @internal encoded changed values of the current tick against baseline {@link encB} (shared by peers with that baseline) */
  encT = -1;
  /** @internal */
  encB = -1;
  /** @internal */
  encBits = 0;
  /** @internal the encoding when longer than 64 bits */
  encBytes: Uint8Array = new Uint8Array(0);
  /** @internal the encoding's first 32 bits and the rest, right-aligned (encodings of ≤ 64 bits) */
  encW0 = 0;
  /** @internal */
  encW1 = 0;
  /** @internal change mask against {@link encB}, slot 0 in the highest bit (schemas of ≤ 30 slots) */
  encMask = 0;
  /** @internal the same, one byte per slot (larger schemas) */
  encMaskSlots: Uint8Array = new Uint8Array(0);
  /** @internal coded slot values by tick (baselines for delta coding) */
  readonly history: CodeHistory;
  private scratch: SlotValue[] = [];

  /** @internal */
  constructor(
    /** Unique id (never reused by this host). */
    readonly id: number,
    readonly schema: Schema<F>,
    /** @internal index of the schema in the host's list */
    readonly schemaIndex: number,
    /** @internal current slot values (what the wire carries) */
    readonly slots: SlotValue[],
    private readonly owner: ObjectOwner,
    /** @internal slot in the host's object table (reused after despawn) */
    readonly index: number,
  ) {
    this.changed = new Int32Array(slots.length).fill(owner.currentTick);
    this.lastChanged = owner.currentTick;
    this.history = new CodeHistory(schema, owner.historyArena);
    owner.markDirty(this);
  }

  /** Current value of a field (as the clients see it: quantised, rounded). */
  get<K extends keyof F & string>(key: K): FieldValue<F[K]> {
    return this.schema.get(this.slots, key);
  }

  /** The whole current value (a fresh object). */
  get state(): InferFields<F> {
    return this.schema.toValue(this.slots);
  }

  /**
   * Set one field, or several with an object. Values are checked and
   * normalised (throws `INVALID_ARGUMENT`); only slots whose wire value
   * changes are sent. Throws `INVALID_STATE` after despawn.
   */
  set<K extends keyof F & string>(key: K, value: FieldValue<F[K]>): this;
  set(values: Partial<InferFields<F>>): this;
  set(a: unknown, b?: unknown): this {
    if (!this.alive) throw new RtcmeshError(ErrorCode.INVALID_STATE, `object ${this.id} was despawned; spawn a new one`);
    if (typeof a === 'string') {
      this.setField(a, b);
    } else {
      if (a === null || typeof a !== 'object') invalid(`set() on object ${this.id}`, 'a field name and value, or an object of fields', a);
      for (const key of Object.keys(a)) this.schema.field(key); // check every name before changing anything
      for (const [key, v] of Object.entries(a)) this.setField(key, v);
    }
    return this;
  }

  /** Remove the object from every client. */
  despawn(): void {
    this.owner.despawn(this);
  }

  private setField(key: string, value: unknown): void {
    const f = this.schema.field(key);
    const n = f.type.leaves.length;
    const scratch = this.scratch;
    f.type.store(value, scratch, 0, `${this.schema.name}.${key}`);
    const tick = this.owner.currentTick;
    const slots = this.slots;
    for (let i = 0; i < n; i++) {
      const at = f.offset + i;
      if (slots[at] !== scratch[i]) {
        slots[at] = scratch[i]!;
        this.changed[at] = tick;
        if (this.lastChanged !== tick) {
          this.lastChanged = tick;
          this.owner.markDirty(this);
        }
      }
    }
  }
}
