/**
 * Joining and resuming a lobby: the admission checks (resume token, host
 * role, join-only joins, server and lobby limits, seal), the asynchronous
 * authorize hook, creating the lobby, holding joiners that wait for their
 * host, placing the peer and telling it and the others.
 * @module
 */
import type { EventEmitter } from 'eventemitter3';
import { ErrorCode } from '../errors.js';
import type { AuthorizeResult, SignalingCoreOptions, SignalingServerEvents } from './core-types.js';
import { visibleIds, type CoreCounters, type Lobby, type Peer, type Session } from './core-model.js';
import type { CoreOutput } from './core-output.js';
import type { Deadline, DeadlineQueue } from './deadlines.js';
import { HostWaitRoom } from './host-wait.js';
import type { LobbyBook } from './lobby-book.js';
import { CloseCode, HOST_PEER_ID, PROTOCOL_VERSION, type ClientMessage, type ServerMessage } from './protocol.js';
import type { ResumeIdentity, TokenIssuer } from './tokens.js';

/** What joining needs from the lobby logic. */
export interface JoinContext {
  readonly options: SignalingCoreOptions;
  readonly tokens: TokenIssuer;
  readonly book: LobbyBook;
  readonly out: CoreOutput;
  readonly stats: CoreCounters;
  readonly events: EventEmitter<SignalingServerEvents>;
  readonly timers: DeadlineQueue;
  /** Arm a deadline `ms` from now. */
  after(ms: number, fire: () => void): Deadline;
  /** (Re)start the session's join timeout. */
  armJoinTimer(s: Session): void;
  isShuttingDown(): boolean;
}

/** A `join` message. */
export type JoinMessage = Extract<ClientMessage, { type: 'join' }>;

/** Key comparison that does not stop at the first differing character. */
function keyEquals(given: string | undefined, expected: string): boolean {
  if (given === undefined) return false;
  let diff = given.length ^ expected.length;
  for (let i = 0; i < expected.length; i++) diff |= (given.charCodeAt(i % Math.max(1, given.length)) || 0) ^ expected.charCodeAt(i);
  return diff === 0;
}

/** Handles `join` messages. */
export class JoinHandler {
  private readonly waiting: HostWaitRoom;

  constructor(private readonly ctx: JoinContext) {
    this.waiting = new HostWaitRoom(ctx.timers);
  }

  /** Joins held waiting for their host. */
  get waitingJoins(): number {
    return this.waiting.size;
  }

  /** `s` closed or left: forget its held join (no reply). */
  cancelWait(s: Session): void {
    this.waiting.release(s);
  }

  /** Forget every held join (shutdown). */
  clear(): void {
    this.waiting.clear();
  }

  /** Handle `m` from `s`: a fresh join, a host join, or a resume. Settles after the authorize hook (if any). */
  async join(s: Session, m: JoinMessage): Promise<void> {
    const { ctx } = this;
    if (s.peer || s.joining) {
      ctx.out.refuseJoin(s, ErrorCode.INVALID_STATE, 'already in a lobby (or joining); send leave first');
      return;
    }
    let identity: ResumeIdentity | undefined;
    if (m.resume !== undefined) {
      identity = ctx.tokens.verify(m.resume);
      if (!identity) {
        ctx.out.refuseJoin(s, ErrorCode.RESUME_FAILED, 'resume token is invalid or expired; join again without resume');
        return;
      }
    }
    const host = m.host === true && !identity;
    if (host && ctx.options.hostKey !== undefined && !keyEquals(m.hostKey, ctx.options.hostKey)) {
      ctx.out.refuseJoin(s, ErrorCode.UNAUTHORIZED, `host join refused: ${m.hostKey === undefined ? 'this server requires a host key' : 'wrong host key'}`);
      return;
    }
    const name = identity?.lobby ?? (m.lobby ? m.lobby : ctx.book.newLobbyName());
    if (this.refusal(s, name, identity, m)) return;

    let data: unknown;
    if (ctx.options.authorize) {
      const verdict = await this.authorize(s, m, name, identity);
      if (s.isClosed || ctx.isShuttingDown()) return;
      if (!verdict.allow) {
        ctx.out.refuseJoin(s, ErrorCode.UNAUTHORIZED, `join refused: ${verdict.reason}`);
        return;
      }
      data = verdict.data;
      // The world may have changed while the hook ran.
      if (s.peer || this.refusal(s, name, identity, m)) return;
    }

    let lobby = ctx.book.get(name);
    if (identity) {
      const recreated = !lobby;
      if (!lobby) {
        lobby = this.create(name, identity.mode, identity.epoch);
        this.awaitMembers(lobby);
      }
      this.resume(s, lobby, identity, data);
      if (recreated) this.admitWaiters(lobby);
      return;
    }
    if (!lobby) {
      if (!this.mayCreate(m)) {
        this.hold(s, name, m, data);
        return;
      }
      lobby = this.create(name, m.mode ?? 'mesh');
      this.place(s, lobby, HOST_PEER_ID, data, m.hostKey);
      this.admitWaiters(lobby);
      return;
    }
    const current = lobby.peers.get(HOST_PEER_ID);
    if (host && current) this.reclaim(s, current, data);
    else if (host) this.place(s, lobby, HOST_PEER_ID, data, m.hostKey);
    else this.place(s, lobby, ctx.book.newPeerId(lobby), data);
  }

