/**
 * Measuring one impaired virtual link (impairments.test.ts and
 * impairments-changes.test.ts): two hosts joined by an unreliable unordered
 * channel (maxRetransmits 0) that records every arrival, a paced sender, and
 * the statistics the tests compare with the settings.
 */
import type { WebRTCDataChannel } from '../api.js';
import { VirtualNetwork, type LinkOptions } from '../../src/transport/virtual/index.js';
import { openNegotiated } from './util.js';

/** One packet as received: its sequence number, when it was sent and when it arrived (virtual ms). */
export interface Arrival {
  seq: number;
  sentAt: number;
  at: number;
}

/** Two hosts with an unreliable unordered channel opened on a clean link, then `options` applied; arrivals are recorded. */
export function setup(options: LinkOptions, seed = 11) {
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

/** Send `count` packets (sequence number and send time inside), advancing the clock `everyMs` after each. */
export function send(net: VirtualNetwork, ch: WebRTCDataChannel, count: number, everyMs: number, size = 12): void {
  for (let i = 0; i < count; i++) {
    const p = new Uint8Array(Math.max(12, size));
    const v = new DataView(p.buffer);
    v.setUint32(0, i);
    v.setFloat64(4, net.clock.now());
    ch.putPacket(p);
    if (everyMs > 0) net.advance(everyMs);
  }
}

/** Sorted copy. */
function sorted(xs: number[]): number[] {
  return xs.slice().sort((x, y) => x - y);
}

/** The `q` quantile of `xs` (nearest rank). */
export function quantile(xs: number[], q: number): number {
  const s = sorted(xs);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}

/** Arithmetic mean. */
export function mean(xs: number[]): number {
  return xs.reduce((s, x) => s + x, 0) / xs.length;
}

/** Population standard deviation. */
export function std(xs: number[]): number {
  const m = mean(xs);
  return Math.sqrt(xs.reduce((s, x) => s + (x - m) ** 2, 0) / xs.length);
}

/** Lengths of the runs of sequence numbers in 0..count-1 missing from `got` (a run still open at the end is not counted). */
export function lossBursts(got: Set<number>, count: number): number[] {
  const bursts: number[] = [];
  let run = 0;
  for (let i = 0; i < count; i++) {
    if (!got.has(i)) run++;
    else if (run > 0) {
      bursts.push(run);
      run = 0;
    }
  }
  return bursts;
}
