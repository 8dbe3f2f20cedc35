import { describe, expect, it } from 'vitest';
import { PacketQueue } from '../../src/peer/packet-queue.js';

const bytes = (n: number, size = 1) => new Uint8Array(size).fill(n & 0xff);

describe('PacketQueue', () => {
  it('keeps FIFO order and text flags across wrap-around and growth', () => {
    const q = new PacketQueue({ maxPackets: 1000, maxBytes: 1 << 20 });
    let next = 0;
    let expected = 0;
    // Interleave pushes and shifts so the ring wraps before it grows (16 → 32 → 64).
    for (let round = 0; round < 20; round++) {
      for (let k = 0; k < 5; k++, next++) expect(q.push(bytes(next), next % 3 === 0)).toBe(true);
      for (let k = 0; k < 2; k++, expected++) {
        expect(q.shiftData()![0]).toBe(expected & 0xff);
        expect(q.lastWasText).toBe(expected % 3 === 0);
      }
    }
    expect(q.length).toBe(next - expected);
    expect(q.byteLength).toBe(next - expected);
    while (q.length > 0) {
      expect(q.shiftData()![0]).toBe(expected & 0xff);
      expect(q.lastWasText).toBe(expected % 3 === 0);
      expected++;
    }
    expect(expected).toBe(next);
    expect(q.shiftData()).toBeUndefined();
    expect(q.byteLength).toBe(0);
  });

  it('drops and counts packets over the packet or byte limit', () => {
    const q = new PacketQueue({ maxPackets: 3, maxBytes: 10 });
    expect(q.push(bytes(1, 4), false)).toBe(true);
    expect(q.push(bytes(2, 4), false)).toBe(true);
    expect(q.push(bytes(3, 4), false)).toBe(false); // 12 bytes > 10
    expect(q.push(bytes(4, 2), false)).toBe(true);
    expect(q.push(bytes(5, 1), false)).toBe(false); // 4 packets > 3
    expect(q.dropped).toBe(2);
    expect(q.length).toBe(3);
    q.clear();
    expect(q.length).toBe(0);
    expect(q.byteLength).toBe(0);
    expect(q.push(bytes(6, 10), true)).toBe(true);
  });
});
