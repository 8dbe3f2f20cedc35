/**
 * Schemas: typed fields declared in TypeScript, flattened into leaf "slots"
 * that are bit-packed on the wire and tracked for changes one by one.
 *
 * ```ts
 * const Player = defineSchema('player', {
 *   pos: t.vec2(t.quant(-1000, 1000, 0.01)),
 *   hp: t.uint8,
 *   team: t.enum(['red', 'blue']),
 * });
 * type PlayerState = Infer<typeof Player>; // { pos: { x: number; y: number }; hp: number; team: 'red' | 'blue' }
 * ```
 * @module
 */
import { ErrorCode, RtcmeshError } from '../errors.js';
import { invalid } from '../util/validate.js';
import { TruncatedError, type BitReader, type BitWriter } from './bits.js';

/** What one slot holds: a number (ints, floats, bools as 0/1, enum indexes) or a string. */
export type SlotValue = number | string;

/** One scalar on the wire; the building block of a field type. @internal */
export interface Leaf {
  /** Short text naming the encoding (schema fingerprints). */
  readonly describe: string;
  /** Numeric and continuous: the client interpolates it. */
  readonly interpolate: boolean;
  /** Check a user value and bring it to what the wire carries (quantised, fround…); throws INVALID_ARGUMENT. */
  normalize(v: unknown, what: string): SlotValue;
  write(w: BitWriter, v: SlotValue): void;
  /** Read and validate; throws {@link TruncatedError} on bad data. */
  read(r: BitReader): SlotValue;
  /**
   * Integer-coded leaves (ints, quantised floats) can travel as a difference
   * from the peer's acknowledged baseline: `code` maps a value to 0…maxCode,
   * `fromCode` maps back (throws {@link TruncatedError} out of range).
   */
  readonly coded?: { bits: number; maxCode: number; code(v: SlotValue): number; fromCode(c: number): SlotValue };
}

/** A field type: one or more leaves and how a value maps onto them. */
export interface FieldType<T> {
  /** @internal */
  readonly leaves: readonly Leaf[];
  /** Normalise `v` into `slots[at…]`; throws INVALID_ARGUMENT. @internal */
  store(v: unknown, slots: SlotValue[], at: number, what: string): void;
  /** Build the user value from `slots[at…]`. @internal */
  load(slots: readonly SlotValue[], at: number): T;
  /** Phantom for inference. */
  readonly __type?: T;
}

/** The TypeScript value type of a field type. */
export type FieldValue<F> = F extends FieldType<infer T> ? T : never;

/** Fields of a schema: name → field type. */
export type Fields = Record<string, FieldType<any>>;

/** The value of a whole object of a schema. */
export type InferFields<F extends Fields> = { [K in keyof F]: FieldValue<F[K]> };

/** The state type of a schema: `Infer<typeof Player>`. */
export type Infer<S> = S extends Schema<infer F> ? InferFields<F> : never;

function scalar<T>(leaf: Leaf, load: (s: SlotValue) => T = (s) => s as T): FieldType<T> {
  return {
    leaves: [leaf],
    store(v, slots, at, what) {
      slots[at] = leaf.normalize(v, what);
    },
    load(slots, at) {
      return load(slots[at]!);
    },
  };
}

function intLeaf(min: number, max: number, bits: number, name: string): Leaf {
  return {
    describe: name,
    interpolate: false,
    normalize(v, what) {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) invalid(what, `an integer from ${min} to ${max} (${name})`, v);
      return v;
    },
    write(w, v) {
      w.bits((v as number) - min, bits);
    },
    read(r) {
      const v = r.bits(bits) + min;
      if (v > max) throw new TruncatedError(`${name} value ${v} out of range`);
      return v;
    },
    coded: {
      bits,
      maxCode: max - min,
      code: (v) => (v as number) - min,
      fromCode(c) {
        if (c < 0 || c > max - min) throw new TruncatedError(`${name} code ${c} out of range`);
        return c + min;
      },
    },
  };
}

