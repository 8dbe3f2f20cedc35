/**
 * Packets in flight wait in the network-wide delivery lane, in their
 * direction's own FIFO, or on the event heap (see link.ts). Whichever way they
 * travel, packets of one direction that arrive at the same instant come out in
 * the order they were sent.
 */
import { describe, expect, it } from 'vitest';
import { VirtualNetwork } from '../../src/transport/virtual/index.js';
import { collect, openNegotiated, readSeq, seqPacket } from './util.js';

describe('delivery order across the lane and per-direction queues', () => {
  it('two packets of one direction due at the same instant arrive in send order', () => {
    const net = new VirtualNetwork({ seed: 5 });
    const b = net.createHost('b');
    const a = net.createHost('a');
    const c = net.createHost('c');
    const e = net.createHost('e');
    // Unordered reliable channels deliver on arrival, so arrival order shows through.
    const ab = openNegotiated(net, a, b, { ordered: false });
    const cb = openNegotiated(net, c, b, { ordered: false });
    const eb = openNegotiated(net, e, b, { ordered: false });
    net.link(e, b, { latencyMs: 5 });
    net.link(a, b, { latencyMs: 10 });
    net.link(c, b, { latencyMs: 20 });
    net.advance(1000); // nothing left in flight
    const fromA = collect(ab.cb);
    const arrivedAt: number[] = [];
    ab.cb.on('packet', () => arrivedAt.push(net.clock.now()));
    // Messages over one packet's payload budget leave at once, one packet each.
    const big = 1500;
    const t0 = net.clock.now();
    eb.ca.putPacket(seqPacket(100, big)); // due at +5: the lane's timer fires first, then re-arms for +10
    ab.ca.putPacket(seqPacket(1, big)); // due at +10, rides the lane
    cb.ca.putPacket(seqPacket(200, big)); // due at +20: the lane now ends later than +10
    ab.ca.putPacket(seqPacket(2, big)); // due at +10 too, so it rides a's own FIFO, whose timer predates the lane's re-armed one
    net.advance(50);
    expect(fromA.map(readSeq)).toEqual([1, 2]);
    expect(arrivedAt).toEqual([t0 + 10, t0 + 10]);
    net.close();
  });

  it('a seeded run with mixed latencies and jitter delivers everything, each direction in time order', () => {
    const net = new VirtualNetwork({ seed: 9 });
    const hub = net.createHost('hub');
    const senders = [3, 7, 7, 15].map((latencyMs, i) => {
      const h = net.createHost(`s${i}`);
      const ends = openNegotiated(net, h, hub, { ordered: false });
      net.link(h, hub, { latencyMs, ...(i === 3 && { jitter: 4 }) });
      return ends;
    });
    net.advance(1000);
    const got = senders.map((s) => {
      const seen: { seq: number; at: number }[] = [];
      s.cb.on('packet', (d) => seen.push({ seq: readSeq(d), at: net.clock.now() }));
      return seen;
    });
    for (let step = 0; step < 200; step++) {
      senders.forEach((s, i) => s.ca.putPacket(seqPacket(step * 10 + i, 1500)));
      net.advance(1);
    }
    net.advance(500);
    got.forEach((seen, i) => {
      expect(seen).toHaveLength(200);
      expect(new Set(seen.map((x) => x.seq)).size).toBe(200);
      for (let k = 1; k < seen.length; k++) expect(seen[k]!.at).toBeGreaterThanOrEqual(seen[k - 1]!.at);
      // Without jitter nothing overtakes: send order is kept.
      if (i < 3) expect(seen.map((x) => (x.seq - i) / 10)).toEqual([...Array(200).keys()]);
    });
    net.close();
  });
});
