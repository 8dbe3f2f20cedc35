/**
 * Worlds of RPC endpoints over the in-memory FakeHub: a full mesh, or a star
 * (server 1 with clients that reach each other only through it).
 */
import { FakeHub } from './fake-mesh.js';
import { World } from './harness.js';

/** Every id linked to every other, all in mesh mode. */
export function meshWorld(ids = [1, 2, 3], options?: ConstructorParameters<typeof World>[1]) {
  const hub = new FakeHub();
  const meshes = ids.map((id) => hub.add(id, 'mesh'));
  for (let i = 0; i < ids.length; i++) for (let j = i + 1; j < ids.length; j++) hub.link(ids[i]!, ids[j]!);
  return { hub, world: new World(meshes, options) };
}

/** Server 1 linked to each client; clients have no link to each other. */
export function starWorld(clients = [2, 3], options?: ConstructorParameters<typeof World>[1]) {
  const hub = new FakeHub();
  const meshes = [hub.add(1, 'server'), ...clients.map((id) => hub.add(id, 'client'))];
  for (const c of clients) hub.link(1, c);
  return { hub, world: new World(meshes, options) };
}
