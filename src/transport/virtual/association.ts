/**
 * The sending half of a virtual connection's SCTP-like association: bundling
 * of the messages sent in one instant into packets of up to 1200 bytes,
 * fragmentation of larger messages (a retry resends only the missing
 * fragments), retransmission (RTO = clamp(RTT + 4·jitter, rtoMin, rtoMax),
 * doubled per retry; fast retransmit after three SACK gap reports),
 * abandonment of partially reliable messages (FORWARD-TSN), and the send
 * buffer of bandwidth-capped links (./send-buffer.ts). Acknowledgements are
 * not simulated as packets: the association learns a loss when the link
 * drops the packet.
 * @module
 */
import type { EngineChannelInit } from '../engine.js';
import { meanDelay } from './conditions.js';
import { BUNDLE_BYTES, Bundle, CHUNK_HEADER, DATA, FORWARD, KIND_NAMES, Message, SHUTDOWN, SLAB_BYTES, SLAB_MAX_PAYLOAD, type PayloadSlab, fragmentBytes, fragmentCount, runCount, runLength } from './chunk.js';
import type { VirtualChannel } from './channel.js';
import type { NetworkContext } from './context.js';
import { Verdict, type LinkDirection, type PacketSink } from './link.js';
import type { Task, VirtualClock } from './scheduler.js';
import { bufferedBytes, hold, type BufferOwner, type SendBuffer } from './send-buffer.js';

/** `Uint8Array.prototype.set`, called directly (see channel.ts). */
const typedArraySet = Uint8Array.prototype.set;

/** @internal The network, as an association uses it. */
export type AssociationNet = Pick<NetworkContext<unknown>, 'clock' | 'trace' | 'sctp' | 'slab' | 'record' | 'flushLater'>;

/** @internal The sending half of one connection's association. */
export class Association implements Task, BufferOwner {
  // Fields of the per-packet paths first: they share the object's first memory lines.
  /** The connection closed. */
  closed = false;
  /** The connection failed (it may still close later). */
  failed = false;
  /** @internal */ out: LinkDirection | null = null;
  /** The peer's direction back to us (for the RTT and SACK timing). */
  private back: LinkDirection | null = null;
  /** The peer connection (null before ICE). */
  private sink: PacketSink | null = null;
  /** Negotiated max message size (0 before the remote description). */
  maxSize = 0;
  /** @internal */ bundle: Bundle | null = null;
  /** Payload bytes accepted for sending. */
  bytesSent = 0;
  /** Lost first transmissions waiting for three SACK gap reports. */
  private frPending: Message[] = [];
  /** frPending.length, read per packet (a field here spares a look at the array). */
  private frWaiting = 0;
  /** @internal Send buffer while the capped link has no room; null when nothing is held. */
  held: SendBuffer | null = null;
  readonly clock: VirtualClock;
  /** The network's payload slab (one load less per message than through `net`). */
  readonly slab: PayloadSlab;
  // The open run (see FastSender and armRun).
  /** @internal Uid of the channel whose open run the bundle ends with, which extends it itself; -1 when none. */
  runUid = -1;
  /** @internal Slab position where the open run ends (the channel moves it). */
  runEnd = -1;
  /** @internal Size of each message of the open run. */
  runLen = 0;
  /** @internal The run may grow up to this slab position. */
  runStop = 0;
  /** @internal Number of the slab page of the open run. */
  runPageNo = -1;
  /** Index in the bundle's items of that run's end slot. */
  private runSlot = 0;
  /** The run's end as the bundle accounts for it (items, bytes, bytesSent); {@link runEnd} is ahead by what the channel appended since. */
  private runFrom = 0;
  private readonly retransmits = new Set<Message>();
  private nextTsn = 1;
  private peerLabel = '?';

  constructor(
    private readonly net: AssociationNet,
    /** The connection's label (address:port), for the trace. */
    private readonly label: string,
    private readonly streams: { get(id: number): VirtualChannel | undefined },
  ) {
    this.clock = net.clock;
    this.slab = net.slab;
  }

