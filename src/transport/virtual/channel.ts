/**
 * A data channel of the virtual engine. The SCTP work is done by its
 * connection; the channel holds its options, stream state and the handlers.
 * @module
 */
import { deliverChannelEvent, EventHoldingChannel, type ChannelEvent } from '../channel-events.js';
import { guard, rethrowAsync, type EngineChannel, type EngineChannelHandlers, type EngineChannelInit } from '../engine.js';
import type { Message, PayloadSlab } from './chunk.js';

/**
 * @internal Sends binary messages of {@link VirtualChannel.fast} channels
 * (the association). Its open run: while the last chunk of its open bundle
 * is a run of one channel's same-sized messages ending at the slab's next free
 * byte, {@link VirtualChannel.sendBinary} appends to it itself, moving
 * `runEnd` (the association armed the run and accounts for it when it ends;
 * the run state lives here, not in the channel, so sending the bundle reads
 * no channel).
 */
export interface FastSender {
  /** The network's payload slab. */
  readonly slab: PayloadSlab;
  /** {@link VirtualChannel.uid} of the channel whose run is open (-1: none; a number, compared in one instruction). */
  readonly runUid: number;
  /** Slab position where the open run ends. */
  runEnd: number;
  /** Size of each message of the open run. */
  readonly runLen: number;
  /** The run may grow up to this slab position (bundle budget and page end). */
  readonly runStop: number;
  /** Number of the slab page of the open run (see PayloadSlab.pageNo). */
  readonly runPageNo: number;
  sendFast(ch: VirtualChannel, data: Uint8Array): boolean;
}

/**
 * `Uint8Array.prototype.set`, called directly: `page.set(…)` compiled to a
 * generic property load per message in the optimized send path. Module-local
 * on purpose: the compiler folds a constant it can see, while an exported or
 * imported binding is loaded (and its function called generically) every time.
 */
const typedArraySet = Uint8Array.prototype.set;

/** @internal What a channel asks of its connection. */
export interface ChannelOwner {
  isClosed(): boolean;
  /** Where binary messages of a {@link VirtualChannel.fast} channel go (called directly: one hop less per message). */
  readonly sctp: FastSender;
  /** Send a message with SCTP state; `copy`: the caller may reuse `data`. */
  sendData(ch: VirtualChannel, data: Uint8Array, isText: boolean, copy: boolean): boolean;
  closeChannel(ch: VirtualChannel): void;
  /** Bytes of `ch` waiting in the send buffer. */
  bufferedBytes(ch: VirtualChannel): number;
  maxMessageSize(): number;
}

const encoder = new TextEncoder();
/** Next {@link VirtualChannel.uid}. */
let nextUid = 0;
/** A channel event to its handler; a handler's exception is rethrown asynchronously. */
const guardedDeliver = guard(deliverChannelEvent);

/** A data channel of a virtual connection. */
export class VirtualChannel extends EventHoldingChannel implements EngineChannel {
  readonly init: EngineChannelInit;
  /** @internal Unique among the channels of this process (names the channel of an association's open run). */ readonly uid = nextUid++;
  /** @internal */ streamId: number;
  /** @internal */ state: 'connecting' | 'open' | 'closing' | 'closed' = 'connecting';
  /** @internal Next outgoing stream sequence number (ordered). */ sendSsn = 0;
  /** @internal Next expected incoming sequence number (ordered). */ recvSsn = 0;
  /** @internal Ordered messages that arrived early. */ early: Map<number, Message> | null = null;
  /** @internal Sequence numbers the sender abandoned. */ skipped: Set<number> | null = null;
  /** @internal Unordered with maxRetransmits 0: binary messages skip per-message state. */ readonly fast: boolean;
  /** @internal Payload bytes of this channel held in the connection's send buffer. */ held = 0;
  /** @internal `bufferedAmountLow` fires when {@link held} falls to this or below. */ lowThreshold = 0;

  private readonly sender: FastSender;
  private readonly slab: PayloadSlab;

  /** @internal */
  constructor(
    private readonly conn: ChannelOwner,
    init: EngineChannelInit,
  ) {
    super();
    this.sender = conn.sctp;
    this.slab = conn.sctp.slab;
    this.init = init;
    this.streamId = init.id ?? -1;
    this.fast = !init.ordered && init.maxRetransmits === 0;
  }

  id(): number {
    return this.streamId;
  }

  /** @internal */
  dispatch(e: ChannelEvent): void {
    if (!this.conn.isClosed()) this.emit(e);
  }

  /** @internal A handler's exception is rethrown asynchronously. */
  protected override deliver(h: EngineChannelHandlers, e: ChannelEvent): void {
    guardedDeliver(h, e);
  }

  /** @internal Deliver a received message. */
  deliverMessage(data: Uint8Array, isText: boolean): void {
    const h = this.handlers;
    if (h !== null) {
      try {
        h.message(data, isText);
      } catch (err) {
        rethrowAsync(err);
      }
    } else this.hold({ kind: 'message', data, isText });
  }

  sendBinary(data: Uint8Array): boolean {
    // The bytes are copied once (the caller may reuse its buffer). The common case, one more
    // message of this channel's open run (same size, right behind the previous one in the slab),
    // is done here; the association armed the run and accounts for it when the run ends.
    const a = this.sender;
    const slab = this.slab;
    const pos = slab.pos;
    const len = data.length;
    if (a.runUid === this.uid && pos === a.runEnd && len === a.runLen && pos + len <= a.runStop && slab.pageNo === a.runPageNo && this.state === 'open') {
      typedArraySet.call(slab.page, data, pos);
      slab.pos = a.runEnd = pos + len;
      return true;
    }
    return this.fast ? a.sendFast(this, data) : this.conn.sendData(this, data, false, true);
  }

  sendText(text: string): boolean {
    return this.conn.sendData(this, encoder.encode(text), true, false);
  }

  /** Bytes accepted and not yet handed to the link: non-zero only while a bandwidth-capped link has no room (see the connection's send buffer). */
  bufferedAmount(): number {
    return this.state === 'closed' ? 0 : this.conn.bufferedBytes(this);
  }

  setBufferedAmountLowThreshold(bytes: number): void {
    this.lowThreshold = bytes;
  }

  maxMessageSize(): number {
    return this.state === 'closed' ? 0 : this.conn.maxMessageSize();
  }

  close(): void {
    this.conn.closeChannel(this);
  }
}
