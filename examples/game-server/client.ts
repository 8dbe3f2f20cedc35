/**
 * An arena client, the same code in Node (bot.ts) and in the browser
 * (page.ts): join the host's lobby, send a stick input every tick on the
 * unreliable channel, and apply the host's snapshots.
 */
import { Mesh, SyncClient, Ticker, rpcTransport, type PeerConnectionConfig, type Replica } from 'rtcmesh';
import { Input, SCHEMAS, arenaRpc, type InputState, type PlayerState } from './arena.js';

export interface ClientOptions {
  signaling: string;
  lobby: string;
  /** The stick for tick `tick`. */
  steer: (tick: number) => InputState;
  /** How long the signaling server may hold the join until the host is there (ms). Default 10 000. */
  waitForHostMs?: number;
  connection?: PeerConnectionConfig;
}

/** A player as this client sees it. */
export interface SeenPlayer {
  peer: number;
  name: string;
  x: number;
  y: number;
  /** Its position changed since it appeared here: it moves, replicated from the host. */
  moved: boolean;
}

export async function joinArena(o: ClientOptions) {
  // 1. Join as a client; never creates the lobby, waits for the host (id 1) to be there.
  const mesh = await Mesh.join({
    signaling: o.signaling,
    lobby: o.lobby,
    mode: 'client_server',
    waitForHostMs: o.waitForHostMs ?? 10_000,
    ...(o.connection !== undefined && { connection: o.connection }),
  });

  // 2. RPCs and the sync client, registered before the link to the host opens.
  const chat: string[] = [];
  const rpc = arenaRpc(mesh, { said: (from, text) => chat.push(`${from}: ${text}`) });
  const firstPos = new Map<number, { x: number; y: number }>(); // by replicated object id
  const startSync = () => {
    const s = new SyncClient(rpcTransport(rpc), { schemas: SCHEMAS, inputSchema: Input, interpolationDelayMs: 100 });
    s.on('spawn', (obj: Replica<any>) => firstPos.set(obj.id, { ...(obj.state as PlayerState).pos }));
    s.on('despawn', (obj: Replica<any>) => firstPos.delete(obj.id));
    return s;
  };
  let sync = startSync();
  // A restarted host (same hostKey, id 1 again) starts its ticks from zero: start over too.
  mesh.on('peer_restarted', (id) => {
    if (id !== 1) return;
    sync.close();
    firstPos.clear();
    sync = startSync();
  });

  // 3. The client loop: poll (snapshots are applied), send this tick's input, flush.
  const ticker = new Ticker(rpc, {
    rate: 30,
    update: (tick) => {
      sync.sendInput(o.steer(tick)); // numbered, resent until acknowledged, on the unreliable channel
      sync.poll(performance.now()); // the ack + unacknowledged inputs; moves the render time
    },
  });
  ticker.start(); // the loop polls the mesh: ready() settles inside it

  const close = (): void => {
    ticker.stop();
    sync.close();
    rpc.close();
    mesh.close();
  };
  try {
    await mesh.ready(15_000); // the link to the host is open
  } catch (err) {
    close();
    throw err;
  }

  return {
    mesh,
    chat,
    /** Every player this client has, with its latest authoritative position. */
    players(): SeenPlayer[] {
      return [...sync.objects.values()].map((obj) => {
        const p = obj.state as PlayerState;
        const first = firstPos.get(obj.id);
        return { peer: p.peer, name: p.name, x: p.pos.x, y: p.pos.y, moved: first !== undefined && (first.x !== p.pos.x || first.y !== p.pos.y) };
      });
    },
    /** Say something to everyone (through the host, reliable). */
    say(text: string): void {
      rpc.rpcId(1, 'chat', text);
    },
    close,
  };
}

export type ArenaClient = Awaited<ReturnType<typeof joinArena>>;
