/**
 * The send buffer of a connection over a bandwidth-capped link: what the
 * bottleneck queue has no room for waits at the sender (bufferedAmount,
 * buffered_amount_low) instead of being tail-dropped, as SCTP's send buffer
 * does. Uncapped links never buffer.
 */
import { describe, expect, it } from 'vitest';
import { VirtualNetwork, type LinkOptions } from '../../src/transport/virtual/index.js';
import { openNegotiated, readSeq, seqPacket } from './util.js';

type ChannelOptions = { ordered?: boolean; maxRetransmits?: number; maxPacketLifeTime?: number };

// 800 kbit/s = 100 B/ms; 984 B messages + 16 B chunk header, no overhead: 1000 B per packet, one per 10 ms.
const CAPPED: LinkOptions = { latencyMs: 20, bandwidthKbps: 800, queueBytes: 20_000, overheadBytes: 0 };
const SIZE = 984;

function setup(link: LinkOptions, channel: ChannelOptions = {}, seed = 3) {
  const net = new VirtualNetwork({ seed });
  const a = net.createHost();
  const b = net.createHost();
  const ends = openNegotiated(net, a, b, channel);
  const l = net.link(a, b, link);
  const got: { seq: number; at: number }[] = [];
  ends.cb.on('packet', (d) => got.push({ seq: readSeq(d), at: net.clock.now() }));
  return { net, a, b, ...ends, got, forward: l.forward.label.startsWith(a.address + '>') ? l.forward : l.backward };
}

