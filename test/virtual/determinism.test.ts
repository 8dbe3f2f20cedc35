/**
 * One seed fixes a whole run (issue #11): a 16-peer lobby mesh on the virtual
 * network — signaling over a manually driven memory bus, links with latency,
 * jitter and 2 % loss, RPC traffic from a Ticker, one link cut long enough to
 * be lost and reconnected — driven deadline to deadline by the network gives a
 * byte-identical event trace for the same seed, and a different one for
 * another seed.
 */
import { createHash } from 'node:crypto';
import { expect, it } from 'vitest';
import { VirtualNetwork } from '../../src/index.js';
import { buildLobbyStack } from '../../bench/lib/lobby-stack.js';

async function run(seed: number, cut = true): Promise<{ trace: string; reconnected: number; fullMesh: boolean; hellos: number }> {
  const net = new VirtualNetwork({ seed, defaultLink: { latencyMs: 30, jitter: 5, loss: 0.02 }, trace: { enabled: true, limit: 2_000_000 } });
  const log: string[] = [];
  const stack = await buildLobbyStack(net, 16, { log: (line) => log.push(line) });
  net.runFor(8_000);
  if (cut) {
    // Cut one link long enough for the heartbeat to declare it lost; it comes back and reconnects.
    net.link(stack.hosts[3]!, stack.hosts[11]!, { outages: [{ atMs: net.clock.now() + 100, durationMs: 6000 }] });
    net.runFor(12_000);
  }
  const fullMesh = stack.meshes.every((m) => m.getPeerIds().length === 15);
  const digest = createHash('sha256').update(net.exportTrace()).digest('hex');
  const { reconnected, received } = stack;
  stack.close();
  net.close();
  return { trace: `${log.join('\n')}\nnetwork ${digest}`, reconnected, fullMesh, hellos: received };
}

it('the same seed gives a byte-identical trace of a 16-peer lobby mesh with RPC, loss and a reconnection; another seed does not', async () => {
  const a = await run(7);
  const b = await run(7);
  const c = await run(8, false);
  expect(a.fullMesh).toBe(true);
  expect(a.reconnected).toBeGreaterThan(0);
  expect(a.hellos).toBeGreaterThan(100);
  expect(b.trace).toBe(a.trace);
  expect(c.trace).not.toBe(a.trace);
}, 240_000);
