/**
 * Typed access to the Redis signaling state (see {@link ./scripts.ts} for the
 * key layout): one ioredis connection for commands and scripts, one for this
 * process's pub/sub channel. Node only. It holds no timers of its own (ioredis
 * owns its reconnection); the back end calls {@link RedisSignalingStore.heartbeat}
 * and {@link RedisSignalingStore.reap} from its `poll(now)`.
 * @module
 */
import { EventEmitter } from 'eventemitter3';
import { Redis, type RedisOptions } from 'ioredis';
import type { LobbyMode } from '../protocol.js';
import { REDIS_SCRIPTS, scriptSource, type RedisScriptName } from './scripts.js';

/** A message published to this process's channel. */
export interface RedisBusMessage {
  /** Lobby. */
  l: string;
  /** Target peer ids (held by this process). */
  i: number[];
  /** Text frame to send them. */
  t?: string;
  /** Close their sockets after sending: [code, reason]. */
  x?: [number, string];
  /** Probe request from this peer: check the targets' sockets, answer `peer_alive`. */
  p?: number;
  /** Roster: every member id of a recreated lobby that became complete (mode `m`). */
  r?: number[];
  m?: LobbyMode;
}

/** Result of a join. */
export type JoinOutcome =
  | { ok: true; id: number; epoch: string; mode: LobbyMode; sealed: boolean; created: boolean; partial: boolean; others: number[] }
  | { ok: false; reason: 'not_found' | 'server_full' | 'sealed' | 'full' | 'retry' | 'host_taken' };

/** Result of a resume. */
export type ResumeOutcome =
  | {
      ok: true;
      mode: LobbyMode;
      sealed: boolean;
      partial: boolean;
      created: boolean;
      /** State before: '' (not a member), 'a:PROC' (attached on PROC), 'd:PROC' (detached). */
      prev: string;
      queued: string[];
      others: number[];
    }
  | { ok: false; reason: 'closed' | 'epoch' | 'gone' | 'full' | 'server_full' };

/** A peer taken over from a dead process. */
export interface ReapedPeer {
  deadProcess: string;
  lobby: string;
  id: number;
  /** It was attached (now announced detached) or already detached. */
  wasAttached: boolean;
}

/** Limits the scripts enforce. */
export interface RedisStoreLimits {
  maxPeersPerLobby: number;
  maxLobbies: number;
  /** Messages kept for a detached peer. */
  resumeQueueLimit: number;
  /** Expiry of a detached peer's queue (ms). */
  queueTtlMs: number;
  /** Expiry of lobby keys, refreshed on every join/resume (ms). */
  lobbyTtlMs: number;
  /** How long a closed lobby's epoch is remembered (ms). */
  closedTtlMs: number;
  /** Heartbeat key lifetime (ms): a process silent this long is dead. */
  heartbeatTtlMs: number;
}

/** Defaults of {@link RedisStoreLimits}. */
export const DEFAULT_STORE_LIMITS: Readonly<RedisStoreLimits> = {
  maxPeersPerLobby: 4096,
  maxLobbies: 4096,
  resumeQueueLimit: 256,
  queueTtlMs: 60_000,
  lobbyTtlMs: 24 * 3_600_000,
  closedTtlMs: 24 * 3_600_000,
  heartbeatTtlMs: 3000,
};

/** Store events. */
export interface RedisStoreEvents {
  /** A message arrived on this process's channel. */
  message: (m: RedisBusMessage) => void;
  /** A channel message could not be decoded (dropped). */
  bad_message: (text: string) => void;
  /** The command connection is ready again after it was lost (`first` on the first time). */
  ready: (first: boolean) => void;
  /** A connection was lost (it reconnects by itself). */
  connection_lost: (which: 'command' | 'subscriber', error: string) => void;
}

type Cmd = (...args: (string | number)[]) => Promise<unknown>;

/** Counters of the store. */
export interface RedisStoreStats {
  /** Redis round-trip of the last heartbeat (ms). */
  roundTripMs: number;
  /** Commands sent and not yet answered. */
  pending: number;
  /** Bytes waiting in Redis's output buffer to this process's subscriber (sampled at heartbeat). */
  pubsubBacklogBytes: number;
  /** Times a connection was lost. */
  disconnects: number;
  /** Times the command connection became ready again after a loss. */
  reconnects: number;
  /** Channel messages received. */
  messagesIn: number;
  /** Scripts and commands that failed (Redis unreachable, …). */
  failures: number;
  connected: boolean;
}

