import { expect, it } from 'vitest';
import { ConnectionStatus, TransferMode, WebRTCMultiplayerPeer, WebRTCPeerConnection, VirtualNetwork } from '../../src/index.js';
import { wire } from '../helpers.js';

it('an 8-peer mesh runs unchanged on the virtual network, with loss, on the virtual clock', () => {
  const net = new VirtualNetwork({ seed: 3, defaultLink: { latencyMs: 30, jitter: 5, loss: 0.2 } });
  const ids = [2, 3, 4, 5, 6, 7, 8, 9];
  const hosts = ids.map((id) => net.createHost(`peer${id}`));
  const meshes = ids.map((id) => { const m = new WebRTCMultiplayerPeer({ clock: net.clock }); m.createMesh(id); return m; });
  for (let i = 0; i < ids.length; i++) for (let j = i + 1; j < ids.length; j++) {
    const ca = new WebRTCPeerConnection({}, { engine: hosts[i]!.engine, autoPoll: true });
    const cb = new WebRTCPeerConnection({}, { engine: hosts[j]!.engine, autoPoll: true });
    wire(ca, cb);
    meshes[i]!.addPeer(ca, ids[j]!); meshes[j]!.addPeer(cb, ids[i]!);
    if (ids[i]! > ids[j]!) ca.createOffer(); else cb.createOffer();
  }
  const pollAll = () => { for (const m of meshes) m.poll(); };
  expect(net.runUntil(() => { pollAll(); return meshes.every((m) => m.getPeerIds().length === 7); }, { maxMs: 10_000 })).toBe(true);
  meshes[0]!.transferMode = TransferMode.RELIABLE;
  for (let k = 0; k < 100; k++) meshes[0]!.putPacket(new Uint8Array([k]));
  const got: number[][] = meshes.map(() => []);
  net.runUntil(() => { pollAll(); meshes.forEach((m, i) => { let p; while ((p = m.getPacket()) !== undefined) got[i]!.push(p[0]!); }); return got.slice(1).every((g) => g.length === 100); }, { maxMs: 30_000 });
  for (const g of got.slice(1)) expect(g).toEqual([...Array(100).keys()]);
  // Cut peer 2 off: the others see it leave.
  net.partition([hosts[0]!], hosts.slice(1));
  net.runUntil(() => { pollAll(); return meshes.slice(1).every((m) => m.getPeerIds().length === 6); }, { maxMs: 60_000 });
  expect(meshes[1]!.getPeerIds()).not.toContain(2);
  expect(meshes[0]!.getPeerIds()).toEqual([]);
  expect(meshes[0]!.getConnectionStatus()).toBe(ConnectionStatus.CONNECTED); // a mesh peer stays usable
  net.close();
});
