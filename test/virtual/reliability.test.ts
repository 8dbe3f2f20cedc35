/**
 * Channel semantics on top of an impaired link: what SCTP delivers, drops and
 * reorders for each channel configuration.
 */
import { describe, expect, it } from 'vitest';
import { VirtualNetwork, type LinkOptions } from '../../src/transport/virtual/index.js';
import { openNegotiated, readSeq, seqPacket } from './util.js';

type ChannelOptions = { ordered?: boolean; maxRetransmits?: number; maxPacketLifeTime?: number };

function run(channel: ChannelOptions, link: LinkOptions, count: number, seed = 5, fastRetransmit = true, everyMs = 1) {
  const net = new VirtualNetwork({ seed, sctp: { fastRetransmit } });
  const a = net.createHost();
  const b = net.createHost();
  const { ca, cb } = openNegotiated(net, a, b, channel);
  net.link(a, b, link);
  const got: { seq: number; data: Uint8Array; at: number }[] = [];
  const sentAt: number[] = [];
  cb.on('packet', (d) => got.push({ seq: readSeq(d), data: d, at: net.clock.now() }));
  for (let i = 0; i < count; i++) {
    const p = seqPacket(i, 16);
    for (let k = 4; k < 16; k++) p[k] = (i * 31 + k) & 255;
    sentAt.push(net.clock.now());
    ca.putPacket(p);
    net.advance(everyMs);
  }
  net.runUntil(() => false, { maxMs: 60_000 });
  const stats = net.directionStats(a, b);
  return { got, sentAt, stats, net };
}

function intact(x: { seq: number; data: Uint8Array }): boolean {
  if (x.data.length !== 16) return false;
  for (let k = 4; k < 16; k++) if (x.data[k] !== ((x.seq * 31 + k) & 255)) return false;
  return true;
}

