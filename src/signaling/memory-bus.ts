/**
 * An in-memory signaling bus: the server's lobby logic and clients with the
 * same interface as {@link WebSocketSignalingClient}, without sockets. For
 * tests and the virtual network. Frames are JSON text, validated exactly as
 * the server does, and delivered in order.
 *
 * The bus is a {@link Pollable} covering its lobby logic and its clients
 * (their join timeouts and reconnect backoff). By default (`driver:
 * 'realtime'`) it drives itself on the wall clock and delivers frames on the
 * microtask queue. With `driver: 'manual'` nothing runs by itself: frames wait
 * for the next `poll(now)`, time is only what the polls say, and randomness
 * comes from the `random` option, so a run on the virtual network (which
 * polls the bus) is reproducible from its seed.
 * @module
 */
import { ErrorCode, RtcmeshError } from '../errors.js';
import { realClock, type Clock } from '../util/clock.js';
import { cryptoRandom, type RandomSource } from '../util/sans-io.js';
import { checkBool, checkNow, checkOneOf, checkOptions, checkString, invalid } from '../util/validate.js';
import { checkCoreOptions } from './core-options.js';
import { BaseSignalingClient, type BaseSignalingClientOptions, type SignalingLink, type SignalingLinkHandlers } from './client.js';
import { SignalingCore, type SignalingCoreOptions, type SignalingStats } from './core.js';
import { PollTimer } from './drivers/poll-timer.js';
import { MemoryTokenIssuer } from './tokens.js';
import type { Schedulable, SignalingSession } from './transport.js';

/** Options of {@link MemorySignalingBus}: the lobby limits and timers (join timeout off by default), and how it is driven. */
export interface MemorySignalingBusOptions extends Partial<Omit<SignalingCoreOptions, 'random' | 'clock'>> {
  /**
   * `'realtime'` (default): the bus runs its deadlines on the wall clock and
   * delivers frames on the microtask queue. `'manual'`: nothing runs by
   * itself; the owner (e.g. the virtual network) calls `poll(now)` at
   * `nextDeadline()`, frames are delivered inside those polls, and `now` comes
   * only from them.
   */
  driver?: 'realtime' | 'manual';
  /** Where peer ids, lobby names, epochs, tokens and reconnect jitter come from (default: the platform's CSPRNG). */
  random?: RandomSource;
}

const CORE_KEYS = [
  'maxPeersPerLobby',
  'maxLobbies',
  'maxMessageBytes',
  'joinTimeoutMs',
  'sealGraceMs',
  'resumeGraceMs',
  'resumeQueueLimit',
  'resumeQueueBytes',
  'lobbyQueueBytes',
  'totalQueueBytes',
  'maxLobbiesPerAddress',
  'maxDetachedPerAddress',
  'lobbyCreationRate',
  'rateLimit',
  'maxStrikes',
  'maxJoinRefusals',
  'authorize',
  'hostKey',
  'clientServerJoinOnly',
  'maxWaitForHostMs',
];

/** Frames delivered in one poll before the rest waits for the next (so a ping-pong of frames cannot stall a poll). */
const MAX_DELIVERIES_PER_POLL = 100_000;

/** Measures frames in bytes, as a socket would count them (one encoder for the bus, not one per frame). */
const utf8 = new TextEncoder();

interface BusLink {
  session: SignalingSession;
  handlers: SignalingLinkHandlers;
  open: boolean;
}

/**
 * In-process signaling: `bus.createClient()` gives clients that behave like
 * WebSocket clients talking to a {@link SignalingServer}.
 */
export class MemorySignalingBus implements Schedulable {
  /** The lobby logic (events as on the server). */
  readonly core: SignalingCore;
  /** @internal The bus's time source, shared by its core and clients. */
  readonly clock: Clock;
  /** @internal The bus's random source, shared by its core and clients. */
  readonly random: RandomSource;
  private readonly manual: boolean;
  private readonly links = new Map<BaseSignalingClient, Set<BusLink>>();
  private readonly clients = new Set<BaseSignalingClient>();
  /** Clients cut off (see {@link setReachable}) and what waits to cross once they are back. */
  private readonly cut = new Map<BaseSignalingClient, (() => void)[]>();
  /** Manual mode: deliveries waiting for the next poll. */
  private inbox: (() => void)[] = [];
  private now = 0;
  private wakeListener: ((at: number) => void) | undefined;
  private readonly timer: PollTimer | undefined;
  private isClosed = false;
  private seq = 0;