function checkFinite(v: unknown, what: string): number {
  if (typeof v !== 'number' || Number.isNaN(v)) invalid(what, 'a number (not NaN)', v);
  return v === 0 ? 0 : v; // -0 travels as 0
}

const float32Leaf: Leaf = {
  describe: 'f32',
  interpolate: true,
  normalize: (v, what) => Math.fround(checkFinite(v, what)),
  write: (w, v) => w.float32(v as number),
  read(r) {
    const v = r.float32();
    if (Number.isNaN(v)) throw new TruncatedError('NaN float32');
    return v === 0 ? 0 : v;
  },
};

const float64Leaf: Leaf = {
  describe: 'f64',
  interpolate: true,
  normalize: checkFinite,
  write: (w, v) => w.float64(v as number),
  read(r) {
    const v = r.float64();
    if (Number.isNaN(v)) throw new TruncatedError('NaN float64');
    return v === 0 ? 0 : v;
  },
};

const boolLeaf: Leaf = {
  describe: 'bool',
  interpolate: false,
  normalize(v, what) {
    if (typeof v !== 'boolean') invalid(what, 'true or false', v);
    return v ? 1 : 0;
  },
  write: (w, v) => w.bits(v as number, 1),
  read: (r) => r.bits(1),
};

function bitsFor(states: number): number {
  let b = 0;
  while (2 ** b < states) b++;
  return b;
}

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

function stringLeaf(maxBytes: number): Leaf {
  return {
    describe: `str${maxBytes}`,
    interpolate: false,
    normalize(v, what) {
      if (typeof v !== 'string') invalid(what, 'a string', v);
      const n = utf8Encoder.encode(v).length;
      if (n > maxBytes) invalid(what, `a string of at most ${maxBytes} UTF-8 bytes (raise t.string(maxBytes))`, v);
      return v;
    },
    write(w, v) {
      const str = v as string;
      let ascii = true;
      for (let i = 0; i < str.length; i++) {
        if (str.charCodeAt(i) > 0x7f) {
          ascii = false;
          break;
        }
      }
      if (ascii) {
        w.uvar(str.length);
        for (let i = 0; i < str.length; i++) w.bits(str.charCodeAt(i), 8);
        return;
      }
      const b = utf8Encoder.encode(str);
      w.uvar(b.length);
      for (let i = 0; i < b.length; i++) w.bits(b[i]!, 8);
    },
    read(r) {
      const n = r.uvar();
      if (n > maxBytes) throw new TruncatedError(`string of ${n} bytes exceeds ${maxBytes}`);
      if (n * 8 > r.remaining) throw new TruncatedError('string runs past the end');
      const b = new Uint8Array(n);
      for (let i = 0; i < n; i++) b[i] = r.bits(8);
      try {
        return utf8Decoder.decode(b);
      } catch {
        throw new TruncatedError('string is not UTF-8');
      }
    },
  };
}

function quantLeaf(min: number, max: number, precision: number): Leaf {
  const steps = Math.ceil((max - min) / precision - 1e-9);
  const step = (max - min) / steps;
  const bits = bitsFor(steps + 1);
  const at = (q: number) => (q === steps ? max : min + q * step);
  return {
    describe: `q${min}:${max}:${steps}`,
    interpolate: true,
    normalize(v, what) {
      const x = checkFinite(v, what);
      const q = x <= min ? 0 : x >= max ? steps : Math.round((x - min) / step);
      const r = at(q);
      return r === 0 ? 0 : r;
    },
    write(w, v) {
      const x = v as number;
      w.bits(x <= min ? 0 : x >= max ? steps : Math.round((x - min) / step), bits);
    },
    read(r) {
      const q = r.bits(bits);
      if (q > steps) throw new TruncatedError(`quantised value ${q} above ${steps}`);
      const v = at(q);
      return v === 0 ? 0 : v;
    },
    coded: {
      bits,
      maxCode: steps,
      code(v) {
        const x = v as number;
        return x <= min ? 0 : x >= max ? steps : Math.round((x - min) / step);
      },
      fromCode(q) {
        if (q < 0 || q > steps) throw new TruncatedError(`quantised code ${q} out of range`);
        const v = at(q);
        return v === 0 ? 0 : v;
      },
    },
  };
}

