/**
 * Unsigned LEB128 varints for safe integers (up to 2^53 − 1, at most 8 bytes).
 * Used by the session header and control frames; decoding never throws.
 * @module
 */

/** Longest varint this module writes or accepts. */
export const MAX_VARINT_BYTES = 8;

/** Bytes needed to encode `n`. */
export function varintLength(n: number): number {
  if (n < 0x80) return 1;
  if (n < 0x4000) return 2;
  if (n < 0x200000) return 3;
  if (n < 0x10000000) return 4;
  let len = 4;
  n = Math.floor(n / 0x10000000);
  while (n > 0) {
    n = Math.floor(n / 128);
    len++;
  }
  return len;
}

/** Write `n` at `offset`; returns the offset after it. */
export function writeVarint(out: Uint8Array, offset: number, n: number): number {
  // Below 2^28 with bit operations (the session header's sequence numbers), larger ones by division.
  while (n >= 0x10000000) {
    out[offset++] = (n % 128) | 0x80;
    n = Math.floor(n / 128);
  }
  while (n >= 0x80) {
    out[offset++] = (n & 0x7f) | 0x80;
    n >>>= 7;
  }
  out[offset++] = n;
  return offset;
}

/** The offset after the varint {@link readVarintValue} read last. */
export let varintEnd = 0;

/**
 * Read a varint at `offset` without allocating: its value (and the offset
 * after it in {@link varintEnd}), or −1 when truncated or too long.
 */
export function readVarintValue(data: Uint8Array, offset: number): number {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < MAX_VARINT_BYTES; i++) {
    const at = offset + i;
    if (at >= data.length) return -1;
    const b = data[at]!;
    value += (b & 0x7f) * scale;
    if ((b & 0x80) === 0) {
      if (!Number.isSafeInteger(value)) return -1;
      varintEnd = at + 1;
      return value;
    }
    scale *= 128;
  }
  return -1;
}

/** Read a varint at `offset`: `[value, nextOffset]`, or undefined when truncated or too long. */
export function readVarint(data: Uint8Array, offset: number): [number, number] | undefined {
  const value = readVarintValue(data, offset);
  return value < 0 ? undefined : [value, varintEnd];
}
