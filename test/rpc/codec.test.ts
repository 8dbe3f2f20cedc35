import { describe, expect, it } from 'vitest';
import { FrameKind, decodeMessage, encode, encodeHeader, tableChecksum } from '../../src/rpc/codec.js';
import { decodedCall, fastDecodeCall, fastDecodeMessage } from '../../src/rpc/fast-decode.js';
import { fastEncodeCall, fastEncodeMessage, fastEncodeMessageView } from '../../src/rpc/fast-encode.js';
import { MSGPACK_VALUES } from './harness.js';

const msg = (...frames: Uint8Array[]) => {
  const parts = [encodeHeader(7), ...frames];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) (out.set(p, o), (o += p.length));
  return out;
};

/**
 * 5000 copies of `bytes`, half of them truncated, each with up to two bytes
 * changed (a seeded generator: the same cases every run), given to `check`;
 * returns how many it took (true).
 */
function mutations(bytes: Uint8Array, seed: number, check: (m: Uint8Array) => boolean): number {
  const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) / 2 ** 24;
  let taken = 0;
  for (let i = 0; i < 5000; i++) {
    const m = bytes.slice(0, rnd() < 0.5 ? bytes.length : 1 + Math.floor(rnd() * bytes.length));
    for (let k = Math.floor(rnd() * 3); k > 0; k--) m[Math.floor(rnd() * m.length)] = Math.floor(rnd() * 256);
    if (check(m)) taken++;
  }
  return taken;
}