function checkNumberType(of: unknown, what: string): FieldType<number> {
  if (of === null || typeof of !== 'object' || !Array.isArray((of as FieldType<number>).leaves)) invalid(what, 'a field type such as t.float32 or t.quant(…)', of);
  const f = of as FieldType<number>;
  if (f.leaves.length !== 1 || f.leaves[0]!.describe.startsWith('str') || f.leaves[0]!.describe === 'bool' || f.leaves[0]!.describe.startsWith('enum')) {
    invalid(what, 'a numeric scalar field type (int, float or quant)', of);
  }
  return f;
}

/** A 2D vector. */
export interface Vec2 {
  x: number;
  y: number;
}
/** A 3D vector. */
export interface Vec3 extends Vec2 {
  z: number;
}

function vec<T extends Vec2>(of: FieldType<number>, keys: readonly ('x' | 'y' | 'z')[]): FieldType<T> {
  const leaf = of.leaves[0]!;
  return {
    leaves: keys.map(() => leaf),
    store(v, slots, at, what) {
      if (v === null || typeof v !== 'object') invalid(what, `an object { ${keys.join(', ')} }`, v);
      for (let i = 0; i < keys.length; i++) slots[at + i] = leaf.normalize((v as Record<string, unknown>)[keys[i]!], `${what}.${keys[i]}`);
    },
    load(slots, at) {
      const o: Record<string, number> = {};
      for (let i = 0; i < keys.length; i++) o[keys[i]!] = slots[at + i] as number;
      return o as unknown as T;
    },
  };
}

/**
 * Field types. Scalars are values (`t.uint8`), parameterised ones are
 * functions (`t.quant(min, max, precision)`).
 */