  /** ICE paired the connection: `out` to the peer, `back` from it, `sink` receives. */
  attach(out: LinkDirection, back: LinkDirection, sink: PacketSink, peerLabel: string): void {
    this.out = out;
    this.back = back;
    this.sink = sink;
    this.peerLabel = peerLabel;
  }

  /** @internal */
  canSend(): boolean {
    return !this.closed && this.sink !== null;
  }

  /** @internal */
  channel(stream: number): VirtualChannel | undefined {
    return this.streams.get(stream);
  }

  /** Round-trip time from the current link conditions, ms (-1 before ICE). */
  rttMs(): number {
    return this.sink !== null ? meanDelay(this.out!.cond) + meanDelay(this.back!.cond) : -1;
  }

  private rto(tries: number): number {
    const a = this.out!.cond;
    const b = this.back!.cond;
    const base = meanDelay(a) + meanDelay(b) + 4 * (a.jitterMs + b.jitterMs);
    const { rtoMinMs, rtoMaxMs } = this.net.sctp;
    return Math.min(rtoMaxMs, Math.max(rtoMinMs, base) * 2 ** (tries - 1));
  }

  /**
   * Send a binary message on a {@link VirtualChannel.fast} channel (same
   * checks and outcome as {@link sendData}, without per-message state): the
   * bytes are copied into the network's payload slab, right behind the
   * previous message of the same size and channel when there is one, so the
   * bundle's run of them grows by one (see {@link Bundle}); the receiver gets
   * a view.
   */
  sendFast(ch: VirtualChannel, data: Uint8Array): boolean {
    if (this.closed || ch.state !== 'open') throw new Error('DataChannel is closed');
    const len = data.length;
    if (len > this.maxSize) throw new Error(`Message size exceeds limit (${len} > ${this.maxSize})`);
    if (this.failed || this.sink === null) return false;
    this.bytesSent += len;
    const b = this.openBundle(len + CHUNK_HEADER);
    const items = b.items;
    const stream = ch.streamId;
    if (len === 0 || len > SLAB_MAX_PAYLOAD) {
      const own = new Uint8Array(len);
      own.set(data);
      items.push(stream, -1, 0, own);
      return true;
    }
    const slab = this.slab;
    const page = slab.room(len);
    const buffer = slab.buffer;
    const pos = slab.pos;
    typedArraySet.call(page, data, pos);
    const end = (slab.pos = pos + len);
    const n = items.length;
    if (n === 0) {
      // Most packets carry one run: an array of exactly its slots is smaller than one grown by push().
      b.page = buffer;
      b.items = [buffer, stream, pos, end, len];
      this.armRun(ch, b, 3, end, len);
      return true;
    }
    // The bundle's last chunk is a run of this channel's messages of this size ending here: extend it.
    // (A number in the last slot is always a run's length; b.page === buffer means there is one.)
    if (b.page === buffer && items[n - 1] === len && items[n - 2] === pos && items[n - 4] === stream) items[n - 2] = end;
    else {
      if (b.page !== buffer) items.push((b.page = buffer));
      items.push(stream, pos, end, len);
    }
    this.armRun(ch, b, items.length - 2, end, len);
    return true;
  }

  /**
   * The bundle `b` ends with `ch`'s run of `len`-byte messages, whose end
   * slot is `items[slot]` and which ends at slab position `end`: let the
   * channel append further messages of that size itself, as long as they
   * fit in the bundle and in the page (VirtualChannel.sendBinary). The
   * association takes the run back ({@link endRun}) before anything else
   * touches the bundle, and whenever what it checked for the run no longer
   * holds (the connection fails or closes, the size limit changes); the
   * channel checks its own state on every message.
   */
  private armRun(ch: VirtualChannel, b: Bundle, slot: number, end: number, len: number): void {
    const byBundle = Math.floor((BUNDLE_BYTES - b.bytes) / (len + CHUNK_HEADER));
    const byPage = Math.floor((SLAB_BYTES - end) / len);
    const more = byBundle < byPage ? byBundle : byPage;
    if (more <= 0) return;
    this.runEnd = end;
    this.runLen = len;
    this.runStop = end + more * len;
    this.runPageNo = this.slab.pageNo;
    this.runUid = ch.uid;
    this.runSlot = slot;
    this.runFrom = end;
  }

