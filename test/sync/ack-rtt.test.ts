/**
 * SyncHost reports each peer's snapshot → acknowledgement round trip
 * (`getStats().ackRttMs`), timed on the clock it is given.
 */
import { expect, it } from 'vitest';
import { defineSchema, SyncClient, SyncHost, t } from '../../src/sync/index.js';
import { MemoryLinks } from './harness.js';

const Dot = defineSchema('dot', { x: t.quant(-100, 100, 0.01) });

it('ackRttMs is the time from sending a snapshot to its first acknowledgement, per peer', () => {
  let now = 1000;
  const links = new MemoryLinks([2, 3]);
  const host = new SyncHost(links.transport(1), { schemas: [Dot], clock: { now: () => now } });
  const fast = new SyncClient(links.transport(2), { schemas: [Dot] });
  const slow = new SyncClient(links.transport(3), { schemas: [Dot] });
  const dot = host.spawn(Dot, { x: 0 });
  expect(host.getStats().ackRttMs).toEqual({});
  for (let i = 1; i <= 30; i++) {
    dot.set('x', i);
    host.tick();
    links.deliver();
    fast.poll(now);
    slow.poll(now);
    now += 20;
    const held = links.queue.filter((m) => m.from === 3);
    links.deliver((m) => m.from === 2); // the fast client's ack comes back after 20 ms
    links.queue.push(...held);
    now += 30;
    links.deliver(); // the slow one's after 50 ms
  }
  const rtt = host.getStats().ackRttMs;
  expect(rtt[2]).toBeCloseTo(20, 6);
  expect(rtt[3]).toBeCloseTo(50, 6);
  expect(() => new SyncHost(links.transport(1), { schemas: [Dot], clock: {} as never })).toThrow(/clock/);
});
