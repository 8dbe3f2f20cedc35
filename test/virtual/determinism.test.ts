/**
 * One seed fixes every random choice: the same seed and inputs export a
 * byte-identical trace; another seed gives another trace.
 */
import { describe, expect, it } from 'vitest';
import { VirtualNetwork } from '../../src/transport/virtual/index.js';
import { openNegotiated, seqPacket } from './util.js';

function scenario(seed: number): { trace: string; delivered: number } {
  const net = new VirtualNetwork({ seed, trace: { enabled: true } });
  const hosts = [net.createHost('server'), net.createHost('p1'), net.createHost('p2'), net.createHost('p3')];
  const server = hosts[0]!;
  const conditions = { latencyMs: 30, jitter: { ms: 8, distribution: 'normal' as const }, loss: { rate: 0.05, gilbertElliott: { p: 0.02, r: 0.3 } }, duplicate: 0.02, reorder: 0.05, bandwidthKbps: 2000 };
  let delivered = 0;
  const links = hosts.slice(1).map((h, i) => {
    net.link(server, h, conditions);
    const reliable = openNegotiated(net, server, h);
    const unreliable = openNegotiated(net, h, server, { ordered: false, maxRetransmits: 0 });
    reliable.cb.on('packet', () => delivered++);
    unreliable.cb.on('packet', () => delivered++);
    return { reliable, unreliable, i };
  });
  for (let tick = 0; tick < 120; tick++) {
    for (const { reliable, unreliable, i } of links) {
      reliable.ca.putPacket(seqPacket(tick * 10 + i, 40));
      for (let k = 0; k < 3; k++) unreliable.ca.putPacket(seqPacket(tick * 100 + k, 24));
    }
    net.advance(1000 / 60);
  }
  net.partition([hosts[1]!], [server]);
  net.advance(6000);
  net.heal();
  net.advance(5000);
  const trace = net.exportTrace();
  net.close();
  return { trace, delivered };
}

describe('determinism', () => {
  it('the same seed gives a byte-identical trace', () => {
    const first = scenario(1234);
    const second = scenario(1234);
    expect(first.trace.length).toBeGreaterThan(10_000);
    expect(first.trace).toMatch(/ deliver /);
    expect(first.trace).toMatch(/ drop-loss /);
    expect(first.trace).toMatch(/ disconnected/);
    expect(second.trace).toBe(first.trace);
    expect(second.delivered).toBe(first.delivered);
  });

  it('a different seed gives a different trace', () => {
    const first = scenario(1234);
    const other = scenario(4321);
    expect(other.trace).not.toBe(first.trace);
  });

  it('the trace can be limited and cleared', () => {
    const net = new VirtualNetwork({ trace: { enabled: true, limit: 3 } });
    const a = net.createHost();
    const b = net.createHost();
    openNegotiated(net, a, b);
    expect(net.trace.length).toBe(3);
    expect(net.trace.overflow).toBeGreaterThan(0);
    expect(net.trace.entries()).toHaveLength(3);
    net.trace.clear();
    expect(net.exportTrace()).toBe('');
  });
});
