/**
 * The authoritative arena host: id 1 of a client_server lobby. It owns every
 * player's position, moves it by the inputs its client sends, and replicates
 * it at 30 Hz with the sync layer.
 *
 *   npx tsx examples/game-server/host.ts ws://127.0.0.1:8080 [lobby] [hostKey] [bindAddress]
 */
import { Mesh, SyncHost, Ticker, rpcTransport, type HostObject, type PeerConnectionConfig } from 'rtcmesh';
import { ARENA, Input, Player, SCHEMAS, SPEED, arenaRpc, type InputState } from './arena.js';

export interface HostOptions {
  signaling: string;
  lobby: string;
  /** Lets a restarted host reclaim id 1 (the server must know it: `rtcmesh serve --host-key`). */
  hostKey?: string;
  connection?: PeerConnectionConfig;
}

const clamp = (v: number) => Math.max(-ARENA, Math.min(ARENA, v));

export async function startHost(o: HostOptions) {
  // 1. Take id 1 of the lobby (fails with HOST_TAKEN while another host holds it).
  const mesh = await Mesh.host({
    signaling: o.signaling,
    lobby: o.lobby,
    mode: 'client_server',
    ...(o.hostKey !== undefined && { hostKey: o.hostKey }),
    ...(o.connection !== undefined && { connection: o.connection }),
  });

  // 2. RPCs and the sync layer, registered before any client connects.
  const rpc = arenaRpc(mesh, { chat: (from, text) => rpc.rpc('said', from, text) }); // relay chat to everyone
  const sync = new SyncHost(rpcTransport(rpc), { schemas: SCHEMAS, inputSchema: Input, tickRate: 30 });
  const players = new Map<number, HostObject<typeof Player.fields>>();

  rpc.on('peer_connected', (peer) => {
    const angle = peer; // spread the spawn points around a circle
    players.set(peer, sync.spawn(Player, { peer, name: `p${peer}`, pos: { x: 10 * Math.cos(angle), y: 10 * Math.sin(angle) } }));
  });
  rpc.on('peer_disconnected', (peer) => {
    players.get(peer)?.despawn();
    players.delete(peer);
  });

  // 3. The game loop: apply inputs, then one snapshot per client per tick.
  const ticker = new Ticker(rpc, {
    rate: 30,
    update: () => {
      for (const [peer, player] of players) {
        // Each input exactly once, in order; the acknowledgement rides in the next snapshot.
        for (let next = sync.takeInput<InputState>(peer); next; next = sync.takeInput<InputState>(peer)) {
          const { x, y } = player.get('pos');
          player.set('pos', { x: clamp(x + Math.sign(next.input.mx) * SPEED), y: clamp(y + Math.sign(next.input.my) * SPEED) });
        }
      }
      sync.tick(); // after the update; the Ticker flushes right after
    },
  });
  ticker.start();

  return {
    mesh,
    rpc,
    players,
    /** Stop the loop and leave the lobby (clients see peer_disconnected(1)). */
    close(): void {
      ticker.stop();
      sync.close();
      rpc.close();
      mesh.close();
    },
  };
}

// Run as a program: `tsx host.ts URL [lobby] [hostKey] [bindAddress]`.
if (import.meta.url === `file://${process.argv[1]}`) {
  const [url, lobby = 'arena', hostKey, bindAddress] = process.argv.slice(2);
  if (!url) throw new Error('usage: host.ts ws://HOST:PORT [lobby] [hostKey] [bindAddress]');
  const host = await startHost({
    signaling: url,
    lobby,
    ...(hostKey && { hostKey }),
    ...(bindAddress && { connection: { bindAddress } }),
  });
  console.log(`hosting lobby "${lobby}" as peer ${host.mesh.getUniqueId()}`);
  host.rpc.on('peer_connected', (id) => console.log(`client ${id} joined`));
  process.once('SIGINT', () => host.close());
}
