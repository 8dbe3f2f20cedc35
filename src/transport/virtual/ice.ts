/**
 * ICE of the virtual engine: connectivity checks against the remote
 * candidates, the pair of connections they find, and consent (a dead link
 * turns both ends DISCONNECTED after `ice.disconnectedAfterMs`, FAILED after
 * `ice.failedAfterMs`; healing before that brings them back one RTT later).
 *
 * A check succeeds one round trip after it starts when the target connection
 * holds this one's description (ufrags match both ways) and the link between
 * the hosts carries traffic both ways.
 * @module
 */
import type { EngineConnectionState } from '../engine.js';
import { meanDelay } from './conditions.js';
import { callTask, type HostContext } from './context.js';
import type { Link, LinkDirection, LinkWatcher } from './link.js';
import type { TimerHandle } from './scheduler.js';

/** Mean round-trip time over `there` and `back` from their current conditions, ms. */
export function roundTrip(there: LinkDirection, back: LinkDirection): number {
  return meanDelay(there.cond) + meanDelay(back.cond);
}

/** @internal What ICE needs from a connection (`E`: the connection type itself). */
export interface IceEndpoint<E extends IceEndpoint<E>> {
  readonly host: HostContext<E>;
  readonly label: string;
  readonly ice: IceAgent<E>;
  isClosed(): boolean;
  getState(): EngineConnectionState;
  setState(next: EngineConnectionState): void;
  /** Consent failed: the connection is dead. */
  fail(): void;
  /** Run `fn` after `delayMs` unless the connection closed meanwhile. */
  later(fn: () => void, delayMs?: number): void;
  /** Checks found `target`: become its peer (both sides). */
  icePaired(target: E, pair: Pair<E>): void;
  /** DTLS + SCTP handshake of `pair` done (one RTT after the check). */
  handshakeComplete(pair: Pair<E>): void;
}

/** @internal Two connections that found each other, and their consent timers. */
export class Pair<E extends IceEndpoint<E>> implements LinkWatcher {
  handshakeDone = false;
  disconnectTimer: TimerHandle | undefined;
  failTimer: TimerHandle | undefined;
  reconnectTimer: TimerHandle | undefined;
  constructor(
    readonly a: E,
    readonly b: E,
    readonly link: Link,
    /** Direction from `a` to `b`. */
    readonly ab: LinkDirection,
    /** Direction from `b` to `a`. */
    readonly ba: LinkDirection,
  ) {}

  /** Mean round-trip time from the current link conditions, ms. */
  rtt(): number {
    return roundTrip(this.ab, this.ba);
  }

  /** The link under the pair died or came back. */
  linkChanged(): void {
    if (this.a.ice.pair !== this || !this.handshakeDone) return;
    const clock = this.a.host.network.clock;
    const now = clock.now();
    clock.cancel(this.reconnectTimer);
    this.reconnectTimer = undefined;
    if (this.link.isDead()) {
      this.startConsentTimers([this.a, this.b]);
      return;
    }
    clock.cancel(this.disconnectTimer);
    clock.cancel(this.failTimer);
    this.disconnectTimer = undefined;
    this.failTimer = undefined;
    if (this.a.getState() === 'disconnected' || this.b.getState() === 'disconnected') {
      // Consent check succeeds one round trip after the path is back.
      this.reconnectTimer = clock.schedule(now + this.rtt(), callTask, () => {
        this.reconnectTimer = undefined;
        if (!this.link.isDead()) {
          this.a.setState('connected');
          this.b.setState('connected');
        }
      });
    }
  }

  /**
   * Consent checks stop succeeding for `conns`: they turn DISCONNECTED, then
   * FAILED, on the pair's timers (unless those already run).
   */
  startConsentTimers(conns: readonly E[]): void {
    if (this.disconnectTimer !== undefined || this.failTimer !== undefined) return;
    const net = this.a.host.network;
    const clock = net.clock;
    const now = clock.now();
    this.disconnectTimer = clock.schedule(now + net.ice.disconnectedAfterMs, callTask, () => {
      this.disconnectTimer = undefined;
      for (const c of conns) c.setState('disconnected');
    });
    this.failTimer = clock.schedule(now + net.ice.failedAfterMs, callTask, () => {
      this.failTimer = undefined;
      for (const c of conns) c.fail();
    });
  }

  /** Cancel the consent timers. */
  stopTimers(): void {
    const clock = this.a.host.network.clock;
    clock.cancel(this.disconnectTimer);
    clock.cancel(this.failTimer);
    clock.cancel(this.reconnectTimer);
    this.disconnectTimer = this.failTimer = this.reconnectTimer = undefined;
  }

