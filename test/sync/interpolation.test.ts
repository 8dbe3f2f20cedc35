/**
 * Client interpolation: render time = newest snapshot time − delay; numeric
 * fields are interpolated between samples, extrapolation past the newest is
 * bounded, and still objects are held, not extrapolated.
 */
import { expect, it } from 'vitest';
import { defineSchema, SyncClient, SyncHost, t } from '../../src/sync/index.js';
import { MemoryLinks } from './harness.js';

const Dot = defineSchema('dot', { x: t.quant(-10000, 10000, 0.001), level: t.uint8 });

it('interpolates between snapshots, extrapolates at most maxExtrapolationMs, holds still objects', () => {
  const links = new MemoryLinks([2]);
  const host = new SyncHost(links.transport(1), { schemas: [Dot], tickRate: 20 }); // 50 ms per tick
  const client = new SyncClient(links.transport(2), { schemas: [Dot], interpolationDelayMs: 100, maxExtrapolationMs: 150 });
  const events: string[] = [];
  client.on('spawn', (o) => events.push(`spawn ${o.id}`));
  client.on('despawn', (o) => events.push(`despawn ${o.id}`));
  const moving = host.spawn(Dot, { x: 0, level: 0 });
  const still = host.spawn(Dot, { x: 5, level: 1 });
  let delivering = true;
  const checks: [number, number][] = [];
  // 50 ms ticks, client frames every 10 ms; x moves 1 unit per tick (0.02 per ms of host time).
  for (let frame = 0; frame < 400; frame++) {
    const now = frame * 10;
    if (frame % 5 === 0) {
      const tick = host.currentTick;
      moving.set({ x: tick, level: tick % 256 });
      host.tick();
      if (delivering) links.deliver();
      else links.queue.length = 0;
    }
    client.poll(now);
    links.deliver();
    if (frame > 40 && delivering) checks.push([client.renderTime, client.objects.get(moving.id)!.renderGet('x') as number]);
    if (frame === 200) delivering = false;
  }
  expect(events).toEqual([`spawn ${moving.id}`, `spawn ${still.id}`]);
  // While snapshots flow: the render time trails the newest snapshot by the delay, and x(rt) = rt * 0.02.
  expect(checks.length).toBeGreaterThan(100);
  for (const [rt, x] of checks) expect(x).toBeCloseTo(rt * 0.02, 6);
  const newestTime = (client.tick * 1000) / 20;
  const last = client.objects.get(moving.id)! as import('../../src/sync/index.js').Replica<typeof Dot.fields>;
  // After snapshots stop, the mover extrapolates to exactly 150 ms past its newest sample and stops there.
  expect(client.renderTime).toBeGreaterThan(newestTime + 150);
  expect(last.renderGet('x')).toBeCloseTo(last.get('x') + 150 * 0.02, 6);
  // Non-interpolated fields show the latest value; the still object is held.
  expect(last.renderGet('level')).toBe(last.get('level'));
  expect(client.objects.get(still.id)!.renderGet('x')).toBe(5);
  // Despawn reaches the client as an event.
  still.despawn();
  host.tick();
  links.deliver();
  expect(events.at(-1)).toBe(`despawn ${still.id}`);
});