  constructor(options?: MemorySignalingBusOptions) {
    const o = checkOptions<MemorySignalingBusOptions>(options, [...CORE_KEYS, 'driver', 'random'], 'MemorySignalingBus options');
    const { driver, random, ...core } = o;
    if (driver !== undefined) checkOneOf(driver, ['realtime', 'manual'] as const, 'MemorySignalingBus options.driver');
    if (random !== undefined && typeof random?.int !== 'function') invalid('MemorySignalingBus options.random', 'a RandomSource', random);
    checkCoreOptions(core, 'MemorySignalingBus options');
    this.manual = driver === 'manual';
    this.random = random ?? cryptoRandom;
    this.clock = this.manual ? { now: () => this.now } : realClock;
    this.core = new SignalingCore({ joinTimeoutMs: 0, ...core, random: this.random, clock: this.clock }, new MemoryTokenIssuer(this.random));
    this.core.setWakeListener(() => this.rescheduled());
    if (!this.manual) this.timer = new PollTimer(this);
  }

  /** A new client of this bus. */
  createClient(options?: BaseSignalingClientOptions): MemorySignalingClient {
    return new MemorySignalingClient(this, options);
  }

  /** Counters, as {@link SignalingServer.getStats}. */
  getStats(): SignalingStats {
    return this.core.getStats();
  }

  /** Deliver waiting frames (manual mode), then run the lobby logic's and the clients' deadlines due at `now`. */
  poll(now: number): void {
    checkNow(now, 'MemorySignalingBus poll() now');
    if (now > this.now) this.now = now;
    let budget = MAX_DELIVERIES_PER_POLL;
    while (this.inbox.length > 0 && budget > 0) {
      const batch = this.inbox;
      this.inbox = [];
      let i = 0;
      for (; i < batch.length && budget > 0; i++, budget--) batch[i]!();
      if (i < batch.length) this.inbox = batch.slice(i).concat(this.inbox);
    }
    this.core.poll(now);
    for (const c of [...this.clients]) c.poll(now);
  }

  /** Now (last polled time) when frames wait, else the soonest deadline of the lobby logic and the clients. */
  nextDeadline(): number {
    if (this.inbox.length > 0) return this.now;
    let next = this.core.nextDeadline();
    for (const c of this.clients) {
      const d = c.nextDeadline();
      if (d < next) next = d;
    }
    return next;
  }

  /** @internal See {@link Schedulable}. */
  setWakeListener(listener: ((at: number) => void) | undefined): void {
    this.wakeListener = listener;
  }

  /** Drop `client`'s link as a network blip would (it reconnects and resumes). */
  interrupt(client: BaseSignalingClient): void {
    if (!(client instanceof BaseSignalingClient)) invalid('interrupt() client', 'a client of this bus (bus.createClient())', client);
    for (const link of [...(this.links.get(client) ?? [])]) this.drop(client, link, 1006, 'interrupted');
  }

  /**
   * Cut `client` off (`false`) as a pulled cable would, or reconnect it
   * (`true`). While cut, nothing it sends reaches the server, nothing reaches
   * it, and the server's liveness checks of it (`probe`) go unanswered; yet
   * neither side's connection closes, so the server still counts it as
   * attached (no `peer_detached`). Frames wait, and arrive in order when it is
   * reachable again (as TCP would deliver them).
   */
  setReachable(client: BaseSignalingClient, reachable: boolean): void {
    if (!(client instanceof BaseSignalingClient)) invalid('setReachable() client', 'a client of this bus (bus.createClient())', client);
    checkBool(reachable, 'setReachable() reachable');
    if (!reachable) {
      if (!this.cut.has(client)) this.cut.set(client, []);
      return;
    }
    const waiting = this.cut.get(client);
    this.cut.delete(client);
    for (const fn of waiting ?? []) this.later(fn);
  }

