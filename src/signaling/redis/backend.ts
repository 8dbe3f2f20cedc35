/**
 * The signaling back end over Redis: several server processes share lobbies.
 * Each process holds its own sockets; lobby membership, ids, the host role,
 * seal state, resume queues and the peer → process routing live in Redis
 * (see `scripts.ts`), and messages to a peer on another process go through
 * that process's one pub/sub channel. Node only.
 *
 * Sans-IO in the project's sense: no timer, no clock read of its own (the
 * injected `clock`), randomness from the injected `random`. Its deadlines
 * (join timeouts, resume graces, seal, heartbeat and dead-process checks) run
 * in `poll(now)`; Redis replies and channel messages are inputs.
 * @module
 */
import { EventEmitter } from 'eventemitter3';
import { ErrorCode, RtcmeshError } from '../../errors.js';
import { randomHex } from '../../util/sans-io.js';
import { checkOptions, checkString, invalid } from '../../util/validate.js';
import { checkCoreOptions, checkTokenIssuer } from '../core-options.js';
import { DEFAULT_CORE_OPTIONS, type SignalingCoreOptions, type SignalingServerEvents, type SignalingStats } from '../core-types.js';
import { Session, newCounters } from '../core-model.js';
import { CoreOutput } from '../core-output.js';
import { DeadlineQueue, type Deadline } from '../deadlines.js';
import { CloseCode, type ClientMessage, type ServerMessage } from '../protocol.js';
import type { TokenIssuer } from '../tokens.js';
import type { SessionTransport, SignalingBackend, SignalingSession } from '../transport.js';
import { sees, type LocalPeer } from './context.js';
import { RedisJoins } from './join.js';
import { RedisSignals } from './signals.js';
import { RedisSignalingStore, type RedisBusMessage, type RedisStoreLimits, type RedisStoreStats } from './store.js';
import type { RedisOptions } from 'ioredis';

/** Where and how to reach Redis. */
export interface RedisBackendOptions {
  /** `redis://host:port[/db]` (or `rediss://`). */
  url: string;
  /** Key and channel prefix, to share one Redis between deployments (default `rtcmesh:`). */
  prefix?: string;
  /** This process's name in Redis (default: random). Must be unique among live processes. */
  processId?: string;
  /** Heartbeat period (default 1000 ms). */
  heartbeatIntervalMs?: number;
  /** A process whose heartbeat is older than this is dead (default 3000 ms). Survivors announce its peers detached within this plus one period. */
  heartbeatTtlMs?: number;
  /** Extra ioredis options. */
  redisOptions?: RedisOptions;
}

/** Redis connectivity and liveness events of the back end (on {@link RedisSignalingBackend.health}). */
export interface RedisHealthEvents {
  /** Lost the connection to Redis (it reconnects by itself). */
  redis_lost: (which: string) => void;
  /** Connected to Redis again; local peers were registered again (`reregistered`). */
  redis_ready: (reregistered: number) => void;
  /** A process stopped heartbeating; this one took over `peers` of its peers (announced detached). */
  process_dead: (processId: string, peers: number) => void;
}

/** Counters: the lobby ones plus Redis's. */
export interface RedisSignalingStats extends SignalingStats {
  processId: string;
  redis: RedisStoreStats & {
    /** Channel messages for a peer not (yet) attached here, dropped. */
    undeliverable: number;
    /** Peers taken over from dead processes. */
    takenOver: number;
  };
}

const key = (lobby: string, id: number) => `${lobby}\n${id}`;
/** Channel messages held for peers whose join is still in flight here (bounded). */
const MAX_HELD = 1024;

