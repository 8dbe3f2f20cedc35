/**
 * Fast path for reading the common message: a header, then frames whose
 * values are arrays (up to three deep), numbers, booleans, null and short
 * ASCII strings — what the fast encoder writes. Reads standard msgpack by
 * hand, giving exactly what msgpackr gives for the same bytes; anything else
 * (maps, bins, extensions, records, float32, 64-bit ints, non-ASCII strings,
 * truncation) returns undefined and the caller decodes the whole message with
 * msgpackr, which also reports malformed input. Never throws.
 * @module
 */
import { float64At, uint32At } from '../util/big-endian.js';

/** Nesting allowed: frame → args → one more level. */
const MAX_DEPTH = 3;
/** Longest array the fast path reads. */
const MAX_ARRAY = 0xffff;

/** Sentinel for "not on the fast path". */
const FAIL: unique symbol = Symbol('fast-decode fail');
type Value = unknown;

let buf: Uint8Array = new Uint8Array(0);
let pos = 0;
let end = 0;

function readFloat64(): number | typeof FAIL {
  const p = pos;
  if (p + 8 > end) return FAIL;
  pos = p + 8;
  return float64At(buf, p);
}

function readAscii(n: number): string | typeof FAIL {
  if (pos + n > end) return FAIL;
  let s = '';
  for (let i = 0; i < n; i++) {
    const c = buf[pos + i]!;
    if (c >= 0x80) return FAIL;
    s += String.fromCharCode(c);
  }
  pos += n;
  return s;
}

function readArray(n: number, depth: number): Value[] | typeof FAIL {
  if (depth >= MAX_DEPTH) return FAIL;
  const out = new Array<Value>(n);
  for (let i = 0; i < n; i++) {
    const v = readValue(depth + 1);
    if (v === FAIL) return FAIL;
    out[i] = v;
  }
  return out;
}

function readValue(depth: number): Value | typeof FAIL {
  if (pos >= end) return FAIL;
  const b = buf[pos];
  if (b! >= 0x90 && b! <= 0x9f) {
    pos++;
    return readArray(b! & 0x0f, depth);
  }
  if (b === 0xdc) {
    pos++;
    if (pos + 2 > end) return FAIL;
    const n = (buf[pos]! << 8) | buf[pos + 1]!;
    pos += 2;
    return n > MAX_ARRAY ? FAIL : readArray(n, depth);
  }
  return readScalar();
}

/** A value that is not an array (arrays: FAIL). */
function readScalar(): Value | typeof FAIL {
  if (pos >= end) return FAIL;
  const b = buf[pos++]!;
  // 0x40–0x7f are record references in msgpackr's record mode: not on the fast path.
  if (b < 0x40) return b;
  if (b >= 0xe0) return b - 0x100;
  if (b >= 0xa0 && b <= 0xbf) return readAscii(b & 0x1f);
  switch (b) {
    case 0xc0:
      return null;
    case 0xc2:
      return false;
    case 0xc3:
      return true;
    case 0xcc:
      return pos + 1 > end ? FAIL : buf[pos++]!;
    case 0xcd:
      if (pos + 2 > end) return FAIL;
      pos += 2;
      return (buf[pos - 2]! << 8) | buf[pos - 1]!;
    case 0xce:
      if (pos + 4 > end) return FAIL;
      pos += 4;
      return uint32At(buf, pos - 4);
    case 0xd0:
      return pos + 1 > end ? FAIL : (buf[pos++]! << 24) >> 24;
    case 0xd1:
      if (pos + 2 > end) return FAIL;
      pos += 2;
      return (((buf[pos - 2]! << 8) | buf[pos - 1]!) << 16) >> 16;
    case 0xd2:
      if (pos + 4 > end) return FAIL;
      pos += 4;
      return (buf[pos - 4]! << 24) | (buf[pos - 3]! << 16) | (buf[pos - 2]! << 8) | buf[pos - 1]!;
    case 0xcb:
      return readFloat64();
    case 0xd9:
      return pos + 1 > end ? FAIL : readAscii(buf[pos++]!);
    default:
      return FAIL;
  }
}

/** Header checksum and method id of the call {@link fastDecodeCall} returned last. */
export const decodedCall = { checksum: 0, method: 0 };

/**
 * The immediate call's message, read without building its frames: a header,
 * then exactly one `[CALL, method id, args]` frame whose arguments are
 * numbers, booleans, null or short ASCII strings (no arrays). Returns the
 * arguments, with the header's checksum and the method id in
 * {@link decodedCall}; undefined for any other message (read it with
 * {@link fastDecodeMessage}, or msgpackr). Gives exactly what those give for
 * the same bytes. Never throws.
 */
export function fastDecodeCall(data: Uint8Array): unknown[] | undefined {
  // Locals, not the module's reader state, on the common path: one message per call, every byte read once.
  const n = data.length;
  let p: number;
  let checksum: number;
  const h = data[0];
  if (h === undefined) return undefined;
  if (h < 0x40) {
    checksum = h;
    p = 1;
  } else if (h === 0xce && n >= 5) {
    checksum = uint32At(data, 1);
    p = 5;
  } else if (h === 0xcc && n >= 2) {
    checksum = data[1]!;
    p = 2;
  } else if (h === 0xcd && n >= 3) {
    checksum = (data[1]! << 8) | data[2]!;
    p = 3;
  } else return undefined;
  // [CALL (0), method id, args]
  if (p + 4 > n || data[p] !== 0x93 || data[p + 1] !== 0) return undefined;
  p += 2;
  let method = data[p]!;
  if (method < 0x40) p++;
  else if (method === 0xcc && p + 2 <= n) {
    method = data[p + 1]!;
    p += 2;
  } else if (method === 0xcd && p + 3 <= n) {
    method = (data[p + 1]! << 8) | data[p + 2]!;
    p += 3;
  } else return undefined;
  if (p >= n) return undefined;
  const a = data[p++]!;
  let count: number;
  if (a >= 0x90 && a <= 0x9f) count = a & 0x0f;
  else if (a === 0xdc && p + 2 <= n) {
    count = (data[p]! << 8) | data[p + 1]!;
    p += 2;
  } else return undefined;
  if (count > n - p) return undefined; // every argument takes at least one byte
  const args = new Array<Value>(count);
  for (let i = 0; i < count; i++) {
    const b = data[p]!;
    if (b < 0x40) {
      args[i] = b;
      p++;
    } else if (b === 0xcb && p + 9 <= n) {
      args[i] = float64At(data, p + 1);
      p += 9;
    } else {
      // Any other scalar: the shared reader (arrays are left to the other readers).
      buf = data;
      pos = p;
      end = n;
      const v = readScalar();
      p = pos;
      buf = EMPTY;
      if (v === FAIL) return undefined;
      args[i] = v;
    }
  }
  if (p !== n) return undefined;
  decodedCall.checksum = checksum;
  decodedCall.method = method;
  return args;
}

/**
 * Decode `data` as a header (an unsigned integer) followed by frames, if the
 * whole message takes the fast path; otherwise undefined.
 */
export function fastDecodeMessage(data: Uint8Array): { checksum: number; frames: unknown[] } | undefined {
  buf = data;
  pos = 0;
  end = data.length;
  try {
    const checksum = readValue(0);
    if (typeof checksum !== 'number' || checksum < 0) return undefined;
    const frames: unknown[] = [];
    while (pos < end) {
      const frame = readValue(0);
      if (frame === FAIL) return undefined;
      frames.push(frame);
    }
    return { checksum, frames };
  } finally {
    buf = EMPTY;
  }
}

const EMPTY = new Uint8Array(0);