  /** Take back the open run from its channel: what it appended goes into the bundle's items, its bytes and {@link bytesSent}. */
  endRun(): void {
    if (this.runUid < 0) return;
    this.runUid = -1;
    const end = this.runEnd;
    const added = end - this.runFrom;
    const b = this.bundle;
    if (added > 0 && b !== null) {
      b.items[this.runSlot] = end;
      b.bytes += added + (added / this.runLen) * CHUNK_HEADER;
      this.bytesSent += added;
    }
  }

  /** Payload bytes accepted for sending, the open run's included. */
  sentBytes(): number {
    this.endRun();
    return this.bytesSent;
  }

  /**
   * Send one message with SCTP state (text, or binary on a channel that is
   * not {@link VirtualChannel.fast}). `copy`: `data` belongs to the caller,
   * who may reuse it; the association keeps a copy.
   */
  sendData(ch: VirtualChannel, data: Uint8Array, isText: boolean, copy: boolean): boolean {
    if (this.closed || ch.state !== 'open') throw new Error('DataChannel is closed');
    const len = data.length;
    if (len > this.maxSize) throw new Error(`Message size exceeds limit (${len} > ${this.maxSize})`);
    if (this.failed || this.sink === null) return false;
    this.bytesSent += len;
    const size = len + CHUNK_HEADER;
    if (copy) {
      // `new` + `set` keeps small arrays on the V8 heap, where `slice()` would allocate an ArrayBuffer.
      const own = new Uint8Array(len);
      own.set(data);
      data = own;
    }
    const init = ch.init;
    const now = this.clock.now();
    const msg = new Message(
      this.nextTsn++,
      DATA,
      ch.streamId,
      init.ordered ? ch.sendSsn++ : -1,
      data,
      isText,
      init.maxRetransmits ?? -1,
      init.maxPacketLifeTime === undefined ? Infinity : now + init.maxPacketLifeTime,
      null,
    );
    if (size >= BUNDLE_BYTES) {
      this.flush();
      if ((this.held !== null || this.out!.cond.bytesPerMs > 0) && hold(this, msg, false)) return true;
      this.transmit(msg);
    } else {
      const b = this.openBundle(size);
      b.items.push(msg);
      b.messages++;
    }
    return true;
  }

  /** Reliable control message. */
  sendControl(kind: number, stream: number, extra: EngineChannelInit | null, ssn = -1): void {
    if (this.closed || this.sink === null) return;
    this.flush();
    const msg = new Message(this.nextTsn++, kind, stream, ssn, null, false, -1, Infinity, extra);
    if ((this.held !== null || this.out!.cond.bytesPerMs > 0) && hold(this, msg, kind === FORWARD)) return;
    this.transmit(msg);
  }

  /** SHUTDOWN, sent once (never retransmitted); the link's verdict. */
  shutdown(): Verdict {
    const msg = new Message(this.nextTsn++, SHUTDOWN, 0, -1, null, false, 0, Infinity, null);
    return this.out!.transmit(this.sink!, msg, 16);
  }

  /** bufferedAmount of `ch`. */
  bufferedBytes(ch: VirtualChannel): number {
    if (this.held !== null) this.endRun(); // the open bundle counts only behind a send buffer
    return bufferedBytes(this, ch);
  }

  /** The bundle open for this instant with room for `size` more bytes. */
  private openBundle(size: number): Bundle {
    this.endRun();
    let b = this.bundle;
    if (b !== null && b.bytes + size > BUNDLE_BYTES) {
      this.flush();
      b = null;
    }
    if (b === null) {
      b = this.bundle = new Bundle();
      this.net.flushLater(this);
    }
    b.bytes += size;
    return b;
  }

