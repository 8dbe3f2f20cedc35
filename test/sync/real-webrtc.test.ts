/**
 * State sync over real node-datachannel connections on loopback: a host and
 * three Node clients replicate 100 moving objects. Each client must complete
 * ticks whose state equals the host's at that tick, with every object present.
 * Driven by polling with event-based waits (no sleeps, no timing thresholds).
 */
import { afterEach, expect, it } from 'vitest';
import { circle, tickAndRecord, type TickHistory } from './circling.js';
import type { WebRTCMultiplayerPeer } from '../../src/mesh/index.js';
import { RpcEndpoint, type AnyRpcMethods } from '../../src/rpc/index.js';
import { defineSchema, rpcTransport, SyncClient, SyncHost, t } from '../../src/sync/index.js';
import { star } from '../mesh/mesh-helpers.js';

const Mover = defineSchema('mover', {
  pos: t.vec3(t.quant(-1000, 1000, 0.01)),
  yaw: t.quant(-Math.PI, Math.PI, 0.01),
  hp: t.uint8,
});

const live: WebRTCMultiplayerPeer[] = [];
afterEach(() => {
  for (const m of live.splice(0)) m.close();
});

it('a host and 3 Node clients replicate 100 moving objects over real WebRTC', async () => {
  const [serverMesh, clientMeshes] = await star([2, 3, 4]);
  live.push(serverMesh, ...clientMeshes);
  const server = new RpcEndpoint<AnyRpcMethods>(serverMesh);
  const clientEps = clientMeshes.map((m) => new RpcEndpoint<AnyRpcMethods>(m));
  const host = new SyncHost(rpcTransport(server), { schemas: [Mover] });
  const clients = clientEps.map((ep) => new SyncClient(rpcTransport(ep), { schemas: [Mover] }));
  const objects = Array.from({ length: 100 }, (_, i) => host.spawn(Mover, { pos: { x: i, y: 0, z: 0 }, yaw: 0, hp: 100 }));
  const history: TickHistory = new Map();
  const verified = clients.map(() => 0);
  const problems: string[] = [];
  clients.forEach((c, i) =>
    c.on('snapshot', (tick) => {
      const want = history.get(tick);
      if (want === undefined) return void problems.push(`client ${i}: no record of tick ${tick}`);
      if (c.objects.size !== want.size) return void problems.push(`client ${i} tick ${tick}: ${c.objects.size} objects`);
      for (const [id, slots] of want) {
        const got = c.objects.get(id);
        if (got === undefined || got.slots.some((v, k) => v !== slots[k])) return void problems.push(`client ${i} tick ${tick}: object ${id} differs`);
      }
      verified[i]!++;
    }),
  );
  const all = [server, ...clientEps];
  // Poll loop: one host tick per loop turn; yield to the event loop between turns so native events arrive.
  await new Promise<void>((resolve, reject) => {
    const started = Date.now();
    let tick = 0;
    const turn = () => {
      for (const ep of all) ep.poll();
      tick++;
      circle(objects, tick);
      tickAndRecord(host, history, 300);
      for (const c of clients) c.poll(performance.now());
      for (const ep of all) ep.flush();
      if (problems.length > 0) return reject(new Error(problems.join('; ')));
      if (verified.every((v) => v >= 100)) return resolve();
      if (Date.now() - started > 30_000) return reject(new Error(`timed out; verified ticks per client: ${verified.join(', ')}`));
      setTimeout(turn, 5);
    };
    turn();
  });
  for (const c of clients) {
    expect(c.objects.size).toBe(100);
    expect(c.getStats().errors).toEqual({});
  }
  expect(host.getStats().errors).toEqual({});
  expect(host.getStats().acksReceived).toBeGreaterThanOrEqual(3 * 90); // the last acks may still be in flight
  for (const ep of all) ep.close();
});