describe('codec', () => {
  it('the fast reader gives what msgpackr gives, or leaves the message to msgpackr', () => {
    const args = [0, 1, 31, 32, 63, 64, 100, 127, 128, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, -1, -32, -33, -128, -129, -32768, -32769, -(2 ** 31), -(2 ** 31) - 1, 1.5, -0.25, NaN, Infinity, 2 ** 53, true, false, null, '', 'abc', 'x'.repeat(31), 'y'.repeat(32), 'z'.repeat(200)];
    const call = fastEncodeCall(FrameKind.CALL, 70, args)!;
    const request = encode([FrameKind.REQUEST, 'name', [1, [2, 3]], 123456]);
    const both = msg(call, request, encode([FrameKind.HELLO, 4_000_000_000, 3]));
    const fast = fastDecodeMessage(both)!;
    expect(fast).toBeDefined();
    expect(fast).toEqual(decodeMessage(both));
    // Deeper nesting is left to msgpackr.
    expect(fastDecodeMessage(msg(encode([FrameKind.CALL, 0, [[[1]]]])))).toBeUndefined();
    expect(decodeMessage(msg(encode([FrameKind.CALL, 0, [[[1]]]]))).frames).toEqual([[FrameKind.CALL, 0, [[[1]]]]]);
    // The whole-message encoder is the header then the frame.
    const header = encodeHeader(tableChecksum(['a', 'b']));
    const small = fastEncodeCall(FrameKind.REQUEST, 'name', [1, 'x'], 123456)!;
    const whole = fastEncodeMessage(header, 1000, FrameKind.REQUEST, 'name', [1, 'x'], 123456)!;
    expect([...whole]).toEqual([...header, ...small]);
    expect(fastEncodeMessage(header, header.length + small.length - 1, FrameKind.REQUEST, 'name', [1, 'x'], 123456)).toBeUndefined();
    // Every msgpack type: either the same value as msgpackr, or left to msgpackr.
    let taken = 0;
    for (const [label, v] of MSGPACK_VALUES) {
      const m = msg(encode([FrameKind.CALL, 0, [v]]));
      const f = fastDecodeMessage(m);
      if (f !== undefined) {
        taken++;
        expect(f, label).toEqual(decodeMessage(m));
      }
    }
    expect(taken).toBeGreaterThan(5);
    expect(taken).toBeLessThan(MSGPACK_VALUES.length);
    // Mutated and truncated bytes: never a throw, never a value msgpackr would not give.
    const agreed = mutations(both, 12345, (m) => {
      const f = fastDecodeMessage(m);
      if (f === undefined) return false;
      expect(f).toEqual(decodeMessage(m));
      return true;
    });
    expect(agreed).toBeGreaterThan(100);
    expect(fastDecodeMessage(new Uint8Array([0x93, 0, 0]))).toBeUndefined(); // header is not a number
    expect(fastDecodeMessage(new Uint8Array([0x05, 0x93, 0, 0x40, 0x90]))).toBeUndefined(); // 0x40: a record reference to msgpackr
  });

  it("the immediate call's reader gives msgpackr's call frame, or leaves the message to the other readers", () => {
    const args = [0, 1, 63, 64, 255, 256, 65535, 65536, 2 ** 32 - 1, -1, -33, -129, -32769, -(2 ** 31), 1.5, -0.25, NaN, Infinity, 2 ** 53, true, false, null, '', 'abc', 'y'.repeat(32)];
    for (const checksum of [0, 7, 63, 200, 65535, 4_000_000_000]) {
      for (const method of [0, 5, 63, 64, 300]) {
        const m = fastEncodeMessage(encodeHeader(checksum), 4096, FrameKind.CALL, method, args)!;
        const got = fastDecodeCall(m);
        expect(got).toEqual(args);
        expect(decodedCall).toEqual({ checksum, method });
        expect(decodeMessage(m)).toEqual({ checksum, frames: [[FrameKind.CALL, method, got]] });
      }
    }
    // Not an immediate call's message: a name, a request, nested arguments, two frames, a system frame.
    expect(fastDecodeCall(msg(encode([FrameKind.CALL, 'move', [1]])))).toBeUndefined();
    expect(fastDecodeCall(msg(encode([FrameKind.REQUEST, 0, [1], 9])))).toBeUndefined();
    expect(fastDecodeCall(msg(encode([FrameKind.CALL, 0, [[1]]])))).toBeUndefined();
    expect(fastDecodeCall(msg(encode([FrameKind.CALL, 0, [1]]), encode([FrameKind.CALL, 0, [2]])))).toBeUndefined();
    expect(fastDecodeCall(msg(encode([FrameKind.HELLO, 4_000_000_000, 3])))).toBeUndefined();
    expect(fastDecodeCall(msg(encode([FrameKind.CALL, 0, [{ a: 1 }]])))).toBeUndefined();
    // Mutated and truncated bytes: never a throw, never a value msgpackr would not give.
    const call = fastEncodeMessage(encodeHeader(tableChecksum(['a', 'b'])), 4096, FrameKind.CALL, 1, args)!;
    const agreed = mutations(call, 777, (m) => {
      const got = fastDecodeCall(m);
      if (got === undefined) return false;
      expect(decodeMessage(m)).toEqual({ checksum: decodedCall.checksum, frames: [[FrameKind.CALL, decodedCall.method, got]] });
      return true;
    });
    expect(agreed).toBeGreaterThan(100);
  });

  it("the immediate call's message is the header then exactly the call frame, for every number range", () => {
    const numbers = [0, 1, 63, 64, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, 2 ** 53, -0, -1, -32, -33, -128, -129, -32768, -32769, -(2 ** 31), -(2 ** 31) - 1, 1.5, -0.25, NaN, Infinity, -Infinity, 1e300];
    const header = encodeHeader(4_000_000_000);
    const sets: unknown[][] = [[], [true, false, null], ...numbers.map((v) => [v]), numbers.slice(0, 15), numbers.slice(12, 27), [1, 'x'], numbers.slice(0, 16)];
    for (const method of [0, 63, 64, 255, 256, 65535, 65536]) {
      for (const args of sets) {
        const frame = fastEncodeCall(FrameKind.CALL, method, args)!;
        const expected = [...header, ...frame];
        expect([...fastEncodeMessage(header, 4096, FrameKind.CALL, method, args)!]).toEqual(expected);
        expect([...fastEncodeMessageView(header, 4096, FrameKind.CALL, method, args)!]).toEqual(expected);
        // (-0 travels as 0, as it always has.)
        const back = args.map((v) => (Object.is(v, -0) ? 0 : v));
        expect(decodeMessage(fastEncodeMessage(header, 4096, FrameKind.CALL, method, args)!).frames).toEqual([[FrameKind.CALL, method, back]]);
      }
    }
    // Too long for maxLength: refused, as before.
    expect(fastEncodeMessage(header, header.length + 4, FrameKind.CALL, 1, [1.5])).toBeUndefined();
  });

  it('the fast path writes what msgpackr reads back, for every number range and short strings', () => {
    const args = [0, 1, 31, 32, 63, 64, 100, 127, 128, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, -1, -32, -33, -128, -129, -32768, -32769, -(2 ** 31), -(2 ** 31) - 1, 1.5, -0.25, NaN, Infinity, 2 ** 53, true, false, null, '', 'abc', 'x'.repeat(31), 'y'.repeat(32), 'z'.repeat(200)];
    const fast = fastEncodeCall(FrameKind.CALL, 70, args)!;
    expect(fast).toBeDefined();
    expect(decodeMessage(msg(fast)).frames).toEqual([[FrameKind.CALL, 70, args]]);
    const req = fastEncodeCall(FrameKind.REQUEST, 'name', [1], 123456)!;
    expect(decodeMessage(msg(req)).frames).toEqual([[FrameKind.REQUEST, 'name', [1], 123456]]);
    // Non-ASCII strings, long strings, objects and undefined take msgpackr's path.
    expect(fastEncodeCall(FrameKind.CALL, 0, ['é'])).toBeUndefined();
    expect(fastEncodeCall(FrameKind.CALL, 0, ['x'.repeat(201)])).toBeUndefined();
    expect(fastEncodeCall(FrameKind.CALL, 0, [{}])).toBeUndefined();
    expect(fastEncodeCall(FrameKind.CALL, 0, [undefined])).toBeUndefined();
  });

  it('record definitions do not leak from one message into the next', () => {
    // A message with objects (records 0x40…) then one whose ints 64..127 must stay ints.
    decodeMessage(msg(encode([FrameKind.CALL, 0, [{ a: 1 }, { b: 2 }, { c: 3 }]])));
    const ints = Array.from({ length: 64 }, (_, i) => 64 + i);
    const raw = new Uint8Array([0x93, 0, 0, 0xdc, 0, 64, ...ints]); // hand-written fixints 0x40-0x7f
    const out = decodeMessage(msg(raw)).frames[0] as unknown[];
    expect(out[2]).toEqual(ints);
  });

  it('objects and Maps stay distinct; bins decode as Uint8Array', () => {
    const v = [{ a: 1, m: new Map([[1, { b: 2 }]]) }, new Uint8Array([1, 2])];
    const [frame] = decodeMessage(Buffer.from(msg(encode([FrameKind.CALL, 0, v])))).frames as [unknown[]];
    const [obj, bin] = frame[2] as [{ a: number; m: Map<number, unknown> }, Uint8Array];
    expect(Object.getPrototypeOf(obj)).toBe(Object.prototype);
    expect(obj.m).toBeInstanceOf(Map);
    expect(obj.m.get(1)).toEqual({ b: 2 });
    expect(Object.getPrototypeOf(bin)).toBe(Uint8Array.prototype);
  });

  it('reads what other msgpack encoders write exactly: float32, (u)int64 as bigint, every timestamp size', () => {
    const f32 = (x: number) => {
      const b = new Uint8Array(5);
      b[0] = 0xca;
      new DataView(b.buffer).setFloat32(1, x);
      return b;
    };
    const u64 = (x: bigint, tag: 0xcf | 0xd3) => {
      const b = new Uint8Array(9);
      b[0] = tag;
      if (tag === 0xcf) new DataView(b.buffer).setBigUint64(1, x);
      else new DataView(b.buffer).setBigInt64(1, x);
      return b;
    };
    const ts32 = [0xd6, 0xff, 0x65, 0x53, 0xf1, 0x00]; // 1 700 000 000 s
    const ts64 = [0xd7, 0xff, 0x1d, 0x54, 0x46, 0x00, 0x65, 0x53, 0xf1, 0x00]; // + 123 000 000 ns
    const ts96 = [0xc7, 0x0c, 0xff, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]; // −1 s
    const items = [f32(0.1), f32(-3.4028234663852886e38), u64(5n, 0xcf), u64(2n ** 64n - 1n, 0xcf), u64(-(2n ** 63n), 0xd3), new Uint8Array(ts32), new Uint8Array(ts64), new Uint8Array(ts96)];
    const body = items.reduce((n, p) => n + p.length, 0);
    const frame = new Uint8Array([0x93, 0, 0, 0xdc, 0, items.length, ...items.flatMap((p) => [...p])]);
    expect(frame.length).toBe(6 + body);
    const args = (decodeMessage(msg(frame)).frames[0] as unknown[])[2] as unknown[];
    expect(Object.is(args[0], Math.fround(0.1))).toBe(true);
    expect(Object.is(args[1], -3.4028234663852886e38)).toBe(true);
    expect(args.slice(2, 5)).toEqual([5n, 2n ** 64n - 1n, -(2n ** 63n)]);
    expect(args.slice(2, 5).every((v) => typeof v === 'bigint')).toBe(true);
    expect(args.slice(5).map((d) => (d as Date).getTime())).toEqual([1_700_000_000_000, 1_700_000_000_123, -1000]);
  });

  it('writes bigints, Dates and float32-representable numbers so they come back exactly', () => {
    const args = [5n, 2n ** 64n - 1n, -(2n ** 63n), new Date(1_700_000_000_123), new Date(-1), Math.fround(0.1), 3.4028234663852886e38];
    expect(fastEncodeCall(FrameKind.CALL, 0, args)).toBeUndefined(); // not the fast path: msgpackr writes them
    const bytes = encode([FrameKind.CALL, 0, args]);
    expect([...bytes.subarray(4, 5)]).toEqual([0xd3]); // 5n: int64 (msgpackr keeps bigints 64-bit)
    const out = (decodeMessage(msg(bytes)).frames[0] as unknown[])[2] as unknown[];
    expect(out).toEqual(args);
    expect(out.slice(0, 3).every((v) => typeof v === 'bigint')).toBe(true);
    expect(out.slice(5).every((v, i) => Object.is(v, args[5 + i]))).toBe(true);
    expect(() => encode(2n ** 64n)).toThrow();
    expect(() => encode(-(2n ** 63n) - 1n)).toThrow();
  });

  it('refuses msgpackr structured-clone references from the wire (no cyclic values)', () => {
    // [ref #1 → [ pointer to #1 ] ]: a self-containing array if it were accepted.
    const cyclic = new Uint8Array([0x91, 0xd6, 0x69, 0, 0, 0, 1, 0x91, 0xd6, 0x70, 0, 0, 0, 1]);
    expect(() => decodeMessage(msg(new Uint8Array([0x93, 0, 0]), cyclic))).toThrow(/structured clone/i);
  });

  it('a message whose reader would loop back (msgpackr bundled strings, 0x62) is refused, not read forever', () => {
    // Header '', then '' and a bundled-strings extension whose size points back to byte 0: without the
    // progress check, every read of the extension sends the reader back to byte 2.
    const looping = new Uint8Array([0xa0, 0xa0, 0xd6, 0x62, 0xff, 0xff, 0xff, 0xfc, 0xc0]);
    expect(() => decodeMessage(looping)).toThrow(/does not advance/);
    expect(decodeMessage(msg(new Uint8Array([0x92, 6, 1]))).frames).toEqual([[6, 1]]); // the decoder is still sound
  });

  it('table checksum depends on the sorted names only', () => {
    expect(tableChecksum(['a', 'b'])).not.toBe(tableChecksum(['ab']));
    expect(tableChecksum(['a', 'b'])).not.toBe(tableChecksum(['a', 'c']));
    expect(tableChecksum([])).toBe(0x811c9dc5);
  });
});
