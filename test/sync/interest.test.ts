/**
 * Interest management on the virtual network: an object circling through a
 * client's radius is despawned there when it leaves, never updated there while
 * outside, and spawned again with its current values when it comes back.
 */
import { expect, it } from 'vitest';
import { defineSchema, rpcTransport, SpatialInterest, SyncClient, SyncHost, t, type HostObject, type Replica } from '../../src/sync/index.js';
import type { SlotValue } from '../../src/sync/schema.js';
import { closeStar, MemoryLinks, virtualStar } from './harness.js';

const Ball = defineSchema('ball', { pos: t.vec2(t.quant(-1000, 1000, 0.01)), spin: t.uint16 });

it('leaving the radius despawns, nothing is sent while outside, re-entering spawns with current values', () => {
  const star = virtualStar(2, { latencyMs: 40, jitter: 5, loss: 0.05 }, 5);
  const viewers = new Map([
    [2, { x: 0, y: 0 }],
    [3, { x: 600, y: 0 }],
  ]);
  const host = new SyncHost(rpcTransport(star.server), {
    schemas: [Ball],
    interest: new SpatialInterest({ radius: 200, cellSize: 100, position: (o) => o.get('pos') as { x: number; y: number }, viewer: (p) => viewers.get(p) }),
  });
  const clients = star.clients.map((ep) => new SyncClient(rpcTransport(ep), { schemas: [Ball] }));
  const ball = host.spawn(Ball, { pos: { x: -500, y: 0 }, spin: 0 });
  const still = host.spawn(Ball, { pos: { x: 10, y: 10 }, spin: 7 }); // always inside client 2's radius
  const history = new Map<number, SlotValue[]>();
  const log: { what: string; tick: number; inside: boolean; ok: boolean }[] = [];
  let insideNow = false;
  const c2 = clients[0]!;
  const record = (what: string) => (obj: Replica<any>) => {
    if (obj.id !== ball.id) return;
    const want = history.get(obj.tick);
    log.push({ what, tick: obj.tick, inside: insideNow, ok: what === 'despawn' || (want !== undefined && want.every((v, i) => v === obj.slots[i])) });
  };
  c2.on('spawn', record('spawn'));
  c2.on('update', record('update'));
  c2.on('despawn', record('despawn'));
  const insideAt = new Map<number, boolean>();

  for (let tick = 1; tick <= 900; tick++) {
    for (const ep of star.all) ep.poll();
    // Back and forth along x through client 2's radius (and client 3's), 10 units per tick.
    const phase = tick % 200;
    const x = phase < 100 ? -500 + phase * 10 : 500 - (phase - 100) * 10;
    ball.set({ pos: { x, y: 0 }, spin: tick });
    const built = host.currentTick;
    history.set(built, [...ball.slots]);
    insideAt.set(built, Math.abs(x) <= 200);
    host.tick();
    insideNow = Math.abs(x) <= 200;
    for (const c of clients) c.poll(star.net.clock.now());
    for (const ep of star.all) ep.flush();
    star.net.clock.advance(1000 / 30);
  }
  closeStar(star);
  // Every state the client saw for the ball was the host's state at that tick, and taken while inside.
  expect(log.filter((l) => !l.ok)).toEqual([]);
  for (const l of log.filter((e) => e.what !== 'despawn')) expect(insideAt.get(l.tick)).toBe(true);
  // After each despawn the next event is a spawn, never an update.
  const kinds = log.map((l) => l.what);
  for (let i = 0; i < kinds.length - 1; i++) if (kinds[i] === 'despawn') expect(kinds[i + 1]).toBe('spawn');
  const spawns = kinds.filter((k) => k === 'spawn').length;
  const despawns = kinds.filter((k) => k === 'despawn').length;
  expect(spawns).toBeGreaterThanOrEqual(8); // 9 passes through the radius over 900 ticks
  expect(despawns).toBeGreaterThanOrEqual(spawns - 1);
  // Updates while inside did arrive.
  expect(kinds.filter((k) => k === 'update').length).toBeGreaterThan(100);
  // The object that never moved stayed, with its values; client 3 (far away) never saw it.
  expect(c2.objects.get(still.id)?.state).toEqual({ pos: { x: 10, y: 10 }, spin: 7 });
  expect(clients[1]!.objects.has(still.id)).toBe(false);
  expect(clients.every((c) => Object.keys(c.getStats().errors).length === 0)).toBe(true);
});