/**
 * The Redis state of one signaling server process (`processId`).
 */
export class RedisSignalingStore extends EventEmitter<RedisStoreEvents> {
  readonly processId: string;
  readonly prefix: string;
  readonly limits: RedisStoreLimits;
  /** Command connection (scripts, heartbeats). */
  readonly redis: Redis;
  /** Subscriber connection (this process's channel). */
  readonly sub: Redis;
  private everReady = false;
  private lost = false;
  private closed = false;
  private readonly stats = { roundTripMs: 0, pubsubBacklogBytes: 0, disconnects: 0, reconnects: 0, messagesIn: 0, failures: 0 };

  constructor(url: string, processId: string, options: { prefix?: string; limits?: Partial<RedisStoreLimits>; redisOptions?: RedisOptions } = {}) {
    super();
    this.processId = processId;
    this.prefix = options.prefix ?? 'rtcmesh:';
    this.limits = { ...DEFAULT_STORE_LIMITS, ...options.limits };
    const base: RedisOptions = {
      lazyConnect: true,
      maxRetriesPerRequest: 2,
      retryStrategy: (times) => Math.min(50 * times, 1000),
      enableAutoPipelining: true,
      ...options.redisOptions,
    };
    this.redis = new Redis(url, base);
    this.sub = new Redis(url, { ...base, enableAutoPipelining: false, connectionName: `rtcmesh-sub-${processId}` });
    for (const name of Object.keys(REDIS_SCRIPTS) as RedisScriptName[]) {
      this.redis.defineCommand(name, { numberOfKeys: 0, lua: scriptSource(name) });
    }
    this.redis.on('error', () => undefined); // reported through 'close' below
    this.sub.on('error', () => undefined);
    this.redis.on('close', () => this.onLost('command'));
    this.sub.on('close', () => this.onLost('subscriber'));
    this.redis.on('ready', () => {
      const first = !this.everReady;
      this.everReady = true;
      if (this.lost) this.stats.reconnects++;
      this.lost = false;
      this.emit('ready', first);
    });
    this.sub.on('message', (_channel: string, text: string) => {
      this.stats.messagesIn++;
      let m: RedisBusMessage;
      try {
        m = JSON.parse(text) as RedisBusMessage;
      } catch {
        this.emit('bad_message', text);
        return;
      }
      if (typeof m !== 'object' || m === null || typeof m.l !== 'string' || !Array.isArray(m.i)) {
        this.emit('bad_message', text);
        return;
      }
      this.emit('message', m);
    });
  }

  /** This process's channel name. */
  get channel(): string {
    return `${this.prefix}ch:${this.processId}`;
  }

  /** Connect both connections and subscribe to this process's channel. Rejects when Redis is unreachable. */
  async connect(): Promise<void> {
    await Promise.all([this.redis.connect(), this.sub.connect()]);
    await this.sub.subscribe(this.channel);
  }

  /**
   * Resolves once this process's channel subscription is confirmed (after a
   * reconnection ioredis resubscribes by itself, but only once the subscriber
   * connection is back: until then messages published to the channel are lost).
   */
  async ensureSubscribed(): Promise<void> {
    await this.sub.subscribe(this.channel);
  }

  private onLost(which: 'command' | 'subscriber'): void {
    if (this.closed) return;
    if (which === 'command') {
      if (this.lost || !this.everReady) return;
      this.lost = true;
    }
    this.stats.disconnects++;
    this.emit('connection_lost', which, 'connection closed');
  }

  private cmd(name: RedisScriptName): Cmd {
    return (this.redis as unknown as Record<string, Cmd>)[name]!.bind(this.redis);
  }

  private async run(name: RedisScriptName, ...args: (string | number)[]): Promise<unknown> {
    try {
      return await this.cmd(name)(this.prefix, ...args);
    } catch (err) {
      this.stats.failures++;
      throw err;
    }
  }

