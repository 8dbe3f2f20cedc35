/**
 * One mesh link: the state machine of the connection to one remote peer.
 *
 * ```
 *            all channels open              connection DISCONNECTED
 * connecting ─────────────────▶ connected ◀─────────────────────▶ disconnected
 *   │  ▲ (first connection                │  ▲ recovered           │ grace over
 *   │  │  retried quietly)     lost:      │  │                     ▼
 *   │  └──────────────────── failed/closed/silent ──▶ reconnecting ──▶ closed
 *   └──────────────────────────────────────────────────────────────▶ closed
 * ```
 *
 * A link is composed of the parts that do the work: its channels
 * ({@link LinkChannels}: inboxes, session headers, counters), its
 * {@link LinkHealth} (heartbeats), its {@link LinkControl} (the control
 * channel: heartbeats, acknowledgements, epochs), and while reconnecting a
 * {@link Reconnection} record driven by the {@link ReconnectPolicy}. Whether a
 * lost link may be re-established, and how, is the {@link Reconnector}'s
 * call (the lobby's): the link itself cannot create connections.
 *
 * Sans-IO: {@link MeshLink.update} advances it to `now`;
 * {@link MeshLink.nextDeadline} says when it next has something to do.
 * @module
 */
import { ConnectionState } from '../peer/enums.js';
import type { WebRTCPeerConnection } from '../peer/peer-connection.js';
import type { EngineConnectionState } from '../transport/engine.js';
import type { ChannelSpec } from './channel-layout.js';
import { ForeignChannelGuard, type ForeignChannelSettings } from './foreign-channels.js';
import { LinkHealth } from './health/link-health.js';
import { backoffAfter, type ReconnectPolicy } from './health/reconnect.js';
import type { LinkState, LinkStateChange } from './health/stats.js';
import { LinkChannels, createLinkChannels } from './link-channels.js';
import { LinkControl } from './link-control.js';
import type { ReplayLimits } from './health/session.js';

/**
 * What a multiplayer peer needs from whoever can re-create connections (the
 * lobby). Without one, a lost link is dropped.
 */
export interface Reconnector {
  /** Whether a lost link to `peerId` should be re-established (e.g. the peer is still in the lobby). */
  canReconnect(peerId: number): boolean;
  /**
   * Why a lost link must not be re-established although {@link canReconnect}
   * allows it (e.g. the peer vanished from signaling), or undefined. Asked
   * when the link is lost and on every tick while reconnecting; an objection
   * drops the peer at once with `peer_disconnected(id, "<why lost>; <objection>")`.
   */
  objection?(peerId: number): string | undefined;
  /**
   * Start reconnection attempt `attempt` (1-based): put a fresh connection
   * under the peer with `WebRTCMultiplayerPeer.replaceConnection` and run its
   * signaling. The attempt succeeds when every channel opens within
   * `attemptTimeoutMs`. A throw counts as an attempt that times out.
   */
  startAttempt(peerId: number, attempt: number): void;
}

/** Settings shared by every link of a multiplayer peer. */
export interface LinkSettings {
  graceMs: number;
  heartbeatMs: number;
  /** Heartbeat timeout; 0 = detection off. */
  timeoutMs: number;
  /** Silence after which a link is lost (the timeout less a margin). */
  silenceMs: number;
  sessions: boolean;
  replayLimits: ReplayLimits;
  /** This multiplayer peer's session epoch (u32, not 0): drawn once, so a restarted process has a new one. */
  epoch: number;
  /** Reconnection policy; undefined when off. */
  policy: ReconnectPolicy | undefined;
  /** What to do with in-band channels the remote opens. */
  foreign: ForeignChannelSettings;
}

/** What a link reports to its table (the multiplayer peer turns these into events). */
export interface LinkObserver {
  /** The link opened for the first time (`peer_connected`). */
  opened(link: MeshLink): void;
  /** The link must go: remove it, `peer_disconnected(id, reason)` if it was connected. */
  failed(link: MeshLink, reason: string): void;
  /** A connected link was lost and reconnection starts (`link_lost`). */
  lost(link: MeshLink, reason: string): void;
  reconnecting(link: MeshLink, attempt: number): void;
  reconnected(link: MeshLink, downtimeMs: number): void;
  replayOverflow(link: MeshLink, channel: number): void;
  /** The remote's first control frame on a fresh connection carries a new session epoch: its process restarted. */
  restarted(link: MeshLink): void;
}