describe('send buffer on a bandwidth-capped link', () => {
  it('a reliable flood backs up at the sender and drains at the link rate: nothing dropped, bufferedAmount falls to 0', () => {
    const { net, a, b, ca, got, forward } = setup(CAPPED);
    const n = 500;
    const t0 = net.clock.now();
    for (let i = 0; i < n; i++) ca.putPacket(seqPacket(i, SIZE));
    // 20 packets fit the bottleneck queue; the rest is buffered.
    expect(ca.getBufferedAmount()).toBe((n - 20) * SIZE);
    expect(ca.getStats().bufferedAmount).toBe((n - 20) * SIZE);
    let last = ca.getBufferedAmount();
    for (let t = 0; t < 5200; t += 50) {
      net.advance(50);
      const now = ca.getBufferedAmount();
      expect(now).toBeLessThanOrEqual(last);
      expect(forward.queuedBytes()).toBeLessThanOrEqual(20_000);
      last = now;
    }
    expect(ca.getBufferedAmount()).toBe(0);
    expect(got.map((x) => x.seq)).toEqual([...Array(n).keys()]);
    const stats = net.directionStats(a, b);
    expect(stats.packetsQueueDropped).toBe(0);
    expect(stats.packetsLost).toBe(0);
    // Throughput is the cap: the last message arrives after n packets of serialisation, plus the latency.
    expect(got[n - 1]!.at - t0).toBeCloseTo(n * 10 + 20, 6);
  });

  it('buffered_amount_low fires once, when bufferedAmount falls to the threshold', () => {
    const { net, ca } = setup(CAPPED);
    ca.setBufferedAmountLowThreshold(100_000);
    const events: { at: number; buffered: number }[] = [];
    ca.on('buffered_amount_low', () => events.push({ at: net.clock.now(), buffered: ca.getBufferedAmount() }));
    const t0 = net.clock.now();
    for (let i = 0; i < 300; i++) ca.putPacket(seqPacket(i, SIZE));
    net.advance(4000);
    expect(events.length).toBe(1);
    const e = events[0]!;
    expect(e.buffered).toBeLessThanOrEqual(100_000);
    expect(e.buffered).toBeGreaterThan(100_000 - SIZE);
    // 300 − 101 messages left the buffer by then; the first 20 went at once, then one per 10 ms.
    const left = 300 - Math.floor(100_000 / SIZE);
    expect(e.at - t0).toBeCloseTo((left - 20) * 10, 6);
    // The default threshold is 0: it fires again when the buffer empties after another flood.
    ca.setBufferedAmountLowThreshold(0);
    for (let i = 0; i < 100; i++) ca.putPacket(seqPacket(i, SIZE));
    net.advance(2000);
    expect(events.length).toBe(2);
    expect(events[1]!.buffered).toBe(0);
  });

  it('a message sent behind a backlog waits for it (latency grows instead of loss)', () => {
    const { net, ca, got } = setup(CAPPED, { ordered: false, maxRetransmits: 0 });
    for (let i = 0; i < 200; i++) ca.putPacket(seqPacket(i, SIZE));
    net.advance(100);
    const sent = net.clock.now();
    ca.putPacket(seqPacket(999, 4));
    net.advance(3000);
    expect(got.length).toBe(201);
    const late = got.find((x) => x.seq === 999)!;
    // Behind 200 packets of 10 ms each (100 ms of them already gone), then its own 0.2 ms and the latency.
    expect(late.at - sent).toBeCloseTo(1900 + 0.2 + 20, 6);
  });

  it('partially reliable messages whose lifetime ends in the buffer are abandoned unsent; the ordered receiver skips them', () => {
    const { net, a, b, ca, got } = setup(CAPPED, { ordered: true, maxPacketLifeTime: 500 });
    const t0 = net.clock.now();
    const bytesBefore = net.directionStats(a, b).bytesSent;
    for (let i = 0; i < 300; i++) ca.putPacket(seqPacket(i, SIZE));
    net.advance(1000);
    expect(ca.getBufferedAmount()).toBe(0);
    const sentBytes = net.directionStats(a, b).bytesSent - bytesBefore;
    // Sent within the lifetime: 20 into the queue at once, then one per 10 ms until the lifetime ends (at +500 ms it has).
    expect(got.length).toBe(20 + 49);
    expect(got.map((x) => x.seq)).toEqual([...Array(69).keys()]);
    // The lifetime is checked when a message leaves the buffer; the bottleneck queue (200 ms) and the latency come on top.
    expect(got[68]!.at - t0).toBeCloseTo(490 + 200 + 20, 6);
    // Later messages are not stuck behind the abandoned ones.
    const t1 = net.clock.now();
    ca.putPacket(seqPacket(1000, SIZE));
    net.advance(100);
    expect(got[got.length - 1]!.seq).toBe(1000);
    expect(got[got.length - 1]!.at - t1).toBeCloseTo(30, 6);
    // The abandoned messages never went on the wire: 69 data packets, and a 16 B FORWARD-TSN for each of the other 231.
    expect(sentBytes).toBe(69 * 1000 + 231 * 16);
  });

  it('on a lossy capped link retransmissions get through the backlog: everything arrives once, in order, nothing tail-dropped', () => {
    const { net, a, b, ca, got } = setup({ ...CAPPED, loss: 0.05 });
    for (let i = 0; i < 400; i++) ca.putPacket(seqPacket(i, SIZE));
    net.runUntil(() => got.length === 400, { maxMs: 60_000 });
    expect(got.map((x) => x.seq)).toEqual([...Array(400).keys()]);
    const stats = net.directionStats(a, b);
    expect(stats.packetsLost).toBeGreaterThan(5);
    expect(stats.packetsQueueDropped).toBe(0);
    expect(ca.getBufferedAmount()).toBe(0);
  });

  it('data queued before close() still goes, before the stream reset; a closed channel reports 0', () => {
    const { net, ca, cb, got } = setup(CAPPED);
    for (let i = 0; i < 100; i++) ca.putPacket(seqPacket(i, SIZE));
    expect(ca.getBufferedAmount()).toBe(80 * SIZE);
    ca.close();
    net.advance(1);
    expect(ca.getReadyState()).toBe(3); // CLOSED
    expect(ca.getBufferedAmount()).toBe(0);
    net.advance(3000);
    expect(got.map((x) => x.seq)).toEqual([...Array(100).keys()]);
    expect(cb.getReadyState()).toBe(3); // CLOSED
  });

  it('an uncapped link never buffers and never fires buffered_amount_low', () => {
    const { net, ca, got } = setup({ latencyMs: 20 });
    let lows = 0;
    ca.on('buffered_amount_low', () => lows++);
    for (let i = 0; i < 500; i++) ca.putPacket(seqPacket(i, SIZE));
    expect(ca.getBufferedAmount()).toBe(0);
    net.advance(100);
    expect(got.length).toBe(500);
    expect(lows).toBe(0);
  });
});
