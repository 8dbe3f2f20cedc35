/**
 * The demo's chat over reliable RPC (peer to peer across the mesh), numbered
 * per sender so a gap would show as loss, and the `hello` RPC a client sends
 * the host to get its player spawned. Registered on every peer, in the same
 * order, before any link opens (no Node.js imports here).
 * @module
 */
import { TransferMode, type AnyRpcMethods, type RpcEndpoint } from '../../core.js';
import { KINDS, type PlayerKind } from './arena.js';

/** What one peer counts about the chat. */
export interface GameCounters {
  chatsSent: number;
  chatsReceived: number;
  /** Reliable chat messages missing from a sender's sequence (should stay 0). */
  lostReliable: number;
}

/** Handlers of the arena's RPCs. */
export interface ArenaRpcHandlers {
  /** A chat line arrived from `from` (peer id), who calls itself `name`. */
  onChat?: (from: number, name: string, text: string) => void;
  /** A client asks the host for its player (only the host passes this). */
  onHello?: (from: number, name: string, kind: PlayerKind) => void;
}

/** The chat (and hello) RPCs of one peer. */
export class ArenaRpc {
  readonly counters: GameCounters = { chatsSent: 0, chatsReceived: 0, lostReliable: 0 };
  private chatSeq = 0;
  private readonly lastSeq = new Map<number, number>();

  constructor(
    readonly net: RpcEndpoint<AnyRpcMethods>,
    private readonly name: string,
    handlers: ArenaRpcHandlers,
  ) {
    net.register(
      'chat',
      (ctx, seq: number, from: string, text: string) => {
        this.counters.chatsReceived++;
        const last = this.lastSeq.get(ctx.senderId);
        if (last !== undefined && seq > last + 1) this.counters.lostReliable += seq - last - 1;
        this.lastSeq.set(ctx.senderId, Math.max(seq, last ?? seq));
        handlers.onChat?.(ctx.senderId, from, text);
      },
      {
        mode: 'any_peer',
        transferMode: TransferMode.RELIABLE,
        validate: (a): a is [number, string, string] => Number.isInteger(a[0]) && typeof a[1] === 'string' && a[1].length <= 32 && typeof a[2] === 'string' && a[2].length <= 200,
      },
    );
    net.register('hello', (ctx, name: string, kind: PlayerKind) => handlers.onHello?.(ctx.senderId, name, kind), {
      mode: 'any_peer',
      transferMode: TransferMode.RELIABLE,
      validate: (a): a is [string, PlayerKind] => typeof a[0] === 'string' && a[0].length <= 32 && (KINDS as readonly unknown[]).includes(a[1]) && a[1] !== 'host',
    });
  }

  /** Send a chat line to everyone over reliable RPC (dropped when not connected yet). */
  say(text: string): void {
    try {
      this.net.rpc('chat', this.chatSeq++, this.name.slice(0, 32), text.slice(0, 200));
      this.counters.chatsSent++;
    } catch {
      // Not connected yet: nothing to tell.
    }
  }

  /** Ask the host (peer 1) for a player. */
  hello(kind: PlayerKind): void {
    try {
      this.net.rpcId(1, 'hello', this.name.slice(0, 32), kind);
    } catch {
      // Not connected to the host yet: sent again when it connects.
    }
  }

  /** A peer left or restarted: its chat numbering starts over. */
  forget(id: number): void {
    this.lastSeq.delete(id);
  }
}
