/**
 * The demo's arena game, shared by the host process, the bot processes, the
 * in-process virtual run and the browser page (no Node.js imports here).
 *
 * Every player owns its position and sends it to the host (peer 1); the host
 * sends every position to everyone each tick (see replication.ts). Chat goes
 * over reliable RPC, numbered per sender so a gap would show as loss.
 * @module
 */
import type { RandomSource } from '../../util/sans-io.js';
import { TransferMode } from '../../mesh/index.js';
import type { AnyRpcMethods, RpcEndpoint } from '../../rpc/index.js';
import type { Player } from './player.js';
import { attachReplication, type Replication } from './replication.js';

export const ARENA_WIDTH = 640;
export const ARENA_HEIGHT = 400;
/** Units per second. */
const BOT_SPEED = 120;

export type { Player } from './player.js';

/** What one peer counts about the game traffic. */
export interface GameCounters {
  chatsSent: number;
  chatsReceived: number;
  /** Reliable chat messages missing from a sender's sequence (should stay 0). */
  lostReliable: number;
}

/** Options of {@link ArenaPeer}. */
export interface ArenaPeerOptions {
  name: string;
  /** Bots steer themselves; a person's page moves `me` itself. */
  bot: boolean;
  random: RandomSource;
  /** Bot chat period in ticks (default 40: every 2 s at 20 Hz). */
  chatEvery?: number;
  onChat?: (from: string, text: string) => void;
}

/** The game state and rules of one peer. Drive it with {@link ArenaPeer.update} from a Ticker. */
export class ArenaPeer {
  readonly players = new Map<number, Player>();
  readonly me: Player;
  readonly counters: GameCounters = { chatsSent: 0, chatsReceived: 0, lostReliable: 0 };
  private target = { x: 0, y: 0 };
  private chatSeq = 0;
  private readonly lastSeq = new Map<number, number>();
  private readonly replication: Replication;

  constructor(
    readonly net: RpcEndpoint<AnyRpcMethods>,
    private readonly options: ArenaPeerOptions,
  ) {
    const r = options.random;
    this.me = { id: 0, name: options.name, x: r.float() * ARENA_WIDTH, y: r.float() * ARENA_HEIGHT };
    this.pickTarget();
    net.register(
      'chat',
      (ctx, seq: number, from: string, text: string) => {
        this.counters.chatsReceived++;
        const last = this.lastSeq.get(ctx.senderId);
        if (last !== undefined && seq > last + 1) this.counters.lostReliable += seq - last - 1;
        this.lastSeq.set(ctx.senderId, Math.max(seq, last ?? seq));
        this.options.onChat?.(this.players.get(ctx.senderId)?.name ?? from, text);
      },
      {
        mode: 'any_peer',
        transferMode: TransferMode.RELIABLE,
        validate: (a): a is [number, string, string] => Number.isInteger(a[0]) && typeof a[1] === 'string' && a[1].length <= 32 && typeof a[2] === 'string' && a[2].length <= 200,
      },
    );
    this.replication = attachReplication(net, this);
  }

  /** Short name of a peer id ("?" until its first position arrives). */
  nameOf(id: number): string {
    return this.players.get(id)?.name ?? `#${id}`;
  }

  /** One game tick: move, replicate, maybe chat. */
  update(tick: number, dtMs: number): void {
    this.me.id = this.net.mesh.getUniqueId();
    if (this.options.bot) this.steer(dtMs / 1000);
    this.players.set(this.me.id, this.me);
    this.replication.tick(tick);
    const every = this.options.chatEvery ?? 40;
    if (this.options.bot && tick % every === every - 1 && this.net.mesh.getPeerIds().length > 0) this.say(`at (${this.me.x.toFixed(0)}, ${this.me.y.toFixed(0)}), ${this.players.size} players in view`);
  }

  /** Send a chat line to everyone over reliable RPC. */
  say(text: string): void {
    try {
      this.net.rpc('chat', this.chatSeq++, this.me.name.slice(0, 32), text.slice(0, 200));
      this.counters.chatsSent++;
    } catch {
      // Not connected yet: nothing to tell.
    }
  }

  /** Forget a peer that left. */
  remove(id: number): void {
    this.players.delete(id);
    this.lastSeq.delete(id);
  }

  private steer(dt: number): void {
    const dx = this.target.x - this.me.x;
    const dy = this.target.y - this.me.y;
    const d = Math.hypot(dx, dy);
    if (d < 4) return this.pickTarget();
    const step = Math.min(d, BOT_SPEED * dt);
    this.me.x += (dx / d) * step;
    this.me.y += (dy / d) * step;
  }

  private pickTarget(): void {
    this.target = { x: 20 + this.options.random.float() * (ARENA_WIDTH - 40), y: 20 + this.options.random.float() * (ARENA_HEIGHT - 40) };
  }
}