  /**
   * Whether this (fresh, absent-lobby) join may create the lobby: a host join
   * always; else not when join-only (`create: false`, `waitForHostMs`), nor a
   * `client_server` lobby under the server's `clientServerJoinOnly` policy.
   */
  private mayCreate(m: JoinMessage): boolean {
    if (m.host === true) return true;
    if (m.create === false || m.waitForHostMs !== undefined) return false;
    return !(this.ctx.options.clientServerJoinOnly && m.mode === 'client_server');
  }

  /** How long a join-only join of an absent lobby waits (0: refused at once). */
  private waitMs(m: JoinMessage): number {
    return Math.min(m.waitForHostMs ?? 0, this.ctx.options.maxWaitForHostMs);
  }

  /**
   * Refuse the join (and say so) when it cannot succeed now: the token's lobby
   * was closed or its peer left, the lobby is absent and the join may not
   * create it (nor wait), the server or lobby is full, the lobby is sealed, a
   * live host holds it (host joins), the host key does not match. Returns
   * whether it refused.
   */
  private refusal(s: Session, name: string, identity: ResumeIdentity | undefined, m: JoinMessage): boolean {
    const { ctx } = this;
    const lobby = ctx.book.get(name);
    const refuse = (code: ErrorCode, message: string) => {
      ctx.out.refuseJoin(s, code, message);
      return true;
    };
    if (identity && (lobby ? lobby.epoch !== identity.epoch : ctx.book.wasClosed(identity.epoch))) {
      return refuse(ErrorCode.RESUME_FAILED, `lobby "${name}" was closed; join again without resume`);
    }
    if (!lobby) {
      if (!identity && !this.mayCreate(m)) {
        if (this.waitMs(m) > 0) return false;
        return refuse(ErrorCode.LOBBY_NOT_FOUND, `lobby "${name}" does not exist${m.waitForHostMs ? ' (this server does not let joiners wait)' : ''}; its host creates it`);
      }
      if (ctx.book.size >= ctx.options.maxLobbies) {
        return refuse(ErrorCode.SERVER_FULL, `the server has its maximum of ${ctx.options.maxLobbies} lobbies; try later`);
      }
      return false;
    }
    const existing = identity ? lobby.peers.get(identity.id) : undefined;
    // Outside a recreated lobby's waiting time, the member list is complete: a token of a peer not in it is stale.
    if (identity && !existing && (lobby.usedIds.has(identity.id) || !lobby.partial)) {
      return refuse(ErrorCode.RESUME_FAILED, `peer ${identity.id} already left lobby "${name}" (or did not resume in time); join again without resume`);
    }
    if (!identity && m.host === true) {
      const current = lobby.peers.get(HOST_PEER_ID);
      if (current?.session) return refuse(ErrorCode.HOST_TAKEN, `lobby "${name}" already has a live host (id 1)`);
      if (lobby.hostKey !== undefined && !keyEquals(m.hostKey, lobby.hostKey)) {
        return refuse(ErrorCode.UNAUTHORIZED, `host join refused: ${m.hostKey === undefined ? 'lobby "' + name + '" has a host key; send it' : 'wrong host key'}`);
      }
      if (current) {
        // Detached, within its resume grace: reclaimable only with a key.
        if (lobby.hostKey === undefined) {
          return refuse(ErrorCode.HOST_TAKEN, `lobby "${name}" has a host (id 1) within its resume grace and no host key: it comes back only with its resume token`);
        }
        return false; // reclaim: not a new member, so neither sealed nor full applies
      }
    }
    if (!identity && lobby.sealed) return refuse(ErrorCode.LOBBY_SEALED, `lobby "${name}" is sealed and accepts no new peers`);
    if (!existing && lobby.peers.size >= ctx.options.maxPeersPerLobby) {
      return refuse(ErrorCode.LOBBY_FULL, `lobby "${name}" is full (${ctx.options.maxPeersPerLobby} peers)`);
    }
    return false;
  }