  /**
   * Join `lobby` (creating it when absent and `create`), allocating an id
   * atomically from `candidates` (random ids drawn by the caller; `retry` when
   * all are taken). The creator gets id 1; `host` claims id 1 in an existing lobby.
   */
  async join(lobby: string, mode: LobbyMode, epoch: string, create: boolean, host: boolean, candidates: number[]): Promise<JoinOutcome> {
    const l = this.limits;
    const r = (await this.run(
      'rtcJoin',
      lobby,
      mode,
      this.processId,
      l.maxPeersPerLobby,
      l.maxLobbies,
      l.lobbyTtlMs,
      epoch,
      create ? '1' : '0',
      l.resumeQueueLimit,
      l.queueTtlMs,
      host ? '1' : '0',
      ...candidates,
    )) as unknown[];
    if (r[0] !== 'ok') return { ok: false, reason: r[0] as Extract<JoinOutcome, { ok: false }>['reason'] };
    return {
      ok: true,
      id: Number(r[1]),
      epoch: String(r[2]),
      mode: r[3] as LobbyMode,
      sealed: r[4] === '1',
      created: Number(r[5]) === 1,
      partial: r[6] === '1',
      others: r.slice(7).map(Number),
    };
  }

  /** Resume peer `id` of the lobby incarnation `epoch` on this process (recreating the lobby when Redis lost it). */
  async resume(lobby: string, epoch: string, id: number, mode: LobbyMode, announce = true): Promise<ResumeOutcome> {
    const l = this.limits;
    const r = (await this.run(
      'rtcResume',
      lobby,
      epoch,
      id,
      mode,
      this.processId,
      l.maxPeersPerLobby,
      l.maxLobbies,
      l.lobbyTtlMs,
      l.resumeQueueLimit,
      l.queueTtlMs,
      announce ? '1' : '0',
    )) as unknown[];
    if (r[0] !== 'ok') return { ok: false, reason: r[0] as Extract<ResumeOutcome, { ok: false }>['reason'] };
    const n = Number(r[6]);
    return {
      ok: true,
      mode: r[1] as LobbyMode,
      sealed: r[2] === '1',
      partial: r[3] === '1',
      created: Number(r[4]) === 1,
      prev: String(r[5]),
      queued: r.slice(7, 7 + n).map(String),
      others: r.slice(7 + n).map(Number),
    };
  }

  /** Mark a peer attached on this process as detached and announce it. False when it is not attached here. */
  async detach(lobby: string, id: number): Promise<boolean> {
    const l = this.limits;
    return Number(await this.run('rtcDetach', lobby, id, this.processId, l.resumeQueueLimit, l.queueTtlMs)) === 1;
  }

  /**
   * Remove a peer whose state is `expected` (`attached` / `detached` on this
   * process, or `any`), announce `peer_left`, and close the lobby when it
   * empties (or its client/server host left).
   */
  async remove(lobby: string, id: number, expected: 'attached' | 'detached' | 'any'): Promise<{ result: 'left' | 'stale' } | { result: 'closed'; reason: string }> {
    const l = this.limits;
    const want = expected === 'any' ? '*' : `${expected === 'attached' ? 'a' : 'd'}:${this.processId}`;
    const r = (await this.run('rtcRemove', lobby, id, want, l.closedTtlMs, l.resumeQueueLimit, l.queueTtlMs)) as unknown[];
    if (r[0] === 'closed') return { result: 'closed', reason: String(r[1]) };
    return { result: r[0] as 'left' | 'stale' };
  }

  /** Relay `text` to peer `to`: 1 published, 2 queued, 3 queued with overflow, 0 never a member, -1 left. */
  async relay(lobby: string, to: number, text: string): Promise<number> {
    const l = this.limits;
    return Number(await this.run('rtcRelay', lobby, to, text, l.resumeQueueLimit, l.queueTtlMs));
  }

  /** Ask `to`'s process to check its socket: 1 sent, 2 detached, 0 never a member, -1 left. */
  async probe(lobby: string, to: number, from: number): Promise<number> {
    return Number(await this.run('rtcProbe', lobby, to, from));
  }

