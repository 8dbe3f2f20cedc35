/**
 * Mesh mode over real node-datachannel connections on loopback: 3 peers in a
 * full mesh (no host), each the authority of 20 moving objects of its own.
 * Every tick a peer completes from an owner must equal that owner's state at
 * that tick; after the motion stops every peer holds every other peer's
 * current objects; when a peer leaves, its objects despawn at the others.
 * Polling with event-based waits (no sleeps, no timing thresholds).
 */
import { afterEach, expect, it } from 'vitest';
import type { WebRTCMultiplayerPeer } from '../../src/mesh/index.js';
import { RpcEndpoint, type AnyRpcMethods } from '../../src/rpc/index.js';
import { defineSchema, rpcTransport, SyncPeer, t, type SyncErrorEvent } from '../../src/sync/index.js';
import type { SlotValue } from '../../src/sync/schema.js';
import { fullMesh } from '../mesh/mesh-helpers.js';

const Mover = defineSchema('mover', { pos: t.vec3(t.quant(-1000, 1000, 0.01)), yaw: t.quant(-Math.PI, Math.PI, 0.01), hp: t.uint8 });

const live: WebRTCMultiplayerPeer[] = [];
afterEach(() => {
  for (const m of live.splice(0)) m.close();
});

const slotsOf = (objects: ReadonlyMap<number, { slots: SlotValue[] }>) => new Map([...objects].map(([id, o]) => [id, [...o.slots]]));
const same = (got: ReadonlyMap<number, { slots: SlotValue[] }>, want: Map<number, SlotValue[]>) =>
  got.size === want.size && [...want].every(([id, slots]) => got.get(id)?.slots.every((v, k) => v === slots[k]) === true);

it('3 peers in a full mesh, each the authority of its own 20 moving objects, replicate over real WebRTC', async () => {
  const meshes = await fullMesh([1, 2, 3]);
  live.push(...meshes);
  const eps = meshes.map((m) => new RpcEndpoint<AnyRpcMethods>(m));
  const peers = eps.map((ep) => new SyncPeer(rpcTransport(ep), { schemas: [Mover] }));
  const errors: SyncErrorEvent[] = [];
  const history = peers.map(() => new Map<number, Map<number, SlotValue[]>>());
  const verified = peers.map(() => new Map<number, number>()); // per peer: owner → ticks checked
  const problems: string[] = [];
  const despawned = peers.map(() => [] as number[]);
  peers.forEach((p, i) => {
    p.on('sync_error', (e) => errors.push(e));
    p.on('despawn', (_obj, owner) => despawned[i]!.push(owner));
    p.on('snapshot', (owner, tick) => {
      const want = history[owner - 1]!.get(tick);
      if (want === undefined) return void problems.push(`peer ${i + 1}: no record of owner ${owner} tick ${tick}`);
      if (!same(p.objectsOf(owner), want)) return void problems.push(`peer ${i + 1}: owner ${owner} tick ${tick} differs`);
      verified[i]!.set(owner, (verified[i]!.get(owner) ?? 0) + 1);
    });
  });
  const objects = peers.map((p, i) => Array.from({ length: 20 }, (_, k) => p.spawn(Mover, { pos: { x: k, y: i, z: 0 }, yaw: 0, hp: 100 })));
  let moving = true;
  /** One loop turn per tick until `done()`; yields to the event loop between turns so native events arrive. */
  const run = (done: () => boolean, what: string) =>
    new Promise<void>((resolve, reject) => {
      const started = Date.now();
      let tick = 0;
      const turn = () => {
        for (const ep of eps) ep.poll();
        tick++;
        peers.forEach((p, i) => {
          if (moving) {
            for (const o of objects[i]!) {
              const a = tick / 20 + o.id + i;
              o.set({ pos: { x: 100 * Math.cos(a), y: 100 * Math.sin(a), z: i }, yaw: Math.sin(a) * 3, hp: (tick + o.id) % 256 });
            }
          }
          const built = p.sender.currentTick;
          p.tick();
          history[i]!.set(built, slotsOf(p.owned));
          history[i]!.delete(built - 300);
          p.poll(performance.now());
        });
        for (const ep of eps) ep.flush();
        if (problems.length > 0) return reject(new Error(problems.slice(0, 5).join('; ')));
        if (done()) return resolve();
        if (Date.now() - started > 30_000) return reject(new Error(`timed out waiting until ${what}; verified: ${JSON.stringify(verified.map((v) => [...v]))}`));
        setTimeout(turn, 5);
      };
      turn();
    });

  await run(() => verified.every((v) => v.size === 2 && [...v.values()].every((n) => n >= 60)), 'every peer verified 60 ticks of each owner');
  moving = false;
  const converged = () => peers.every((p, i) => peers.every((owner, j) => j === i || same(p.objectsOf(j + 1), slotsOf(owner.owned))));
  await run(converged, 'every peer holds every owner\'s current objects');
  expect(errors).toEqual([]);
  for (const p of peers) {
    expect(p.owners().sort()).toEqual([1, 2, 3].filter((id) => id !== p.id));
    for (const owner of p.owners()) expect(p.objectsOf(owner).size).toBe(20);
    expect(p.getStats().sent.acksReceived).toBeGreaterThan(2 * 50);
  }

  // Peer 3 leaves: the others drop its objects (despawn events) and keep each other's.
  peers[2]!.close();
  eps[2]!.close();
  meshes[2]!.close();
  peers.pop();
  eps.pop();
  await run(() => peers.every((p) => p.owners().length === 1 && p.objectsOf(3).size === 0), 'peer 3\'s objects are gone');
  for (let i = 0; i < 2; i++) {
    expect(despawned[i]!.filter((o) => o === 3)).toHaveLength(20);
    expect(peers[i]!.objectsOf(i === 0 ? 2 : 1).size).toBe(20);
  }
  expect(errors).toEqual([]);
  for (const p of peers) p.close();
  for (const ep of eps) ep.close();
}, 90_000);
