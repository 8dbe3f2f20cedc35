/**
 * Fast path for the common call frame: `[kind, method, args(, requestId)]`
 * where every argument is a number, boolean, null or short ASCII string.
 * Writes standard msgpack by hand (what msgpackr would write for the same
 * values, so any msgpack decoder reads it); returns undefined for anything
 * else, and the caller falls back to msgpackr.
 * @module
 */

const MAX_FAST_STRING = 200;
let scratch = new Uint8Array(1024);
const view = () => new DataView(scratch.buffer);
let dv = view();
let pos = 0;

/** Views of `scratch[0, n)` by length `n` (made once per scratch buffer; see {@link fastEncodeMessageView}). */
let views: (Uint8Array | undefined)[] = [];
/** Longest message whose view is kept. */
const MAX_KEPT_VIEW = 1024;

function ensure(n: number): void {
  if (pos + n <= scratch.length) return;
  const next = new Uint8Array(Math.max(scratch.length * 2, pos + n));
  next.set(scratch.subarray(0, pos));
  scratch = next;
  dv = view();
  views = [];
}

function writeNumber(v: number): void {
  ensure(9);
  if (Number.isInteger(v)) {
    if (v >= 0) {
      if (v < 0x40) {
        scratch[pos++] = v;
        return;
      }
      // 0x40-0x7f are record references in msgpackr's record mode: write them as uint8, as msgpackr does.
      if (v < 0x100) {
        scratch[pos++] = 0xcc;
        scratch[pos++] = v;
        return;
      }
      if (v < 0x10000) {
        scratch[pos++] = 0xcd;
        dv.setUint16(pos, v);
        pos += 2;
        return;
      }
      if (v <= 0xffffffff) {
        scratch[pos++] = 0xce;
        dv.setUint32(pos, v);
        pos += 4;
        return;
      }
    } else {
      if (v >= -0x20) {
        scratch[pos++] = 0x100 + v;
        return;
      }
      if (v >= -0x80) {
        scratch[pos++] = 0xd0;
        dv.setInt8(pos++, v);
        return;
      }
      if (v >= -0x8000) {
        scratch[pos++] = 0xd1;
        dv.setInt16(pos, v);
        pos += 2;
        return;
      }
      if (v >= -0x80000000) {
        scratch[pos++] = 0xd2;
        dv.setInt32(pos, v);
        pos += 4;
        return;
      }
    }
  }
  scratch[pos++] = 0xcb;
  dv.setFloat64(pos, v);
  pos += 8;
}

/** ASCII strings only; false when the string is not ASCII or too long. */
function writeString(s: string): boolean {
  const n = s.length;
  if (n > MAX_FAST_STRING) return false;
  ensure(n + 2);
  if (n < 32) scratch[pos++] = 0xa0 | n;
  else {
    scratch[pos++] = 0xd9;
    scratch[pos++] = n;
  }
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) return false;
    scratch[pos++] = c;
  }
  return true;
}

function writeValue(v: unknown): boolean {
  switch (typeof v) {
    case 'number':
      writeNumber(v);
      return true;
    case 'string':
      return writeString(v);
    case 'boolean':
      ensure(1);
      scratch[pos++] = v ? 0xc3 : 0xc2;
      return true;
    case 'object':
      if (v !== null) return false;
      ensure(1);
      scratch[pos++] = 0xc0;
      return true;
    default:
      return false;
  }
}

/** Write `[kind, method, args(, requestId)]` at `pos`; false when a part does not take the fast path. */
function writeCall(kind: number, method: number | string, args: readonly unknown[], requestId: number | undefined): boolean {
  const n = args.length;
  if (n > 0xffff) return false;
  ensure(8);
  scratch[pos++] = requestId === undefined ? 0x93 : 0x94;
  scratch[pos++] = kind;
  if (typeof method === 'number') writeNumber(method);
  else if (!writeString(method)) return false;
  ensure(3);
  if (n < 16) scratch[pos++] = 0x90 | n;
  else {
    scratch[pos++] = 0xdc;
    dv.setUint16(pos, n);
    pos += 2;
  }
  for (let i = 0; i < n; i++) if (!writeValue(args[i])) return false;
  if (requestId !== undefined) writeNumber(requestId);
  return true;
}

/**
 * Encode `[kind, method, args]` (or with `requestId`, `[kind, method, args, requestId]`)
 * if every part takes the fast path; otherwise undefined. The result is a fresh copy.
 */
export function fastEncodeCall(kind: number, method: number | string, args: readonly unknown[], requestId?: number): Uint8Array | undefined {
  pos = 0;
  return writeCall(kind, method, args, requestId) ? scratch.slice(0, pos) : undefined;
}

/** Size of the slabs whole messages are cut from (like Node's Buffer pool). */
const SLAB_SIZE = 8192;
/** Messages longer than this get an array of their own. */
const MAX_SLAB_MESSAGE = 1024;
let slab = new Uint8Array(SLAB_SIZE);
let slabUsed = 0;

/**
 * A fresh array of `n` bytes holding `scratch[0, n)`. Small ones are cut from
 * a shared slab that is never written twice (so they may be kept by whoever
 * receives them), which spares each message its own allocation, and spares
 * native senders the first-touch cost of a small heap-allocated array.
 */
function copyOut(n: number): Uint8Array {
  if (n > MAX_SLAB_MESSAGE) return scratch.slice(0, n);
  if (slabUsed + n > SLAB_SIZE) {
    slab = new Uint8Array(SLAB_SIZE);
    slabUsed = 0;
  }
  const out = slab.subarray(slabUsed, slabUsed + n);
  slabUsed += n;
  for (let i = 0; i < n; i++) out[i] = scratch[i]!;
  return out;
}