describe('channel semantics over an impaired link', () => {
  it('reliable ordered under 30 % loss delivers everything, in order, some of it late', () => {
    const { got, sentAt, stats } = run({}, { latencyMs: 20, jitter: 5, loss: 0.3 }, 3000);
    expect(got.map((x) => x.seq)).toEqual([...Array(3000).keys()]);
    expect(got.every(intact)).toBe(true);
    // Loss hit the reliable path and was repaired by retransmission after the RTO (≥ 200 ms).
    expect(stats.packetsLost).toBeGreaterThan(3000 * 0.3);
    const maxDelay = Math.max(...got.map((x) => x.at - sentAt[x.seq]!));
    expect(maxDelay).toBeGreaterThan(200);
  });

  it('reliable ordered with loss, duplication, reordering and jitter still delivers exactly once, in order', () => {
    const { got } = run({}, { latencyMs: 15, jitter: { ms: 10, distribution: 'normal' }, loss: { rate: 0.1, gilbertElliott: { p: 0.01, r: 0.3 } }, duplicate: 0.1, reorder: 0.1 }, 3000);
    expect(got.map((x) => x.seq)).toEqual([...Array(3000).keys()]);
  });

  it('reliable unordered under 30 % loss delivers everything once, out of order', () => {
    const { got } = run({ ordered: false }, { latencyMs: 20, loss: 0.3 }, 3000);
    expect(got.length).toBe(3000);
    expect(new Set(got.map((x) => x.seq)).size).toBe(3000);
    const inversions = got.filter((x, i) => i > 0 && x.seq < got[i - 1]!.seq).length;
    expect(inversions).toBeGreaterThan(100);
  });

  it('maxRetransmits 0 loses what the link loses; maxRetransmits 2 loses about loss³', () => {
    const zero = run({ ordered: false, maxRetransmits: 0 }, { latencyMs: 20, loss: 0.3 }, 10_000);
    const lost0 = 1 - zero.got.length / 10_000;
    expect(lost0).toBeGreaterThan(0.28);
    expect(lost0).toBeLessThan(0.32);
    const two = run({ ordered: false, maxRetransmits: 2 }, { latencyMs: 20, loss: 0.3 }, 10_000);
    const lost2 = 1 - two.got.length / 10_000;
    expect(lost2).toBeGreaterThan(0.018);
    expect(lost2).toBeLessThan(0.036);
  });

  it('maxPacketLifeTime abandons what cannot arrive in time', () => {
    // Without fast retransmit only the RTO (200 ms here) repairs: a 100 ms lifetime allows no retransmission.
    const short = run({ ordered: false, maxPacketLifeTime: 100 }, { latencyMs: 10, loss: 0.3 }, 10_000, 5, false);
    const lostShort = 1 - short.got.length / 10_000;
    expect(lostShort).toBeGreaterThan(0.28);
    expect(lostShort).toBeLessThan(0.32);
    // With fast retransmit (the default) one quick retry fits: loss ≈ 0.3².
    const fast = run({ ordered: false, maxPacketLifeTime: 100 }, { latencyMs: 10, loss: 0.3 }, 10_000);
    const lostFast = 1 - fast.got.length / 10_000;
    expect(lostFast).toBeGreaterThan(0.075);
    expect(lostFast).toBeLessThan(0.105);
    for (const x of fast.got) expect(x.at - fast.sentAt[x.seq]!).toBeLessThanOrEqual(100 + 10);
    // 1000 ms allows retries at +200 and +600 ms (backoff), so three transmissions.
    const long = run({ ordered: false, maxPacketLifeTime: 1000 }, { latencyMs: 10, loss: 0.3 }, 10_000, 5, false);
    const lostLong = 1 - long.got.length / 10_000;
    expect(lostLong).toBeGreaterThan(0.018);
    expect(lostLong).toBeLessThan(0.036);
    for (const x of long.got) expect(x.at - long.sentAt[x.seq]!).toBeLessThanOrEqual(1000 + 10);
  });

  it('fast retransmit repairs a loss after three later packets instead of the RTO', () => {
    // 60 Hz traffic, 20 ms each way: a lost message is resent when the SACK for the
    // third later packet arrives (3 × 16.7 + 20 + 20 ≈ 90 ms after it was sent) and lands 20 ms later.
    const delays = (fast: boolean) => {
      // Unordered, so only the lost messages themselves are late (no head-of-line blocking).
      const r = run({ ordered: false }, { latencyMs: 20, loss: 0.05 }, 2000, 5, fast, 1000 / 60);
      expect(new Set(r.got.map((x) => x.seq)).size).toBe(2000);
      return r.got.map((x) => x.at - r.sentAt[x.seq]!).filter((d) => d > 20.5);
    };
    const withFr = delays(true);
    const withoutFr = delays(false);
    expect(withoutFr.length).toBeGreaterThan(50);
    expect(Math.min(...withoutFr)).toBeGreaterThan(200);
    const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[xs.length >> 1]!;
    expect(median(withFr)).toBeGreaterThan(100);
    expect(median(withFr)).toBeLessThan(150);
  });

  it('ordered partial reliability skips abandoned messages and never stalls', () => {
    const { got } = run({ ordered: true, maxRetransmits: 0 }, { latencyMs: 20, jitter: 10, loss: 0.3 }, 5000);
    const seqs = got.map((x) => x.seq);
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]!).toBeGreaterThan(seqs[i - 1]!);
    expect(seqs.length / 5000).toBeGreaterThan(0.67);
    expect(seqs[seqs.length - 1]).toBeGreaterThan(4990);
  });

  it('unreliable channel under loss never delivers duplicates or corrupted data (duplication off)', () => {
    const { got } = run({ ordered: false, maxRetransmits: 0 }, { latencyMs: 20, jitter: 15, loss: { rate: 0.2, gilbertElliott: { p: 0.05, r: 0.2 } }, reorder: 0.1 }, 10_000);
    expect(got.length).toBeGreaterThan(5000);
    expect(new Set(got.map((x) => x.seq)).size).toBe(got.length);
    expect(got.every(intact)).toBe(true);
  });

  it('a reliable message sent during an outage arrives after it', () => {
    const net = new VirtualNetwork({ seed: 2 });
    const a = net.createHost();
    const b = net.createHost();
    const { ca, cb } = openNegotiated(net, a, b);
    const now = net.clock.now();
    net.link(a, b, { latencyMs: 10, outages: [{ atMs: now, durationMs: 1000 }] });
    const got: number[] = [];
    cb.on('packet', (d) => got.push(net.clock.now()));
    net.advance(1);
    ca.putPacket(new Uint8Array([9]));
    net.advance(999);
    expect(got).toEqual([]);
    net.runUntil(() => got.length === 1, { maxMs: 10_000 });
    expect(got[0]!).toBeGreaterThan(now + 1000);
  });
});

describe('SCTP bundling', () => {
  it('small messages sent in the same instant share one packet and its fate', () => {
    const net = new VirtualNetwork({ seed: 8 });
    const a = net.createHost();
    const b = net.createHost();
    const { ca, cb } = openNegotiated(net, a, b, { ordered: false, maxRetransmits: 0 });
    net.link(a, b, { latencyMs: 10, loss: 0.5 });
    const perTick = new Map<number, number>();
    cb.on('packet', (d) => {
      const tick = readSeq(d);
      perTick.set(tick, (perTick.get(tick) ?? 0) + 1);
    });
    const before = net.directionStats(a, b).packetsSent;
    for (let tick = 0; tick < 400; tick++) {
      for (let k = 0; k < 10; k++) ca.putPacket(seqPacket(tick, 50)); // 10 × (50 + 16) B fit in one 1200 B packet
      net.advance(16);
    }
    net.advance(100);
    expect(net.directionStats(a, b).packetsSent - before).toBe(400);
    expect([...perTick.values()].every((n) => n === 10)).toBe(true);
    expect(perTick.size / 400).toBeGreaterThan(0.43);
    expect(perTick.size / 400).toBeLessThan(0.57);
  });

  it('a burst larger than one packet is split into several', () => {
    const net = new VirtualNetwork({ seed: 8 });
    const a = net.createHost();
    const b = net.createHost();
    const { ca, cb } = openNegotiated(net, a, b);
    let got = 0;
    cb.on('packet', () => got++);
    const before = net.directionStats(a, b).packetsSent;
    for (let k = 0; k < 10; k++) ca.putPacket(seqPacket(k, 584)); // 600 B chunks: two per packet
    net.advance(10);
    expect(net.directionStats(a, b).packetsSent - before).toBe(5);
    expect(got).toBe(10);
  });
});

