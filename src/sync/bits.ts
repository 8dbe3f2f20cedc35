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

/** Appends bits to a growable buffer that is reused across messages. */
export class BitWriter {
  private buf: Uint8Array;
  /** Bits written so far. */
  bitLength = 0;

  constructor(initialBytes = 1500) {
    this.buf = new Uint8Array(initialBytes);
  }

  /** Start a new message (keeps the buffer). */
  reset(): void {
    this.buf.fill(0, 0, (this.bitLength + 7) >>> 3);
    this.bitLength = 0;
  }

  /** Bytes written so far (a partial last byte counts). */
  get byteLength(): number {
    return (this.bitLength + 7) >>> 3;
  }

  /** Cut back to `bits` bits (drops what was written after: a rollback). */
  truncate(bits: number): void {
    const end = (this.bitLength + 7) >>> 3;
    const keep = bits >>> 3;
    if (bits & 7) this.buf[keep]! &= 0xff << (8 - (bits & 7));
    this.buf.fill(0, (bits + 7) >>> 3, end);
    this.bitLength = bits;
  }

  /** Write the low `n` bits of `v` (0 ≤ n ≤ 32; `v` taken as unsigned). */
  bits(v: number, n: number): void {
    if (n === 0) return;
    if (((this.bitLength + n + 7) >>> 3) > this.buf.length) this.grow((this.bitLength + n + 7) >>> 3);
    const buf = this.buf;
    let pos = this.bitLength;
    if (n < 32) v &= (1 << n) - 1;
    else v >>>= 0;
    while (n > 0) {
      const free = 8 - (pos & 7);
      const take = free < n ? free : n;
      const shift = n - take;
      const chunk = (shift >= 32 ? 0 : v >>> shift) & ((1 << take) - 1);
      buf[pos >>> 3]! |= chunk << (free - take);
      pos += take;
      n -= take;
    }
    this.bitLength = pos;
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
    let len = 0;
    while (len < 33 && x >= 2 ** (len + 1)) len++;
    this.bits(0, len);
    this.wide(x, len + 1);
  }

  /** Raw bytes, byte-aligned first. */
  bytes(b: Uint8Array): void {
    this.align();
    const start = this.bitLength >>> 3;
    if (start + b.length > this.buf.length) this.grow(start + b.length);
    this.buf.set(b, start);
    this.bitLength += b.length * 8;
  }

  /** Pad with zero bits to a byte boundary. */
  align(): void {
    const r = this.bitLength & 7;
    if (r) this.bits(0, 8 - r);
  }

  /** Set `n` bits at an earlier position `at` (a field reserved with zeros). */
  patch(at: number, v: number, n: number): void {
    const saved = this.bitLength;
    this.bitLength = at;
    this.bits(v, n);
    this.bitLength = saved;
  }

  /** A copy of the bytes written (the buffer itself is reused). */
  finish(): Uint8Array {
    return this.buf.slice(0, this.byteLength);
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
    if (n === 0) return 0;
    if (this.pos + n > this.end) throw new TruncatedError(`needed ${n} bits at bit ${this.pos} of ${this.end}`);
    const buf = this.buf;
    let pos = this.pos;
    let v = 0;
    let left = n;
    while (left > 0) {
      const avail = 8 - (pos & 7);
      const take = avail < left ? avail : left;
      const chunk = (buf[pos >>> 3]! >>> (avail - take)) & ((1 << take) - 1);
      v = v * (1 << take) + chunk; // multiplication keeps 32-bit values unsigned
      pos += take;
      left -= take;
    }
    this.pos = pos;
    return v;
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
  for (let i = 0; i < n; i++) {
    const bit = (v >>> (n - 1 - i)) & 1;
    const pos = at + i;
    const mask = 0x80 >>> (pos & 7);
    if (bit) buf[pos >>> 3]! |= mask;
    else buf[pos >>> 3]! &= ~mask;
  }
}
