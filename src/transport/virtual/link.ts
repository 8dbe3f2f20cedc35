/**
 * Links between virtual hosts. Each direction applies its impairments exactly
 * once per packet (one hop, not once per end): outage/partition, bottleneck
 * queue and bandwidth, loss, delay and jitter, reordering, duplication.
 *
 * Packets in flight wait in one of three places. Most ride the network-wide
 * delivery lane (a {@link PacketFifo}): a single FIFO of packets from every direction whose
 * arrival times do not decrease (on links of equal latency, that is nearly
 * all of them), with one timer for the lot and no object per packet. A packet
 * that would arrive before the lane's last one rides its direction's own FIFO
 * (one timer per batch); only packets that overtake their own direction's
 * (jitter, reordering, duplicates) get a heap event of their own. Whatever
 * fires first delivers the lane's due packets before its own, so packets of
 * one direction due at the same instant keep the order they were sent in.
 * @module
 */
import { rethrowAsync } from '../engine.js';
import type { ResolvedConditions } from './conditions.js';
import type { Rng } from './rng.js';
import type { Task, TimerHandle, VirtualClock } from './scheduler.js';

/** Receives packets at their arrival time. */
export interface PacketSink {
  receive(payload: unknown, duplicate: boolean): void;
}

/** @internal A packet in flight. */
export class Packet {
  constructor(
    readonly at: number,
    readonly sink: PacketSink,
    readonly payload: unknown,
    readonly duplicate: boolean,
    readonly lane: PacketFifo,
  ) {}
}

/** Outcome of {@link LinkDirection.transmit}. */
export const Verdict = { DELIVERED: 0, LOST: 1, QUEUE_FULL: 2, DOWN: 3 } as const;
/** One of {@link Verdict}. */
export type Verdict = (typeof Verdict)[keyof typeof Verdict];

/** Counters of one direction. */
export interface DirectionStats {
  /** Packets offered to the link. */
  packetsSent: number;
  /** Bytes offered (payload + overhead). */
  bytesSent: number;
  /** Packets dropped by loss. */
  packetsLost: number;
  /** Packets dropped because the bottleneck queue was full. */
  packetsQueueDropped: number;
  /** Packets dropped because the direction was down (outage or partition). */
  packetsDownDropped: number;
  /** Extra copies made by duplication. */
  packetsDuplicated: number;
  /** Packets delayed by the reorder setting. */
  packetsReordered: number;
}

const heapDelivery: Task = {
  fire(arg: unknown): void {
    const p = arg as Packet;
    p.lane.deliverDue();
    p.sink.receive(p.payload, p.duplicate);
  },
};

const EMPTY_TIMES = new Float64Array(0);
const EMPTY: never[] = [];

/**
 * @internal Packets in flight whose arrival times do not decrease, behind one
 * clock event: a ring buffer of parallel arrays (no object per packet),
 * allocated on first use. The network's delivery lane is one; a direction's
 * own FIFO is another, which delivers the lane's due packets before its own.
 */
export class PacketFifo implements Task {
  private times = EMPTY_TIMES;
  private sinks: (PacketSink | undefined)[] = EMPTY;
  private payloads: unknown[] = EMPTY;
  private head = 0;
  /** Packets queued. */
  count = 0;
  /** Arrival time of the last packet queued. */
  lastAt = 0;
  private timer: TimerHandle | undefined;
  private firing = false;

  constructor(
    private readonly clock: VirtualClock,
    /** Delivered (what is due of it) first whenever this one fires. */
    private readonly before: PacketFifo | null,
  ) {}

  /** Queue a packet arriving at `at`; the caller has checked `at >= lastAt`. */
  push(at: number, sink: PacketSink, payload: unknown): void {
    const n = this.count;
    if (n === this.times.length) this.grow();
    const i = (this.head + n) & (this.times.length - 1);
    this.times[i] = at;
    this.sinks[i] = sink;
    this.payloads[i] = payload;
    this.count = n + 1;
    this.lastAt = at;
    if (this.timer === undefined && !this.firing) this.timer = this.clock.schedule(at, this);
  }