/** A reconnection under way. */
interface Reconnection {
  lostAt: number;
  reason: string;
  attempt: number;
  /** Clock time the current attempt started; undefined between attempts. */
  startedAt: number | undefined;
  /** When the next attempt may start. */
  nextAt: number;
}

const CONNECTION_STATE_NAMES: Record<ConnectionState, EngineConnectionState> = {
  [ConnectionState.NEW]: 'new',
  [ConnectionState.CONNECTING]: 'connecting',
  [ConnectionState.CONNECTED]: 'connected',
  [ConnectionState.DISCONNECTED]: 'disconnected',
  [ConnectionState.FAILED]: 'failed',
  [ConnectionState.CLOSED]: 'closed',
};

const HISTORY_LENGTH = 32;

/** The state machine of the link to one remote peer. */
export class MeshLink {
  /** Lifecycle as the application sees it. */
  state: LinkState = 'connecting';
  /** `peer_connected` was emitted (stays true while reconnecting). */
  connected = false;
  /** The current connection has every channel open. */
  linkUp = false;
  /** Channels of the current connection plus everything that outlives it (inboxes, sessions, counters). */
  readonly io: LinkChannels;
  readonly health = new LinkHealth();
  /** The control channel: heartbeats, acknowledgements, the remote's epoch and restarts. */
  readonly control: LinkControl;
  /** In-band channels the remote opened on this link: closed on sight unless the `acceptChannel` hook keeps them. */
  readonly foreign: ForeignChannelGuard;
  reconnects = 0;
  /** Recent state changes, oldest first. */
  readonly history: LinkStateChange[] = [];
  private rc: Reconnection | undefined;
  private disconnectedSince: number | undefined;
  /** Engine connection state last seen by update() (undefined before the first look). */
  private connState: ConnectionState | undefined;
  private readonly createdAt: number;

  constructor(
    readonly id: number,
    public connection: WebRTCPeerConnection,
    specs: ChannelSpec[],
    private readonly settings: LinkSettings,
    private readonly observer: LinkObserver,
    private readonly reconnector: () => Reconnector | undefined,
    now: number,
  ) {
    this.io = createLinkChannels(connection, specs, settings.sessions, settings.replayLimits, 'addPeer()');
    this.foreign = new ForeignChannelGuard(id, settings.foreign);
    this.foreign.watch(connection);
    this.control = new LinkControl(this.io, this.health, settings, () => this.observer.restarted(this));
    this.createdAt = now;
    this.history.push({ state: 'connecting', at: now });
  }

  /** This peer's session epoch. */
  get epoch(): number {
    return this.settings.epoch;
  }

  /** Current reconnection attempt (0 when not reconnecting). */
  get attempt(): number {
    return this.rc?.attempt ?? 0;
  }

  /** Removed from its table: nothing more happens to it. */
  get closed(): boolean {
    return this.state === 'closed';
  }

  /** How long the link has been silent (ms), or -1 while it is not up. */
  silentFor(now: number): number {
    return this.linkUp ? now - this.health.lastHeard : -1;
  }

  /** Record a change in the history (bounded). */
  record(state: LinkState, at: number, reason?: string, connection?: EngineConnectionState): void {
    const change: LinkStateChange = { state, at };
    if (reason !== undefined) change.reason = reason;
    if (connection !== undefined) change.connection = connection;
    this.history.push(change);
    if (this.history.length > HISTORY_LENGTH) this.history.shift();
  }

  /** Mark the link removed (the table calls it) and close its connection. */
  close(reason: string, now: number): void {
    this.state = 'closed';
    this.record('closed', now, reason);
    this.foreign.stop();
    this.connection.close();
  }

  /** Put a fresh connection (state NEW) under the link, keeping sessions, inboxes and counters. */
  replaceConnection(connection: WebRTCPeerConnection): void {
    this.io.attach(connection, 'replaceConnection()');
    this.connection.close();
    this.connection = connection;
    this.foreign.watch(connection);
    this.control.newConnection();
    this.linkUp = false;
    this.disconnectedSince = undefined;
  }

