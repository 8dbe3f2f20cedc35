/**
 * An arena client (a bot process, a bot of the virtual run, or the page's
 * person): joins with `Mesh.join`, says hello to the host, streams its stick
 * through the sync input stream and renders what the host replicates with a
 * {@link SyncClient} (interpolated, its own player predicted by replaying the
 * inputs the host has not processed yet). No Node.js imports here.
 * @module
 */
import { ErrorCode, RtcmeshError, rpcTransport, SyncClient, type AnyRpcMethods, type Clock, type RandomSource, type Replica, type RpcEndpoint } from '../../core.js';
import { applyStick, InputSchema, OrbSchema, PlayerSchema, playerOf, SCHEMAS, type Player, type PlayerKind, type PlayerState, type StickInput } from './arena.js';
import { BotBrain } from './bot-brain.js';
import { ArenaRpc } from './chat.js';
import { addSyncRows, clientSyncRow, type SyncRow } from './sync-report.js';

const HOST = 1;

/** Options of {@link ArenaClient}. */
export interface ArenaClientOptions {
  name: string;
  kind: Exclude<PlayerKind, 'host'>;
  /** Where a bot picks its targets (needed unless `steer` is given). */
  random?: RandomSource;
  /** The clock `poll` reads (the Ticker's). */
  clock: Clock;
  /** The stick for this tick from the predicted position; default: a bot's. */
  steer?: (pos: { x: number; y: number }) => StickInput;
  /** Bot chat period in ticks (default 40: every 2 s); 0 = never. */
  chatEvery?: number;
  onChat?: (from: string, text: string) => void;
  /** Render this far behind the newest snapshot (ms). Default 100. */
  interpolationDelayMs?: number;
}

/** One client's game. Drive it with {@link ArenaClient.update} from a Ticker. */
export class ArenaClient {
  readonly rpc: ArenaRpc;
  private sync: SyncClient;
  private readonly steer: (pos: { x: number; y: number }) => StickInput;
  private inputsQueued = 0;
  private past: SyncRow | undefined;
  private hostLost = false;

  constructor(
    readonly net: RpcEndpoint<AnyRpcMethods>,
    private readonly options: ArenaClientOptions,
  ) {
    this.rpc = new ArenaRpc(net, options.name, {
      onChat: (from, name, text) => options.onChat?.(this.nameOf(from) ?? name, text),
    });
    this.sync = this.startSync();
    if (options.steer) this.steer = options.steer;
    else if (options.random) {
      const brain = new BotBrain(options.random);
      this.steer = (pos) => brain.stick(pos);
    } else throw new RtcmeshError(ErrorCode.INVALID_ARGUMENT, 'ArenaClient: a bot needs options.random to pick its targets; pass one, or pass options.steer');
    const mesh = net.mesh;
    mesh.on('peer_connected', (id) => {
      if (id !== HOST) return;
      if (this.hostLost) this.restartSync();
      this.hostLost = false;
      this.rpc.hello(options.kind);
    });
    mesh.on('peer_disconnected', (id) => {
      this.rpc.forget(id);
      if (id === HOST) this.hostLost = true;
    });
    mesh.on('peer_restarted', (id) => {
      this.rpc.forget(id);
      if (id !== HOST) return;
      this.restartSync();
      this.rpc.hello(options.kind);
    });
    if (mesh.getPeerIds().includes(HOST)) this.rpc.hello(options.kind);
  }

  /** One tick: this tick's stick into the input stream, then acks, inputs and render time. */
  update(tick: number): void {
    const me = this.predicted();
    const hostConnected = this.net.mesh.getPeerIds().includes(HOST);
    if (me && hostConnected) {
      this.sync.sendInput(this.steer(me));
      this.inputsQueued++;
    } else if (!me && hostConnected && tick % 20 === 0) {
      this.rpc.hello(this.options.kind); // not spawned yet: the hello may have raced the link
    }
    this.sync.poll(this.options.clock.now());
    const every = this.options.chatEvery ?? 40;
    if (every > 0 && tick % every === every - 1 && this.net.mesh.getPeerIds().length > 0) {
      const at = me ? `at (${me.x.toFixed(0)}, ${me.y.toFixed(0)}), ` : '';
      this.rpc.say(`${at}${this.players().length} players, ${this.sync.objects.size} objects in view`);
    }
  }

  /** This client's own player as replicated (undefined until the host spawned it). */
  own(): Replica<typeof PlayerSchema.fields> | undefined {
    const id = this.net.mesh.getUniqueId();
    for (const obj of this.sync.objects.values()) if (obj.schema === PlayerSchema && obj.get('peer') === id) return obj as Replica<typeof PlayerSchema.fields>;
    return undefined;
  }

  /** Own position predicted: the host's latest, plus the inputs it has not processed yet. */
  predicted(): { x: number; y: number } | undefined {
    const own = this.own();
    if (!own) return undefined;
    let pos = own.get('pos');
    this.sync.replay<StickInput>((input) => (pos = applyStick(pos, input)));
    return pos;
  }

  /** Every player this client has (latest authoritative positions). */
  players(): Player[] {
    const out: Player[] = [];
    for (const obj of this.sync.objects.values()) {
      if (obj.schema !== PlayerSchema) continue;
      out.push(playerOf(obj.state as PlayerState));
    }
    return out;
  }

  /** What to draw: players and orbs at the render time (interpolated). */
  render(): { players: Player[]; orbs: { x: number; y: number; size: number }[] } {
    const players: Player[] = [];
    const orbs: { x: number; y: number; size: number }[] = [];
    for (const obj of this.sync.objects.values()) {
      if (obj.schema === OrbSchema) {
        const o = obj.render as { pos: { x: number; y: number }; size: number };
        orbs.push({ x: o.pos.x, y: o.pos.y, size: o.size });
      } else if (obj.schema === PlayerSchema) {
        players.push(playerOf(obj.render as PlayerState));
      }
    }
    return { players, orbs };
  }

  /** Name of a peer's player, if this client has it. */
  nameOf(peer: number): string | undefined {
    return this.players().find((p) => p.id === peer)?.name;
  }

  /** The sync figures for the stats table (summed over the host's restarts). */
  syncRow(): SyncRow {
    const row = clientSyncRow(this.sync, this.players().length, this.inputsQueued);
    return this.past ? addSyncRows(this.past, row) : row;
  }

  /** Stop replicating (the caller closes the endpoint and the mesh). */
  close(): void {
    this.sync.close();
  }

  private startSync(): SyncClient {
    return new SyncClient(rpcTransport(this.net), { schemas: SCHEMAS, inputSchema: InputSchema, interpolationDelayMs: this.options.interpolationDelayMs ?? 100 });
  }

  /** A new host instance: its ticks and object ids start over, so does this client's replica. */
  private restartSync(): void {
    if (this.sync.getStats().messagesReceived === 0) return; // nothing from the old instance
    const row = clientSyncRow(this.sync, 0, 0);
    this.past = this.past ? addSyncRows(this.past, row) : row;
    this.sync.close();
    this.sync = this.startSync();
  }
}
