/**
 * Schemas and the bit codec: every field type round-trips through the wire,
 * edges included (quantisation bounds and clamping, negative ints, 32-bit
 * extremes, strings, enums), and bad values are refused with INVALID_ARGUMENT.
 */
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/errors.js';
import { BitReader, BitWriter, TruncatedError } from '../../src/sync/bits.js';
import { defineSchema, t, type Infer } from '../../src/sync/index.js';

const All = defineSchema('all', {
  i8: t.int8,
  i16: t.int16,
  i32: t.int32,
  u8: t.uint8,
  u16: t.uint16,
  u32: t.uint32,
  f32: t.float32,
  f64: t.float64,
  flag: t.bool,
  name: t.string(16),
  team: t.enum(['red', 'green', 'blue']),
  q: t.quant(-10, 10, 0.01),
  pos: t.vec3(t.quant(-1000, 1000, 0.01)),
  dir: t.vec2(t.float32),
  slots: t.array(t.uint8, 4),
  pts: t.array(t.vec2(t.int16), 2),
});
type AllState = Infer<typeof All>;

function roundTrip(value: AllState): AllState {
  const slots = All.toSlots(value, 'v');
  const w = new BitWriter(8);
  All.writeAll(w, slots);
  const out = new Array(All.slotCount);
  const r = new BitReader().reset(w.finish());
  All.readAll(r, out);
  expect(r.remaining).toBeLessThan(8);
  return All.toValue(out);
}

const base: AllState = {
  i8: -128,
  i16: 32767,
  i32: -(2 ** 31),
  u8: 255,
  u16: 0,
  u32: 2 ** 32 - 1,
  f32: 1.1,
  f64: Math.PI,
  flag: true,
  name: 'héllo ✓',
  team: 'blue',
  q: 3.14159,
  pos: { x: -1000, y: 999.994, z: 0.005 },
  dir: { x: -0, y: 1e-3 },
  slots: [0, 1, 254, 255],
  pts: [{ x: -32768, y: 5 }, { x: 7, y: 32767 }],
};

describe('schema codec', () => {
  it('round-trips every field type with edge values, as normalised by the host', () => {
    const v = roundTrip(base);
    expect(v.i8).toBe(-128);
    expect(v.i16).toBe(32767);
    expect(v.i32).toBe(-(2 ** 31));
    expect(v.u32).toBe(2 ** 32 - 1);
    expect(v.f32).toBe(Math.fround(1.1));
    expect(v.f64).toBe(Math.PI);
    expect(v.flag).toBe(true);
    expect(v.name).toBe('héllo ✓');
    expect(v.team).toBe('blue');
    expect(v.q).toBeCloseTo(3.14, 10);
    expect(v.pos.x).toBe(-1000);
    expect(v.pos.y).toBeCloseTo(999.99, 9);
    expect(Math.abs(v.pos.z - 0.01) < 1e-9 || Math.abs(v.pos.z) < 1e-9).toBe(true);
    expect(Object.is(v.dir.x, 0)).toBe(true); // -0 travels as 0
    expect(v.dir.y).toBe(Math.fround(1e-3));
    expect(v.slots).toEqual([0, 1, 254, 255]);
    expect(v.pts).toEqual(base.pts);
    // What the host stores is exactly what the client decodes.
    expect(v).toEqual(All.toValue(All.toSlots(base, 'v')));
  });

  it('quantised floats: bounds are exact, outside values clamp, the grid step holds', () => {
    const q = t.quant(-1000, 1000, 0.01);
    const leaf = q.leaves[0]!;
    expect(leaf.normalize(-1000, 'x')).toBe(-1000);
    expect(leaf.normalize(1000, 'x')).toBe(1000);
    expect(leaf.normalize(5000, 'x')).toBe(1000);
    expect(leaf.normalize(-1e9, 'x')).toBe(-1000);
    expect(Math.abs((leaf.normalize(123.456, 'x') as number) - 123.46)).toBeLessThan(1e-9);
    for (let i = 0; i < 200; i++) {
      const x = -1000 + i * 10.0137;
      const n = leaf.normalize(x, 'x') as number;
      expect(Math.abs(n - x)).toBeLessThanOrEqual(0.005 + 1e-9);
      const w = new BitWriter();
      leaf.write(w, n);
      expect(w.bitLength).toBe(18); // 200 001 steps
      expect(leaf.read(new BitReader().reset(w.finish()))).toBe(n);
    }
  });

  it('refuses bad values with INVALID_ARGUMENT naming the field', () => {
    const bad: [string, unknown][] = [
      ['i8', 128],
      ['u8', -1],
      ['u8', 1.5],
      ['i32', 2 ** 31],
      ['u32', 2 ** 32],
      ['f32', NaN],
      ['flag', 1],
      ['name', 'x'.repeat(17)],
      ['team', 'purple'],
      ['q', 'a'],
      ['pos', { x: 1, y: 2 }],
      ['slots', [1, 2, 3]],
    ];
    for (const [key, value] of bad) {
      expect(() => All.toSlots({ ...base, [key]: value }, 'v'), key).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT, message: expect.stringContaining(key) }));
    }
    expect(() => All.toSlots({ ...base, extra: 1 } as AllState, 'v')).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }));
    const { i8: _, ...missing } = base;
    expect(() => All.toSlots(missing as AllState, 'v')).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }));
    expect(() => t.quant(1, 1, 0.1)).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }));
    expect(() => t.enum([])).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }));
    expect(() => t.vec2(t.string() as never)).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }));
  });

  it('decoding refuses truncated data and out-of-range codes', () => {
    const slots = All.toSlots(base, 'v');
    const w = new BitWriter();
    All.writeAll(w, slots);
    const bytes = w.finish();
    for (let cut = 0; cut < bytes.length - 1; cut++) {
      expect(() => All.readAll(new BitReader().reset(bytes.subarray(0, cut)), [])).toThrow(TruncatedError);
    }
    const e = t.enum(['a', 'b', 'c']).leaves[0]!;
    expect(() => e.read(new BitReader().reset(new Uint8Array([0xc0])))).toThrow(TruncatedError); // index 3
    const s = t.string(2).leaves[0]!;
    const sw = new BitWriter();
    sw.uvar(3);
    expect(() => s.read(new BitReader().reset(sw.finish()))).toThrow(TruncatedError);
  });

  it('bit writer: exp-Golomb codes and raw bits round-trip across the range', () => {
    const w = new BitWriter(4);
    const values = [0, 1, 2, 3, 6, 7, 100, 255, 65535, 2 ** 31, 2 ** 32 - 1];
    for (const v of values) {
      w.uvar(v);
      w.bits(v, 32);
      w.bits(v & 0x7, 3);
      w.wide(v, 40);
    }
    const r = new BitReader().reset(w.finish());
    for (const v of values) {
      expect(r.uvar()).toBe(v);
      expect(r.bits(32)).toBe(v >>> 0);
      expect(r.bits(3)).toBe(v & 7);
      expect(r.wide(40)).toBe(v);
    }
    expect(r.remaining).toBeLessThan(8);
  });
});
