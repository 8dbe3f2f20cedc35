/**
 * Each link impairment measured against its setting over many packets, on an
 * unreliable unordered channel (maxRetransmits 0) so the link shows through.
 */
import { describe, expect, it } from 'vitest';
import type { WebRTCDataChannel } from '../../src/core.js';
import { VirtualNetwork, type LinkOptions, type VirtualHost } from '../../src/transport/virtual/index.js';
import { openNegotiated } from './util.js';

interface Arrival {
  seq: number;
  sentAt: number;
  at: number;
}

function setup(options: LinkOptions, seed = 11) {
  const net = new VirtualNetwork({ seed });
  const a = net.createHost();
  const b = net.createHost();
  // Open on a clean link, then apply the conditions under test.
  const ends = openNegotiated(net, a, b, { ordered: false, maxRetransmits: 0 });
  net.link(a, b, options);
  const arrivals: Arrival[] = [];
  ends.cb.on('packet', (d) => {
    const v = new DataView(d.buffer, d.byteOffset, d.byteLength);
    arrivals.push({ seq: v.getUint32(0), sentAt: v.getFloat64(4), at: net.clock.now() });
  });
  return { net, a, b, ...ends, arrivals };
}

function send(net: VirtualNetwork, ch: WebRTCDataChannel, count: number, everyMs: number, size = 12): void {
  for (let i = 0; i < count; i++) {
    const p = new Uint8Array(Math.max(12, size));
    const v = new DataView(p.buffer);
    v.setUint32(0, i);
    v.setFloat64(4, net.clock.now());
    ch.putPacket(p);
    if (everyMs > 0) net.advance(everyMs);
  }
}

function mean(xs: number[]): number {
  return xs.reduce((s, x) => s + x, 0) / xs.length;
}

function std(xs: number[]): number {
  const m = mean(xs);
  return Math.sqrt(xs.reduce((s, x) => s + (x - m) ** 2, 0) / xs.length);
}

