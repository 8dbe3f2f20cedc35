/**
 * VirtualNetwork: hosts, links, partitions, a clock and a seed. Each host has
 * an {@link Engine} that WebRTCPeerConnection (and so the mesh and RPC) runs
 * on unchanged.
 *
 * ```ts
 * const net = new VirtualNetwork({ seed: 42 });
 * const a = net.createHost('server'), b = net.createHost('client');
 * net.link(a, b, { latencyMs: 40, jitter: { ms: 5, distribution: 'normal' }, loss: 0.02 });
 * const pc = new WebRTCPeerConnection({}, { engine: a.engine, autoPoll: true });
 * net.clock.advance(16);
 * ```
 * @module
 */
import { ErrorCode, RtcmeshError } from '../../errors.js';
import { checkBool, checkInt, checkOneOf, checkOptions, checkString, invalid } from '../../util/validate.js';
import type { Engine } from '../engine.js';
import { seededRandom, type Pollable, type RandomSource } from '../../util/sans-io.js';
import { PERFECT, resolveConditions, toPublic, type LinkConditions, type OutageOptions, type ResolvedConditions } from './conditions.js';
import { VirtualEngine, type VirtualConnection } from './connection.js';
import type { Flushable, VirtualIceOptions, VirtualSctpOptions } from './context.js';
import { PayloadSlab } from './chunk.js';
import { Link, LinkDirection, PacketFifo } from './link.js';
import { Rng } from './rng.js';
import { PollRunner } from './runner.js';
import { VirtualClock, type ClockMode, type RunUntilOptions, type Task, type TimerHandle } from './scheduler.js';
import { Trace, type TraceOptions } from './trace.js';

export type { VirtualIceOptions, VirtualSctpOptions } from './context.js';

/** Options of {@link VirtualNetwork}. */
export interface VirtualNetworkOptions {
  /** Seed of every random choice (default 1). Same seed + same inputs = same trace. */
  seed?: number;
  /** `virtual` (default): time moves only with advance()/runUntil(). `realtime`: follows performance.now(). */
  clock?: ClockMode;
  /** Conditions of links that were never configured with link() (default: perfect). */
  defaultLink?: LinkConditions;
  ice?: VirtualIceOptions;
  sctp?: VirtualSctpOptions;
  /** Event log; off by default. */
  trace?: TraceOptions;
}

/** Options of {@link VirtualNetwork.link}. */
export interface LinkOptions extends LinkConditions {
  /** Overrides for the direction from the first host to the second. */
  forward?: LinkConditions;
  /** Overrides for the direction from the second host to the first. */
  backward?: LinkConditions;
  /** Scheduled outages of both directions. */
  outages?: OutageOptions[];
}

/** A virtual machine on the network, with its own engine. */
export class VirtualHost {
  /** The engine for `new WebRTCPeerConnection(config, { engine: host.engine })`. */
  readonly engine: Engine;
  /** @internal */ nextPort = 50000;
  /** @internal */ readonly connections = new Set<VirtualConnection>();

  /** @internal */
  constructor(
    /** The network this host is on. */
    readonly network: VirtualNetwork,
    /** Name given at creation (the address when none was given). */
    readonly name: string,
    /** IPv4 address used in candidates. */
    readonly address: string,
    /** Index in creation order. */
    readonly index: number,
  ) {
    this.engine = new VirtualEngine(this);
  }

  /** @internal Next free port in 50000–65535 (wraps, skipping ports in use). */
  allocatePort(): number {
    if (this.connections.size >= 15536) {
      throw new RtcmeshError(ErrorCode.ENGINE_ERROR, `host ${this.name} has no free port left (15536 open connections); close some first`);
    }
    for (;;) {
      const port = this.nextPort;
      this.nextPort = port >= 65535 ? 50000 : port + 1;
      if (!this.network.endpoints.has(`${this.address}:${port}`)) return port;
    }
  }