  // ---- the state machine ---------------------------------------------------

  /** Advance to `now` (after the connection was polled). May end in `observer.failed`. */
  update(now: number): void {
    const state = this.connection.getConnectionState();
    if (state !== this.connState) {
      if (this.connState !== undefined) this.record(this.state, now, undefined, CONNECTION_STATE_NAMES[state]);
      this.connState = state;
    }
    if (this.rc) return this.updateReconnection(now);
    let lost: string | undefined;
    if (state === ConnectionState.FAILED || state === ConnectionState.CLOSED) {
      lost = state === ConnectionState.FAILED ? 'connection failed' : 'connection closed';
    } else if (state === ConnectionState.DISCONNECTED) {
      if (this.disconnectedSince === undefined) {
        this.disconnectedSince = now;
        if (this.state === 'connected') {
          this.state = 'disconnected';
          this.record('disconnected', now, `connection disconnected: lost unless it recovers within ${this.settings.graceMs} ms`);
        }
      }
      if (now - this.disconnectedSince >= this.settings.graceMs) lost = `disconnected for ${this.settings.graceMs} ms`;
    } else {
      if (this.state === 'disconnected') {
        this.state = 'connected';
        this.record('connected', now, `connection recovered after ${Math.round(now - this.disconnectedSince!)} ms`);
      }
      this.disconnectedSince = undefined;
      if (this.linkUp && this.io.anyClosed()) lost = 'a channel closed';
    }
    if (lost === undefined && !this.linkUp && state !== ConnectionState.DISCONNECTED && this.io.allOpen()) {
      this.firstConnected(now);
      if (this.closed) return;
    }
    if (this.linkUp) {
      this.io.pull();
      this.control.read(now);
      if (lost === undefined && this.settings.timeoutMs > 0 && now - this.health.lastHeard >= this.settings.silenceMs) {
        lost = `heartbeat timeout: nothing heard for ${Math.round(now - this.health.lastHeard)} ms`;
      }
    }
    const policy = this.settings.policy;
    if (lost === undefined && !this.connected && policy && now - this.createdAt >= policy.attemptTimeoutMs && this.canReconnect()) {
      lost = `not connected within ${policy.attemptTimeoutMs} ms`;
    }
    if (lost !== undefined) return this.linkLost(lost, now);
    if (this.linkUp) this.control.send(now);
  }

  /**
   * The soonest time `update` has something to do by the clock alone
   * (engine events and arriving packets are the caller's to notice).
   */
  nextDeadline(): number {
    if (this.closed) return Infinity;
    const s = this.settings;
    const rc = this.rc;
    if (rc) {
      const policy = s.policy!;
      let at = rc.lostAt + policy.giveUpMs;
      at = Math.min(at, rc.startedAt === undefined ? rc.nextAt : rc.startedAt + policy.attemptTimeoutMs);
      return at;
    }
    let at = Infinity;
    if (this.disconnectedSince !== undefined) at = Math.min(at, this.disconnectedSince + s.graceMs);
    if (!this.connected && s.policy) at = Math.min(at, this.createdAt + s.policy.attemptTimeoutMs);
    if (this.linkUp) {
      at = Math.min(at, this.health.nextPingAt);
      if (s.timeoutMs > 0) at = Math.min(at, this.health.lastHeard + s.silenceMs);
      at = Math.min(at, this.control.nextDeadline());
    }
    return at;
  }

  /** The peer's link is up for the first time. */
  private firstConnected(now: number): void {
    this.linkUp = true;
    this.connected = true;
    this.state = 'connected';
    this.health.reset(now);
    this.record('connected', now);
    this.observer.opened(this);
  }

  private canReconnect(): boolean {
    const r = this.reconnector();
    return this.settings.policy !== undefined && r !== undefined && r.canReconnect(this.id);
  }

  private objection(): string | undefined {
    return this.reconnector()?.objection?.(this.id);
  }

