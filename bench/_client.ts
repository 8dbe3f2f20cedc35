import { defineSchema, SpatialInterest, SyncClient, SyncHost, t, type SyncTransport } from '../src/sync/index.js';
const HALF = 1000;
const Entity = defineSchema('entity', { pos: t.vec3(t.quant(-HALF, HALF, 0.01)), yaw: t.quant(-Math.PI, Math.PI, (2 * Math.PI) / 65536), a: t.uint8, b: t.uint8, c: t.uint8, d: t.uint8 });
let seed = 5;
const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
const N = 16;
const queue: { from: number; to: number; data: Uint8Array }[] = [];
const handlers = new Map<number, (p: number, d: unknown) => void>();
const tr = (id: number): SyncTransport => ({ ownId: () => id, authority: () => 1, peers: () => (id === 1 ? Array.from({ length: N }, (_, i) => i + 2) : [1]), send: (p, d) => (queue.push({ from: id, to: p, data: d }), true), maxMessageSize: () => 65536, onMessage: (h) => void handlers.set(id, h), onPeerLeft: () => {}, close: () => {} });
const viewers = Array.from({ length: N }, () => ({ x: (rand() * 2 - 1) * 400, y: (rand() * 2 - 1) * 400 }));
const host = new SyncHost(tr(1), { schemas: [Entity], interest: new SpatialInterest({ radius: 564, position: 'pos', viewer: (p) => viewers[p - 2] }) });
const clients = Array.from({ length: N }, (_, i) => new SyncClient(tr(i + 2), { schemas: [Entity] }));
const objs = Array.from({ length: 1000 }, () => host.spawn(Entity, { pos: { x: (rand() * 2 - 1) * 990, y: (rand() * 2 - 1) * 990, z: 0 }, yaw: 0, a: 1, b: 2, c: 3, d: 4 }));
const movers = objs.slice(0, 100);
let recv = 0, poll = 0, tick = 0;
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
for (let k = 1; k <= 1500; k++) {
  for (const o of movers) { const p = o.get('pos'); o.set({ pos: { x: p.x + (rand() - 0.5), y: p.y + (rand() - 0.5), z: 0 }, yaw: (rand() - 0.5) * 6 }); }
  for (let j = 0; j < 10; j++) objs[Math.floor(rand() * 1000)]!.set('a', Math.floor(rand() * 256));
  let a = cpu();
  host.tick();
  let b = cpu(); if (k > 100) tick += b - a; a = b;
  for (const m of queue.splice(0)) handlers.get(m.to)!(m.from, m.data);
  b = cpu(); if (k > 100) recv += b - a; a = b;
  for (const c of clients) c.poll(k * 33.3);
  b = cpu(); if (k > 100) poll += b - a; a = b;
  for (const m of queue.splice(0)) handlers.get(m.to)!(m.from, m.data);
}
// fix sender ids: client messages came from client ids; re-run properly is not needed for timing shape
const per = 1400 * N;
console.log(`µs per client-tick: host.tick ${(tick * 1000 / per).toFixed(2)}  receive ${(recv * 1000 / per).toFixed(2)}  poll ${(poll * 1000 / per).toFixed(2)}  visible ${host.visibleTo(2).length} errors ${JSON.stringify(clients[0]!.getStats().errors)} ticks ${clients[0]!.tick}`);