  /** Open connections on this host. */
  connectionCount(): number {
    return this.connections.size;
  }
}

const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

class OutageTask implements Task {
  constructor(
    private readonly net: VirtualNetwork,
    private readonly link: Link,
    private readonly dirs: LinkDirection[],
    private readonly start: boolean,
  ) {}

  fire(): void {
    for (const d of this.dirs) {
      d.outages += this.start ? 1 : -1;
      this.net.record(this.start ? 'outage-start' : 'outage-end', d.label);
    }
    this.link.refresh();
  }
}

/**
 * A simulated network of hosts and links, with one clock and one seed.
 * Close it with {@link close} to release every timer (real-time mode).
 */
export class VirtualNetwork {
  /** The network's clock; pass it to the mesh and RPC layers as their Clock. */
  readonly clock: VirtualClock;
  /** The seed every random choice derives from. */
  readonly seed: number;
  /** The event log (enable with `trace: { enabled: true }`). */
  readonly trace: Trace;
  /** @internal */ readonly ice: Required<VirtualIceOptions>;
  /** @internal */ readonly sctp: Required<VirtualSctpOptions>;
  /** @internal Signaling randomness (ufrags, fingerprints). */ readonly rng: Rng;
  private readonly hosts: VirtualHost[] = [];
  private readonly byName = new Map<string, VirtualHost>();
  private readonly byAddress = new Map<string, VirtualHost>();
  private readonly links = new Map<string, Link>();
  /** @internal (address:port) → connection. */ readonly endpoints = new Map<string, VirtualConnection>();
  private defaults: ResolvedConditions;
  private partitions: [Set<VirtualHost>, Set<VirtualHost>][] = [];
  private closed = false;
  private readonly runner: PollRunner;
  private readonly randoms = new Map<string, RandomSource>();
  /** @internal Where payloads of unordered, unreliable messages in flight are copied. */
  readonly slab = new PayloadSlab();
  /** @internal Packets in flight whose arrival times do not decrease (see link.ts). */
  readonly lane: PacketFifo;
  /** Connections with an open bundle, flushed together by one event. */
  private toFlush: Flushable[] = [];
  /** The other list, swapped in by the flusher (reused: no fresh array grown every instant). */ private flushing: Flushable[] = [];
  private flushTimer: TimerHandle | undefined;
  private readonly flusher: Task = {
    fire: (): void => {
      this.flushTimer = undefined;
      const list = this.toFlush;
      this.toFlush = this.flushing;
      try {
        for (let i = 0; i < list.length; i++) list[i]!.flush();
      } finally {
        list.length = 0;
        this.flushing = list;
      }
    },
  };