  /** Shut down: tells every client, closes every link. */
  close(reason = 'bus closed'): void {
    checkString(reason, 'close() reason', 200);
    if (this.isClosed) return;
    this.isClosed = true;
    this.core.shutdown(reason, false);
    this.timer?.stop();
  }

  /** @internal A client of this bus was created: the bus drives its deadlines. */
  adopt(client: BaseSignalingClient): void {
    this.clients.add(client);
    client.setWakeListener(() => this.rescheduled());
    client.once('closed', () => {
      this.clients.delete(client);
      client.setWakeListener(undefined);
    });
  }

  /** @internal */
  connect(client: BaseSignalingClient, handlers: SignalingLinkHandlers): Promise<SignalingLink> {
    if (this.isClosed) return Promise.reject(new RtcmeshError(ErrorCode.CLOSED, 'the memory signaling bus is closed; create a new MemorySignalingBus'));
    const remote = `memory:${++this.seq}`;
    const link: BusLink = { session: undefined as unknown as SignalingSession, handlers, open: true };
    const session = this.core.open({
      remote,
      send: (text) => {
        if (link.open) this.carry(client, () => link.open && handlers.message(text));
      },
      close: (code, reason) => this.drop(client, link, code, reason),
      checkAlive: (onAlive) => {
        if (link.open) this.carry(client, () => link.open && onAlive());
      },
    });
    if (!session) return Promise.reject(new RtcmeshError(ErrorCode.CLOSED, 'the memory signaling bus is shutting down'));
    link.session = session;
    let set = this.links.get(client);
    if (!set) this.links.set(client, (set = new Set()));
    set.add(link);
    return Promise.resolve({
      send: (text) => {
        if (link.open) this.carry(client, () => link.open && session.receive(text, utf8.encode(text).length, false));
      },
      close: (code, reason) => {
        if (!link.open) return;
        // Deliver what was already sent, then close (as a socket's close handshake would).
        this.later(() => this.drop(client, link, code, reason, false));
      },
    });
  }

  /** Some deadline or the inbox changed: tell the driver. */
  private rescheduled(): void {
    this.wakeListener?.(this.nextDeadline());
  }

  /** Run `fn` after what is already on its way: on the microtask queue, or (manual) in the next poll. */
  private later(fn: () => void): void {
    if (!this.manual) {
      queueMicrotask(fn);
      return;
    }
    this.inbox.push(fn);
    if (this.inbox.length === 1) this.rescheduled();
  }

  /** Run `fn` later, or hold it while `client` is cut off. */
  private carry(client: BaseSignalingClient, fn: () => void): void {
    const waiting = this.cut.get(client);
    if (waiting) waiting.push(fn);
    else this.later(fn);
  }

  private drop(client: BaseSignalingClient, link: BusLink, code: number, reason: string, notifyClient = true): void {
    if (!link.open) return;
    // Frames already on their way are delivered first.
    this.later(() => {
      if (!link.open) return;
      link.open = false;
      this.links.get(client)?.delete(link);
      if (this.links.get(client)?.size === 0) this.links.delete(client);
      link.session.closed(code, reason);
      if (notifyClient) link.handlers.close(code, reason);
    });
  }
}

/** A client of a {@link MemorySignalingBus}; the bus drives its deadlines with its own clock and random source. */
export class MemorySignalingClient extends BaseSignalingClient {
  constructor(
    private readonly bus: MemorySignalingBus,
    options?: BaseSignalingClientOptions,
  ) {
    const o = checkOptions<BaseSignalingClientOptions>(options, ['joinTimeoutMs', 'reconnect', 'outboxLimit'], 'MemorySignalingClient options');
    super({ reconnect: { baseDelayMs: 1, maxDelayMs: 50 }, ...o, clock: bus.clock, random: bus.random }, 'MemorySignalingClient options');
    bus.adopt(this);
  }

  protected openLink(handlers: SignalingLinkHandlers): Promise<SignalingLink> {
    return this.bus.connect(this, handlers);
  }
}