/** A {@link SignalingBackend} over Redis. Call {@link start} before use and {@link stop} after `shutdown`. */
export class RedisSignalingBackend extends EventEmitter<SignalingServerEvents> implements SignalingBackend {
  readonly options: SignalingCoreOptions;
  /** @internal The Redis state and this process's channel. */
  readonly store: RedisSignalingStore;
  /** Redis connectivity and dead-process events, for logs. */
  readonly health = new EventEmitter<RedisHealthEvents>();
  private readonly timers = new DeadlineQueue();
  private wakeListener: ((at: number) => void) | undefined;
  private readonly sessions = new Set<Session>();
  /** @internal The lobby peer a session carries. */
  readonly peerOf = new Map<Session, LocalPeer>();
  /** @internal Attached peers on this process by `lobby\nid`. */
  readonly attached = new Map<string, Session>();
  /** @internal Detached peers whose resume grace this process runs. */
  readonly graces = new Map<string, Deadline>();
  private held: RedisBusMessage[] = [];
  /** @internal Joins and resumes waiting for Redis. */
  inFlight = 0;
  /** @internal Joins waiting for their lobby's host. */
  waitingForHost = 0;
  private shuttingDown = false;
  private started = false;
  private beating = false;
  private lobbyCount = 0;
  private readonly heartbeatMs: number;
  /** @internal */
  readonly stats = newCounters();
  private readonly extra = { undeliverable: 0, takenOver: 0 };
  /** @internal */
  readonly out: CoreOutput;
  private readonly joins: RedisJoins;
  private readonly signals: RedisSignals;
  private readonly pendingOps = new Set<Promise<unknown>>();

  constructor(options: Partial<SignalingCoreOptions>, tokens: TokenIssuer, redis: RedisBackendOptions) {
    super();
    checkCoreOptions(options, 'RedisSignalingBackend options');
    checkTokenIssuer(tokens, 'RedisSignalingBackend tokens');
    const r = checkOptions<RedisBackendOptions>(redis, ['url', 'prefix', 'processId', 'heartbeatIntervalMs', 'heartbeatTtlMs', 'redisOptions'], 'RedisSignalingBackend redis');
    if (!/^rediss?:\/\/.+/i.test(checkString(r.url, 'RedisSignalingBackend redis.url', 2048))) invalid('RedisSignalingBackend redis.url', 'a redis:// or rediss:// URL', r.url);
    this.options = { ...DEFAULT_CORE_OPTIONS, ...options };
    this.options.random ??= DEFAULT_CORE_OPTIONS.random;
    this.options.clock ??= DEFAULT_CORE_OPTIONS.clock;
    this.heartbeatMs = redis.heartbeatIntervalMs ?? 1000;
    const limits: Partial<RedisStoreLimits> = {
      maxPeersPerLobby: this.options.maxPeersPerLobby,
      maxLobbies: this.options.maxLobbies,
      resumeQueueLimit: this.options.resumeQueueLimit,
      queueTtlMs: Math.max(10_000, this.options.resumeGraceMs * 2),
      heartbeatTtlMs: redis.heartbeatTtlMs ?? 3000,
    };
    this.store = new RedisSignalingStore(redis.url, redis.processId ?? randomHex(this.options.random, 8), {
      ...(redis.prefix !== undefined ? { prefix: redis.prefix } : {}),
      limits,
      ...(redis.redisOptions ? { redisOptions: redis.redisOptions } : {}),
    });
    this.out = new CoreOutput(this, this.options, this.stats, (s, code, reason) => this.sessionClosed(s, code, reason));
    this.joins = new RedisJoins(this, tokens, this.stats);
    this.signals = new RedisSignals(this);
    this.store.on('message', (m) => this.onBusMessage(m));
    this.store.on('bad_message', () => void this.extra.undeliverable++); // dropped and counted, never thrown
    this.store.on('connection_lost', (which) => this.health.emit('redis_lost', which));
    this.store.on('ready', (first) => {
      if (!first) this.track(this.reregister());
    });
  }

  /** This process's id in Redis. */
  get processId(): string {
    return this.store.processId;
  }

  /** Connect to Redis, subscribe, and start heartbeating. Rejects when Redis is unreachable. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    try {
      await this.store.connect();
    } catch (err) {
      throw new RtcmeshError(
        ErrorCode.UNREACHABLE,
        `cannot connect to Redis (${err instanceof Error ? err.message : String(err)}); check the redis URL and that Redis is running`,
        { cause: err },
      );
    }
    await this.beat();
  }

  /** After `shutdown`: wait for the last Redis writes, drop the heartbeat (survivors take over at once), disconnect. */
  async stop(): Promise<void> {
    this.timers.clear();
    while (this.pendingOps.size > 0) await Promise.allSettled([...this.pendingOps]);
    await this.store.quit(true);
  }

