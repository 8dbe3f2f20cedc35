/**
 * How positions travel — the one module to change when the demo moves to the
 * sync layer (src/sync) and the host to `Mesh.host`: every peer sends its own
 * position to the host (peer 1) each tick; the host sends every position to
 * everyone each tick (an RPC snapshot, unreliable-ordered).
 * @module
 */
import { TransferMode } from '../../mesh/index.js';
import type { AnyRpcMethods, RpcEndpoint } from '../../rpc/index.js';
import type { Player } from './player.js';

/** The game state replication needs. */
export interface ReplicatedWorld {
  readonly players: Map<number, Player>;
  readonly me: Player;
}

/** Attached replication; call `tick` once per game tick after moving. */
export interface Replication {
  tick(tick: number): void;
}

type Entry = [id: number, name: string, x: number, y: number];
const HOST = 1;

function isEntry(e: unknown): e is Entry {
  return Array.isArray(e) && e.length === 4 && Number.isInteger(e[0]) && typeof e[1] === 'string' && e[1].length <= 32 && Number.isFinite(e[2]) && Number.isFinite(e[3]);
}

/** Register the position RPCs on `net` and return the per-tick hook. */
export function attachReplication(net: RpcEndpoint<AnyRpcMethods>, world: ReplicatedWorld): Replication {
  const apply = ([id, name, x, y]: Entry) => {
    if (id === world.me.id) return;
    const p = world.players.get(id);
    if (p) Object.assign(p, { name, x, y });
    else world.players.set(id, { id, name, x, y });
  };
  net.register('pos', (ctx, name: string, x: number, y: number) => apply([ctx.senderId, name, x, y]), {
    mode: 'any_peer',
    transferMode: TransferMode.UNRELIABLE_ORDERED,
    validate: (a): a is [string, number, number] => isEntry([1, ...a]),
  });
  net.register(
    'snapshot',
    (_ctx, entries: Entry[]) => {
      const seen = new Set<number>();
      for (const e of entries) {
        apply(e);
        seen.add(e[0]);
      }
      for (const id of world.players.keys()) if (id !== world.me.id && !seen.has(id)) world.players.delete(id);
    },
    {
      mode: 'authority',
      transferMode: TransferMode.UNRELIABLE_ORDERED,
      validate: (a): a is [Entry[]] => Array.isArray(a[0]) && a[0].length <= 256 && a[0].every(isEntry),
    },
  );
  return {
    tick() {
      const mesh = net.mesh;
      const connected = mesh.getPeerIds();
      if (world.me.id === HOST) {
        // Drop players whose link is gone, then tell everyone where everyone is.
        for (const id of world.players.keys()) if (id !== HOST && !connected.includes(id)) world.players.delete(id);
        if (connected.length === 0) return;
        const entries: Entry[] = [...world.players.values()].map((p) => [p.id, p.name, round(p.x), round(p.y)]);
        net.rpc('snapshot', entries);
      } else if (connected.includes(HOST)) {
        net.rpcId(HOST, 'pos', world.me.name, round(world.me.x), round(world.me.y));
      }
    },
  };
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}