  /** Send the open bundle, if any. */
  flush(): void {
    const b = this.bundle;
    if (b === null) return;
    this.endRun();
    this.bundle = null;
    if (this.closed || this.sink === null || this.out === null) return;
    if ((this.held !== null || this.out.cond.bytesPerMs > 0) && hold(this, b, false)) return;
    this.sendBundle(b);
  }

  /** @internal Hand a bundle to the link. */
  sendBundle(b: Bundle): void {
    if (this.out === null || this.sink === null) return;
    const items = b.items;
    if (items.length === 1) {
      this.transmit(items[0] as Message);
      return;
    }
    // Only a bundle of one fast chunk larger than a packet exceeds the budget.
    if (b.bytes > BUNDLE_BYTES) {
      this.flushFragmented(b);
      return;
    }
    const verdict = this.out.transmit(this.sink, b, b.bytes);
    if (this.net.trace.enabled) this.traceSend(verdict, items);
    const hadPending = this.frWaiting > 0;
    // Fast chunks keep no state: only Message chunks count their tries.
    if (b.messages > 0) {
      for (let i = 0; i < items.length; i++) {
        const m = items[i];
        if (typeof m === 'number') {
          i += 3; // a run of fast chunks
          continue;
        }
        if (!(m instanceof Message)) continue; // page marker
        m.tries++;
        if (verdict !== Verdict.DELIVERED) this.lost(m, verdict);
      }
    }
    if (verdict === Verdict.DELIVERED && hadPending) this.notePacketDelivered(this.out.lastArrival);
  }

  /** A fast chunk larger than a packet: its fragments, sent once (no retransmission). */
  private flushFragmented(b: Bundle): void {
    const out = this.out!;
    const fragments = fragmentCount(b.bytes - CHUNK_HEADER);
    const verdict = out.transmitFragments(this.sink!, b, b.bytes + (fragments - 1) * CHUNK_HEADER, fragments);
    if (this.net.trace.enabled) this.traceSend(verdict, b.items, fragments);
    this.fragmentsArrived(verdict === Verdict.DELIVERED ? fragments : out.fragmentsAfterLoss);
  }

  /** @internal Hand one message (or its missing fragments) to the link. */
  transmit(msg: Message): void {
    const out = this.out!;
    msg.tries++;
    const size = msg.data === null ? CHUNK_HEADER : msg.data.length + CHUNK_HEADER;
    if (size > BUNDLE_BYTES) {
      this.transmitFragmented(msg, out);
      return;
    }
    const verdict = out.transmit(this.sink!, msg, size);
    if (this.net.trace.enabled) this.traceSend(verdict, [msg]);
    if (verdict !== Verdict.DELIVERED) this.lost(msg, verdict);
    else if (this.frWaiting > 0) this.notePacketDelivered(out.lastArrival);
  }

  /**
   * A message larger than a packet travels as SCTP fragments; a try sends the
   * fragments still missing (SCTP retransmits only those), and the message is
   * delivered when the last one arrives.
   */
  private transmitFragmented(msg: Message, out: LinkDirection): void {
    const len = msg.data!.length;
    const total = fragmentCount(len);
    const left = msg.fragmentsLeft > 0 ? msg.fragmentsLeft : total;
    const size = fragmentBytes(len, left, total) + left * CHUNK_HEADER;
    const verdict = out.transmitFragments(this.sink!, msg, size, left);
    if (this.net.trace.enabled) this.traceSend(verdict, [msg], left);
    if (verdict !== Verdict.DELIVERED) {
      msg.fragmentsLeft = out.fragmentsLost;
      this.lost(msg, verdict);
      this.fragmentsArrived(out.fragmentsAfterLoss);
    } else this.fragmentsArrived(left);
  }

  /** `count` packets (fragments) arrived at `out.lastArrival`: each SACK reports the gaps before it. */
  private fragmentsArrived(count: number): void {
    for (let i = 0; i < count && i < 3 && this.frWaiting > 0; i++) this.notePacketDelivered(this.out!.lastArrival);
  }

