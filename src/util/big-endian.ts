/**
 * Big-endian fixed-width fields read from and written to byte arrays
 * directly, without a `DataView`: a `DataView` needs the array's `buffer`,
 * and for a small fresh array (which V8 keeps on its own heap) taking the
 * buffer first moves the array off the heap.
 * @module
 */

const f64 = new Float64Array(1);
const f64Words = new Uint32Array(f64.buffer);
/** Index in {@link f64Words} of the float's high (first on the wire) and low word: Float64Array is platform-endian. */
const HI = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;
const LO = 1 - HI;

/** The big-endian u32 at `b[p]` (4 bytes there). */
export function uint32At(b: Uint8Array, p: number): number {
  return ((b[p]! << 24) >>> 0) + ((b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!);
}

/** Write `v` (a u32) big-endian at `b[p]`. */
export function putUint32(b: Uint8Array, p: number, v: number): void {
  b[p] = v >>> 24;
  b[p + 1] = v >>> 16;
  b[p + 2] = v >>> 8;
  b[p + 3] = v;
}

/** The big-endian float64 at `b[p]` (8 bytes there): two words into the platform-endian float, two stores, not eight. */
export function float64At(b: Uint8Array, p: number): number {
  f64Words[HI] = (b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!;
  f64Words[LO] = (b[p + 4]! << 24) | (b[p + 5]! << 16) | (b[p + 6]! << 8) | b[p + 7]!;
  return f64[0]!;
}

/** Write `v` as a big-endian float64 at `b[p]`. */
export function putFloat64(b: Uint8Array, p: number, v: number): void {
  f64[0] = v;
  putUint32(b, p, f64Words[HI]!);
  putUint32(b, p + 4, f64Words[LO]!);
}