  /** Ask the authorize hook; a throw or a malformed verdict denies. */
  private async authorize(
    s: Session,
    m: JoinMessage,
    name: string,
    identity: ResumeIdentity | undefined,
  ): Promise<{ allow: boolean; reason: string; data: unknown }> {
    const hook = this.ctx.options.authorize!;
    const lobby = this.ctx.book.get(name);
    s.joining = true;
    let verdict: AuthorizeResult;
    try {
      verdict = await hook(
        {
          auth: m.auth,
          resume: identity !== undefined,
          ...(identity ? { id: identity.id } : {}),
          remote: s.io.remote,
          ...(s.io.origin !== undefined ? { origin: s.io.origin } : {}),
          headers: s.io.headers ?? {},
          host: m.host === true && !identity,
          ...(m.hostKey !== undefined ? { hostKey: m.hostKey } : {}),
        },
        {
          name,
          mode: lobby?.mode ?? identity?.mode ?? m.mode ?? 'mesh',
          peers: lobby?.peers.size ?? 0,
          sealed: lobby?.sealed ?? false,
          creating: !lobby,
          hasHost: lobby?.peers.has(HOST_PEER_ID) ?? false,
        },
      );
    } catch {
      verdict = { allow: false, reason: 'authorization failed' };
    }
    s.joining = false;
    const allow = typeof verdict === 'boolean' ? verdict : verdict?.allow === true;
    const reason = typeof verdict === 'object' && verdict && typeof verdict.reason === 'string' ? verdict.reason : 'not authorized';
    return { allow, reason, data: typeof verdict === 'object' && verdict ? verdict.data : undefined };
  }

  private create(name: string, mode: Lobby['mode'], epoch?: string): Lobby {
    const lobby = this.ctx.book.create(name, mode, epoch);
    this.ctx.events.emit('lobby_created', name, lobby.mode);
    return lobby;
  }

  /** A fresh join: `s` becomes peer `id` of `lobby` (id 1: its host, whose key the lobby keeps). */
  private place(s: Session, lobby: Lobby, id: number, data: unknown, hostKey?: string): void {
    const peer: Peer = { id, lobby, session: undefined, data, queue: [], graceTimer: undefined };
    lobby.peers.set(id, peer);
    lobby.usedIds.add(id);
    if (id === HOST_PEER_ID) lobby.hostKey = this.ctx.options.hostKey ?? hostKey;
    this.ctx.stats.joins++;
    this.attach(s, peer, false, false);
    this.ctx.out.announce(peer, 'peer_joined');
    this.joinedEvent(s, peer, false, false);
  }

  /**
   * A restarted host with the lobby's key takes id 1 back from its detached
   * self: the members see `peer_attached` with `restarted: true` (rebuild your
   * link to it). What was queued for the old process is stale and dropped.
   */
  private reclaim(s: Session, peer: Peer, data: unknown): void {
    const { ctx } = this;
    peer.graceTimer = ctx.timers.cancel(peer.graceTimer);
    ctx.stats.relayDropped += peer.queue.length;
    peer.queue = [];
    if (data !== undefined) peer.data = data;
    ctx.stats.joins++;
    this.attach(s, peer, false, true);
    ctx.out.announce(peer, 'peer_attached', true);
    this.joinedEvent(s, peer, false, true);
  }

  /** A resume: `s` takes over the token's peer (or recreates it in a lobby recreated after a restart). */
  private resume(s: Session, lobby: Lobby, identity: ResumeIdentity, data: unknown): void {
    const { ctx } = this;
    let peer = lobby.peers.get(identity.id);
    const recreated = !peer;
    let reattached = false;
    if (peer) {
      reattached = peer.session === undefined;
      peer.graceTimer = ctx.timers.cancel(peer.graceTimer);
      const old = peer.session;
      if (old) {
        old.peer = undefined;
        ctx.out.safeClose(old, CloseCode.REPLACED, 'resumed on another connection');
      }
    } else {
      peer = { id: identity.id, lobby, session: undefined, data, queue: [], graceTimer: undefined };
      lobby.peers.set(peer.id, peer);
      lobby.usedIds.add(peer.id);
    }
    if (data !== undefined) peer.data = data;
    ctx.stats.resumes++;
    this.attach(s, peer, true, false);
    if (!recreated) {
      const queued = peer.queue;
      peer.queue = [];
      for (const text of queued) ctx.out.safeSend(s, text);
      if (reattached) ctx.out.announce(peer, 'peer_attached');
    } else {
      // A member coming back into a lobby recreated after a restart
      // (those that knew it ignore the repeat; those that joined meanwhile learn of it).
      ctx.out.announce(peer, 'peer_joined');
    }
    this.joinedEvent(s, peer, true, false);
  }