  constructor(options: VirtualNetworkOptions = {}) {
    const o = checkOptions<VirtualNetworkOptions>(options, ['seed', 'clock', 'defaultLink', 'ice', 'sctp', 'trace'], 'VirtualNetwork options');
    this.seed = o.seed === undefined ? 1 : checkInt(o.seed, -(2 ** 53 - 1), 2 ** 53 - 1, 'VirtualNetwork seed');
    this.clock = new VirtualClock(o.clock === undefined ? 'virtual' : checkOneOf(o.clock, ['virtual', 'realtime'] as const, 'VirtualNetwork clock'));
    this.lane = new PacketFifo(this.clock, null);
    this.defaults = resolveConditions(o.defaultLink, PERFECT, 'VirtualNetwork defaultLink');
    const ice = checkOptions<VirtualIceOptions>(o.ice, ['checkIntervalMs', 'disconnectedAfterMs', 'failedAfterMs'], 'VirtualNetwork ice');
    this.ice = {
      checkIntervalMs: ice.checkIntervalMs === undefined ? 50 : checkInt(ice.checkIntervalMs, 1, 3_600_000, 'ice.checkIntervalMs'),
      disconnectedAfterMs: ice.disconnectedAfterMs === undefined ? 5000 : checkInt(ice.disconnectedAfterMs, 1, 3_600_000, 'ice.disconnectedAfterMs'),
      failedAfterMs: ice.failedAfterMs === undefined ? 30000 : checkInt(ice.failedAfterMs, 1, 3_600_000, 'ice.failedAfterMs'),
    };
    if (this.ice.failedAfterMs <= this.ice.disconnectedAfterMs) {
      invalid('ice.failedAfterMs', `greater than ice.disconnectedAfterMs (${this.ice.disconnectedAfterMs})`, this.ice.failedAfterMs);
    }
    const sctp = checkOptions<VirtualSctpOptions>(o.sctp, ['rtoMinMs', 'rtoMaxMs', 'fastRetransmit'], 'VirtualNetwork sctp');
    this.sctp = {
      rtoMinMs: sctp.rtoMinMs === undefined ? 200 : checkInt(sctp.rtoMinMs, 1, 600_000, 'sctp.rtoMinMs'),
      rtoMaxMs: sctp.rtoMaxMs === undefined ? 10000 : checkInt(sctp.rtoMaxMs, 1, 600_000, 'sctp.rtoMaxMs'),
      fastRetransmit: sctp.fastRetransmit === undefined ? true : checkBool(sctp.fastRetransmit, 'sctp.fastRetransmit'),
    };
    if (this.sctp.rtoMaxMs < this.sctp.rtoMinMs) invalid('sctp.rtoMaxMs', `at least sctp.rtoMinMs (${this.sctp.rtoMinMs})`, this.sctp.rtoMaxMs);
    const t = checkOptions<TraceOptions>(o.trace, ['enabled', 'limit'], 'VirtualNetwork trace');
    this.trace = new Trace({
      enabled: t.enabled === undefined ? false : t.enabled === true,
      limit: t.limit === undefined ? 1_000_000 : checkInt(t.limit, 0, 2 ** 31, 'trace.limit'),
    });
    this.rng = new Rng(this.seed, 'signaling');
    this.runner = new PollRunner(this.clock);
  }

  /**
   * Add a host. `name` may be an IPv4 address (used as is) or any name (the
   * host then gets the next free 10.x.y.z address). Default: the address.
   * @throws RtcmeshError INVALID_ARGUMENT for a taken name or address.
   */
  createHost(name?: string): VirtualHost {
    this.requireOpen('createHost()');
    const n = name === undefined ? undefined : checkString(name, 'createHost() name', 255);
    if (n !== undefined && (n.length === 0 || /\s/.test(n))) invalid('createHost() name', 'a non-empty string without spaces', n);
    if (n !== undefined && (this.byName.has(n) || this.byAddress.has(n))) {
      throw new RtcmeshError(ErrorCode.INVALID_ARGUMENT, `createHost(): a host named or addressed "${n}" already exists; pick another name`);
    }
    let address: string;
    if (n !== undefined && IPV4.test(n)) address = n;
    else {
      let i = this.hosts.length + 1;
      do {
        address = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
        i++;
      } while (this.byAddress.has(address));
    }
    const host = new VirtualHost(this, n ?? address, address, this.hosts.length);
    this.hosts.push(host);
    this.byName.set(host.name, host);
    this.byAddress.set(address, host);
    return host;
  }

  /** A host by name or address, or undefined. */
  getHost(nameOrAddress: string): VirtualHost | undefined {
    checkString(nameOrAddress, 'getHost() nameOrAddress');
    return this.byName.get(nameOrAddress) ?? this.byAddress.get(nameOrAddress);
  }

  /** Every host, in creation order. */
  getHosts(): readonly VirtualHost[] {
    return this.hosts;
  }

