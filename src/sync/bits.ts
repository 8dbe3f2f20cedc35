/**
 * Bit-level writer and reader (MSB first) over reused byte buffers, plus
 * exp-Golomb codes for small unsigned integers. The wire of the sync layer.
 * @module
 */

/** Thrown (and caught inside the sync layer) when a reader runs past its data or meets a bad code. */
export class TruncatedError extends Error {
  constructor(what: string) {
    super(what);
    this.name = 'TruncatedError';
  }
}

const f32 = new Float32Array(1);
const f32u = new Uint32Array(f32.buffer);
const f64 = new Float64Array(1);
const f64u = new Uint32Array(f64.buffer);
// Index of the high word of a float64 on this platform's byte order.
const HI = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;
const LO = 1 - HI;

/**
 * Appends bits to a growable buffer that is reused across messages. Bits
 * gather in a 32-bit accumulator that is stored as one big-endian word when
 * full, so most writes touch no memory.
 */
export class BitWriter {
  /** Always at least 4 bytes longer than {@link pos} (room to flush the accumulator). */
  private buf: Uint8Array;
  /** Whole bytes written to {@link buf}. */
  private pos = 0;
  /** Pending bits (fewer than 32), right-aligned. */
  private acc = 0;
  private accBits = 0;

  constructor(initialBytes = 1500) {
    this.buf = new Uint8Array(Math.max(8, initialBytes));
  }

  /** Bits written so far. */
  get bitLength(): number {
    return this.pos * 8 + this.accBits;
  }

  /** Start a new message (keeps the buffer). */
  reset(): void {
    this.pos = 0;
    this.acc = 0;
    this.accBits = 0;
  }

  /** Bytes written so far (a partial last byte counts). */
  get byteLength(): number {
    return this.pos + ((this.accBits + 7) >>> 3);
  }

  /** Cut back to `bits` bits (drops what was written after: a rollback). */
  truncate(bits: number): void {
    if (bits >= this.bitLength) return;
    this.flushPartial();
    this.pos = bits >>> 3;
    if (this.pos + 4 > this.buf.length) this.grow(this.pos + 8); // (the cut may fall inside the pending word)
    this.accBits = bits & 7;
    this.acc = this.accBits === 0 ? 0 : this.buf[this.pos]! >>> (8 - this.accBits);
  }

  /** Write the low `n` bits of `v` (0 ≤ n ≤ 32; `v` taken as unsigned). */
  bits(v: number, n: number): void {
    const k = this.accBits + n;
    if (k < 32) {
      this.acc = (this.acc << n) | (v & ((1 << n) - 1));
      this.accBits = k;
      return;
    }
    // The accumulator fills up: store the word, keep what is left of v.
    const rest = k - 32;
    const take = n - rest;
    const word = take === 32 ? v : (this.acc << take) | ((v >>> rest) & ((1 << take) - 1));
    const pos = this.pos;
    if (pos + 8 > this.buf.length) this.grow(pos + 8);
    const buf = this.buf;
    buf[pos] = word >>> 24;
    buf[pos + 1] = word >>> 16;
    buf[pos + 2] = word >>> 8;
    buf[pos + 3] = word;
    this.pos = pos + 4;
    this.acc = v & ((1 << rest) - 1);
    this.accBits = rest;
  }

  bool(b: boolean): void {
    this.bits(b ? 1 : 0, 1);
  }

  /** Unsigned value of up to 53 bits. */
  wide(v: number, n: number): void {
    if (n <= 32) return this.bits(v, n);
    this.bits(Math.floor(v / 2 ** 32), n - 32);
    this.bits(v % 2 ** 32, 32);
  }

  float32(v: number): void {
    f32[0] = v;
    this.bits(f32u[0]!, 32);
  }

  float64(v: number): void {
    f64[0] = v;
    this.bits(f64u[HI]!, 32);
    this.bits(f64u[LO]!, 32);
  }

  /** Exp-Golomb code of an unsigned integer 0 ≤ v < 2^32 (1 bit for 0, 3 for 1–2, 5 for 3–6…). */
  uvar(v: number): void {
    const x = v + 1;
    if (x < 2 ** 31) {
      const len = 31 - Math.clz32(x);
      if (2 * len + 1 <= 32) return this.bits(x, 2 * len + 1); // the leading zeros come for free
      this.bits(0, len);
      this.bits(x, len + 1);
      return;
    }
    const len = x >= 2 ** 32 ? 32 : 31;
    this.bits(0, len);
    this.wide(x, len + 1);
  }