export const t = {
  int8: scalar<number>(intLeaf(-128, 127, 8, 'int8')),
  int16: scalar<number>(intLeaf(-32768, 32767, 16, 'int16')),
  int32: scalar<number>(intLeaf(-(2 ** 31), 2 ** 31 - 1, 32, 'int32')),
  uint8: scalar<number>(intLeaf(0, 255, 8, 'uint8')),
  uint16: scalar<number>(intLeaf(0, 65535, 16, 'uint16')),
  uint32: scalar<number>(intLeaf(0, 2 ** 32 - 1, 32, 'uint32')),
  /** 32-bit float: values are rounded to float32 (Math.fround) when set. */
  float32: scalar<number>(float32Leaf),
  float64: scalar<number>(float64Leaf),
  bool: scalar<boolean>(boolLeaf, (s) => s === 1),
  /** A UTF-8 string of at most `maxBytes` bytes (default 64). */
  string(maxBytes = 64): FieldType<string> {
    if (!Number.isInteger(maxBytes) || maxBytes < 0 || maxBytes > 65535) invalid('t.string maxBytes', 'an integer from 0 to 65535', maxBytes);
    return scalar<string>(stringLeaf(maxBytes));
  },
  /** One of a fixed list of strings; ⌈log2(n)⌉ bits. */
  enum<const V extends readonly string[]>(values: V): FieldType<V[number]> {
    if (!Array.isArray(values) || values.length === 0 || values.length > 65536 || !values.every((v) => typeof v === 'string')) {
      invalid('t.enum values', 'a non-empty array of at most 65536 strings', values);
    }
    if (new Set(values).size !== values.length) invalid('t.enum values', 'distinct strings', values);
    const bits = bitsFor(values.length);
    const leaf: Leaf = {
      describe: `enum${values.join('|')}`,
      interpolate: false,
      normalize(v, what) {
        const i = values.indexOf(v as string);
        if (i < 0) invalid(what, `one of ${values.map((x) => JSON.stringify(x)).join(', ')}`, v);
        return i;
      },
      write: (w, v) => w.bits(v as number, bits),
      read(r) {
        const i = r.bits(bits);
        if (i >= values.length) throw new TruncatedError(`enum index ${i} out of range`);
        return i;
      },
    };
    return scalar<V[number]>(leaf, (s) => values[s as number]!);
  },
  /**
   * A float quantised to `precision` within [min, max]: ⌈log2((max−min)/precision + 1)⌉ bits.
   * Values are rounded to the grid when set; values outside the range are clamped to it.
   */
  quant(min: number, max: number, precision: number): FieldType<number> {
    if (!Number.isFinite(min) || !Number.isFinite(max) || !(max > min)) invalid('t.quant range', 'finite numbers with min < max', [min, max]);
    if (!Number.isFinite(precision) || precision <= 0) invalid('t.quant precision', 'a positive number', precision);
    if ((max - min) / precision > 2 ** 32 - 2) invalid('t.quant precision', `at least (max − min) / 2^32 = ${(max - min) / 2 ** 32}`, precision);
    return scalar<number>(quantLeaf(min, max, precision));
  },
  /** `{ x, y }` of a numeric field type. */
  vec2(of: FieldType<number>): FieldType<Vec2> {
    return vec<Vec2>(checkNumberType(of, 't.vec2 component'), ['x', 'y']);
  },
  /** `{ x, y, z }` of a numeric field type. */
  vec3(of: FieldType<number>): FieldType<Vec3> {
    return vec<Vec3>(checkNumberType(of, 't.vec3 component'), ['x', 'y', 'z']);
  },
  /** A fixed-length array (`length` elements, 1…1024) of any field type. */
  array<T>(of: FieldType<T>, length: number): FieldType<T[]> {
    if (of === null || typeof of !== 'object' || !Array.isArray(of.leaves)) invalid('t.array element', 'a field type', of);
    if (!Number.isInteger(length) || length < 1 || length > 1024) invalid('t.array length', 'an integer from 1 to 1024', length);
    const n = of.leaves.length;
    const leaves: Leaf[] = [];
    for (let i = 0; i < length; i++) leaves.push(...of.leaves);
    return {
      leaves,
      store(v, slots, at, what) {
        if (!Array.isArray(v) || v.length !== length) invalid(what, `an array of ${length} elements`, v);
        for (let i = 0; i < length; i++) of.store(v[i], slots, at + i * n, `${what}[${i}]`);
      },
      load(slots, at) {
        const out: T[] = [];
        for (let i = 0; i < length; i++) out.push(of.load(slots, at + i * n));
        return out;
      },
    };
  },
};

interface FieldInfo {
  type: FieldType<unknown>;
  offset: number;
}

/** A named set of typed fields; build with {@link defineSchema}. */
export class Schema<F extends Fields = Fields> {
  /** Field name → type and first slot. */
  private readonly byName = new Map<string, FieldInfo>();
  /** Every leaf, in slot order. @internal */
  readonly leaves: readonly Leaf[];
  /** Slot indexes of interpolated leaves. @internal */
  readonly interpolated: readonly number[];
  /** Slot indexes of integer-coded leaves (delta-encoded against baselines). @internal */
  readonly codedSlots: readonly number[];
  /** Slot → index in `codedSlots`, or −1. @internal */
  readonly codedIndex: Int32Array;
  /** Text identifying the layout (names, order, encodings). */
  readonly fingerprint: string;
  /** Field names in declaration (wire) order. */
  readonly fieldNames: readonly (keyof F & string)[];

  constructor(
    readonly name: string,
    readonly fields: F,
  ) {
    const leaves: Leaf[] = [];
    const names = Object.keys(fields);
    const parts: string[] = [name];
    for (const key of names) {
      const type = fields[key]!;
      if (type === null || typeof type !== 'object' || !Array.isArray(type.leaves)) invalid(`schema "${name}" field "${key}"`, 'a field type from t', type);
      this.byName.set(key, { type, offset: leaves.length });
      parts.push(`${key}=${type.leaves.map((l) => l.describe).join(',')}`);
      leaves.push(...type.leaves);
    }
    if (leaves.length === 0) invalid(`schema "${name}"`, 'declared with at least one field', fields);
    if (leaves.length > 4096) invalid(`schema "${name}"`, 'at most 4096 leaf values (vector components and array elements count)', leaves.length);
    this.leaves = leaves;
    this.interpolated = leaves.flatMap((l, i) => (l.interpolate ? [i] : []));
    this.codedSlots = leaves.flatMap((l, i) => (l.coded !== undefined ? [i] : []));
    this.codedIndex = new Int32Array(leaves.length).fill(-1);
    this.codedSlots.forEach((slot, k) => (this.codedIndex[slot] = k));
    this.fingerprint = parts.join(';');
    this.fieldNames = names as (keyof F & string)[];
  }

