/**
 * The bit writer (a 32-bit accumulator stored a word at a time) produces
 * exactly the bits a plain list of bits would, through writes of every
 * width across word boundaries, exp-Golomb codes, raw bytes after unaligned
 * writes, rollbacks into the pending word, patches and appends; and the
 * reader reads back what was written.
 */
import { expect, it } from 'vitest';
import { BitReader, BitWriter, patchBits } from '../../src/sync/bits.js';

/** The reference: one array entry per bit. */
class BitList {
  bits: number[] = [];
  push(v: number, n: number): void {
    for (let i = n - 1; i >= 0; i--) this.bits.push(Math.floor(v / 2 ** i) % 2);
  }
  uvar(v: number): void {
    const x = v + 1;
    const len = Math.floor(Math.log2(x));
    this.push(0, len);
    this.push(x, len + 1);
  }
  align(): void {
    while (this.bits.length % 8) this.bits.push(0);
  }
  bytes(): Uint8Array {
    const out = new Uint8Array(Math.ceil(this.bits.length / 8));
    this.bits.forEach((b, i) => (out[i >> 3]! |= b << (7 - (i & 7))));
    return out;
  }
}

it('BitWriter writes exactly the bits of a plain bit list, and BitReader reads them back', () => {
  let seed = 2024;
  const rand = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
  const int = (n: number) => Math.floor(rand() * n);
  let compared = 0;
  for (let round = 0; round < 3000; round++) {
    const w = new BitWriter(int(3) === 0 ? 1 : 64);
    const ref = new BitList();
    const reserved: number[] = [];
    const reads: { kind: 'bits' | 'uvar'; v: number; n: number; at: number }[] = [];
    for (let op = int(40); op > 0; op--) {
      const k = int(8);
      if (k < 4) {
        const n = int(33);
        const v = Math.floor(rand() * 2 ** n);
        reads.push({ kind: 'bits', v, n, at: ref.bits.length });
        w.bits(v, n);
        ref.push(v, n);
      } else if (k === 4) {
        const v = int(3) === 0 ? Math.floor(rand() * (2 ** 32 - 1)) : int(5000);
        reads.push({ kind: 'uvar', v, n: 0, at: ref.bits.length });
        w.uvar(v);
        ref.uvar(v);
      } else if (k === 5) {
        const raw = Uint8Array.from({ length: int(10) }, () => int(256));
        w.bytes(raw);
        ref.align();
        for (const b of raw) ref.push(b, 8);
      } else if (k === 6) {
        reserved.push(ref.bits.length);
        w.bits(0, 16);
        ref.push(0, 16);
      } else {
        const src = new BitList();
        const nb = int(100);
        for (let i = 0; i < nb; i++) src.push(int(2), 1);
        w.append(src.bytes(), nb);
        ref.bits.push(...src.bits);
      }
      expect(w.bitLength).toBe(ref.bits.length);
      if (int(12) === 0) {
        // Roll back, possibly into the word still being gathered.
        const to = int(ref.bits.length + 1);
        w.truncate(to);
        ref.bits.length = to;
        for (let i = reserved.length - 1; i >= 0; i--) if (reserved[i]! + 16 > to) reserved.splice(i, 1);
        reads.length = 0; // (only values written after a rollback are read back)
      }
      if (reserved.length > 0 && int(6) === 0) {
        const at = reserved[int(reserved.length)]!;
        const v = int(65536);
        w.patch(at, v, 16);
        for (let i = 0; i < 16; i++) ref.bits[at + i] = (v >> (15 - i)) & 1;
      }
    }
    const bytes = w.finish();
    expect(bytes).toEqual(ref.bytes());
    expect(w.byteLength).toBe(bytes.length);
    // The values still intact read back.
    const r = new BitReader();
    for (const x of reads) {
      r.reset(bytes);
      if (x.at > 0) {
        for (let skip = x.at; skip > 0; skip -= Math.min(skip, 24)) r.bits(Math.min(skip, 24));
      }
      if (x.kind === 'bits') expect(r.bits(x.n)).toBe(x.v);
      else expect(r.uvar()).toBe(x.v);
    }
    compared++;
  }
  expect(compared).toBe(3000);
});

it('patchBits sets exactly the given bits at any offset and width', () => {
  let seed = 77;
  const rand = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
  for (let i = 0; i < 5000; i++) {
    const buf = Uint8Array.from({ length: 8 }, () => Math.floor(rand() * 256));
    const n = Math.floor(rand() * 33);
    const at = Math.floor(rand() * (64 - n + 1));
    const v = Math.floor(rand() * 2 ** 32);
    const ref = new BitList();
    for (const b of buf) ref.push(b, 8);
    for (let k = 0; k < n; k++) ref.bits[at + k] = Math.floor(v / 2 ** (n - 1 - k)) % 2;
    patchBits(buf, at, v, n);
    expect(buf).toEqual(ref.bytes());
  }
});

it('a rollback into the word being gathered, at the end of a small buffer, loses nothing', () => {
  for (let to = 32; to <= 63; to++) {
    for (const n of [1, 9, 17, 31, 32]) {
      const w = new BitWriter(1);
      const ref = new BitList();
      w.bits(0xdeadbeef, 32);
      ref.push(0xdeadbeef, 32);
      w.bits(0x5555aaab, 31);
      ref.push(0x5555aaab, 31);
      w.truncate(to);
      ref.bits.length = to;
      w.bits(2 ** n - 1, n);
      ref.push(2 ** n - 1, n);
      expect(w.finish(), `cut at ${to}, then ${n} bits`).toEqual(ref.bytes());
    }
  }
});
