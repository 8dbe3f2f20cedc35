/**
 * The data channels of a virtual connection and the receiving half of its
 * association: the stream table (ids, in-band id assignment), DCEP (open and
 * ack), stream reset, FORWARD-TSN, and delivery of what arrives (in order on
 * ordered streams, duplicates discarded).
 * @module
 */
import type { EngineChannelInit } from '../engine.js';
import { Bundle, DATA, DCEP_ACK, DCEP_OPEN, FORWARD, Message, RESET, SHUTDOWN } from './chunk.js';
import { VirtualChannel, type ChannelOwner } from './channel.js';
import { hashBytes } from './rng.js';
import type { PacketSink } from './link.js';
import type { Trace } from './trace.js';

/** @internal What the stream table needs from its connection. */
export interface StreamOwner extends ChannelOwner {
  readonly label: string;
  /** Label of the connected peer ('?' when none). */
  peerLabel(): string;
  /** Send a reliable control message (DCEP, reset, FORWARD-TSN). */
  sendControl(kind: number, stream: number, extra: EngineChannelInit | null, ssn?: number): void;
  /** A remote in-band channel arrived (the `dataChannel` handler). */
  channelReceived(ch: VirtualChannel): void;
  /** The peer sent SHUTDOWN. */
  remoteClosed(): void;
}

/** @internal The trace, as the stream table uses it. */
export interface StreamTrace {
  readonly trace: Trace;
  record(kind: string, detail: string): void;
}

/** @internal Channels by stream id, and everything that arrives for them. */
export class StreamTable implements PacketSink {
  /** Every channel of the connection, in creation order. */
  readonly channels: VirtualChannel[] = [];
  /** Payload bytes delivered. */
  bytesReceived = 0;
  /** Set when the connection closes: nothing more is delivered. */
  closed = false;
  private readonly byStream = new Map<number, VirtualChannel>();
  /** Stream id of the last fast-chunk lookup (-1: none) and its result; reset when byStream changes. */
  private rxStream = -1;
  private rxChannel: VirtualChannel | undefined = undefined;
  /** Data that overtook the DCEP open of its channel. */
  private orphans: Map<number, Message[]> | null = null;

  constructor(
    private readonly owner: StreamOwner,
    private readonly net: StreamTrace,
  ) {}

  /** The channel holding stream `id`. */
  get(id: number): VirtualChannel | undefined {
    return this.byStream.get(id);
  }

  /** Whether stream `id` is taken. */
  has(id: number): boolean {
    return this.byStream.has(id);
  }

  /** Give stream `id` to `ch`. */
  setStream(id: number, ch: VirtualChannel): void {
    this.byStream.set(id, ch);
    this.rxStream = -1;
  }

  /** Free `ch`'s stream id, if it still holds it. */
  unsetStream(ch: VirtualChannel): void {
    if (ch.streamId >= 0 && this.byStream.get(ch.streamId) === ch) {
      this.byStream.delete(ch.streamId);
      this.rxStream = -1;
    }
  }

  /** Forget a channel that was never negotiated. */
  remove(ch: VirtualChannel): void {
    this.unsetStream(ch);
    const i = this.channels.indexOf(ch);
    if (i >= 0) this.channels.splice(i, 1);
  }

  /** In-band ids: the DTLS client (answerer) uses even ids, the server odd ones. */
  assignStreamIds(role: 'offerer' | 'answerer' | null): void {
    let next = role === 'answerer' ? 0 : 1;
    for (const ch of this.channels) {
      if (ch.init.negotiated || ch.streamId >= 0) continue;
      while (this.byStream.has(next)) next += 2;
      ch.streamId = next;
      (ch.init as { id?: number }).id = next;
      this.setStream(next, ch);
      next += 2;
    }
  }

  /** The association is up: open negotiated channels that wait for it. */
  openNegotiated(): void {
    for (const ch of this.channels) {
      if (ch.init.negotiated && ch.state === 'connecting') {
        ch.state = 'open';
        ch.dispatch({ kind: 'open' });
      }
    }
  }

  /** The association is up: send DCEP open for in-band channels that wait for it. */
  openInBand(): void {
    for (const ch of this.channels) {
      if (!ch.init.negotiated && ch.state === 'connecting') this.owner.sendControl(DCEP_OPEN, ch.streamId, { ...ch.init, id: ch.streamId });
    }
  }

  /** Close `ch` now (reset received, failure, or the end of a local close). */
  markClosed(ch: VirtualChannel): void {
    if (ch.state === 'closed') return;
    ch.state = 'closed';
    ch.early = null;
    ch.skipped = null;
    this.unsetStream(ch);
    ch.dispatch({ kind: 'closed' });
  }

  /** Close every channel now. */
  closeAll(): void {
    for (const ch of this.channels) this.markClosed(ch);
  }