  /** Number of slots (leaf values) in an object. */
  get slotCount(): number {
    return this.leaves.length;
  }

  /** Field info; throws INVALID_ARGUMENT for an unknown name. @internal */
  field(name: string): FieldInfo {
    const f = this.byName.get(name);
    if (f === undefined) {
      throw new RtcmeshError(ErrorCode.INVALID_ARGUMENT, `schema "${this.name}" has no field "${name}"; its fields are ${this.fieldNames.join(', ')}`);
    }
    return f;
  }

  /** Normalise a complete value into fresh slots; throws INVALID_ARGUMENT naming the bad field. @internal */
  toSlots(value: unknown, what: string): SlotValue[] {
    if (value === null || typeof value !== 'object') invalid(what, `an object with the fields of schema "${this.name}"`, value);
    const slots: SlotValue[] = new Array(this.leaves.length);
    for (const key of this.fieldNames) {
      const v = (value as Record<string, unknown>)[key];
      if (v === undefined) invalid(`${what}.${key}`, `set (schema "${this.name}" needs every field)`, v);
      const f = this.byName.get(key)!;
      f.type.store(v, slots, f.offset, `${what}.${key}`);
    }
    for (const key of Object.keys(value)) if (!this.byName.has(key)) this.field(key);
    return slots;
  }

  /** The typed value of one field from slots. @internal */
  get<K extends keyof F & string>(slots: readonly SlotValue[], key: K): FieldValue<F[K]> {
    const f = this.field(key);
    return f.type.load(slots, f.offset) as FieldValue<F[K]>;
  }

  /** The whole typed value from slots (a fresh object). @internal */
  toValue(slots: readonly SlotValue[]): InferFields<F> {
    const out: Record<string, unknown> = {};
    for (const key of this.fieldNames) {
      const f = this.byName.get(key)!;
      out[key] = f.type.load(slots, f.offset);
    }
    return out as InferFields<F>;
  }

  /** Write every slot. @internal */
  writeAll(w: BitWriter, slots: readonly SlotValue[]): void {
    const leaves = this.leaves;
    for (let i = 0; i < leaves.length; i++) leaves[i]!.write(w, slots[i]!);
  }

  /** Read every slot into `out`. @internal */
  readAll(r: BitReader, out: SlotValue[]): void {
    const leaves = this.leaves;
    for (let i = 0; i < leaves.length; i++) out[i] = leaves[i]!.read(r);
  }
}

const NAME = /^[A-Za-z_][\w.-]{0,63}$/;

/**
 * Declare a schema. `name` identifies it in errors and in the schema
 * fingerprint host and clients compare; field order is the wire order.
 */
export function defineSchema<const F extends Fields>(name: string, fields: F): Schema<F> {
  if (typeof name !== 'string' || !NAME.test(name)) invalid('schema name', 'a name of 1–64 letters, digits, _ . -, starting with a letter or _', name);
  if (fields === null || typeof fields !== 'object' || Array.isArray(fields)) invalid(`schema "${name}" fields`, 'an object of field types', fields);
  return new Schema(name, fields);
}

/** 16-bit FNV-1a fold of the fingerprints of a schema list (host and clients must agree). */
export function schemaSetHash(schemas: readonly Schema[]): number {
  let h = 0x811c9dc5;
  const text = schemas.map((s) => s.fingerprint).join('\n');
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return (h ^ (h >>> 16)) & 0xffff;
}
