/**
 * Each link impairment measured against its setting over many packets (also
 * per direction, and combined), on an unreliable unordered channel
 * (maxRetransmits 0) so the link shows through. Impairments changed while
 * running: impairments-changes.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { VirtualNetwork, type LinkOptions, type VirtualHost } from '../../src/transport/virtual/index.js';
import { lossBursts, mean, quantile, send, setup, std } from './impairment-meter.js';
import { openNegotiated } from './util.js';

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
    const meanBurst = mean(lossBursts(got, 40_000));
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

  it('bandwidth cap: throughput equals the cap; the queue holds queueBytes, the rest of a flood waits at the sender', () => {
    // 800 kbit/s = 100 bytes/ms; 984-byte messages + 16-byte SCTP chunk header, 0 link overhead → one per 10 ms.
    const { net, ca, arrivals, a, b } = setup({ latencyMs: 20, bandwidthKbps: 800, queueBytes: 50_000, overheadBytes: 0 });
    send(net, ca, 200, 0, 984);
    // The queue (counting the packet being serialised) takes 50 packets; 150 messages wait in the send buffer.
    expect(ca.getBufferedAmount()).toBe(150 * 984);
    net.advance(2100);
    expect(arrivals.length).toBe(200);
    expect(arrivals.map((x) => x.seq)).toEqual([...Array(200).keys()]);
    expect(net.directionStats(a, b).packetsQueueDropped).toBe(0);
    expect(ca.getBufferedAmount()).toBe(0);
    const span = arrivals[arrivals.length - 1]!.at - arrivals[0]!.at;
    const bytesPerMs = (1000 * (arrivals.length - 1)) / span;
    expect(bytesPerMs).toBeCloseTo(100, 6);
    expect(arrivals[0]!.at - arrivals[0]!.sentAt).toBeCloseTo(30, 6); // 10 ms serialisation + 20 ms latency
    expect(arrivals[199]!.at - arrivals[199]!.sentAt).toBeCloseTo(2020, 6);
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

describe('link impairments, one direction and combined', () => {
  it('net.outage() drops only its own direction', () => {
    const t = setup({ latencyMs: 5 });
    const back: number[] = [];
    t.cb.putPacket(new Uint8Array(1)); // warm the reverse path
    t.net.advance(10);
    t.ca.on('packet', (d) => back.push(d[0]!));
    const start = Math.ceil(t.net.clock.now()) + 20;
    t.net.outage(t.a, t.b, { atMs: start, durationMs: 100 });
    const down = () => [t.net.directionStats(t.a, t.b).packetsDownDropped, t.net.directionStats(t.b, t.a).packetsDownDropped];
    for (let i = 0; i < 200; i++) {
      const p = new Uint8Array(12);
      const v = new DataView(p.buffer);
      v.setUint32(0, i);
      v.setFloat64(4, t.net.clock.now());
      t.ca.putPacket(p);
      t.cb.putPacket(new Uint8Array([i & 255]));
      t.net.advance(1);
    }
    t.net.advance(50);
    const [forward, backward] = down();
    expect(forward).toBe(100);
    expect(backward).toBe(0);
    expect(t.arrivals.length).toBe(100);
    for (const x of t.arrivals) expect(x.sentAt < start || x.sentAt >= start + 100).toBe(true);
    expect(back.length).toBe(200);
  });

  it('Gilbert–Elliott mean burst length follows 1/r', () => {
    for (const r of [0.1, 0.5]) {
      const p = 0.01;
      const t = setup({ latencyMs: 5, loss: { gilbertElliott: { p, r } } }, 12);
      send(t.net, t.ca, 40_000, 1);
      t.net.advance(100);
      const got = new Set(t.arrivals.map((x) => x.seq));
      expect(Math.abs(mean(lossBursts(got, 40_000)) * r - 1)).toBeLessThan(0.1);
    }
  });

  it('Gilbert–Elliott with lossGood and lossBad: mean rate and loss after a loss match the chain', () => {
    const [p, r, lossGood, lossBad] = [0.05, 0.25, 0.02, 0.5];
    const t = setup({ latencyMs: 5, loss: { gilbertElliott: { p, r, lossGood, lossBad } } });
    const n = 60_000;
    send(t.net, t.ca, n, 1);
    t.net.advance(100);
    const got = new Set(t.arrivals.map((x) => x.seq));
    const lost = (i: number) => !got.has(i);
    // The chain steps once per packet, then the packet is lost with its state's probability.
    const bad = p / (p + r);
    const rate = bad * lossBad + (1 - bad) * lossGood; // = (p·lossBad + r·lossGood) / (p + r) = 0.1
    const both = (1 - bad) * lossGood * ((1 - p) * lossGood + p * lossBad) + bad * lossBad * (r * lossGood + (1 - r) * lossBad);
    let losses = 0;
    let pairs = 0;
    for (let i = 0; i < n; i++) {
      if (!lost(i)) continue;
      losses++;
      if (i + 1 < n && lost(i + 1)) pairs++;
    }
    expect(Math.abs(losses / n - rate)).toBeLessThan(0.006);
    expect(Math.abs(pairs / losses - both / rate)).toBeLessThan(0.03); // ≈ 0.32
    // Bursty: a loss makes the next one three times likelier than independent loss of the same rate would.
    expect(pairs / losses).toBeGreaterThan(2.5 * rate);
    // With lossGood and lossBad both 0 the chain still steps but loses nothing.
    const none = setup({ latencyMs: 5, loss: { gilbertElliott: { p, r, lossGood: 0, lossBad: 0 } } });
    send(none.net, none.ca, 5000, 1);
    none.net.advance(100);
    expect(none.arrivals.length).toBe(5000);
  });

  it('Gilbert–Elliott and independent loss both apply', () => {
    const [p, r, rate] = [0.02, 0.25, 0.05];
    const t = setup({ latencyMs: 5, loss: { rate, gilbertElliott: { p, r } } });
    const n = 40_000;
    send(t.net, t.ca, n, 1);
    t.net.advance(100);
    const expected = 1 - (1 - p / (p + r)) * (1 - rate); // ≈ 0.12
    const measured = 1 - t.arrivals.length / n;
    expect(Math.abs(measured - expected)).toBeLessThan(0.01);
    expect(t.net.directionStats(t.a, t.b).packetsLost).toBe(n - t.arrivals.length);
    expect(t.net.conditions(t.a, t.b).loss).toEqual({ rate, gilbertElliott: { p, r, lossGood: 0, lossBad: 1 } });
  });

  it('bytesSent counts each packet with the default 48 B overhead (and with a configured one)', () => {
    const t = setup({ latencyMs: 5 });
    expect(t.net.conditions(t.a, t.b).overheadBytes).toBe(48);
    const bytes = () => t.net.directionStats(t.a, t.b).bytesSent;
    const packets = () => t.net.directionStats(t.a, t.b).packetsSent;
    let [b0, p0] = [bytes(), packets()];
    send(t.net, t.ca, 100, 1, 100);
    expect(packets() - p0).toBe(100);
    expect(bytes() - b0).toBe(100 * (100 + 16 + 48));
    // Two 100 B messages in the same instant share a packet: one overhead, two chunk headers.
    [b0, p0] = [bytes(), packets()];
    send(t.net, t.ca, 2, 0, 100);
    t.net.advance(1);
    expect(packets() - p0).toBe(1);
    expect(bytes() - b0).toBe(2 * (100 + 16) + 48);
    t.net.link(t.a, t.b, { overheadBytes: 28 });
    [b0, p0] = [bytes(), packets()];
    send(t.net, t.ca, 100, 1, 100);
    expect(bytes() - b0).toBe(100 * (100 + 16 + 28));
  });

  it('exponential jitter: never below the latency, median latency + ms·ln 2, a long right tail', () => {
    const [latency, ms] = [40, 10];
    const t = setup({ latencyMs: latency, jitter: { ms, distribution: 'exponential' } });
    send(t.net, t.ca, 20_000, 1);
    t.net.advance(1000);
    const d = t.arrivals.map((x) => x.at - x.sentAt);
    expect(d.length).toBe(20_000);
    expect(Math.min(...d)).toBeGreaterThanOrEqual(latency);
    expect(Math.abs(quantile(d, 0.5) - (latency + ms * Math.LN2))).toBeLessThan(0.3);
    expect(Math.abs(quantile(d, 0.9) - (latency + ms * Math.log(10)))).toBeLessThan(1);
    // P(extra > ms) = 1/e.
    expect(Math.abs(d.filter((x) => x > latency + ms).length / d.length - Math.exp(-1))).toBeLessThan(0.012);
  });

  it('normal jitter: symmetric around the latency, 68 % within one standard deviation', () => {
    const [latency, ms] = [60, 8];
    const t = setup({ latencyMs: latency, jitter: { ms, distribution: 'normal' } });
    send(t.net, t.ca, 20_000, 1);
    t.net.advance(1000);
    const d = t.arrivals.map((x) => x.at - x.sentAt);
    expect(d.length).toBe(20_000);
    expect(Math.abs(quantile(d, 0.5) - latency)).toBeLessThan(0.25);
    expect(Math.abs(d.filter((x) => x < latency).length / d.length - 0.5)).toBeLessThan(0.012);
    // Quantiles mirror each other around the latency.
    for (const q of [0.05, 0.25]) expect(Math.abs(latency - quantile(d, q) - (quantile(d, 1 - q) - latency))).toBeLessThan(0.5);
    expect(Math.abs(d.filter((x) => Math.abs(x - latency) <= ms).length / d.length - 0.6827)).toBeLessThan(0.012);
    const m = mean(d);
    const skew = d.reduce((s, x) => s + (x - m) ** 3, 0) / d.length / std(d) ** 3;
    expect(Math.abs(skew)).toBeLessThan(0.06);
  });
});