  // ---- sans-IO plumbing ---------------------------------------------------

  poll(now: number): void {
    this.timers.runDue(now);
  }

  nextDeadline(): number {
    return this.timers.next();
  }

  setWakeListener(listener: ((at: number) => void) | undefined): void {
    this.wakeListener = listener;
  }

  /** @internal Arm a deadline `ms` from now on the injected clock. */
  after(ms: number, fire: () => void): Deadline {
    const d = this.timers.schedule(this.options.clock.now() + ms, fire);
    if (d.at === this.timers.next()) this.wakeListener?.(d.at);
    return d;
  }

  /** @internal Keep `p` until it settles (stop() waits for it); failures are counted by the store. */
  track<T>(p: Promise<T>): Promise<T | undefined> {
    const q = p.catch(() => undefined);
    this.pendingOps.add(q);
    void q.finally(() => this.pendingOps.delete(q));
    return q;
  }

  // ---- sessions -------------------------------------------------------------

  open(io: SessionTransport): SignalingSession | undefined {
    if (this.shuttingDown) return undefined;
    const s = new Session(this, io);
    this.sessions.add(s);
    this.stats.connectionsTotal++;
    this.armJoinTimer(s);
    this.emit('connection', io.remote);
    return s;
  }

  /** @internal Called by a session. */
  receive(s: Session, data: string, bytes: number, isBinary: boolean): void {
    this.out.receive(s, data, bytes, isBinary, this.handleOne);
  }

  private readonly handleOne = (s: Session, m: ClientMessage): void => this.handle(s, m);

  /** Act on one validated client message. */
  private handle(s: Session, m: ClientMessage): void {
    switch (m.type) {
      case 'join':
        void this.joins.join(s, m);
        return;
      case 'offer':
      case 'answer':
        this.signals.relay(s, m.to, { type: m.type, from: 0, sdp: m.sdp }, m.type);
        return;
      case 'candidate':
        this.signals.relay(s, m.to, { type: 'candidate', from: 0, mid: m.mid, index: m.index, candidate: m.candidate }, m.type);
        return;
      case 'refuse':
        this.signals.relay(s, m.to, m.code === undefined ? { type: 'refuse', from: 0 } : { type: 'refuse', from: 0, code: m.code }, m.type);
        return;
      case 'probe':
        this.signals.probe(s, m.to);
        return;
      case 'seal':
        this.signals.seal(s);
        return;
      case 'leave': {
        const p = this.unregister(s);
        if (p) {
          this.track(this.store.remove(p.lobby, p.id, 'attached').then((r) => this.removed(p.lobby, p.id, 'left', r)));
          this.armJoinTimer(s);
        }
        return;
      }
    }
  }

  /** @internal Called by a session. */
  sessionClosed(s: Session, code: number, reason: string): void {
    if (s.isClosed) return;
    s.isClosed = true;
    this.sessions.delete(s);
    s.joinTimer = this.timers.cancel(s.joinTimer);
    const p = this.unregister(s);
    if (p && !this.shuttingDown) this.detachOrRemove(p);
    this.emit('disconnection', s.io.remote, code, reason);
  }

  /** @internal A local peer lost its socket: detached for `resumeGraceMs` (announced), or gone at once. */
  detachOrRemove(p: LocalPeer): void {
    if (this.options.resumeGraceMs <= 0) {
      this.track(this.store.remove(p.lobby, p.id, 'attached').then((r) => this.removed(p.lobby, p.id, 'disconnected', r)));
      return;
    }
    this.track(
      this.store.detach(p.lobby, p.id).then((ok) => {
        if (!ok) return; // resumed elsewhere meanwhile
        this.startGrace(p.lobby, p.id);
        this.emit('peer_detached', p.lobby, p.id);
      }),
    );
  }