  /** Bind `s` to `peer` and send it `joined`. */
  private attach(s: Session, peer: Peer, resumed: boolean, reclaimed: boolean): void {
    const { ctx } = this;
    const lobby = peer.lobby;
    peer.session = s;
    s.peer = peer;
    s.joinTimer = ctx.timers.cancel(s.joinTimer);
    ctx.out.send(s, {
      type: 'joined',
      lobby: lobby.name,
      id: peer.id,
      mode: lobby.mode,
      peers: visibleIds(lobby, peer.id),
      token: ctx.tokens.issue({ lobby: lobby.name, epoch: lobby.epoch, id: peer.id, mode: lobby.mode }),
      resumed,
      sealed: lobby.sealed,
      complete: !lobby.partial,
      ...(reclaimed ? { reclaimed } : {}),
      version: PROTOCOL_VERSION,
    });
  }

  private joinedEvent(s: Session, peer: Peer, resumed: boolean, reclaimed: boolean): void {
    this.ctx.events.emit('peer_joined', peer.lobby.name, peer.id, { remote: s.io.remote, resumed, data: peer.data, ...(reclaimed ? { reclaimed } : {}) });
  }

  /** Hold a join-only join until lobby `name` exists, or `LOBBY_NOT_FOUND` when the wait ends. */
  private hold(s: Session, name: string, m: JoinMessage, data: unknown): void {
    const ms = this.waitMs(m);
    const deadline = this.ctx.after(ms, () => {
      if (!this.waiting.release(s) || s.isClosed) return;
      this.ctx.armJoinTimer(s);
      this.ctx.out.refuseJoin(s, ErrorCode.LOBBY_NOT_FOUND, `lobby "${name}" was not created within ${ms} ms; its host creates it`);
    });
    // The wait replaces the join timeout (the session did send its join).
    s.joinTimer = this.ctx.timers.cancel(s.joinTimer);
    this.waiting.hold(s, name, data, deadline);
  }

  /** Lobby `lobby` was just created: admit the joins waiting for it, in arrival order. */
  private admitWaiters(lobby: Lobby): void {
    for (const w of this.waiting.takeAll(lobby.name)) {
      const s = w.session;
      if (s.isClosed || s.peer || !this.ctx.book.isLive(lobby)) continue;
      if (lobby.sealed) {
        this.ctx.out.refuseJoin(s, ErrorCode.LOBBY_SEALED, `lobby "${lobby.name}" is sealed and accepts no new peers`);
      } else if (lobby.peers.size >= this.ctx.options.maxPeersPerLobby) {
        this.ctx.out.refuseJoin(s, ErrorCode.LOBBY_FULL, `lobby "${lobby.name}" is full (${this.ctx.options.maxPeersPerLobby} peers)`);
      } else {
        this.place(s, lobby, this.ctx.book.newPeerId(lobby), w.data);
      }
    }
  }

  /**
   * A lobby recreated from a token (after a server restart) does not know who
   * else was in it. Its members have `resumeGraceMs` to come back, as after a
   * blip; then the list is authoritative: late tokens are refused, and every
   * member gets the roster (`peers`) so it can forget those that never came back.
   */
  private awaitMembers(lobby: Lobby): void {
    const { ctx } = this;
    if (ctx.options.resumeGraceMs <= 0) return;
    lobby.partialTimer = ctx.after(ctx.options.resumeGraceMs, () => {
      lobby.partialTimer = undefined;
      lobby.partial = false;
      if (!ctx.book.isLive(lobby)) return;
      // Detached members are not sent it: their `joined` on resume is complete and newer than a queued roster would be.
      for (const p of lobby.peers.values()) {
        if (p.session) ctx.out.safeSend(p.session, JSON.stringify({ type: 'peers', ids: visibleIds(lobby, p.id) } satisfies ServerMessage));
      }
    });
  }
}
