/**
 * Unordered channels with maxRetransmits 0 copy payloads into a shared,
 * append-only slab and deliver views of it: check the copy semantics.
 */
import { describe, expect, it } from 'vitest';
import { VirtualNetwork } from '../../src/transport/virtual/index.js';
import { SLAB_BYTES, SLAB_MAX_PAYLOAD } from '../../src/transport/virtual/chunk.js';
import { collect, openNegotiated } from './util.js';

function fill(b: Uint8Array, v: number): Uint8Array {
  for (let i = 0; i < b.length; i++) b[i] = (v + i) & 255;
  return b;
}

describe('payload slab (unordered, maxRetransmits 0)', () => {
  it('delivers what was sent although the sender reuses its buffer at once', () => {
    const net = new VirtualNetwork({ seed: 3 });
    const a = net.createHost();
    const b = net.createHost();
    const { ca, cb } = openNegotiated(net, a, b, { ordered: false, maxRetransmits: 0 });
    const got = collect(cb);
    const sizes = [0, 1, 32, 200, SLAB_MAX_PAYLOAD, SLAB_MAX_PAYLOAD + 1, 20_000];
    const buf = new Uint8Array(20_000);
    const expected: Uint8Array[] = [];
    // Enough bytes to roll over several slab pages.
    for (let tick = 0; tick < 3 * Math.ceil(SLAB_BYTES / 5000); tick++) {
      for (const [k, size] of sizes.entries()) {
        const view = buf.subarray(0, size);
        fill(view, tick * 7 + k);
        expected.push(view.slice());
        ca.putPacket(view);
        buf.fill(0xee);
      }
      net.advance(10);
    }
    net.advance(500);
    expect(got.length).toBe(expected.length);
    for (let i = 0; i < got.length; i++) expect(Array.from(got[i]!)).toEqual(Array.from(expected[i]!));
  });

  it('views handed to receivers never change afterwards', () => {
    const net = new VirtualNetwork({ seed: 4 });
    const a = net.createHost();
    const b = net.createHost();
    const { ca, cb } = openNegotiated(net, a, b, { ordered: false, maxRetransmits: 0 });
    const got = collect(cb);
    const snapshots: number[][] = [];
    cb.on('packet', (d) => snapshots.push(Array.from(d)));
    const msg = new Uint8Array(100);
    for (let tick = 0; tick < 2 * Math.ceil(SLAB_BYTES / 1000); tick++) {
      for (let k = 0; k < 10; k++) ca.putPacket(fill(msg, tick + k));
      net.advance(16);
    }
    net.advance(500);
    expect(got.length).toBe(snapshots.length);
    for (let i = 0; i < got.length; i++) expect(Array.from(got[i]!)).toEqual(snapshots[i]);
  });

  it('a duplicated bundle is delivered once, with the same bytes', () => {
    const net = new VirtualNetwork({ seed: 5, defaultLink: { latencyMs: 10, duplicate: 1 } });
    const a = net.createHost();
    const b = net.createHost();
    const { ca, cb } = openNegotiated(net, a, b, { ordered: false, maxRetransmits: 0 });
    const got = collect(cb);
    for (let k = 0; k < 5; k++) ca.putPacket(fill(new Uint8Array(40), k));
    net.advance(100);
    expect(got.map((d) => d[0])).toEqual([0, 1, 2, 3, 4]);
  });
});