  /** @internal Run the resume grace of a detached peer held by this process. */
  startGrace(lobby: string, id: number): void {
    const k = key(lobby, id);
    this.timers.cancel(this.graces.get(k));
    this.graces.set(
      k,
      this.after(this.options.resumeGraceMs, () => {
        this.graces.delete(k);
        this.track(this.store.remove(lobby, id, 'detached').then((r) => this.removed(lobby, id, 'did not resume', r)));
      }),
    );
  }

  /** @internal Stop a grace (the peer came back). */
  cancelGrace(lobby: string, id: number): void {
    const k = key(lobby, id);
    this.timers.cancel(this.graces.get(k));
    this.graces.delete(k);
  }

  private removed(lobby: string, id: number, why: string, r: Awaited<ReturnType<RedisSignalingStore['remove']>>): void {
    if (r.result === 'stale') return;
    this.emit('peer_left', lobby, id, why);
    if (r.result === 'closed') this.emit('lobby_closed', lobby, r.reason);
  }

  /** @internal Attach `p` to `s` on this process and deliver what waited for it. */
  register(s: Session, p: LocalPeer): void {
    const k = key(p.lobby, p.id);
    this.peerOf.set(s, p);
    this.attached.set(k, s);
    s.joinTimer = this.timers.cancel(s.joinTimer);
    if (this.held.length === 0) return;
    const mine = this.held.filter((m) => m.l === p.lobby && m.i[0] === p.id);
    if (mine.length === 0) return;
    this.held = this.held.filter((m) => !(m.l === p.lobby && m.i[0] === p.id));
    for (const m of mine) this.deliverLocal(s, p, m);
  }

  /** @internal Detach `s` from its peer locally (no Redis change). */
  unregister(s: Session): LocalPeer | undefined {
    const p = this.peerOf.get(s);
    if (!p) return undefined;
    this.peerOf.delete(s);
    const k = key(p.lobby, p.id);
    if (this.attached.get(k) === s) this.attached.delete(k);
    return p;
  }

  /** @internal A join or resume finished here: held messages nobody claimed are dropped when none is in flight. */
  settled(): void {
    if (--this.inFlight > 0 || this.held.length === 0) return;
    this.extra.undeliverable += this.held.length;
    this.held = [];
  }

  /** @internal Arm the join timeout of a session. */
  armJoinTimer(s: Session): void {
    s.joinTimer = this.timers.cancel(s.joinTimer);
    if (this.options.joinTimeoutMs <= 0) return;
    s.joinTimer = this.after(this.options.joinTimeoutMs, () => {
      s.joinTimer = undefined;
      if (this.peerOf.has(s) || s.joining || s.isClosed) return;
      this.stats.joinTimeouts++;
      this.out.reply(s, ErrorCode.TIMEOUT, `no join within ${this.options.joinTimeoutMs} ms`);
      this.out.safeClose(s, CloseCode.JOIN_TIMEOUT, 'join timeout');
    });
  }

  // ---- this process's channel ----------------------------------------------

  private onBusMessage(m: RedisBusMessage): void {
    for (const id of m.i) {
      const one = m.i.length === 1 ? m : { ...m, i: [id] };
      const s = this.attached.get(key(m.l, id));
      const p = s && this.peerOf.get(s);
      if (s && p) {
        this.deliverLocal(s, p, one);
      } else if (this.inFlight > 0 && this.held.length < MAX_HELD) {
        this.held.push(one); // its join or resume reply has not arrived yet
      } else {
        this.extra.undeliverable++;
      }
    }
  }

  private deliverLocal(s: Session, p: LocalPeer, m: RedisBusMessage): void {
    if (m.p !== undefined) {
      const from = m.p;
      const answer = () => {
        if (s.isClosed || this.peerOf.get(s) !== p) return;
        this.track(this.store.relay(p.lobby, from, JSON.stringify({ type: 'peer_alive', id: p.id } satisfies ServerMessage)));
      };
      if (!s.io.checkAlive) answer();
      else {
        try {
          s.io.checkAlive(answer);
        } catch {
          // the transport is failing; its close follows and detaches the peer
        }
      }
    }
    if (m.r) {
      const ids = m.r.filter((o) => o !== p.id && sees(m.m ?? p.mode, p.id, o));
      this.out.send(s, { type: 'peers', ids });
    }
    if (m.t !== undefined) this.out.safeSend(s, m.t);
    if (m.x) {
      this.unregister(s);
      this.armJoinTimer(s);
      this.out.safeClose(s, m.x[0], m.x[1]);
    }
  }

