/**
 * The receive side of a multiplayer peer: which packet `getPacket()` returns
 * next. Peers are visited in fair round-robin (the order refreshed by
 * `poll()` after peers were added or removed), each peer's channels in index
 * order; only connected links are read.
 *
 * The packet found by a look-ahead ({@link PacketReader.peek}) is remembered
 * until it is read, so `getPacketPeer/Channel/Mode` and `getPacket` cost one
 * search per packet between them, and always describe the same packet.
 * The reader also counts the packets `getPacket()` returns and keeps what
 * `getPacketError()` answers.
 * @module
 */
import { ErrorCode } from '../errors.js';
import { transferChannelOf } from './channel-layout.js';
import { TransferMode } from './constants.js';
import type { MeshLink } from './link.js';
import type { TakenPacket } from './types.js';

/** Where the packet read last came from. */
export interface PacketOrigin {
  peer: number;
  index: number;
  mode: TransferMode;
}

/** Round-robin reader over a table of links. */
export class PacketReader {
  /** Links in visiting order (a link removed since the last refresh is closed, and skipped). */
  private order: MeshLink[] = [];
  private next = 0;
  private stale = false;
  /** The packet last returned by {@link read}. */
  readonly last: PacketOrigin = { peer: 0, index: 0, mode: TransferMode.RELIABLE };
  /** The link of the next packet found by {@link peek} (undefined: not looked for yet, or none then). */
  private nextLink: MeshLink | undefined = undefined;
  /** Its channel index and position in {@link order}. */
  private nextIndex = 0;
  private nextAt = 0;
  /** Why the last {@link get} returned nothing (undefined after a packet, and before the first call); kept by {@link reset}. */
  error: ErrorCode | undefined = undefined;

  /** @param counters counts the packets {@link get} returns. */
  constructor(private readonly counters: { packetsReceived: number }) {}

  /** Peers were added or removed: take the new order on the next {@link refresh}. */
  invalidate(): void {
    this.stale = true;
    this.nextLink = undefined;
  }

  /** Whether the order waits for a refresh. */
  get isStale(): boolean {
    return this.stale;
  }

  /** Take the visiting order from `links` if peers changed since the last refresh. */
  refresh(links: Iterable<MeshLink>): void {
    if (!this.stale) return;
    this.stale = false;
    this.nextLink = undefined;
    this.order = [...links];
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
   * The link where the next packet waits, without taking it (see
   * {@link nextTransferChannel} and {@link nextMode}), or undefined when none waits.
   * {@link read} returns exactly this packet.
   */
  peek(): MeshLink | undefined {
    const known = this.nextLink;
    // Still at the head of its inbox: only read() takes packets from an inbox, and it forgets this one.
    if (known !== undefined && known.connected && known.io.inbox[this.nextIndex]!.length > 0) return known;
    this.nextLink = undefined;
    const order = this.order;
    const n = order.length;
    let at = this.next;
    for (let k = 0; k < n; k++, at = at + 1 === n ? 0 : at + 1) {
      const link = order[at]!;
      if (!link.connected || link.closed) continue;
      link.io.pull();
      const inbox = link.io.inbox;
      for (let i = 0; i < inbox.length; i++) {
        if (inbox[i]!.length > 0) {
          this.nextLink = link;
          this.nextIndex = i;
          this.nextAt = at;
          return link;
        }
      }
    }
    return undefined;
  }

  /** Next packet, recording its origin in {@link last}; undefined when none waits. */
  read(): Uint8Array | undefined {
    const link = this.peek();
    if (link === undefined) return undefined;
    const index = this.nextIndex;
    const data = link.io.inbox[index]!.shiftData()!;
    this.nextLink = undefined;
    const at = this.nextAt + 1;
    this.next = at >= this.order.length ? 0 : at;
    const last = this.last;
    last.peer = link.id;
    last.index = index;
    last.mode = link.io.specs[index]!.mode;
    return data;
  }

  /**
   * `getPacket()`: the next packet, counted; or undefined with {@link error}
   * set, INVALID_STATE when the peer is not `initialised`, else UNAVAILABLE.
   */
  get(initialised: boolean): Uint8Array | undefined {
    const data = this.read();
    if (data === undefined) {
      this.error = initialised ? ErrorCode.UNAVAILABLE : ErrorCode.INVALID_STATE;
      return undefined;
    }
    this.error = undefined;
    this.counters.packetsReceived++;
    return data;
  }

  /** `takePacket()`: {@link get} and the packet's origin, written into `into`; false when none waits. */
  take(into: TakenPacket, initialised: boolean): boolean {
    const data = this.get(initialised);
    if (data === undefined) return false;
    const last = this.last;
    into.data = data;
    into.peer = last.peer;
    into.channel = transferChannelOf(last.index);
    into.mode = last.mode;
    return true;
  }

  /** Transfer channel of the next packet (0 for the three default channels, and when none waits). */
  nextTransferChannel(): number {
    return this.peek() ? transferChannelOf(this.nextIndex) : 0;
  }

  /** Transfer mode of the next packet; with none waiting, the mode of the packet read last. */
  nextMode(): TransferMode {
    const next = this.peek();
    return next ? next.io.specs[this.nextIndex]!.mode : this.last.mode;
  }

  /** Forget the order and the last packet (close()). */
  reset(): void {
    this.order = [];
    this.next = 0;
    this.stale = false;
    this.nextLink = undefined;
    this.last.peer = 0;
    this.last.index = 0;
    this.last.mode = TransferMode.RELIABLE;
  }
}
