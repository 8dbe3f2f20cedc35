/**
 * Input streams on the virtual network with 20 % loss both ways: every input
 * is processed by the host exactly once and in order, acknowledgements reach
 * the client, and the replay helper yields exactly the unacknowledged inputs.
 */
import { expect, it } from 'vitest';
import { defineSchema, rpcTransport, SyncClient, SyncHost, t } from '../../src/sync/index.js';
import { closeStar, virtualStar } from './harness.js';

const Avatar = defineSchema('avatar', { pos: t.vec2(t.quant(-100, 100, 0.01)) });
const Input = defineSchema('input', { dx: t.int8, dy: t.int8, fire: t.bool });
type In = { dx: number; dy: number; fire: boolean };

it('with 20 % loss every input is processed exactly once, in order; replay covers the unacknowledged ones', () => {
  const star = virtualStar(2, { latencyMs: 60, jitter: { ms: 10, distribution: 'normal' }, loss: 0.2, reorder: 0.05 }, 23);
  const host = new SyncHost(rpcTransport(star.server), { schemas: [Avatar], inputSchema: Input });
  const clients = star.clients.map((ep) => new SyncClient(rpcTransport(ep), { schemas: [Avatar], inputSchema: Input }));
  host.spawn(Avatar, { pos: { x: 0, y: 0 } });
  const processed = new Map<number, { seq: number; input: In }[]>([
    [2, []],
    [3, []],
  ]);
  const INPUTS = 600;
  const replayChecks: boolean[] = [];
  let tick = 0;
  const step = () => {
    tick++;
    for (const ep of star.all) ep.poll();
    for (const [peer, list] of processed) {
      // The game takes at most two inputs per tick (it catches up after loss bursts).
      for (let k = 0; k < 2; k++) {
        const next = host.takeInput<In>(peer);
        if (next === undefined) break;
        list.push(next);
      }
    }
    host.tick();
    clients.forEach((c, i) => {
      if (tick <= INPUTS) c.sendInput({ dx: (tick % 200) - 100, dy: i, fire: tick % 3 === 0 });
      const pending = c.unacknowledgedInputs<In>();
      const seen: number[] = [];
      c.replay<In>((_input, seq) => seen.push(seq));
      replayChecks.push(seen.length === pending.length && seen.every((s, j) => s === c.lastProcessedInput + 1 + j));
      c.poll(star.net.clock.now());
    });
    for (const ep of star.all) ep.flush();
    star.net.clock.advance(1000 / 30);
  };
  while (tick < INPUTS) step();
  // Let the tail drain.
  for (let i = 0; i < 300 && clients.some((c) => c.lastProcessedInput < INPUTS); i++) step();
  const hs = host.getStats();
  closeStar(star);
  clients.forEach((c, i) => {
    const list = processed.get(i + 2)!;
    expect(list.map((p) => p.seq)).toEqual(Array.from({ length: INPUTS }, (_, k) => k + 1));
    expect(list.map((p) => p.input)).toEqual(Array.from({ length: INPUTS }, (_, k) => ({ dx: ((k + 1) % 200) - 100, dy: i, fire: (k + 1) % 3 === 0 })));
    expect(c.lastProcessedInput).toBe(INPUTS);
    expect(c.unacknowledgedInputs()).toEqual([]);
  });
  expect(replayChecks.every(Boolean)).toBe(true);
  expect(hs.inputsSkipped).toBe(0);
  expect(hs.inputsReceived).toBe(2 * INPUTS);
  expect(hs.errors).toEqual({});
});