  /** A packet arrived from the link (the sending association's sink is this table). */
  receive(payload: unknown, duplicate: boolean): void {
    if (this.closed) return;
    if (payload instanceof Bundle) {
      if (payload.received) {
        if (this.net.trace.enabled) this.net.record('discard-dup', `${this.owner.label} bundle of ${payload.traceLength()}${duplicate ? ' copy' : ''}`);
        return;
      }
      payload.received = true;
      const items = payload.items;
      // `=== true` on booleans read from fields: the optimizing compiler then compares one pointer instead of a full truthiness test.
      const tracing = this.net.trace.enabled === true;
      let lastStream = -1;
      let ch: VirtualChannel | undefined;
      let buffer: ArrayBufferLike | null = null;
      for (let i = 0; i < items.length && (this.closed as boolean) !== true; i++) {
        const m = items[i];
        if (typeof m === 'number') {
          // A run of fast chunks: stream id, start, end, length (see Bundle).
          const start = items[i + 1] as number;
          const end = items[i + 2] as number;
          const x = items[i + 3];
          i += 3;
          if (m !== lastStream) {
            if (m !== this.rxStream) {
              this.rxStream = m;
              this.rxChannel = this.byStream.get(m);
            }
            ch = this.rxChannel;
            lastStream = m;
          }
          // Unreliable data for a channel not (or no longer) here is dropped, as SCTP would.
          if (ch === undefined || ch.state === 'closed') continue;
          if (start < 0) {
            const data = x as Uint8Array;
            this.bytesReceived += data.length;
            if (tracing) this.traceDeliver(ch, data, -1);
            ch.deliverMessage(data, false);
            continue;
          }
          const len = x as number;
          for (let at = start; at < end; at += len) {
            // A view of the slab: those bytes are never written again.
            const data = new Uint8Array(buffer!, at, len);
            this.bytesReceived += len;
            if (tracing) this.traceDeliver(ch, data, -1);
            ch.deliverMessage(data, false);
            // The handler may have closed the channel or the connection.
            if ((ch.state as VirtualChannel['state']) === 'closed' || (this.closed as boolean) === true) break;
          }
        } else if (m instanceof Message) {
          this.receiveOne(m, duplicate);
          lastStream = -1;
        } else {
          buffer = m as ArrayBufferLike; // page of the runs that follow
        }
      }
      return;
    }
    this.receiveOne(payload as Message, duplicate);
  }

  private receiveOne(msg: Message, duplicate: boolean): void {
    if (msg.received) {
      if (this.net.trace.enabled) this.net.record('discard-dup', `${this.owner.label} tsn=${msg.tsn}${duplicate ? ' copy' : ''}`);
      return;
    }
    msg.received = true;
    if (msg.kind === DATA) {
      const ch = this.byStream.get(msg.stream);
      if (ch === undefined) {
        // Data can overtake the DCEP open of its channel (reordering): hold it.
        const orphans = (this.orphans ??= new Map());
        let list = orphans.get(msg.stream);
        if (!list) orphans.set(msg.stream, (list = []));
        list.push(msg);
        return;
      }
      this.receiveData(ch, msg);
      return;
    }
    this.receiveControl(msg);
  }

  private receiveData(ch: VirtualChannel, msg: Message): void {
    if (ch.state === 'closed') return;
    if (msg.ssn < 0) {
      this.deliverNow(ch, msg.data!, msg.isText, msg.tsn);
      return;
    }
    if (msg.ssn === ch.recvSsn) {
      ch.recvSsn++;
      this.deliverNow(ch, msg.data!, msg.isText, msg.tsn);
      this.flushOrdered(ch);
    } else if (msg.ssn > ch.recvSsn) {
      (ch.early ??= new Map()).set(msg.ssn, msg);
    }
  }

  private flushOrdered(ch: VirtualChannel): void {
    for (;;) {
      const next = ch.recvSsn;
      const early = ch.early?.get(next);
      if (early !== undefined) {
        ch.early!.delete(next);
        ch.recvSsn++;
        this.deliverNow(ch, early.data!, early.isText, early.tsn);
        if (ch.state === 'closed' || this.closed) return;
      } else if (ch.skipped?.has(next)) {
        ch.skipped.delete(next);
        ch.recvSsn++;
      } else return;
    }
  }

  private deliverNow(ch: VirtualChannel, data: Uint8Array, isText: boolean, tsn: number): void {
    this.bytesReceived += data.length;
    if (this.net.trace.enabled) this.traceDeliver(ch, data, tsn);
    ch.deliverMessage(data, isText);
  }

  private traceDeliver(ch: VirtualChannel, data: Uint8Array, tsn: number): void {
    this.net.record('deliver', `${this.owner.peerLabel()}>${this.owner.label} s=${ch.streamId} tsn=${tsn < 0 ? '-' : tsn} len=${data.length} h=${hashBytes(data).toString(16)}`);
  }

  private receiveControl(msg: Message): void {
    switch (msg.kind) {
      case DCEP_OPEN: {
        const init = msg.extra!;
        if (this.byStream.has(msg.stream)) return;
        const ch = new VirtualChannel(this.owner, { ...init });
        ch.state = 'open';
        this.channels.push(ch);
        this.setStream(msg.stream, ch);
        this.net.record('channel', `${this.owner.label} s=${msg.stream} ${JSON.stringify(init.label)}`);
        this.owner.sendControl(DCEP_ACK, msg.stream, null);
        this.owner.channelReceived(ch);
        ch.dispatch({ kind: 'open' });
        const orphans = this.orphans?.get(msg.stream);
        if (orphans) {
          this.orphans!.delete(msg.stream);
          for (const m of orphans) if (!this.closed) this.receiveData(ch, m);
        }
        return;
      }
      case DCEP_ACK: {
        const ch = this.byStream.get(msg.stream);
        if (ch && ch.state === 'connecting') {
          ch.state = 'open';
          ch.dispatch({ kind: 'open' });
        }
        return;
      }
      case RESET: {
        const ch = this.byStream.get(msg.stream);
        if (ch) this.markClosed(ch);
        return;
      }
      case FORWARD: {
        const ch = this.byStream.get(msg.stream);
        if (!ch || msg.ssn < ch.recvSsn) return;
        (ch.skipped ??= new Set()).add(msg.ssn);
        this.flushOrdered(ch);
        return;
      }
      case SHUTDOWN:
        this.owner.remoteClosed();
        return;
    }
  }
}