  // ---- liveness ---------------------------------------------------------------

  /** Heartbeat, then take over the peers of processes that stopped heartbeating. Re-arms itself. */
  private async beat(): Promise<void> {
    if (this.shuttingDown) return;
    this.after(this.heartbeatMs, () => void this.track(this.beat()));
    if (this.beating) return;
    this.beating = true;
    try {
      await this.store.heartbeat(() => this.options.clock.now());
      this.lobbyCount = await this.store.redis.scard(`${this.store.prefix}lobbies`);
      const reaped = await this.store.reap();
      if (this.shuttingDown) return;
      const byProc = new Map<string, number>();
      for (const r of reaped) {
        this.extra.takenOver++;
        byProc.set(r.deadProcess, (byProc.get(r.deadProcess) ?? 0) + 1);
        this.startGrace(r.lobby, r.id);
        if (r.wasAttached) this.emit('peer_detached', r.lobby, r.id);
      }
      for (const [proc, n] of byProc) this.health.emit('process_dead', proc, n);
    } catch {
      // Redis unreachable: counted by the store, reported by 'redis_lost'; the next beat retries.
    } finally {
      this.beating = false;
    }
  }

  /** Redis came back (maybe empty after a restart): register every local peer again. */
  private async reregister(): Promise<void> {
    // Announcements to this process's peers must find it subscribed again.
    for (let attempt = 0; ; attempt++) {
      try {
        await this.store.ensureSubscribed();
        break;
      } catch {
        if (attempt >= 20 || this.shuttingDown) return;
      }
    }
    let n = 0;
    for (const [s, p] of [...this.peerOf]) {
      if (s.isClosed) continue;
      const r = await this.store.resume(p.lobby, p.epoch, p.id, p.mode).catch(() => undefined);
      if (!r) continue;
      if (!r.ok) {
        if (r.reason === 'closed' || r.reason === 'epoch' || r.reason === 'gone') {
          this.unregister(s);
          this.out.send(s, { type: 'lobby_closed', reason: 'lost while the signaling store was unreachable' });
          this.out.safeClose(s, CloseCode.NORMAL, 'lobby closed');
        }
        continue;
      }
      n++;
      if (r.created) this.joins.awaitMembers(p.lobby, p.epoch);
    }
    await this.beat();
    this.health.emit('redis_ready', n);
  }

  // ---- stats / shutdown ---------------------------------------------------------

  getStats(): RedisSignalingStats {
    return {
      connections: this.sessions.size,
      lobbies: this.lobbyCount,
      peers: this.attached.size + this.graces.size,
      detachedPeers: this.graces.size,
      waitingForHost: this.waitingForHost,
      ...this.stats,
      errors: { ...this.stats.errors },
      processId: this.processId,
      redis: { ...this.store.getStats(), ...this.extra },
    };
  }

  /**
   * Tell every client and close every connection. With `reconnect`, this
   * process's peers stay in their lobbies, detached, for another process to
   * take over (after {@link stop} drops the heartbeat) and their clients to
   * resume there; without, they leave.
   */
  shutdown(reason: string, reconnect: boolean): void {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    const text = JSON.stringify({ type: 'shutdown', reason, reconnect } satisfies ServerMessage);
    for (const s of [...this.sessions]) {
      s.joinTimer = this.timers.cancel(s.joinTimer);
      const p = this.unregister(s);
      if (p) {
        if (reconnect) this.track(this.store.detach(p.lobby, p.id));
        else this.track(this.store.remove(p.lobby, p.id, 'attached'));
      }
      this.out.safeSend(s, text);
      this.out.safeClose(s, CloseCode.GOING_AWAY, 'server shutting down');
    }
    this.timers.clear();
    this.graces.clear();
  }
}
