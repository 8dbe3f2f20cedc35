/**
 * The send buffer of a virtual association (bandwidth-capped links only): a
 * packet goes to the link only when the bottleneck queue has room for it;
 * the rest waits here, in order, and leaves as the queue drains
 * (retransmissions and FORWARD-TSN first). It shows in each channel's
 * `bufferedAmount`; `bufferedAmountLow` fires when a channel's held bytes fall
 * to its threshold. Uncapped links never buffer.
 * @module
 */
import { BUNDLE_BYTES, Bundle, CHUNK_HEADER, DATA, Message, fragmentBytes, fragmentCount, runBytes } from './chunk.js';
import type { VirtualChannel } from './channel.js';
import type { LinkDirection } from './link.js';
import type { Task, TimerHandle, VirtualClock } from './scheduler.js';

/** @internal What the send buffer needs from its association. */
export interface BufferOwner {
  /** The buffer in use; null when nothing is held. */
  held: SendBuffer | null;
  /** This instant's open bundle (it queues behind the buffer). */
  readonly bundle: Bundle | null;
  /** The link direction to the peer (null before ICE). */
  readonly out: LinkDirection | null;
  readonly clock: VirtualClock;
  /** Whether the association can still send (open, with a peer). */
  canSend(): boolean;
  /** Hand one message (or its missing fragments) to the link. */
  transmit(m: Message): void;
  /** Hand a bundle to the link. */
  sendBundle(b: Bundle): void;
  /** Give up on a partially reliable message. */
  abandon(m: Message): void;
  /** The channel holding a stream id. */
  channel(stream: number): VirtualChannel | undefined;
}

/** @internal What an association holds back while its capped link has no room; its timer drains it. */
export class SendBuffer implements Task {
  /** Retransmissions and FORWARD-TSN: they go before new data, as in SCTP. */
  urgent: Message[] = [];
  /** New packets (bundles and single messages) in send order, from `head`. */
  packets: (Bundle | Message | undefined)[] = [];
  head = 0;
  timer: TimerHandle | undefined = undefined;
  constructor(private readonly owner: BufferOwner) {}

  fire(): void {
    this.timer = undefined;
    drain(this.owner, this);
  }
}

/**
 * The link has a bandwidth cap: send `p` now if nothing is held and the
 * bottleneck queue has room for it, else hold it in the send buffer, which
 * hands packets to the link as the queue drains (so a flood backs up here,
 * in `bufferedAmount`, instead of being tail-dropped). `urgent`:
 * retransmissions and FORWARD-TSN, which go before new data. Returns
 * whether `p` was held.
 */
export function hold(owner: BufferOwner, p: Bundle | Message, urgent: boolean): boolean {
  const out = owner.out!;
  let buf = owner.held;
  if (buf === null) {
    if (out.cond.bytesPerMs <= 0 || out.fits(wireOf(out, p))) return false;
    buf = owner.held = new SendBuffer(owner);
  }
  if (urgent) buf.urgent.push(p as Message);
  else {
    buf.packets.push(p);
    account(owner, p, 1, null);
  }
  if (buf.timer === undefined) {
    const head = buf.urgent.length > 0 ? buf.urgent[0]! : buf.packets[buf.head]!;
    const now = owner.clock.now();
    const at = out.cond.bytesPerMs > 0 ? out.fitsAt(wireOf(out, head)) : now;
    buf.timer = owner.clock.schedule(at > now ? at : now, buf);
  }
  return true;
}

/** The send buffer's timer: hand the link what it has room for, then wait for more room. */
function drain(owner: BufferOwner, buf: SendBuffer): void {
  if (owner.held !== buf) return;
  if (!owner.canSend() || owner.out === null) {
    owner.held = null;
    return;
  }
  const out = owner.out;
  const clock = owner.clock;
  const now = clock.now();
  const low: VirtualChannel[] = [];
  for (;;) {
    if (owner.held !== buf) break;
    const urgent = buf.urgent.length > 0;
    const p = urgent ? buf.urgent[0]! : buf.packets[buf.head];
    if (p === undefined) {
      owner.held = null;
      break;
    }
    if (out.cond.bytesPerMs > 0) {
      const wire = wireOf(out, p);
      if (!out.fits(wire)) {
        // Rounding can leave it a hair short at the computed time: look again a moment later.
        const at = out.fitsAt(wire);
        buf.timer = clock.schedule(at > now ? at : now + 1e-6, buf);
        break;
      }
    }
    if (urgent) buf.urgent.shift();
    else {
      buf.packets[buf.head++] = undefined;
      if (buf.head >= 1024 && buf.head * 2 >= buf.packets.length) {
        buf.packets = buf.packets.slice(buf.head);
        buf.head = 0;
      }
      account(owner, p, -1, low);
    }
    sendHeld(owner, p, urgent, now);
  }
  // bufferedAmountLow after the loop: a handler that sends or closes then queues behind what was sent.
  for (const ch of low) if (ch.state === 'open' && owner.canSend()) ch.dispatch({ kind: 'low' });
}

