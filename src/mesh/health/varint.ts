/**
 * Unsigned LEB128 varints for safe integers (up to 2^53 − 1, at most 8 bytes).
 * Used by the session header and control frames; decoding never throws.
 * @module
 */

/** Longest varint this module writes or accepts. */
export const MAX_VARINT_BYTES = 8;

/** Bytes needed to encode `n`. */
export function varintLength(n: number): number {
  let len = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    len++;
  }
  return len;
}

/** Write `n` at `offset`; returns the offset after it. */
export function writeVarint(out: Uint8Array, offset: number, n: number): number {
  while (n >= 0x80) {
    out[offset++] = (n % 128) | 0x80;
    n = Math.floor(n / 128);
  }
  out[offset++] = n;
  return offset;
}

/** Read a varint at `offset`: `[value, nextOffset]`, or undefined when truncated or too long. */
export function readVarint(data: Uint8Array, offset: number): [number, number] | undefined {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < MAX_VARINT_BYTES; i++) {
    const at = offset + i;
    if (at >= data.length) return undefined;
    const b = data[at]!;
    value += (b & 0x7f) * scale;
    if ((b & 0x80) === 0) return Number.isSafeInteger(value) ? [value, at + 1] : undefined;
    scale *= 128;
  }
  return undefined;
}