describe('link impairments, measured', () => {
  it('independent loss: delivered fraction matches the rate', () => {
    const { net, ca, arrivals } = setup({ latencyMs: 10, loss: 0.1 });
    send(net, ca, 20_000, 1);
    net.advance(1000);
    const lossRate = 1 - arrivals.length / 20_000;
    expect(lossRate).toBeGreaterThan(0.09);
    expect(lossRate).toBeLessThan(0.11);
  });

  it('Gilbert–Elliott loss: mean rate p/(p+r) and mean burst length 1/r', () => {
    const p = 0.02;
    const r = 0.25;
    const { net, ca, arrivals } = setup({ latencyMs: 5, loss: { gilbertElliott: { p, r } } });
    send(net, ca, 40_000, 1);
    net.advance(1000);
    const got = new Set(arrivals.map((x) => x.seq));
    const lossRate = 1 - got.size / 40_000;
    const expected = p / (p + r);
    expect(Math.abs(lossRate - expected)).toBeLessThan(0.015);
    const bursts: number[] = [];
    let run = 0;
    for (let i = 0; i < 40_000; i++) {
      if (!got.has(i)) run++;
      else if (run > 0) {
        bursts.push(run);
        run = 0;
      }
    }
    const meanBurst = mean(bursts);
    expect(meanBurst).toBeGreaterThan(1 / r - 0.6);
    expect(meanBurst).toBeLessThan(1 / r + 0.6);
    // Bursty: far longer runs than independent loss of the same rate would give (≈ 1.08).
    expect(meanBurst).toBeGreaterThan(2.5);
  });

  for (const distribution of ['uniform', 'normal', 'exponential'] as const) {
    it(`latency with ${distribution} jitter: mean and spread match`, () => {
      const { net, ca, arrivals } = setup({ latencyMs: 50, jitter: { ms: 8, distribution } });
      send(net, ca, 10_000, 2);
      net.advance(1000);
      expect(arrivals.length).toBe(10_000);
      const delays = arrivals.map((x) => x.at - x.sentAt);
      const expectedMean = distribution === 'exponential' ? 58 : 50;
      const expectedStd = distribution === 'uniform' ? 8 / Math.sqrt(3) : 8;
      expect(Math.abs(mean(delays) - expectedMean)).toBeLessThan(0.5);
      expect(Math.abs(std(delays) - expectedStd)).toBeLessThan(0.5);
      if (distribution === 'uniform') {
        expect(Math.min(...delays)).toBeGreaterThanOrEqual(42);
        expect(Math.max(...delays)).toBeLessThanOrEqual(58);
      }
      // Jitter reorders (as netem does) on an unordered channel.
      const outOfOrder = arrivals.filter((x, i) => i > 0 && x.seq < arrivals[i - 1]!.seq).length;
      expect(outOfOrder).toBeGreaterThan(100);
    });
  }

  it('fixed latency without jitter keeps order and adds exactly latencyMs', () => {
    const { net, ca, arrivals } = setup({ latencyMs: 33 });
    send(net, ca, 1000, 0.5);
    net.advance(100);
    expect(arrivals.map((x) => x.seq)).toEqual([...Array(1000).keys()]);
    for (const x of arrivals) expect(x.at - x.sentAt).toBeCloseTo(33, 9);
  });

  it('bandwidth cap: throughput equals the cap, queue bounds the backlog', () => {
    // 800 kbit/s = 100 bytes/ms; 984-byte messages + 16-byte SCTP chunk header, 0 link overhead → one per 10 ms.
    const { net, ca, arrivals, a, b } = setup({ latencyMs: 20, bandwidthKbps: 800, queueBytes: 50_000, overheadBytes: 0 });
    send(net, ca, 200, 0, 984);
    net.advance(2000);
    // The queue (counting the packet being serialised) holds 50 packets; the rest is tail-dropped.
    expect(arrivals.length).toBe(50);
    expect(net.directionStats(a, b).packetsQueueDropped).toBe(150);
    const span = arrivals[arrivals.length - 1]!.at - arrivals[0]!.at;
    const bytesPerMs = (1000 * (arrivals.length - 1)) / span;
    expect(bytesPerMs).toBeCloseTo(100, 6);
    expect(arrivals[0]!.at - arrivals[0]!.sentAt).toBeCloseTo(30, 6); // 10 ms serialisation + 20 ms latency
  });

  it('paced traffic under the cap sees no queueing delay', () => {
    const { net, ca, arrivals } = setup({ latencyMs: 20, bandwidthKbps: 800, overheadBytes: 0 });
    send(net, ca, 300, 20, 984); // 50 bytes/ms offered, cap 100
    net.advance(200);
    expect(arrivals.length).toBe(300);
    for (const x of arrivals) expect(x.at - x.sentAt).toBeCloseTo(30, 6);
  });

  it('duplication happens on the link, and SCTP discards the copies', () => {
    const { net, ca, arrivals, a, b } = setup({ latencyMs: 10, duplicate: 0.2 });
    send(net, ca, 10_000, 1);
    net.advance(100);
    const dups = net.directionStats(a, b).packetsDuplicated;
    expect(dups / 10_000).toBeGreaterThan(0.18);
    expect(dups / 10_000).toBeLessThan(0.22);
    expect(arrivals.length).toBe(10_000);
    expect(new Set(arrivals.map((x) => x.seq)).size).toBe(10_000);
  });

  it('reordering: the configured share of packets is overtaken', () => {
    const { net, ca, arrivals } = setup({ latencyMs: 10, reorder: 0.05, reorderDelayMs: 5 });
    send(net, ca, 20_000, 1);
    net.advance(100);
    expect(arrivals.length).toBe(20_000);
    const late = arrivals.filter((x) => x.at - x.sentAt > 14).length / 20_000;
    expect(late).toBeGreaterThan(0.045);
    expect(late).toBeLessThan(0.055);
    const inversions = arrivals.filter((x, i) => i > 0 && x.seq < arrivals[i - 1]!.seq).length;
    expect(inversions).toBeGreaterThan(0);
  });

  it('scheduled outage drops exactly the packets sent while it lasts', () => {
    const { net, ca, arrivals, a, b } = setup({});
    const start = Math.ceil(net.clock.now()) + 100;
    net.link(a, b, { latencyMs: 5, outages: [{ atMs: start, durationMs: 200 }] });
    const t0 = net.clock.now();
    send(net, ca, 1000, 1);
    net.advance(50);
    const sentDuringOutage = arrivals.length;
    expect(sentDuringOutage).toBeGreaterThan(790);
    for (const x of arrivals) expect(x.sentAt < start || x.sentAt >= start + 200).toBe(true);
    const expectedDropped = [...Array(1000).keys()].filter((i) => t0 + i >= start && t0 + i < start + 200).length;
    expect(net.directionStats(a, b).packetsDownDropped).toBe(expectedDropped);
  });

  it('conditions change while running', () => {
    const { net, ca, arrivals, a, b } = setup({ latencyMs: 10 });
    send(net, ca, 100, 1);
    net.link(a, b, { forward: { latencyMs: 80 } });
    expect(net.conditions(a, b).latencyMs).toBe(80);
    expect(net.conditions(b, a).latencyMs).toBe(10);
    send(net, ca, 100, 1);
    net.advance(200);
    const delays = arrivals.map((x) => Math.round(x.at - x.sentAt));
    expect(delays.slice(0, 100).every((d) => d === 10)).toBe(true);
    expect(delays.slice(100).every((d) => d === 80)).toBe(true);
  });

  it('impairments apply once per hop: the round trip carries each direction once', () => {
    const net = new VirtualNetwork({ seed: 3 });
    const hosts: VirtualHost[] = [net.createHost(), net.createHost()];
    net.link(hosts[0]!, hosts[1]!, { forward: { latencyMs: 30 }, backward: { latencyMs: 70 } });
    const { pa, ca, cb } = openNegotiated(net, hosts[0]!, hosts[1]!);
    expect(pa.getStats().rttMs).toBe(100);
    const t0 = net.clock.now();
    let echoed = -1;
    cb.on('packet', (d) => cb.putPacket(d));
    ca.on('packet', () => (echoed = net.clock.now()));
    ca.putPacket(new Uint8Array([1]));
    net.advance(500);
    expect(echoed - t0).toBe(100);
  });

  it('rejects bad conditions with the name of the field', () => {
    const net = new VirtualNetwork();
    const a = net.createHost();
    const b = net.createHost();
    expect(() => net.link(a, b, { loss: 1.5 })).toThrow(/link\(\) options\.loss must be a number from 0 to 1/);
    expect(() => net.link(a, b, { jitter: { ms: 5, distribution: 'pareto' as 'normal' } })).toThrow(/distribution/);
    expect(() => net.link(a, b, { latncyMs: 5 } as LinkOptions)).toThrow(/unknown option "latncyMs"/);
    expect(() => net.link(a, b, { outages: [{ atMs: -1, durationMs: 5 }] })).toThrow(/atMs/);
    expect(() => new VirtualNetwork({ clock: 'fast' as 'virtual' })).toThrow(/clock/);
    expect(() => net.createHost(a.address)).toThrow(/already exists/);
    expect(net.conditions(a, b).latencyMs).toBe(0);
  });
});