  private grow(): void {
    const cap = this.times.length;
    const size = cap === 0 ? 16 : cap * 2;
    const times = new Float64Array(size);
    const sinks: (PacketSink | undefined)[] = new Array(size);
    const payloads: unknown[] = new Array(size);
    for (let k = 0; k < this.count; k++) {
      const i = (this.head + k) & (cap - 1);
      times[k] = this.times[i]!;
      sinks[k] = this.sinks[i];
      payloads[k] = this.payloads[i];
    }
    this.times = times;
    this.sinks = sinks;
    this.payloads = payloads;
    this.head = 0;
  }

  /** Deliver every packet due now, front first (also called before other deliveries of the same instant). */
  deliverDue(): void {
    if (this.firing || this.count === 0) return;
    const now = this.clock.now();
    if (this.times[this.head]! > now) return;
    this.firing = true;
    try {
      while (this.count > 0) {
        const i = this.head;
        if (this.times[i]! > now) break;
        const sink = this.sinks[i]!;
        const payload = this.payloads[i];
        this.sinks[i] = undefined;
        this.payloads[i] = undefined;
        this.head = (i + 1) & (this.times.length - 1);
        this.count--;
        try {
          sink.receive(payload, false);
        } catch (err) {
          rethrowAsync(err);
        }
      }
    } finally {
      this.firing = false;
    }
  }

  /** @internal The clock event. */
  fire(): void {
    this.timer = undefined;
    this.before?.deliverDue();
    this.deliverDue();
    if (this.count > 0) this.timer = this.clock.schedule(this.times[this.head]!, this);
  }

  /** Drop everything queued (the network closed). */
  clear(): void {
    this.sinks.fill(undefined);
    this.payloads.fill(undefined);
    this.head = 0;
    this.count = 0;
  }
}

/** One direction of a link. */
export class LinkDirection {
  /** @internal */ cond: ResolvedConditions;
  /** @internal Blocked by a partition. */ blocked = false;
  /** @internal Arrival time of the last packet {@link transmit} accepted. */ lastArrival = 0;
  /** @internal Open scheduled outages. */ outages = 0;
  private geBad = false;
  private busyUntil = 0;
  /** Packets that cannot ride the lane (created on first use). */
  private fifo: PacketFifo | null = null;
  // Counters (fields of this object rather than one of their own: one memory line less per packet).
  private packetsSent = 0;
  private bytesSent = 0;
  private packetsLost = 0;
  private packetsQueueDropped = 0;
  private packetsDownDropped = 0;
  private packetsDuplicated = 0;
  private packetsReordered = 0;
  // Large messages only (last, off the per-packet memory lines).
  /** @internal Fragments of the last {@link transmitFragments} that did not arrive. */ fragmentsLost = 0;
  /** @internal Fragments of the last {@link transmitFragments} that arrived after one that did not. */ fragmentsAfterLoss = 0;

  /** @internal Created by {@link VirtualNetwork}. */
  constructor(
    /** `from>to` label used in traces. */
    readonly label: string,
    cond: ResolvedConditions,
    private readonly rng: Rng,
    private readonly clock: VirtualClock,
    private readonly lane: PacketFifo,
  ) {
    this.cond = cond;
  }

  /** Counters since the link was created (a snapshot). */
  get stats(): DirectionStats {
    return {
      packetsSent: this.packetsSent,
      bytesSent: this.bytesSent,
      packetsLost: this.packetsLost,
      packetsQueueDropped: this.packetsQueueDropped,
      packetsDownDropped: this.packetsDownDropped,
      packetsDuplicated: this.packetsDuplicated,
      packetsReordered: this.packetsReordered,
    };
  }

  /** Whether packets can cross now (no outage, no partition). */
  isUp(): boolean {
    return !this.blocked && this.outages === 0;
  }

  /** @internal Whether the direction carries nothing at all (down or 100 % loss). */
  isDead(): boolean {
    const c = this.cond;
    return !this.isUp() || c.lossRate >= 1 || (c.ge !== null && c.ge.lossBad >= 1 && c.ge.lossGood >= 1);
  }