  /**
   * Set the conditions between two hosts (both directions, with optional
   * per-direction overrides). Can be called at any time; the new conditions
   * apply to packets sent from then on. Fields not given keep their value.
   * @returns the link, whose `forward` direction goes from `a` to `b`.
   */
  link(a: VirtualHost, b: VirtualHost, options: LinkOptions = {}): Link {
    this.requireOpen('link()');
    this.checkHost(a, 'link() first host');
    this.checkHost(b, 'link() second host');
    const { forward, backward, outages, ...both } = checkOptions<LinkOptions>(
      options,
      ['latencyMs', 'jitter', 'loss', 'duplicate', 'reorder', 'reorderDelayMs', 'bandwidthKbps', 'queueBytes', 'overheadBytes', 'forward', 'backward', 'outages'],
      'link() options',
    );
    const link = this.linkBetween(a, b);
    const [ab, ba] = link.forward.label.startsWith(a.address + '>') ? [link.forward, link.backward] : [link.backward, link.forward];
    const abCond = resolveConditions(forward, resolveConditions(both, ab.cond, 'link() options'), 'link() forward');
    const baCond = resolveConditions(backward, resolveConditions(both, ba.cond, 'link() options'), 'link() backward');
    if (outages !== undefined) {
      if (!Array.isArray(outages)) invalid('link() outages', 'an array of { atMs, durationMs }', outages);
      outages.forEach((o, i) => this.checkOutage(o, `link() outages[${i}]`));
    }
    ab.cond = abCond;
    ba.cond = baCond;
    link.configured = true;
    for (const o of outages ?? []) this.scheduleOutage(link, [ab, ba], o);
    link.refresh();
    return link;
  }

  /** The current conditions from `from` to `to` (defaults when never set). */
  conditions(from: VirtualHost, to: VirtualHost): LinkConditions {
    return toPublic(this.direction(from, to).cond);
  }

  /** Counters of the direction from `from` to `to`. */
  directionStats(from: VirtualHost, to: VirtualHost): LinkDirection['stats'] {
    return this.direction(from, to).stats;
  }

  /**
   * Schedule an outage of one direction (`from` → `to`) only.
   * @throws RtcmeshError INVALID_ARGUMENT for a bad time or length.
   */
  outage(from: VirtualHost, to: VirtualHost, outage: OutageOptions): void {
    this.requireOpen('outage()');
    this.checkOutage(outage, 'outage()');
    const d = this.direction(from, to);
    this.scheduleOutage(this.linkBetween(from, to), [d], outage);
  }

  /** Change the conditions of links that were never configured with link(). */
  setDefaultLink(conditions: LinkConditions): void {
    this.requireOpen('setDefaultLink()');
    this.defaults = resolveConditions(conditions, this.defaults, 'setDefaultLink()');
    for (const link of this.links.values()) {
      if (link.configured) continue;
      link.forward.cond = this.defaults;
      link.backward.cond = this.defaults;
      link.refresh();
    }
  }

  /**
   * Cut every host of `side1` off from every host of `side2`, both ways,
   * until {@link heal}. Connections across the cut go DISCONNECTED after
   * `ice.disconnectedAfterMs` and FAILED after `ice.failedAfterMs`.
   */
  partition(side1: readonly VirtualHost[], side2: readonly VirtualHost[]): void {
    this.requireOpen('partition()');
    if (!Array.isArray(side1) || side1.length === 0) invalid('partition() side1', 'a non-empty array of hosts', side1);
    if (!Array.isArray(side2) || side2.length === 0) invalid('partition() side2', 'a non-empty array of hosts', side2);
    side1.forEach((h, i) => this.checkHost(h, `partition() side1[${i}]`));
    side2.forEach((h, i) => this.checkHost(h, `partition() side2[${i}]`));
    const s1 = new Set(side1);
    const s2 = new Set(side2);
    for (const h of s1) if (s2.has(h)) invalid('partition() sides', 'disjoint (a host cannot be on both sides)', h.name);
    this.partitions.push([s1, s2]);
    this.record('partition', `${side1.map((h) => h.address).join(',')} | ${side2.map((h) => h.address).join(',')}`);
    this.applyPartitions();
  }