/** Send a packet leaving the send buffer; partially reliable messages whose lifetime ran out while held are abandoned unsent, as SCTP does. */
function sendHeld(owner: BufferOwner, p: Bundle | Message, urgent: boolean, now: number): void {
  if (p instanceof Message) {
    if (now >= p.deadline) owner.abandon(p);
    else owner.transmit(p);
    return;
  }
  if (!urgent && p.messages > 0) {
    const items = p.items;
    let kept = 0;
    for (let i = 0; i < items.length; i++) {
      const m = items[i];
      if (typeof m === 'number') {
        // A run of fast chunks: four slots.
        items[kept++] = m;
        items[kept++] = items[++i];
        items[kept++] = items[++i];
        items[kept++] = items[++i];
      } else if (m instanceof Message && now >= m.deadline) {
        p.bytes -= m.data!.length + CHUNK_HEADER;
        p.messages--;
        owner.abandon(m);
      } else items[kept++] = m;
    }
    items.length = kept;
    if (p.bytes === 0) return;
  }
  owner.sendBundle(p);
}

/** Bytes a packet costs on the link (fragments, chunk headers and overhead included). */
function wireOf(out: LinkDirection, p: Bundle | Message): number {
  const overhead = out.cond.overheadBytes;
  const size = p instanceof Bundle ? p.bytes : p.data === null ? CHUNK_HEADER : p.data.length + CHUNK_HEADER;
  if (size <= BUNDLE_BYTES) return size + overhead;
  const len = size - CHUNK_HEADER;
  const total = fragmentCount(len);
  const left = p instanceof Message && p.fragmentsLeft > 0 ? p.fragmentsLeft : total;
  return fragmentBytes(len, left, total) + left * (CHUNK_HEADER + overhead);
}

/** Add (`sign` 1) or remove (-1) the payload bytes of `p` from its channels' held counts; channels that fall to their threshold go to `low`. */
function account(owner: BufferOwner, p: Bundle | Message, sign: 1 | -1, low: VirtualChannel[] | null): void {
  if (p instanceof Message) {
    if (p.kind === DATA) accountChunk(owner, p.stream, sign * p.data!.length, low);
    return;
  }
  const items = p.items;
  for (let i = 0; i < items.length; i++) {
    const m = items[i];
    if (typeof m === 'number') {
      accountChunk(owner, m, sign * runBytes(items, i), low);
      i += 3;
    }
    else if (m instanceof Message && m.kind === DATA) accountChunk(owner, m.stream, sign * m.data!.length, low);
  }
}

function accountChunk(owner: BufferOwner, stream: number, delta: number, low: VirtualChannel[] | null): void {
  const ch = owner.channel(stream);
  if (ch === undefined) return;
  const before = ch.held;
  const after = before + delta > 0 ? before + delta : 0;
  ch.held = after;
  if (low !== null && before > ch.lowThreshold && after <= ch.lowThreshold && !low.includes(ch)) low.push(ch);
}

/** bufferedAmount of `ch`: its bytes held in the send buffer, and those in this instant's bundle, which will queue behind them. */
export function bufferedBytes(owner: BufferOwner, ch: VirtualChannel): number {
  if (owner.held === null) return 0;
  let n = ch.held;
  const b = owner.bundle;
  if (b !== null) {
    const items = b.items;
    for (let i = 0; i < items.length; i++) {
      const m = items[i];
      if (typeof m === 'number') {
        if (m === ch.streamId) n += runBytes(items, i);
        i += 3;
      } else if (m instanceof Message && m.kind === DATA && m.stream === ch.streamId) n += m.data!.length;
    }
  }
  return n;
}
