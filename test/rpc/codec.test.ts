import { describe, expect, it } from 'vitest';
import { FrameKind, decodeMessage, encode, encodeHeader, tableChecksum } from '../../src/rpc/codec.js';
import { fastEncodeCall } from '../../src/rpc/fast-encode.js';

const msg = (...frames: Uint8Array[]) => {
  const parts = [encodeHeader(7), ...frames];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) (out.set(p, o), (o += p.length));
  return out;
};

describe('codec', () => {
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

  it('table checksum depends on the sorted names only', () => {
    expect(tableChecksum(['a', 'b'])).not.toBe(tableChecksum(['ab']));
    expect(tableChecksum(['a', 'b'])).not.toBe(tableChecksum(['a', 'c']));
    expect(tableChecksum([])).toBe(0x811c9dc5);
  });
});