  /** Remove every partition. */
  heal(): void {
    if (this.partitions.length === 0) return;
    this.partitions = [];
    this.record('heal', '-');
    this.applyPartitions();
  }

  /**
   * Have {@link runFor} and {@link runUntilIdle} drive `p` (a sans-IO object:
   * multiplayer peer, lobby, signaling client or core, RPC endpoint…) on this
   * network's clock. Pollables are polled in registration order; registering
   * the same object twice has no effect.
   * @throws RtcmeshError INVALID_ARGUMENT when `p` has no `poll`/`nextDeadline`.
   */
  register(p: Pollable): void {
    this.requireOpen('register()');
    this.runner.register(p);
  }

  /** Stop driving `p`. Returns whether it was registered. */
  unregister(p: Pollable): boolean {
    return this.runner.unregister(p);
  }

  /**
   * Run the network and every registered pollable for `ms` of simulated time,
   * jumping from deadline to deadline: the clock moves to the soonest of the
   * next network event and every pollable's `nextDeadline()`; network events
   * due then fire, then every pollable is polled with `poll(now)` (engine
   * events are input to all of them), or only the due ones when no network
   * event fired. Virtual clock only; synchronous (promises do not settle
   * meanwhile). An exception from `poll` propagates.
   * @throws RtcmeshError INVALID_STATE in real-time mode, from inside a
   * callback, or when a pollable keeps returning a deadline ≤ now after being
   * polled (more than 10 000 rounds at one instant).
   */
  runFor(ms: number): void {
    this.requireOpen('runFor()');
    this.runner.runFor(ms);
  }

  /**
   * Like {@link runFor}, until nothing is left to do: no network event
   * queued and every registered deadline `Infinity`. Returns true when the
   * stack went idle, false when `maxMs` (default 60 000) of simulated time
   * passed first.
   */
  runUntilIdle(maxMs?: number): boolean {
    this.requireOpen('runUntilIdle()');
    return this.runner.runUntilIdle(maxMs);
  }

  /**
   * The network's seeded randomness as a {@link RandomSource}, for the stack
   * it runs (peer ids, tokens, jitter of backoffs…), so that one seed fixes a
   * whole run. Each `stream` name is an independent sequence of this
   * network's seed; asking for the same name again returns the same source
   * (its sequence continues).
   */
  random(stream: string): RandomSource {
    const name = checkString(stream, 'random() stream', 255);
    let source = this.randoms.get(name);
    if (source === undefined) this.randoms.set(name, (source = seededRandom(new Rng(this.seed, `random ${name}`))));
    return source;
  }

  /** Shorthand for `clock.advance(ms)`. */
  advance(ms: number): void {
    this.requireOpen('advance()');
    this.clock.advance(ms);
  }

  /** Shorthand for `clock.runUntil(predicate, options)`. */
  runUntil(predicate: () => boolean, options?: RunUntilOptions): boolean {
    this.requireOpen('runUntil()');
    return this.clock.runUntil(predicate, options);
  }

  /** Shorthand for `clock.runUntilAsync(predicate, options)`: for code that also awaits promises (async signaling). */
  runUntilAsync(predicate: () => boolean, options?: RunUntilOptions): Promise<boolean> {
    if (this.closed) return Promise.reject(new RtcmeshError(ErrorCode.CLOSED, 'runUntilAsync(): the virtual network is closed; create a new VirtualNetwork'));
    return this.clock.runUntilAsync(predicate, options);
  }

  /** Shorthand for `clock.advanceAsync(ms, options)`. */
  advanceAsync(ms: number, options?: { stepMs?: number }): Promise<void> {
    if (this.closed) return Promise.reject(new RtcmeshError(ErrorCode.CLOSED, 'advanceAsync(): the virtual network is closed; create a new VirtualNetwork'));
    return this.clock.advanceAsync(ms, options);
  }

  /** The event log as text (see {@link Trace.export}). */
  exportTrace(): string {
    return this.trace.export();
  }