const f64 = new Float64Array(1);
const f64Words = new Uint32Array(f64.buffer);
/** Index in {@link f64Words} of the float's high (first on the wire) word. */
const HI = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;

/**
 * The immediate call's common message, `header` then `[kind, method id,
 * args]` with up to 15 arguments that are numbers, booleans or null, written
 * with locals in one pass: the same bytes as {@link writeCall}. False for
 * anything else (the caller then starts over with the general writer).
 * Its number writes repeat {@link writeNumber}'s on purpose: sharing one
 * helper (position in, position out) measured 57 → 70 ns per encode.
 */
function writeSimpleMessage(header: Uint8Array, kind: number, method: number, args: readonly unknown[]): boolean {
  const n = args.length;
  const h = header.length;
  if (n > 15 || !(method >= 0 && method < 0x10000) || !Number.isInteger(method)) return false;
  pos = 0;
  ensure(h + 6 + 9 * n);
  const s = scratch;
  for (let i = 0; i < h; i++) s[i] = header[i]!;
  let p = h;
  s[p++] = 0x93;
  s[p++] = kind;
  if (method < 0x40) s[p++] = method;
  else if (method < 0x100) {
    s[p++] = 0xcc;
    s[p++] = method;
  } else {
    s[p++] = 0xcd;
    s[p++] = method >>> 8;
    s[p++] = method;
  }
  s[p++] = 0x90 | n;
  for (let i = 0; i < n; i++) {
    const v = args[i];
    if (typeof v !== 'number') {
      if (v === true) s[p++] = 0xc3;
      else if (v === false) s[p++] = 0xc2;
      else if (v === null) s[p++] = 0xc0;
      else return false;
      continue;
    }
    if (Number.isInteger(v)) {
      if (v >= 0) {
        if (v < 0x40) {
          s[p++] = v;
          continue;
        }
        if (v < 0x100) {
          s[p++] = 0xcc;
          s[p++] = v;
          continue;
        }
        if (v < 0x10000) {
          s[p++] = 0xcd;
          s[p++] = v >>> 8;
          s[p++] = v;
          continue;
        }
        if (v <= 0xffffffff) {
          s[p++] = 0xce;
          s[p++] = v >>> 24;
          s[p++] = v >>> 16;
          s[p++] = v >>> 8;
          s[p++] = v;
          continue;
        }
      } else {
        if (v >= -0x20) {
          s[p++] = 0x100 + v;
          continue;
        }
        if (v >= -0x80) {
          s[p++] = 0xd0;
          s[p++] = v;
          continue;
        }
        if (v >= -0x8000) {
          s[p++] = 0xd1;
          s[p++] = v >> 8;
          s[p++] = v;
          continue;
        }
        if (v >= -0x80000000) {
          s[p++] = 0xd2;
          s[p++] = v >> 24;
          s[p++] = v >> 16;
          s[p++] = v >> 8;
          s[p++] = v;
          continue;
        }
      }
    }
    // Not an integer, or an integer beyond 32 bits: a float64, as writeNumber writes it.
    f64[0] = v;
    const hi = f64Words[HI]!;
    const lo = f64Words[1 - HI]!;
    s[p] = 0xcb;
    s[p + 1] = hi >>> 24;
    s[p + 2] = hi >>> 16;
    s[p + 3] = hi >>> 8;
    s[p + 4] = hi;
    s[p + 5] = lo >>> 24;
    s[p + 6] = lo >>> 16;
    s[p + 7] = lo >>> 8;
    s[p + 8] = lo;
    p += 9;
  }
  pos = p;
  return true;
}

/** Write `header` then the call frame into the scratch buffer; false when it does not take the fast path or is longer than `maxLength`. */
function writeMessage(header: Uint8Array, maxLength: number, kind: number, method: number | string, args: readonly unknown[], requestId: number | undefined): boolean {
  if (requestId === undefined && typeof method === 'number' && writeSimpleMessage(header, kind, method, args)) return pos <= maxLength;
  const h = header.length;
  pos = 0;
  ensure(h);
  for (let i = 0; i < h; i++) scratch[i] = header[i]!;
  pos = h;
  return writeCall(kind, method, args, requestId) && pos <= maxLength;
}

/**
 * A whole one-frame message: `header` then the call frame of
 * {@link fastEncodeCall}, encoded in the reused scratch buffer and copied out
 * once into a fresh array of exactly its size. Undefined when the call does
 * not take the fast path or the message would be longer than `maxLength`.
 */
export function fastEncodeMessage(
  header: Uint8Array,
  maxLength: number,
  kind: number,
  method: number | string,
  args: readonly unknown[],
  requestId?: number,
): Uint8Array | undefined {
  return writeMessage(header, maxLength, kind, method, args, requestId) ? copyOut(pos) : undefined;
}

/**
 * {@link fastEncodeMessage} without the copy: a view of the reused scratch
 * buffer, valid only until the next encode. For a consumer that is done with
 * the bytes when its call returns (a mesh whose `putPacket` copies them into
 * its replay buffer or hands them to an engine, which copies them): no array
 * and no copy per message (views are kept by length).
 */
export function fastEncodeMessageView(
  header: Uint8Array,
  maxLength: number,
  kind: number,
  method: number | string,
  args: readonly unknown[],
  requestId?: number,
): Uint8Array | undefined {
  if (!writeMessage(header, maxLength, kind, method, args, requestId)) return undefined;
  const n = pos;
  if (n > MAX_KEPT_VIEW) return scratch.subarray(0, n);
  return (views[n] ??= scratch.subarray(0, n));
}
