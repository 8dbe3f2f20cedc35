/**
 * Seeded pseudo-random numbers for the virtual network. Every random choice of
 * a simulation comes from one of these, so one seed fixes a whole run.
 * @module
 */

/** 32-bit FNV-1a hash of a string, for deriving independent streams from one seed. */
function hashString(text: string, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** 32-bit FNV-1a hash of bytes (for trace records of payloads). */
export function hashBytes(data: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < data.length; i++) {
    h ^= data[i]!;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * sfc32 generator (Chris Doty-Humphrey's Small Fast Counting RNG): fast,
 * 128-bit state, passes PractRand. Deterministic for a given seed.
 */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private spareNormal: number | undefined;

  /** @param seed any integer; `stream` picks an independent sequence for the same seed. */
  constructor(seed: number, stream = '') {
    this.a = hashString(stream, seed >>> 0 ^ 0x9e3779b9);
    this.b = hashString(stream + '#b', seed >>> 0);
    this.c = hashString(stream + '#c', (seed / 0x100000000) >>> 0);
    this.d = 1;
    for (let i = 0; i < 15; i++) this.nextUint32();
  }

  /** Uniform integer in [0, 2^32). */
  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform float in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Standard normal sample (Box–Muller, spare cached). */
  normal(): number {
    const spare = this.spareNormal;
    if (spare !== undefined) {
      this.spareNormal = undefined;
      return spare;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Lowercase hex string of `bytes` random bytes. */
  hex(bytes: number): string {
    let s = '';
    for (let i = 0; i < bytes; i++) s += (this.nextUint32() & 0xff).toString(16).padStart(2, '0');
    return s;
  }

  /** Random string from an alphabet of ICE characters. */
  iceString(length: number): string {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    let s = '';
    for (let i = 0; i < length; i++) s += alphabet[this.nextUint32() & 63];
    return s;
  }
}
