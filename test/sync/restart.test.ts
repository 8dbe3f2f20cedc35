/**
 * A client whose process restarts under the same id (the mesh reports
 * `peer_restarted`, forwarded by the transport's `onPeerRestarted`): the host
 * forgets what it knew of that client, so the new instance gets a reset at
 * the next tick and its inputs, numbered from 1 again, are taken.
 */
import { expect, it } from 'vitest';
import { defineSchema, SyncClient, SyncHost, t } from '../../src/sync/index.js';
import { MemoryLinks } from './harness.js';

const Unit = defineSchema('unit', { pos: t.vec2(t.quant(-100, 100, 0.1)), hp: t.uint8 });
const Input = defineSchema('input', { move: t.int8 });

it('a restarted client gets a reset at once and its new inputs (from seq 1) are processed', () => {
  const links = new MemoryLinks([2]);
  const host = new SyncHost(links.transport(1), { schemas: [Unit], inputSchema: Input });
  let client = new SyncClient(links.transport(2), { schemas: [Unit], inputSchema: Input });
  const unit = host.spawn(Unit, { pos: { x: 1, y: 2 }, hp: 5 });
  let now = 0;
  const taken: number[] = [];
  const round = () => {
    for (let next = host.takeInput<{ move: number }>(2); next; next = host.takeInput<{ move: number }>(2)) taken.push(next.input.move);
    host.tick();
    links.deliver();
    client.poll((now += 33));
    links.deliver();
  };
  for (let i = 1; i <= 5; i++) {
    client.sendInput({ move: i });
    round();
  }
  round();
  expect(taken).toEqual([1, 2, 3, 4, 5]);
  expect(client.objects.get(unit.id)?.get('hp')).toBe(5);

  // The client process restarts with the same id: a fresh SyncClient numbering inputs from 1.
  client.close();
  client = new SyncClient(links.transport(2), { schemas: [Unit], inputSchema: Input });
  links.restarted(2);
  unit.set('hp', 6);
  const errors: unknown[] = [];
  client.on('sync_error', (e) => errors.push(e));
  for (let i = 1; i <= 3; i++) {
    client.sendInput({ move: 10 + i });
    round();
  }
  round();
  expect(errors).toEqual([]); // a reset, not deltas on a baseline the new instance never had
  expect(client.objects.get(unit.id)?.get('hp')).toBe(6);
  expect(taken).toEqual([1, 2, 3, 4, 5, 11, 12, 13]);
  expect(host.getStats().resetsSent).toBe(2);
});

it('a SyncClient whose host restarts under the same id starts over by itself: despawns, takes the new host\'s reset, renumbers inputs', () => {
  const links = new MemoryLinks([2]);
  let host = new SyncHost(links.transport(1), { schemas: [Unit], inputSchema: Input });
  const client = new SyncClient(links.transport(2), { schemas: [Unit], inputSchema: Input });
  const events: string[] = [];
  client.on('spawn', (o) => events.push(`spawn ${o.id} hp ${o.get('hp')}`));
  client.on('despawn', (o) => events.push(`despawn ${o.id}`));
  const errors: unknown[] = [];
  client.on('sync_error', (e) => errors.push(e));
  host.spawn(Unit, { pos: { x: 1, y: 2 }, hp: 5 });
  host.spawn(Unit, { pos: { x: 3, y: 4 }, hp: 7 });
  let now = 0;
  let taken: number[] = [];
  const round = (deliverInputs = true) => {
    for (let next = host.takeInput<{ move: number }>(2); next; next = host.takeInput<{ move: number }>(2)) taken.push(next.input.move);
    host.tick();
    links.deliver();
    client.poll((now += 33));
    links.deliver((m) => deliverInputs || m.from !== 2);
  };
  for (let i = 0; i < 40; i++) round(); // the old host reaches tick 40
  client.sendInput({ move: 1 });
  round();
  round();
  expect(taken).toEqual([1]);
  client.sendInput({ move: 2 }); // never reaches the old host
  round(false);
  expect(client.unacknowledgedInputs().map((x) => x.seq)).toEqual([2]);

  // The host process restarts with the same id: a new SyncHost, ticks and ids from 1, other objects.
  host.close();
  links.queue.length = 0;
  host = new SyncHost(links.transport(1), { schemas: [Unit], inputSchema: Input });
  taken = [];
  events.length = 0;
  links.restarted(1);
  expect(events).toEqual(['despawn 1', 'despawn 2']);
  expect(client.objects.size).toBe(0);
  expect(client.unacknowledgedInputs().map((x) => x.seq)).toEqual([1]); // renumbered for the new host
  events.length = 0;
  const fresh = host.spawn(Unit, { pos: { x: 9, y: 9 }, hp: 42 });
  client.sendInput({ move: 3 });
  for (let i = 0; i < 4; i++) round();
  expect(errors).toEqual([]);
  expect(events).toEqual([`spawn ${fresh.id} hp 42`]);
  expect(client.objects.get(fresh.id)?.get('hp')).toBe(42);
  expect(client.tick).toBeGreaterThan(0);
  expect(client.tick).toBeLessThan(10); // the new host's numbering
  expect(taken).toEqual([2, 3]); // the unacknowledged input, then the new one, each once
  expect(client.lastProcessedInput).toBe(2);
  expect(client.getStats().hostRestarts).toBe(1);
  // Render time follows the new host's clock (not held at the old one's).
  expect(client.renderTime).toBeLessThan(40 * 33);
});