  /** Raw bytes, byte-aligned first. */
  bytes(b: Uint8Array): void {
    this.align();
    // Move the pending whole bytes to the buffer.
    this.flushPartial();
    this.pos += this.accBits >>> 3;
    this.acc = 0;
    this.accBits = 0;
    if (this.pos + b.length + 4 > this.buf.length) this.grow(this.pos + b.length + 4);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** Pad with zero bits to a byte boundary. */
  align(): void {
    const r = this.accBits & 7;
    if (r) this.bits(0, 8 - r);
  }

  /** Set `n` bits at an earlier position `at` (a field reserved with zeros, complete bytes only). */
  patch(at: number, v: number, n: number): void {
    this.flushPartial();
    patchBits(this.buf, at, v, n);
    const k = this.accBits;
    if (k) {
      const buf = this.buf;
      const pos = this.pos;
      this.acc = ((buf[pos]! << 24) | (buf[pos + 1]! << 16) | (buf[pos + 2]! << 8) | buf[pos + 3]!) >>> (32 - k);
    }
  }

  /** Append the first `nbits` bits of `src` (as written by another writer). */
  append(src: Uint8Array, nbits: number): void {
    let i = 0;
    while (nbits >= 32) {
      this.bits((src[i]! << 24) | (src[i + 1]! << 16) | (src[i + 2]! << 8) | src[i + 3]!, 32);
      i += 4;
      nbits -= 32;
    }
    if (nbits > 0) this.bits((((src[i] ?? 0) << 24) | ((src[i + 1] ?? 0) << 16) | ((src[i + 2] ?? 0) << 8) | (src[i + 3] ?? 0)) >>> (32 - nbits), nbits);
  }

  /** The 32 bits from byte `at` on (bits past the end read as zeros up to the next word; `at` + 4 ≤ {@link byteLength} + 3). */
  wordAt(at: number): number {
    this.flushPartial();
    const buf = this.buf;
    return ((buf[at]! << 24) | (buf[at + 1]! << 16) | (buf[at + 2]! << 8) | buf[at + 3]!) >>> 0;
  }

  /** Copy the bytes written so far into `dst` at `at`; returns how many. */
  copyTo(dst: Uint8Array, at: number): number {
    this.flushPartial();
    const n = this.byteLength;
    const buf = this.buf;
    if (n > 256) dst.set(buf.subarray(0, n), at);
    else for (let i = 0; i < n; i++) dst[at + i] = buf[i]!;
    return n;
  }

  /** The bytes written so far, without copying (valid until the next write or reset). */
  view(): Uint8Array {
    this.flushPartial();
    return this.buf.subarray(0, this.byteLength);
  }

  /** A copy of the bytes written (the buffer itself is reused). */
  finish(): Uint8Array {
    this.flushPartial();
    return this.buf.slice(0, this.byteLength);
  }

  /** Store the pending bits (left-aligned, zero-padded) at {@link pos}; they stay pending. */
  private flushPartial(): void {
    const k = this.accBits;
    if (k === 0) return;
    const word = this.acc << (32 - k);
    const buf = this.buf;
    const pos = this.pos;
    buf[pos] = word >>> 24;
    buf[pos + 1] = word >>> 16;
    buf[pos + 2] = word >>> 8;
    buf[pos + 3] = word;
  }

  private grow(min: number): void {
    const next = new Uint8Array(Math.max(min, this.buf.length * 2));
    next.set(this.buf);
    this.buf = next;
  }
}

/** Reads what a {@link BitWriter} wrote; throws {@link TruncatedError} past the end. */
export class BitReader {
  private buf: Uint8Array = new Uint8Array(0);
  private pos = 0;
  private end = 0;

  /** Read a new message (no copy). */
  reset(data: Uint8Array): this {
    this.buf = data;
    this.pos = 0;
    this.end = data.length * 8;
    return this;
  }

  /** Bits left. */
  get remaining(): number {
    return this.end - this.pos;
  }

  bits(n: number): number {
    if (n > 24) {
      const hi = this.bits(n - 16);
      return hi * 65536 + this.bits(16);
    }
    if (n === 0) return 0;
    const pos = this.pos;
    if (pos + n > this.end) throw new TruncatedError(`needed ${n} bits at bit ${pos} of ${this.end}`);
    const buf = this.buf;
    const i = pos >>> 3;
    const window = ((buf[i]! << 24) | ((buf[i + 1] ?? 0) << 16) | ((buf[i + 2] ?? 0) << 8) | (buf[i + 3] ?? 0)) << (pos & 7);
    this.pos = pos + n;
    return window >>> (32 - n);
  }

  bool(): boolean {
    return this.bits(1) === 1;
  }

  wide(n: number): number {
    if (n <= 32) return this.bits(n);
    const hi = this.bits(n - 32);
    return hi * 2 ** 32 + this.bits(32);
  }

  float32(): number {
    f32u[0] = this.bits(32);
    return f32[0]!;
  }

  float64(): number {
    f64u[HI] = this.bits(32);
    f64u[LO] = this.bits(32);
    return f64[0]!;
  }

  /** Reads {@link BitWriter.uvar}; refuses codes of values ≥ 2^32. */
  uvar(): number {
    const pos = this.pos;
    if (pos < this.end) {
      const buf = this.buf;
      const i = pos >>> 3;
      const window = ((buf[i]! << 24) | ((buf[i + 1] ?? 0) << 16) | ((buf[i + 2] ?? 0) << 8) | (buf[i + 3] ?? 0)) << (pos & 7);
      const zeros = Math.clz32(window);
      if (zeros <= 11 && 2 * zeros + 1 <= 24) return this.bits(2 * zeros + 1) - 1;
    }
    let len = 0;
    while (this.bits(1) === 0) {
      if (++len > 32) throw new TruncatedError('exp-Golomb code too long');
    }
    const x = len === 0 ? 1 : 2 ** len + this.wide(len);
    return x - 1;
  }

  bytes(n: number): Uint8Array {
    this.align();
    if (this.pos + n * 8 > this.end) throw new TruncatedError(`needed ${n} bytes at bit ${this.pos} of ${this.end}`);
    const start = this.pos >>> 3;
    this.pos += n * 8;
    return this.buf.subarray(start, start + n);
  }

  align(): void {
    const r = this.pos & 7;
    if (r) this.pos = Math.min(this.end, this.pos + 8 - r);
  }
}

/** Overwrite `n` bits at bit position `at` of a finished message. */
export function patchBits(buf: Uint8Array, at: number, v: number, n: number): void {
  // A byte at a time (n ≤ 32).
  let i = 0;
  while (i < n) {
    const pos = at + i;
    const off = pos & 7;
    const take = Math.min(8 - off, n - i);
    const shift = 8 - off - take;
    const ones = (1 << take) - 1;
    const bits = ((v >>> (n - i - take)) & ones) << shift;
    buf[pos >>> 3] = (buf[pos >>> 3]! & ~(ones << shift)) | bits;
    i += take;
  }
}
