/**
 * The receive side of a multiplayer peer: which packet `getPacket()` returns
 * next. Peers are visited in fair round-robin (the order refreshed by
 * `poll()` after peers were added or removed), each peer's channels in index
 * order; only connected links are read.
 * @module
 */
import { TransferMode } from './constants.js';
import type { MeshLink } from './link.js';

/** Where the packet read last came from. */
export interface PacketOrigin {
  peer: number;
  index: number;
  mode: TransferMode;
}

/** Round-robin reader over a table of links. */
export class PacketReader {
  /** Peer ids in visiting order. */
  private order: number[] = [];
  private next = 0;
  private stale = false;
  /** The packet last returned by {@link read}. */
  readonly last: PacketOrigin = { peer: 0, index: 0, mode: TransferMode.RELIABLE };

  /** Peers were added or removed: take the new order on the next {@link refresh}. */
  invalidate(): void {
    this.stale = true;
  }

  /** Whether the order waits for a refresh. */
  get isStale(): boolean {
    return this.stale;
  }

  /** Take the visiting order from `ids` if peers changed since the last refresh. */
  refresh(ids: Iterable<number>): void {
    if (!this.stale) return;
    this.stale = false;
    this.order = [...ids];
    if (this.next >= this.order.length) this.next = 0;
  }

  /** Packets waiting over every connected link. */
  count(links: Iterable<MeshLink>): number {
    let n = 0;
    for (const l of links) {
      if (!l.connected) continue;
      l.io.pull();
      n += l.io.queued();
    }
    return n;
  }

  /**
   * Where the next packet waits (the link and channel index) without taking
   * it, or undefined when none waits. {@link read} returns exactly this one.
   */
  peek(links: ReadonlyMap<number, MeshLink>): { link: MeshLink; index: number; at: number } | undefined {
    const order = this.order;
    for (let k = 0; k < order.length; k++) {
      const at = (this.next + k) % order.length;
      const link = links.get(order[at]!);
      if (!link || !link.connected) continue;
      link.io.pull();
      const inbox = link.io.inbox;
      for (let i = 0; i < inbox.length; i++) if (inbox[i]!.length > 0) return { link, index: i, at };
    }
    return undefined;
  }

  /** Next packet, recording its origin in {@link last}; undefined when none waits. */
  read(links: ReadonlyMap<number, MeshLink>): Uint8Array | undefined {
    const next = this.peek(links);
    if (!next) return undefined;
    const { link, index, at } = next;
    const data = link.io.inbox[index]!.shiftData()!;
    this.next = (at + 1) % this.order.length;
    const last = this.last;
    last.peer = link.id;
    last.index = index;
    last.mode = link.io.specs[index]!.mode;
    return data;
  }

  /** Forget the order and the last packet (close()). */
  reset(): void {
    this.order = [];
    this.next = 0;
    this.stale = false;
    this.last.peer = 0;
    this.last.index = 0;
    this.last.mode = TransferMode.RELIABLE;
  }
}
