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
