/**
 * Baseline histories in a shared arena (how a client keeps them) behave
 * exactly like histories in their own buffers, through growth past the
 * arena's block size, pruning, and blocks freed and reused by other objects.
 */
import { expect, it } from 'vitest';
import { int32Arena } from '../../src/sync/arena.js';
import { CodeHistory } from '../../src/sync/history.js';
import { defineSchema, t } from '../../src/sync/index.js';

const S = defineSchema('s', { a: t.uint32, b: t.quant(-10, 10, 0.5), c: t.int8, f: t.float32 });

it('arena histories match own-buffer histories under growth, pruning, release and reuse', () => {
  let seed = 12345;
  const rand = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
  const arena = int32Arena();
  type Pair = { a: CodeHistory; own: CodeHistory; slots: (number | string)[] };
  const live: Pair[] = [];
  const make = (tick: number): Pair => {
    const slots = [Math.floor(rand() * 2 ** 32), -10 + Math.floor(rand() * 41) * 0.5, Math.floor(rand() * 256) - 128, 0];
    const p = { a: new CodeHistory(S, arena), own: new CodeHistory(S), slots };
    p.a.record(tick, slots);
    p.own.record(tick, slots);
    return p;
  };
  let checked = 0;
  for (let tick = 1; tick <= 3000; tick++) {
    if (live.length < 40 || rand() < 0.05) live.push(make(tick));
    if (rand() < 0.05 && live.length > 0) live.splice(Math.floor(rand() * live.length), 1)[0]!.a.release();
    // A floor that lags by up to 40 ticks (past the arena's 12 entries, up to the window).
    const floor = tick - 1 - Math.floor((Math.sin(tick / 200) + 1) * 20);
    for (const p of live) {
      if (rand() < 0.7) {
        p.slots[0] = Math.floor(rand() * 2 ** 32);
        p.slots[2] = Math.floor(rand() * 256) - 128;
        p.a.prune(floor);
        p.own.prune(floor);
        p.a.record(tick, p.slots);
        p.own.record(tick, p.slots);
      }
      for (const b of [floor, tick - 1, tick - 5, tick]) {
        const x = p.a.find(b);
        const y = p.own.find(b);
        expect(x < 0).toBe(y < 0);
        if (x >= 0) for (let k = 0; k < 3; k++) expect(p.a.codeAt(x, k)).toBe(p.own.codeAt(y, k));
        checked++;
      }
    }
  }
  expect(checked).toBeGreaterThan(100_000);
});