  private traceSend(verdict: Verdict, items: unknown[], fragments = 1): void {
    const tag = verdict === Verdict.DELIVERED ? 'send' : verdict === Verdict.LOST ? 'drop-loss' : verdict === Verdict.QUEUE_FULL ? 'drop-queue' : 'drop-down';
    const parts: string[] = [];
    const bundled = items.length > 1 ? 1 : 0;
    for (let i = 0; i < items.length; i++) {
      const m = items[i];
      if (typeof m === 'number') {
        const part = `s=${m} len=${runLength(items, i)}`;
        for (let k = runCount(items, i); k > 0; k--) parts.push(part);
        i += 3;
        continue;
      }
      if (!(m instanceof Message)) continue; // page marker
      const msg = m as Message;
      parts.push((msg.kind === DATA ? `s=${msg.stream} tsn=${msg.tsn} len=${msg.data!.length}` : `${KIND_NAMES[msg.kind]} s=${msg.stream} tsn=${msg.tsn}`) + ` try=${msg.tries + bundled}`);
    }
    const what = parts.join(', ') + (fragments > 1 ? ` frags=${fragments}` : '');
    this.net.record(tag, `${this.label}>${this.peerLabel} ${what}`);
  }

  private lost(msg: Message, verdict: Verdict): void {
    if (msg.maxRtx >= 0 && msg.tries > msg.maxRtx) {
      this.abandon(msg);
      return;
    }
    const now = this.clock.now();
    const wait = this.rto(msg.tries);
    // Fast retransmit (RFC 4960 §7.2.4): once, for a first transmission the receiver will report missing.
    const fast = this.net.sctp.fastRetransmit && msg.tries === 1 && verdict !== Verdict.DOWN;
    if (now + wait > msg.deadline && !fast) {
      this.abandon(msg);
      return;
    }
    msg.timer = this.clock.schedule(Math.min(now + wait, msg.deadline), this, msg);
    this.retransmits.add(msg);
    if (fast) {
      msg.misses = 0;
      this.frWaiting = this.frPending.push(msg);
    }
  }

  /**
   * A packet sent after a loss arrives at `arrival`: the receiver SACKs at
   * once (gap detected), and the SACK reaches us one way later. The third
   * such report triggers the retransmission, if that beats the RTO timer.
   */
  private notePacketDelivered(arrival: number): void {
    const pending = this.frPending;
    let keep = 0;
    for (let i = 0; i < pending.length; i++) {
      const m = pending[i]!;
      if (++m.misses < 3 || m.timer === undefined) {
        if (m.timer !== undefined) pending[keep++] = m;
        continue;
      }
      const at = arrival + meanDelay(this.back!.cond);
      if (at < m.timer.at) {
        this.clock.cancel(m.timer);
        m.timer = this.clock.schedule(at, this, m);
      }
    }
    pending.length = keep;
    this.frWaiting = keep;
  }

  /** Retransmission timer. */
  fire(arg: unknown): void {
    const msg = arg as Message;
    this.retransmits.delete(msg);
    msg.timer = undefined;
    if (this.closed || this.sink === null) return;
    if (this.clock.now() >= msg.deadline) {
      this.abandon(msg);
      return;
    }
    if ((this.held !== null || this.out!.cond.bytesPerMs > 0) && hold(this, msg, true)) return;
    this.transmit(msg);
  }

  /** @internal Give up on a partially reliable message: the receiver is told to skip it (FORWARD-TSN). */
  abandon(msg: Message): void {
    this.net.record('abandon', `${this.label} s=${msg.stream} tsn=${msg.tsn}`);
    if (msg.ssn >= 0) this.sendControl(FORWARD, msg.stream, null, msg.ssn);
  }

  /** Stop all activity (failed or closed): drop the bundle, the send buffer and every retransmission. */
  drop(channels: readonly VirtualChannel[]): void {
    this.endRun();
    this.bundle = null;
    if (this.held !== null) {
      this.clock.cancel(this.held.timer);
      this.held = null;
      for (const ch of channels) ch.held = 0;
    }
    for (const m of this.retransmits) this.clock.cancel(m.timer);
    this.retransmits.clear();
    this.frPending = [];
    this.frWaiting = 0;
  }
}