  /** Seal (by peer `id`): 1 sealed now, 0 already, -1 no lobby, -2 not the host. */
  async seal(lobby: string, id: number): Promise<number> {
    return Number(await this.run('rtcSeal', lobby, id));
  }

  /** Close a lobby incarnation (members told and disconnected). */
  async close(lobby: string, epoch: string, reason: string): Promise<boolean> {
    return Number(await this.run('rtcClose', lobby, epoch, reason, this.limits.closedTtlMs)) === 1;
  }

  /** End the waiting time of a recreated lobby (rosters sent). */
  async complete(lobby: string, epoch: string): Promise<boolean> {
    return Number(await this.run('rtcComplete', lobby, epoch)) === 1;
  }

  /** A look at a lobby (not atomic with anything: for the authorize hook). Undefined when it does not exist. */
  async lobbyInfo(lobby: string): Promise<{ mode: LobbyMode; sealed: boolean; peers: number; hasHost: boolean } | undefined> {
    const L = `${this.prefix}lobby:${lobby}`;
    const [fields, peers, hasHost] = await Promise.all([this.redis.hmget(L, 'mode', 'sealed'), this.redis.hlen(`${L}:m`), this.redis.hexists(`${L}:m`, '1')]);
    if (!fields[0]) return undefined;
    return { mode: fields[0] as LobbyMode, sealed: fields[1] === '1', peers, hasHost: hasHost === 1 };
  }

  /** Refresh this process's heartbeat; measures the Redis round trip with `clock` and samples the pub/sub backlog. */
  async heartbeat(clock: () => number): Promise<void> {
    const t0 = clock();
    await this.run('rtcHeartbeat', this.processId, this.limits.heartbeatTtlMs, this.limits.lobbyTtlMs);
    this.stats.roundTripMs = clock() - t0;
    try {
      // Redis's output buffer towards this process's subscriber: what it published and we have not read yet.
      const list = String(await this.redis.call('CLIENT', 'LIST', 'TYPE', 'pubsub'));
      const line = list.split('\n').find((x) => x.includes(` name=rtcmesh-sub-${this.processId} `));
      const omem = line ? /\bomem=(\d+)/.exec(line) : null;
      this.stats.pubsubBacklogBytes = omem ? Number(omem[1]) : 0;
    } catch {
      // sampling only
    }
  }

  /** Take over the peers of processes whose heartbeat expired (each is taken by exactly one survivor). */
  async reap(): Promise<ReapedPeer[]> {
    const r = (await this.run('rtcReap', this.processId, this.limits.resumeQueueLimit, this.limits.queueTtlMs)) as unknown[];
    const out: ReapedPeer[] = [];
    for (let i = 0; i + 3 < r.length; i += 4) {
      out.push({ deadProcess: String(r[i]), lobby: String(r[i + 1]), id: Number(r[i + 2]), wasAttached: r[i + 3] === 'a' });
    }
    return out;
  }

  /** Count a connection from `address` (false when `max` > 0 connections from it exist across all processes). */
  async acquireAddress(address: string, max: number): Promise<boolean> {
    return Number(await this.run('rtcAddrAcquire', address, this.processId, max, this.limits.lobbyTtlMs)) === 1;
  }

  /** Uncount a connection from `address`. */
  async releaseAddress(address: string): Promise<void> {
    await this.run('rtcAddrRelease', address, this.processId);
  }

  /** Counters and gauges. */
  getStats(): RedisStoreStats {
    const pending = (this.redis as unknown as { commandQueue?: { length: number } }).commandQueue?.length ?? 0;
    return { ...this.stats, pending, connected: this.redis.status === 'ready' };
  }

  /**
   * Close both connections. With `graceful`, this process's heartbeat is
   * deleted first so survivors take its detached peers at once.
   */
  async quit(graceful = true): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (graceful && this.redis.status === 'ready') {
      try {
        await this.redis.del(`${this.prefix}proc:${this.processId}:hb`);
      } catch {
        // best effort
      }
    }
    const end = async (c: Redis) => {
      if (c.status === 'ready') {
        try {
          await c.quit();
          return;
        } catch {
          // fall through
        }
      }
      c.disconnect(false);
    };
    await Promise.all([end(this.redis), end(this.sub)]);
  }
}
