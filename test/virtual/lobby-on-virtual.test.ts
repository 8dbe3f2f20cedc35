import { expect, it } from 'vitest';
import { Mesh, MemorySignalingBus, VirtualNetwork, TransferMode } from '../api.js';

it('Mesh.join over a memory bus with virtual hosts and the virtual clock', async () => {
  const net = new VirtualNetwork({ seed: 9, defaultLink: { latencyMs: 20, jitter: 4, loss: 0.05 } });
  const bus = new MemorySignalingBus();
  const first = await Mesh.join({ signaling: bus, engine: net.createHost().engine, clock: net.clock });
  const others = [];
  for (let i = 0; i < 5; i++) others.push(await Mesh.join({ signaling: bus, lobby: first.lobby, engine: net.createHost().engine, clock: net.clock }));
  const all = [first, ...others];
  const ok = await net.runUntilAsync(() => { for (const m of all) m.poll(); return all.every((m) => m.getPeerIds().length === 5); }, { maxMs: 20_000 });
  expect(ok).toBe(true);
  first.transferMode = TransferMode.RELIABLE;
  first.putPacket(new Uint8Array([7]));
  const got: number[] = [];
  await net.runUntilAsync(() => { for (const m of all) { m.poll(); let p; while ((p = m.getPacket()) !== undefined) got.push(p[0]!); } return got.length === 5; }, { maxMs: 5000 });
  expect(got).toEqual([7, 7, 7, 7, 7]);
  for (const m of all) m.close();
  net.close();
});