  /** The other end of the pair from `c`. */
  other(c: E): E {
    return c === this.a ? this.b : this.a;
  }
}

/** @internal The ICE state of one connection. */
export class IceAgent<E extends IceEndpoint<E>> {
  /** The pair the checks found (null before). */
  pair: Pair<E> | null = null;
  /** The remote description's ufrag (undefined before it is set). */
  remoteUfrag: string | undefined = undefined;
  private readonly candidates: { address: string; port: number }[] = [];
  private checkTimer: TimerHandle | undefined;
  private checkDeadline = Infinity;
  private checkInFlight = false;

  constructor(
    private readonly owner: E,
    /** This connection's ufrag. */
    readonly localUfrag: string,
  ) {}

  /** Remember a remote candidate; false when it is known already. */
  addCandidate(address: string, port: number): boolean {
    if (this.candidates.some((r) => r.address === address && r.port === port)) return false;
    this.candidates.push({ address, port });
    return true;
  }

  /** Start (or resume) checking; the first call sets the failure deadline. */
  start(): void {
    const o = this.owner;
    if (o.isClosed() || this.pair !== null || this.checkInFlight) return;
    if (this.checkDeadline === Infinity) {
      this.checkDeadline = o.host.network.clock.now() + o.host.network.ice.failedAfterMs;
    }
    if (this.checkTimer === undefined) this.runCheck();
  }

  /** Cancel the check retry timer. */
  stop(): void {
    this.owner.host.network.clock.cancel(this.checkTimer);
    this.checkTimer = undefined;
  }

  private runCheck(): void {
    this.checkTimer = undefined;
    const o = this.owner;
    const net = o.host.network;
    const clock = net.clock;
    if (o.isClosed() || this.pair !== null || this.checkInFlight) return;
    if (clock.now() >= this.checkDeadline) {
      net.record('ice-failed', o.label);
      o.setState('failed');
      return;
    }
    for (const rc of this.candidates) {
      const target = net.endpoints.get(`${rc.address}:${rc.port}`);
      if (!target || target.isClosed() || target.ice.pair !== null || target === o) continue;
      if (target.ice.remoteUfrag !== this.localUfrag || this.remoteUfrag !== target.ice.localUfrag) continue;
      const link = net.linkBetween(o.host, target.host);
      if (link.isDead()) continue;
      const rtt = roundTrip(net.direction(o.host, target.host), net.direction(target.host, o.host));
      this.checkInFlight = true;
      o.later(() => {
        this.checkInFlight = false;
        this.checkSucceeded(target, link);
      }, rtt);
      return;
    }
    this.checkTimer = clock.schedule(clock.now() + net.ice.checkIntervalMs, callTask, () => this.runCheck());
  }

  private checkSucceeded(target: E, link: Link): void {
    const o = this.owner;
    if (o.isClosed() || this.pair !== null) return;
    if (target.isClosed() || target.ice.pair !== null || link.isDead()) {
      this.runCheck();
      return;
    }
    const net = o.host.network;
    const pair = new Pair(o, target, link, net.direction(o.host, target.host), net.direction(target.host, o.host));
    this.pair = pair;
    target.ice.pair = pair;
    o.icePaired(target, pair);
    this.stop();
    target.ice.stop();
    link.watchers.add(pair);
    net.record('ice-connected', `${o.label} ${target.label}`);
    // DTLS + SCTP handshake: one more round trip.
    o.later(() => o.handshakeComplete(pair), pair.rtt());
  }

  /** The peer closed without telling us: consent checks will stop succeeding. */
  peerVanished(): void {
    const o = this.owner;
    if (o.isClosed() || o.getState() === 'failed') return;
    const pair = this.pair;
    if (!pair?.handshakeDone) {
      o.later(() => o.setState('failed'), o.host.network.ice.failedAfterMs);
      return;
    }
    o.host.network.clock.cancel(pair.reconnectTimer);
    pair.reconnectTimer = undefined;
    pair.startConsentTimers([o]);
    // The dead peer no longer watches the link; make sure healing does not revive us.
    pair.link.watchers.delete(pair);
  }

  /** Transport dropped (failed or closed): the pair's consent timers go when the peer is down too. */
  release(): void {
    const pair = this.pair;
    if (pair === null) return;
    const peer = pair.other(this.owner);
    const state = peer.getState();
    if (peer.isClosed() || state === 'failed' || state === 'closed') pair.stopTimers();
  }

  /** The connection closed: stop checking and stop watching the link. */
  close(): void {
    this.stop();
    if (this.pair) this.pair.link.watchers.delete(this.pair);
  }
}