  /**
   * Close every connection on the network and release every timer. The
   * network cannot be used afterwards.
   */
  close(): void {
    if (this.closed) return;
    for (const h of this.hosts) for (const c of [...h.connections]) c.close();
    this.closed = true;
    this.clock.close();
    this.lane.clear();
  }

  /** Whether {@link close} was called. */
  isClosed(): boolean {
    return this.closed;
  }

  /** @internal Flush `f`'s open bundle at the end of this instant. */
  flushLater(f: Flushable): void {
    this.toFlush.push(f);
    if (this.flushTimer === undefined) this.flushTimer = this.clock.schedule(this.clock.now(), this.flusher);
  }

  /** @internal Record a trace event at the current time. */
  record(kind: string, detail: string): void {
    if (this.trace.enabled) this.trace.record(this.clock.now(), kind, detail);
  }

  /** @internal The link between two hosts, created with the defaults when new. */
  linkBetween(a: VirtualHost, b: VirtualHost): Link {
    const [x, y] = a.index <= b.index ? [a, b] : [b, a];
    const key = `${x.index}|${y.index}`;
    let link = this.links.get(key);
    if (!link) {
      const fwd = `${x.address}>${y.address}`;
      const bwd = `${y.address}>${x.address}`;
      link = new Link(
        new LinkDirection(fwd, this.defaults, new Rng(this.seed, `link ${fwd}`), this.clock, this.lane),
        new LinkDirection(bwd, this.defaults, new Rng(this.seed, `link ${bwd}`), this.clock, this.lane),
      );
      const blocked = this.isPartitioned(x, y);
      link.forward.blocked = blocked;
      link.backward.blocked = blocked;
      link.refresh();
      this.links.set(key, link);
    }
    return link;
  }

  /** @internal The direction from `from` to `to`. */
  direction(from: VirtualHost, to: VirtualHost): LinkDirection {
    this.checkHost(from, 'from host');
    this.checkHost(to, 'to host');
    const link = this.linkBetween(from, to);
    return from.index <= to.index ? link.forward : link.backward;
  }

  private isPartitioned(a: VirtualHost, b: VirtualHost): boolean {
    for (const [s1, s2] of this.partitions) {
      if ((s1.has(a) && s2.has(b)) || (s1.has(b) && s2.has(a))) return true;
    }
    return false;
  }

  private applyPartitions(): void {
    for (const [key, link] of this.links) {
      const [i, j] = key.split('|').map(Number) as [number, number];
      const blocked = this.isPartitioned(this.hosts[i]!, this.hosts[j]!);
      link.forward.blocked = blocked;
      link.backward.blocked = blocked;
      link.refresh();
    }
  }

  private scheduleOutage(link: Link, dirs: LinkDirection[], o: OutageOptions): void {
    this.clock.schedule(o.atMs, new OutageTask(this, link, dirs, true));
    this.clock.schedule(Math.max(o.atMs, this.clock.now()) + o.durationMs, new OutageTask(this, link, dirs, false));
  }

  private checkOutage(o: unknown, what: string): void {
    const v = checkOptions<OutageOptions>(o, ['atMs', 'durationMs'], what);
    if (typeof v.atMs !== 'number' || !Number.isFinite(v.atMs) || v.atMs < 0) invalid(`${what}.atMs`, 'a finite number ≥ 0 (network time in ms)', v.atMs);
    if (typeof v.durationMs !== 'number' || !Number.isFinite(v.durationMs) || v.durationMs <= 0) invalid(`${what}.durationMs`, 'a finite number > 0', v.durationMs);
  }

  private checkHost(h: unknown, what: string): void {
    if (!(h instanceof VirtualHost) || h.network !== this) invalid(what, 'a host created by this network with createHost()', h);
  }

  private requireOpen(what: string): void {
    if (this.closed) throw new RtcmeshError(ErrorCode.CLOSED, `${what}: the virtual network is closed; create a new VirtualNetwork`);
  }
}
