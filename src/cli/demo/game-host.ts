/**
 * The arena's host (peer 1, from `Mesh.host`): the authority over every
 * player and orb. It spawns a player for each client that says hello, moves
 * it by the inputs the client streams (each exactly once, in order), drifts
 * the orbs, steers its own player like a bot, and replicates everything with
 * a {@link SyncHost}: one delta snapshot per client per tick, each client
 * seeing every player and the orbs near its own (SpatialInterest). No
 * Node.js imports here: the virtual run uses it in-process.
 * @module
 */
import { rpcTransport, SpatialInterest, SyncHost, type AnyRpcMethods, type HostObject, type RandomSource, type RpcEndpoint } from '../../core.js';
import { applyStick, ARENA_HEIGHT, ARENA_WIDTH, clamp, InputSchema, ORB_COUNT, OrbSchema, PlayerSchema, playerOf, SCHEMAS, shortName, TICK_RATE, VIEW_RADIUS, type Player, type PlayerKind, type StickInput } from './arena.js';
import { BotBrain } from './bot-brain.js';
import { ArenaRpc } from './chat.js';
import { hostSyncRow, type SyncRow } from './sync-report.js';

/** Options of {@link ArenaHost}. */
export interface ArenaHostOptions {
  name: string;
  random: RandomSource;
  /** Chat period in ticks (default 40: every 2 s). */
  chatEvery?: number;
  onChat?: (from: string, text: string) => void;
  /** A client's player was spawned. */
  onPlayer?: (peer: number, name: string) => void;
}

type PlayerObject = HostObject<typeof PlayerSchema.fields>;
interface Orb {
  obj: HostObject<typeof OrbSchema.fields>;
  vx: number;
  vy: number;
}

/** The authoritative game. Drive it with {@link ArenaHost.update} from a Ticker. */
export class ArenaHost {
  readonly sync: SyncHost;
  readonly rpc: ArenaRpc;
  private readonly avatars = new Map<number, PlayerObject>();
  private readonly orbs: Orb[] = [];
  private readonly brain: BotBrain;
  private readonly self: PlayerObject;

  constructor(
    readonly net: RpcEndpoint<AnyRpcMethods>,
    private readonly options: ArenaHostOptions,
  ) {
    const r = options.random;
    this.rpc = new ArenaRpc(net, options.name, {
      onChat: (from, name, text) => options.onChat?.(this.nameOf(from) ?? name, text),
      onHello: (from, name, kind) => this.hello(from, name, kind),
    });
    this.sync = new SyncHost(rpcTransport(net), {
      schemas: SCHEMAS,
      inputSchema: InputSchema,
      tickRate: TICK_RATE,
      interest: new SpatialInterest({
        radius: VIEW_RADIUS,
        position: 'pos',
        viewer: (peer) => this.avatars.get(peer)?.get('pos'),
        always: () => this.avatars.values(), // every player, wherever it is
      }),
    });
    this.brain = new BotBrain(r);
    const id = net.mesh.getUniqueId();
    this.self = this.sync.spawn(PlayerSchema, { peer: id, name: shortName(options.name), kind: 'host', pos: { x: r.float() * ARENA_WIDTH, y: r.float() * ARENA_HEIGHT } });
    this.avatars.set(id, this.self);
    for (let i = 0; i < ORB_COUNT; i++) {
      const speed = 10 + r.float() * 30;
      const angle = r.float() * 2 * Math.PI;
      const obj = this.sync.spawn(OrbSchema, { pos: { x: r.float() * ARENA_WIDTH, y: r.float() * ARENA_HEIGHT }, size: 2 + r.int(0, 4) });
      this.orbs.push({ obj, vx: speed * Math.cos(angle), vy: speed * Math.sin(angle) });
    }
    net.on('peer_disconnected', (peer) => this.remove(peer));
  }

  /** One tick: the host's own player, the orbs, every client's inputs, then the snapshots. */
  update(tick: number, dtMs: number): void {
    this.self.set('pos', applyStick(this.self.get('pos'), this.brain.stick(this.self.get('pos'))));
    const dt = dtMs / 1000;
    for (const orb of this.orbs) {
      const p = orb.obj.get('pos');
      let x = p.x + orb.vx * dt;
      let y = p.y + orb.vy * dt;
      if (x < 0 || x > ARENA_WIDTH) (orb.vx = -orb.vx), (x = clamp(x, 0, ARENA_WIDTH));
      if (y < 0 || y > ARENA_HEIGHT) (orb.vy = -orb.vy), (y = clamp(y, 0, ARENA_HEIGHT));
      orb.obj.set('pos', { x, y });
    }
    for (const [peer, player] of this.avatars) {
      if (player === this.self) continue;
      for (let next = this.sync.takeInput<StickInput>(peer); next; next = this.sync.takeInput<StickInput>(peer)) player.set('pos', applyStick(player.get('pos'), next.input));
    }
    this.sync.tick();
    const every = this.options.chatEvery ?? 40;
    if (tick % every === every - 1 && this.net.mesh.getPeerIds().length > 0) {
      const p = this.self.get('pos');
      this.rpc.say(`at (${p.x.toFixed(0)}, ${p.y.toFixed(0)}), hosting ${this.avatars.size} players and ${this.orbs.length} orbs`);
    }
  }

  /** Name of a peer's player, if it has one. */
  nameOf(peer: number): string | undefined {
    return this.avatars.get(peer)?.get('name');
  }

  /** Every player, as the host has it. */
  players(): Player[] {
    return [...this.avatars.values()].map((o) => playerOf(o.state));
  }

  /** The sync figures for the stats table. */
  syncRow(): SyncRow {
    return hostSyncRow(this.sync, this.avatars.size);
  }

  /** Stop replicating (the caller closes the endpoint and the mesh). */
  close(): void {
    this.sync.close();
  }

  private hello(peer: number, name: string, kind: PlayerKind): void {
    if (!this.net.mesh.getPeerIds().includes(peer)) return;
    const existing = this.avatars.get(peer);
    if (existing) {
      existing.set({ name: shortName(name), kind });
      return;
    }
    const r = this.options.random;
    this.avatars.set(peer, this.sync.spawn(PlayerSchema, { peer, name: shortName(name), kind, pos: { x: 20 + r.float() * (ARENA_WIDTH - 40), y: 20 + r.float() * (ARENA_HEIGHT - 40) } }));
    this.options.onPlayer?.(peer, name);
  }

  private remove(peer: number): void {
    this.avatars.get(peer)?.despawn();
    this.avatars.delete(peer);
    this.rpc.forget(peer);
  }
}
