/**
 * An in-memory signaling bus: the server's lobby logic and clients with the
 * same interface as {@link WebSocketSignalingClient}, without sockets. For
 * tests and the virtual network. Frames are JSON text, delivered on the
 * microtask queue in order, and validated exactly as the server does.
 * @module
 */
import { ErrorCode, RtcmeshError } from '../errors.js';
import { checkOptions } from '../util/validate.js';
import { BaseSignalingClient, type BaseSignalingClientOptions, type SignalingLink, type SignalingLinkHandlers } from './client.js';
import { SignalingCore, type SignalingCoreOptions, type SignalingSession, type SignalingStats } from './core.js';
import { MemoryTokenIssuer } from './tokens.js';

/** Options of {@link MemorySignalingBus}: the lobby limits and timers (join timeout off by default). */
export type MemorySignalingBusOptions = Partial<SignalingCoreOptions>;

const CORE_KEYS = [
  'maxPeersPerLobby',
  'maxLobbies',
  'maxMessageBytes',
  'joinTimeoutMs',
  'sealGraceMs',
  'resumeGraceMs',
  'resumeQueueLimit',
  'rateLimit',
  'maxStrikes',
  'maxJoinRefusals',
  'authorize',
];

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
export class MemorySignalingBus {
  /** The lobby logic (events as on the server). */
  readonly core: SignalingCore;
  private readonly links = new Map<BaseSignalingClient, Set<BusLink>>();
  /** Clients cut off (see {@link setReachable}) and what waits to cross once they are back. */
  private readonly cut = new Map<BaseSignalingClient, (() => void)[]>();
  private isClosed = false;
  private seq = 0;

  constructor(options?: MemorySignalingBusOptions) {
    const o = checkOptions<SignalingCoreOptions>(options, CORE_KEYS, 'MemorySignalingBus options');
    this.core = new SignalingCore({ joinTimeoutMs: 0, ...o }, new MemoryTokenIssuer());
  }

  /** A new client of this bus. */
  createClient(options?: BaseSignalingClientOptions): MemorySignalingClient {
    return new MemorySignalingClient(this, options);
  }

  /** Counters, as {@link SignalingServer.getStats}. */
  getStats(): SignalingStats {
    return this.core.getStats();
  }

  /** Drop `client`'s link as a network blip would (it reconnects and resumes). */
  interrupt(client: BaseSignalingClient): void {
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
    if (!reachable) {
      if (!this.cut.has(client)) this.cut.set(client, []);
      return;
    }
    const waiting = this.cut.get(client);
    this.cut.delete(client);
    for (const fn of waiting ?? []) queueMicrotask(fn);
  }

  /** Run `fn` on the microtask queue, or hold it while `client` is cut off. */
  private carry(client: BaseSignalingClient, fn: () => void): void {
    const waiting = this.cut.get(client);
    if (waiting) waiting.push(fn);
    else queueMicrotask(fn);
  }

  /** Shut down: tells every client, closes every link. */
  close(reason = 'bus closed'): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.core.shutdown(reason, false);
  }

  /** @internal */
  connect(client: BaseSignalingClient, handlers: SignalingLinkHandlers): Promise<SignalingLink> {
    if (this.isClosed) return Promise.reject(new RtcmeshError(ErrorCode.CLOSED, 'the memory signaling bus is closed'));
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
        queueMicrotask(() => this.drop(client, link, code, reason, false));
      },
    });
  }

  private drop(client: BaseSignalingClient, link: BusLink, code: number, reason: string, notifyClient = true): void {
    if (!link.open) return;
    // Frames already queued on the microtask queue are delivered first.
    queueMicrotask(() => {
      if (!link.open) return;
      link.open = false;
      this.links.get(client)?.delete(link);
      if (this.links.get(client)?.size === 0) this.links.delete(client);
      link.session.closed(code, reason);
      if (notifyClient) link.handlers.close(code, reason);
    });
  }
}

/** A client of a {@link MemorySignalingBus}. */
export class MemorySignalingClient extends BaseSignalingClient {
  constructor(
    private readonly bus: MemorySignalingBus,
    options?: BaseSignalingClientOptions,
  ) {
    const o = checkOptions<BaseSignalingClientOptions>(options, ['joinTimeoutMs', 'reconnect', 'outboxLimit'], 'MemorySignalingClient options');
    super({ reconnect: { baseDelayMs: 1, maxDelayMs: 50 }, ...o }, 'MemorySignalingClient options');
  }

  protected openLink(handlers: SignalingLinkHandlers): Promise<SignalingLink> {
    return this.bus.connect(this, handlers);
  }
}

