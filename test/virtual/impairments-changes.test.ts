/**
 * Link impairments changed while packets flow (jitter, bandwidth and queue,
 * duplication, reordering, the default link), measured before, during and
 * after, on an unreliable unordered channel (maxRetransmits 0). Steady
 * settings: impairments.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { VirtualNetwork } from '../../src/transport/virtual/index.js';
import { setup, std } from './impairment-meter.js';
import { openNegotiated } from './util.js';

describe('link impairments, changed while running', () => {
  /** Send `count` packets one every `everyMs` and return the delays of those that arrived (in arrival order). */
  function phase(t: ReturnType<typeof setup>, count: number, everyMs: number, size = 12): { delays: number[]; seqs: number[]; buffered: number } {
    const from = t.arrivals.length;
    const first = from === 0 ? 0 : Math.max(...t.arrivals.map((x) => x.seq)) + 1;
    for (let i = 0; i < count; i++) {
      const p = new Uint8Array(Math.max(12, size));
      const v = new DataView(p.buffer);
      v.setUint32(0, first + i);
      v.setFloat64(4, t.net.clock.now());
      t.ca.putPacket(p);
      if (everyMs > 0) t.net.advance(everyMs);
    }
    const buffered = t.ca.getBufferedAmount();
    t.net.advance(1000);
    const got = t.arrivals.slice(from);
    return { delays: got.map((x) => x.at - x.sentAt), seqs: got.map((x) => x.seq), buffered };
  }

  it('jitter: on, then off again', () => {
    const t = setup({ latencyMs: 20 });
    const before = phase(t, 2000, 1);
    t.net.link(t.a, t.b, { jitter: { ms: 6, distribution: 'uniform' } });
    const during = phase(t, 2000, 1);
    t.net.link(t.a, t.b, { jitter: 0 });
    const after = phase(t, 2000, 1);
    for (const r of [before, during, after]) expect(r.delays.length).toBe(2000);
    for (const d of [...before.delays, ...after.delays]) expect(d).toBeCloseTo(20, 9);
    expect(Math.abs(std(during.delays) - 6 / Math.sqrt(3))).toBeLessThan(0.2);
    expect(Math.min(...during.delays)).toBeGreaterThanOrEqual(14);
    expect(Math.max(...during.delays)).toBeLessThanOrEqual(26);
    expect(t.net.conditions(t.a, t.b).jitter).toEqual({ ms: 0, distribution: 'uniform' });
  });

  it('bandwidth and queue size: throughput and the bottleneck backlog follow the current setting', () => {
    // 984 B + 16 B chunk header, no link overhead: 1000 B per packet.
    const t = setup({ latencyMs: 20, bandwidthKbps: 800, queueBytes: 100_000, overheadBytes: 0 });
    const spacing = (r: { delays: number[] }) => (r.delays[r.delays.length - 1]! - r.delays[0]!) / (r.delays.length - 1);
    const slow = phase(t, 40, 0, 984); // 100 B/ms: one packet per 10 ms
    expect(slow.delays.length).toBe(40);
    expect(spacing(slow)).toBeCloseTo(10, 6);
    expect(slow.buffered).toBe(0); // all 40 fit the queue
    t.net.link(t.a, t.b, { bandwidthKbps: 1600 });
    const fast = phase(t, 40, 0, 984);
    expect(fast.delays.length).toBe(40);
    expect(spacing(fast)).toBeCloseTo(5, 6);
    expect(fast.delays[0]).toBeCloseTo(25, 6); // 5 ms serialisation + 20 ms latency
    t.net.link(t.a, t.b, { queueBytes: 10_000 });
    const small = phase(t, 40, 0, 984);
    expect(small.buffered).toBe(30 * 984); // 10 packets fit the smaller queue, 30 wait at the sender
    expect(small.delays.length).toBe(40);
    expect(spacing(small)).toBeCloseTo(5, 6);
    t.net.link(t.a, t.b, { bandwidthKbps: 0 });
    const free = phase(t, 40, 0, 984);
    expect(free.delays.length).toBe(40);
    expect(free.buffered).toBe(0);
    for (const d of free.delays) expect(d).toBeCloseTo(20, 9);
    expect(t.net.directionStats(t.a, t.b).packetsQueueDropped).toBe(0);
  });

  it('duplication: on, then off again; the receiver never sees a copy', () => {
    const t = setup({ latencyMs: 10 });
    const dups = () => t.net.directionStats(t.a, t.b).packetsDuplicated;
    const before = phase(t, 5000, 1);
    expect(dups()).toBe(0);
    t.net.link(t.a, t.b, { duplicate: 0.3 });
    const during = phase(t, 5000, 1);
    const made = dups();
    expect(made / 5000).toBeGreaterThan(0.28);
    expect(made / 5000).toBeLessThan(0.32);
    t.net.link(t.a, t.b, { duplicate: 0 });
    const after = phase(t, 5000, 1);
    expect(dups()).toBe(made);
    for (const r of [before, during, after]) {
      expect(r.seqs.length).toBe(5000);
      expect(new Set(r.seqs).size).toBe(5000);
    }
  });

  it('reordering: on, then off again', () => {
    const t = setup({ latencyMs: 10 });
    const late = (r: { delays: number[] }) => r.delays.filter((d) => d > 10.5).length / r.delays.length;
    const inversions = (r: { seqs: number[] }) => r.seqs.filter((x, i) => i > 0 && x < r.seqs[i - 1]!).length;
    const before = phase(t, 5000, 1);
    t.net.link(t.a, t.b, { reorder: 0.2, reorderDelayMs: 5 });
    const during = phase(t, 5000, 1);
    t.net.link(t.a, t.b, { reorder: 0 });
    const after = phase(t, 5000, 1);
    expect(late(before)).toBe(0);
    expect(inversions(before)).toBe(0);
    expect(late(during)).toBeGreaterThan(0.18);
    expect(late(during)).toBeLessThan(0.22);
    expect(inversions(during)).toBeGreaterThan(500);
    for (const d of during.delays) expect([10, 15]).toContain(Math.round(d));
    expect(late(after)).toBe(0);
    expect(inversions(after)).toBe(0);
    expect(t.net.directionStats(t.a, t.b).packetsReordered).toBe(Math.round(late(during) * 5000));
  });

  it('setDefaultLink() with packets in flight: those keep their delay, later ones get the new one; configured links are untouched', () => {
    const net = new VirtualNetwork({ seed: 4, defaultLink: { latencyMs: 50 } });
    const a = net.createHost();
    const b = net.createHost();
    const c = net.createHost();
    const ab = openNegotiated(net, a, b, { ordered: false, maxRetransmits: 0 });
    net.link(a, c, { latencyMs: 30 });
    const ac = openNegotiated(net, a, c, { ordered: false, maxRetransmits: 0 });
    const got: { seq: number; at: number }[] = [];
    ab.cb.on('packet', (d) => got.push({ seq: d[0]!, at: net.clock.now() }));
    const viaC: number[] = [];
    ac.cb.on('packet', () => viaC.push(net.clock.now()));
    const t0 = net.clock.now();
    for (let i = 0; i < 10; i++) {
      ab.ca.putPacket(new Uint8Array([i]));
      net.advance(1);
    }
    // Ten packets are in flight (due at t0 + 50 … t0 + 59).
    net.setDefaultLink({ latencyMs: 5 });
    expect(net.conditions(a, b).latencyMs).toBe(5);
    expect(net.conditions(b, a).latencyMs).toBe(5);
    expect(net.conditions(a, c).latencyMs).toBe(30);
    const t1 = net.clock.now();
    for (let i = 10; i < 20; i++) {
      ab.ca.putPacket(new Uint8Array([i]));
      ac.ca.putPacket(new Uint8Array([i]));
      net.advance(1);
    }
    net.advance(200);
    expect(got.length).toBe(20);
    // The new packets overtake the ones sent before the change.
    expect(got.slice(0, 10).map((x) => x.seq)).toEqual([10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
    for (const x of got) expect(x.at - (x.seq < 10 ? t0 + x.seq : t1 + x.seq - 10)).toBeCloseTo(x.seq < 10 ? 50 : 5, 9);
    expect(viaC.map((at, i) => at - (t1 + i))).toEqual(Array(10).fill(30));
    // A loss change applies to the default links too.
    net.setDefaultLink({ loss: 0.5 });
    expect(net.conditions(a, b)).toMatchObject({ latencyMs: 5, loss: { rate: 0.5 } });
    expect(net.conditions(a, c).loss).toEqual({ rate: 0 });
    net.close();
  });
});