  private linkLost(reason: string, now: number): void {
    if (!this.canReconnect()) return this.observer.failed(this, reason);
    const objection = this.objection();
    if (objection !== undefined) return this.observer.failed(this, `${reason}; ${objection}`);
    this.io.pull();
    this.connection.close();
    this.linkUp = false;
    this.rc = { lostAt: now, reason, attempt: 0, startedAt: undefined, nextAt: now };
    if (!this.connected) {
      // the first connection failed: retry quietly; the application does not know this peer yet
      this.record('connecting', now, reason);
      return;
    }
    this.state = 'reconnecting';
    this.record('reconnecting', now, reason);
    this.observer.lost(this, reason);
  }

  /**
   * The remote started a new connection (e.g. a fresh offer arrived while the
   * link looked alive): treat the link as lost now and open an attempt. True
   * when the link is (now) reconnecting and a fresh connection should go under it.
   */
  restart(reason: string, now: number): boolean {
    if (!this.rc) {
      this.linkLost(reason, now);
      if (this.closed || !this.rc) return false;
    }
    const rc = this.rc;
    if (rc.startedAt === undefined) {
      rc.attempt++;
      if (this.connected) this.observer.reconnecting(this, rc.attempt);
    }
    rc.startedAt = now;
    return !this.closed;
  }

  private updateReconnection(now: number): void {
    const rc = this.rc!;
    const policy = this.settings.policy!;
    const giveUp = (why: string) =>
      this.observer.failed(this, `link lost (${rc.reason}) and reconnection failed: ${why} after ${rc.attempt} attempt(s) in ${Math.round(now - rc.lostAt)} ms`);
    if (!this.canReconnect()) return giveUp('the peer left');
    const objection = this.objection();
    if (objection !== undefined) return this.observer.failed(this, `link lost (${rc.reason}); ${objection}`);
    if (rc.startedAt !== undefined) {
      const state = this.connection.getConnectionState();
      if (state !== ConnectionState.FAILED && state !== ConnectionState.CLOSED && this.io.allOpen()) return this.reconnected(now);
      if (now - rc.startedAt >= policy.attemptTimeoutMs || state === ConnectionState.FAILED) {
        rc.startedAt = undefined;
        rc.nextAt = now + backoffAfter(policy, rc.attempt);
        if (rc.attempt >= policy.maxAttempts) return giveUp('no attempt succeeded');
      }
    }
    if (now - rc.lostAt >= policy.giveUpMs) return giveUp(`not back within ${policy.giveUpMs} ms`);
    if (rc.startedAt === undefined && now >= rc.nextAt) {
      rc.attempt++;
      rc.startedAt = now;
      if (this.connected) this.observer.reconnecting(this, rc.attempt);
      if (this.closed) return;
      try {
        this.reconnector()?.startAttempt(this.id, rc.attempt);
      } catch {
        // this attempt failed to start; it times out like any other
      }
    }
  }

  private reconnected(now: number): void {
    const downtime = now - this.rc!.lostAt;
    this.rc = undefined;
    if (!this.connected) return this.firstConnected(now); // a retried first connection: the peer's first appearance
    this.state = 'connected';
    this.linkUp = true;
    this.reconnects++;
    this.health.reset(now);
    this.control.resetAcks();
    this.record('connected', now, 'reconnected');
    this.io.replay();
    this.control.send(now);
    this.observer.reconnected(this, downtime);
  }

  /**
   * Start a reconnection attempt now (the remote came back through
   * signaling): abandon the attempt under way, or treat a link that looks up
   * as lost. False when the link was dropped instead (it may not reconnect).
   */
  retryNow(reason: string, now: number): boolean {
    if (!this.rc) {
      this.linkLost(reason, now);
      if (this.closed || !this.rc) return false;
    }
    this.rc.startedAt = undefined;
    this.rc.nextAt = now;
    return true;
  }

  // ---- sending ------------------------------------------------------------

  /** Send one application packet on channel `index` (see WebRTCMultiplayerPeer.putPacket for the rules). */
  send(index: number, data: Uint8Array): void {
    const overflowed = this.io.send(index, data, this.connected, this.linkUp);
    if (overflowed !== undefined) this.observer.replayOverflow(this, overflowed);
  }
}