  /** Bytes waiting in the bottleneck queue now. */
  queuedBytes(): number {
    const c = this.cond;
    if (c.bytesPerMs <= 0) return 0;
    const backlog = this.busyUntil - this.clock.now();
    return backlog > 0 ? backlog * c.bytesPerMs : 0;
  }

  /** @internal Whether a packet of `wire` bytes (overhead included) enters the bottleneck queue now rather than being tail-dropped. */
  fits(wire: number): boolean {
    const c = this.cond;
    if (c.bytesPerMs <= 0) return true;
    const backlog = this.busyUntil - this.clock.now();
    return backlog <= 0 || backlog * c.bytesPerMs + wire <= c.queueBytes;
  }

  /** @internal When a packet of `wire` bytes will fit (see {@link fits}), if nothing else is sent first; needs a bandwidth cap. */
  fitsAt(wire: number): number {
    const c = this.cond;
    return this.busyUntil - Math.max(0, c.queueBytes - wire) / c.bytesPerMs;
  }

  /**
   * @internal Send one packet of `size` payload bytes towards `sink`. Returns
   * whether it will arrive (the sender's model of SCTP loss detection uses it).
   */
  transmit(sink: PacketSink, payload: unknown, size: number): Verdict {
    const c = this.cond;
    const wire = size + c.overheadBytes;
    this.packetsSent++;
    this.bytesSent += wire;
    if (this.blocked || this.outages > 0) {
      this.packetsDownDropped++;
      return Verdict.DOWN;
    }
    const departure = this.depart(this.clock.now(), wire);
    if (departure < 0) {
      this.packetsQueueDropped++;
      return Verdict.QUEUE_FULL;
    }
    if (this.drawLoss()) {
      this.packetsLost++;
      return Verdict.LOST;
    }
    const rng = this.rng;
    let at = departure + c.latencyMs;
    if (c.jitterMs > 0) at += this.jitter(c);
    if (at < departure) at = departure;
    this.lastArrival = at;
    if (c.reorder > 0 && rng.next() < c.reorder) {
      this.packetsReordered++;
      this.clock.schedule(at + c.reorderDelayMs, heapDelivery, new Packet(at + c.reorderDelayMs, sink, payload, false, this.lane));
    } else this.enqueue(at, sink, payload);
    if (c.duplicate > 0 && rng.next() < c.duplicate) {
      this.packetsDuplicated++;
      this.clock.schedule(at, heapDelivery, new Packet(at, sink, payload, true, this.lane));
    }
    return Verdict.DELIVERED;
  }

  /**
   * @internal Send one message cut into `fragments` packets (SCTP
   * fragmentation of a message larger than a packet), `size` payload bytes in
   * all. Each fragment goes through the queue, loss, delay, reordering and
   * duplication on its own (duplicate fragments are counted, and discarded by
   * the receiver's reassembly); the message arrives, as one payload, when its
   * last fragment does, and only if every fragment arrives. After the call,
   * {@link fragmentsLost} says how many did not (0 when delivered) and
   * {@link fragmentsAfterLoss} how many arrived after the first that did not
   * (each reports the gap in a SACK); {@link lastArrival} is the arrival of
   * the last fragment that arrives.
   */
  transmitFragments(sink: PacketSink, payload: unknown, size: number, fragments: number): Verdict {
    const c = this.cond;
    const wire = size / fragments + c.overheadBytes;
    this.packetsSent += fragments;
    this.bytesSent += size + fragments * c.overheadBytes;
    this.fragmentsAfterLoss = 0;
    if (this.blocked || this.outages > 0) {
      this.packetsDownDropped += fragments;
      this.fragmentsLost = fragments;
      return Verdict.DOWN;
    }
    const now = this.clock.now();
    const rng = this.rng;
    let lost = 0;
    let queueDropped = 0;
    let after = 0;
    let last = -Infinity;
    for (let f = 0; f < fragments; f++) {
      const departure = this.depart(now, wire);
      if (departure < 0) {
        queueDropped++;
        continue;
      }
      if (this.drawLoss()) {
        lost++;
        continue;
      }
      let at = departure + c.latencyMs;
      if (c.jitterMs > 0) at += this.jitter(c);
      if (at < departure) at = departure;
      if (c.reorder > 0 && rng.next() < c.reorder) {
        this.packetsReordered++;
        at += c.reorderDelayMs;
      }
      if (c.duplicate > 0 && rng.next() < c.duplicate) this.packetsDuplicated++;
      if (at > last) last = at;
      if (lost + queueDropped > 0) after++;
    }
    this.packetsLost += lost;
    this.packetsQueueDropped += queueDropped;
    this.fragmentsLost = lost + queueDropped;
    this.fragmentsAfterLoss = after;
    if (last !== -Infinity) this.lastArrival = last;
    if (lost + queueDropped > 0) return queueDropped > 0 ? Verdict.QUEUE_FULL : Verdict.LOST;
    this.enqueue(last, sink, payload);
    return Verdict.DELIVERED;
  }