it('SpatialInterest returns exactly the objects within the radius, for any cell size, by field or function', () => {
  const links = new MemoryLinks([2]);
  const P = defineSchema('p', { at: t.vec3(t.quant(-1000, 1000, 0.01)) });
  const host = new SyncHost(links.transport(1), { schemas: [P] });
  let s = 12345;
  const rnd = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32) * 2 - 1;
  for (let i = 0; i < 500; i++) host.spawn(P, { at: { x: rnd() * 900, y: rnd() * 900, z: 0 } });
  const viewers = Array.from({ length: 20 }, () => ({ x: rnd() * 1200, y: rnd() * 1200 }));
  for (const radius of [10, 150, 400, 5000]) {
    for (const cellSize of [undefined, 7, 100, 999]) {
      for (const position of ['at', (o: HostObject<any>) => o.get('at') as { x: number; y: number }]) {
        const rule = new SpatialInterest({ radius, cellSize, position, viewer: (p) => viewers[p] });
        rule.prepare(host.objects);
        viewers.forEach((v, peer) => {
          const got: number[] = [];
          rule.collect(peer, host.objects, (o) => got.push(o.id));
          const want = [...host.objects.values()].filter((o) => {
            const a = o.get('at') as { x: number; y: number };
            return (a.x - v.x) ** 2 + (a.y - v.y) ** 2 <= radius * radius;
          });
          expect(got.sort((a, b) => a - b)).toEqual(want.map((o) => o.id));
        });
      }
    }
  }
});

it('incremental interest (only changed objects re-tested while a viewer stays put) equals a full evaluation every tick, and clients hold exactly what they see', () => {
  const ids = [2, 3, 4, 5];
  const links = new MemoryLinks(ids);
  const P = defineSchema('p', { at: t.vec2(t.quant(-1000, 1000, 0.01)), hp: t.uint8 });
  const G = defineSchema('g', { score: t.uint16 }); // no position: seen by every peer
  let s = 777;
  const rnd = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32) * 2 - 1;
  const viewers = new Map<number, { x: number; y: number } | undefined>(ids.map((id) => [id, { x: rnd() * 500, y: rnd() * 500 }]));
  viewers.set(5, undefined); // sees only the objects without a position (and its always list)
  const radius = 250;
  const alwaysOf = new Map<number, HostObject<any>[]>(ids.map((id) => [id, []]));
  const rules = {
    spatial: new SpatialInterest({ radius, cellSize: 60, position: 'at', viewer: (p) => viewers.get(p), always: (p) => alwaysOf.get(p)! }),
    none: undefined,
  };
  for (const [name, rule] of Object.entries(rules)) {
    links.queue.length = 0;
    const host = new SyncHost(links.transport(1), { schemas: [P, G], interest: rule });
    const clients = ids.map((id) => new SyncClient(links.transport(id), { schemas: [P, G] }));
    const objs: HostObject<any>[] = [];
    const spawn = () => objs.push(rnd() < 0.1 ? host.spawn(G, { score: 0 }) : host.spawn(P, { at: { x: rnd() * 800, y: rnd() * 800 }, hp: 1 }));
    for (let i = 0; i < 150; i++) spawn();
    let incremental = 0;
    if (rule !== undefined) {
      const update = rule.update.bind(rule);
      rule.update = (...args) => {
        const done = update(...args);
        if (done) incremental++;
        return done;
      };
    }
    for (let tick = 1; tick <= 300; tick++) {
      for (const o of objs) {
        if (!o.alive || o.schema !== P || rnd() < 0.7) continue;
        const at = o.get('at') as { x: number; y: number };
        o.set('at', { x: at.x + rnd() * 40, y: at.y + rnd() * 40 });
      }
      if (rnd() < 0.3) objs[Math.floor(((rnd() + 1) / 2) * objs.length)]!.despawn();
      if (rnd() < 0.3) spawn();
      if (rnd() < 0.05) viewers.set(2, { x: rnd() * 500, y: rnd() * 500 });
      if (rnd() < 0.1) {
        const live = objs.filter((o) => o.alive);
        alwaysOf.set(3, rnd() < 0.5 ? [] : [live[Math.floor(((rnd() + 1) / 2) * live.length)]!]);
      }
      host.tick();
      for (const id of ids) {
        const v = viewers.get(id);
        const want = [...host.objects.values()]
          .filter((o) => {
            if (rule === undefined || o.schema === G || alwaysOf.get(id)!.includes(o)) return true;
            if (v === undefined) return false;
            const a = o.get('at') as { x: number; y: number };
            return (a.x - v.x) ** 2 + (a.y - v.y) ** 2 <= radius * radius;
          })
          .map((o) => o.id)
          .sort((a, b) => a - b);
        expect(host.visibleTo(id).sort((a, b) => a - b), `${name}: peer ${id} at tick ${tick}`).toEqual(want);
      }
      links.deliver();
      for (const c of clients) c.poll(tick * 33);
      links.deliver();
    }
    // Most peer-ticks took the incremental path (peer 2's viewer moves now and then, the first tick is full).
    if (rule !== undefined) expect(incremental).toBeGreaterThan(ids.length * 300 * 0.8);
    // Clients hold exactly the objects they see, with the host's values.
    for (const [i, id] of ids.entries()) {
      const c = clients[i]!;
      expect([...c.objects.keys()].sort((a, b) => a - b), `${name}: client ${id}`).toEqual(host.visibleTo(id).sort((a, b) => a - b));
      for (const [oid, r] of c.objects) expect(r.state).toEqual(host.objects.get(oid)!.state);
      expect(c.getStats().errors).toEqual({});
    }
    host.close();
    for (const c of clients) c.close();
  }
});