describe('SCTP fragmentation', () => {
  /** `count` messages of `size` bytes, one every `everyMs`, on a fresh pair; what arrived and when. */
  function sendSized(channel: ChannelOptions, link: LinkOptions, count: number, size: number, everyMs = 20) {
    const net = new VirtualNetwork({ seed: 21 });
    const a = net.createHost();
    const b = net.createHost();
    const { ca, cb } = openNegotiated(net, a, b, channel);
    net.link(a, b, link);
    const before = net.directionStats(a, b);
    const got: { seq: number; ok: boolean; at: number }[] = [];
    cb.on('packet', (d) => got.push({ seq: readSeq(d), ok: d.length === size && d[size - 1] === (readSeq(d) & 255), at: net.clock.now() }));
    const sentAt: number[] = [];
    for (let i = 0; i < count; i++) {
      const p = seqPacket(i, size);
      p[size - 1] = i & 255;
      sentAt.push(net.clock.now());
      ca.putPacket(p);
      net.advance(everyMs);
    }
    net.runUntil(() => false, { maxMs: 60_000 });
    const after = net.directionStats(a, b);
    const late = got.filter((x) => x.at - sentAt[x.seq]! > 10.5).length / count;
    return { got, late, packets: after.packetsSent - before.packetsSent, bytes: after.bytesSent - before.bytesSent };
  }

  // 12 000 B = 11 fragments of up to 1184 B (+ 16 B chunk header each).
  const BIG = 12_000;
  const FRAGMENTS = 11;

  it('a message larger than a packet crosses as fragments, each with its chunk header and link overhead', () => {
    const { got, packets, bytes } = sendSized({}, { latencyMs: 10 }, 10, BIG);
    expect(got.map((x) => x.seq)).toEqual([...Array(10).keys()]);
    expect(got.every((x) => x.ok)).toBe(true);
    expect(packets).toBe(10 * FRAGMENTS);
    expect(bytes).toBe(10 * (BIG + FRAGMENTS * (16 + 48)));
  });

  it('large reliable messages are retransmitted far more often than small ones: one lost fragment is enough', () => {
    const p = 0.05;
    const small = sendSized({ ordered: false }, { latencyMs: 10, loss: p }, 2000, 100);
    const big = sendSized({ ordered: false }, { latencyMs: 10, loss: p }, 2000, BIG);
    for (const r of [small, big]) {
      expect(r.got.length).toBe(2000);
      expect(new Set(r.got.map((x) => x.seq)).size).toBe(2000);
      expect(r.got.every((x) => x.ok)).toBe(true);
    }
    // Late = its first transmission did not get through: p for one packet, 1 − (1 − p)^k for k fragments.
    expect(Math.abs(small.late - p)).toBeLessThan(0.015);
    const expectedBig = 1 - (1 - p) ** FRAGMENTS; // ≈ 0.43
    expect(Math.abs(big.late - expectedBig)).toBeLessThan(0.04);
    expect(big.late).toBeGreaterThan(5 * small.late);
    // SCTP resends only the missing fragments: ≈ k / (1 − p) packets per message, not k / (1 − p)^k.
    expect(big.packets / 2000).toBeGreaterThan(FRAGMENTS);
    expect(big.packets / 2000).toBeLessThan((FRAGMENTS / (1 - p)) * 1.03);
  });

  it('an unreliable large message is lost when any of its fragments is (stateless fast path and per-message path)', () => {
    const p = 0.05;
    const expected = 1 - (1 - p) ** FRAGMENTS;
    for (const channel of [{ ordered: false, maxRetransmits: 0 }, { ordered: true, maxRetransmits: 0 }]) {
      const { got } = sendSized(channel, { latencyMs: 10, loss: p }, 3000, BIG);
      expect(got.every((x) => x.ok)).toBe(true);
      expect(Math.abs(1 - got.length / 3000 - expected)).toBeLessThan(0.035);
    }
  });
});

describe('scale', () => {
  it('200 virtual peers connect to one server through the peer layer and exchange a message each', () => {
    const net = new VirtualNetwork({ seed: 10, defaultLink: { latencyMs: 20, jitter: 3 } });
    const server = net.createHost('server');
    const ends = Array.from({ length: 200 }, () => openNegotiated(net, server, net.createHost()));
    let got = 0;
    for (const e of ends) e.ca.on('packet', () => got++);
    for (const e of ends) e.cb.putPacket(seqPacket(1));
    net.advance(100);
    expect(got).toBe(200);
    expect(server.connectionCount()).toBe(200);
    net.close();
    expect(server.connectionCount()).toBe(0);
  });
});