  /**
   * When a packet of `wire` bytes sent at `now` leaves the bottleneck (now,
   * without a bandwidth cap), or -1 when the queue has no room for it.
   */
  private depart(now: number, wire: number): number {
    const c = this.cond;
    if (c.bytesPerMs <= 0) return now;
    const start = this.busyUntil > now ? this.busyUntil : now;
    if (start > now && (start - now) * c.bytesPerMs + wire > c.queueBytes) return -1;
    return (this.busyUntil = start + wire / c.bytesPerMs);
  }

  /** Whether loss takes a packet: the Gilbert–Elliott state steps first, then independent loss. */
  private drawLoss(): boolean {
    const c = this.cond;
    const rng = this.rng;
    if (c.ge !== null) {
      const g = c.ge;
      if (this.geBad) {
        if (rng.next() < g.r) this.geBad = false;
      } else if (rng.next() < g.p) this.geBad = true;
      const pl = this.geBad ? g.lossBad : g.lossGood;
      if (pl > 0 && rng.next() < pl) return true;
    }
    return c.lossRate > 0 && rng.next() < c.lossRate;
  }

  private jitter(c: ResolvedConditions): number {
    switch (c.jitterDistribution) {
      case 'uniform':
        return (this.rng.next() * 2 - 1) * c.jitterMs;
      case 'normal':
        return this.rng.normal() * c.jitterMs;
      case 'exponential':
        return -Math.log(1 - this.rng.next()) * c.jitterMs;
    }
  }

  private enqueue(at: number, sink: PacketSink, payload: unknown): void {
    const fifo = this.fifo;
    const n = fifo === null ? 0 : fifo.count;
    if (n > 0 && fifo!.lastAt > at) {
      // Overtakes packets already in flight: give it its own event.
      this.clock.schedule(at, heapDelivery, new Packet(at, sink, payload, false, this.lane));
      return;
    }
    // The shared lane, unless packets of this direction wait in its own FIFO
    // (they must not be overtaken at equal times).
    const lane = this.lane;
    if (n === 0 && at >= lane.lastAt) lane.push(at, sink, payload);
    else (this.fifo ??= new PacketFifo(this.clock, lane)).push(at, sink, payload);
  }
}

/** Notified when a link's health changes (for ICE states). */
export interface LinkWatcher {
  linkChanged(): void;
}

/** A link between two hosts: two independent directions. */
export class Link {
  /** @internal */ readonly watchers = new Set<LinkWatcher>();
  /** @internal Set by VirtualNetwork.link(); unconfigured links follow the default. */ configured = false;
  private deadState: boolean;

  /** @internal Created by {@link VirtualNetwork}. */
  constructor(
    /** Direction from the first host to the second. */
    readonly forward: LinkDirection,
    /** Direction from the second host to the first. */
    readonly backward: LinkDirection,
  ) {
    this.deadState = this.isDead();
  }

  /** Whether either direction carries nothing (ICE consent cannot succeed). */
  isDead(): boolean {
    return this.forward.isDead() || this.backward.isDead();
  }

  /** @internal Re-evaluate health and tell watchers when it changed. */
  refresh(): void {
    const dead = this.isDead();
    if (dead === this.deadState) return;
    this.deadState = dead;
    for (const w of [...this.watchers]) w.linkChanged();
  }
}
