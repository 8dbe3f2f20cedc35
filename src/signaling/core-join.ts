/**
 * Joining and resuming a lobby: the admission checks (resume token, server
 * and lobby limits, seal), the asynchronous authorize hook, creating the
 * lobby, placing the peer and telling it and the others.
 * @module
 */
import type { EventEmitter } from 'eventemitter3';
import { ErrorCode } from '../errors.js';
import type { AuthorizeResult, SignalingCoreOptions, SignalingServerEvents } from './core-types.js';
import { visibleIds, type CoreCounters, type Lobby, type Peer, type Session } from './core-model.js';
import type { CoreOutput } from './core-output.js';
import type { Deadline, DeadlineQueue } from './deadlines.js';
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
  isShuttingDown(): boolean;
}

/** A `join` message. */
export type JoinMessage = Extract<ClientMessage, { type: 'join' }>;

/** Handles `join` messages. */
export class JoinHandler {
  constructor(private readonly ctx: JoinContext) {}

  /** Handle `m` from `s`: a fresh join or a resume. Settles after the authorize hook (if any). */
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
    const name = identity?.lobby ?? (m.lobby ? m.lobby : ctx.book.newLobbyName());
    if (this.refusal(s, name, identity)) return;

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
      if (s.peer || this.refusal(s, name, identity)) return;
    }

    let lobby = ctx.book.get(name);
    const created = !lobby;
    if (!lobby) {
      lobby = ctx.book.create(name, identity?.mode ?? m.mode ?? 'mesh', identity?.epoch);
      ctx.events.emit('lobby_created', name, lobby.mode);
      if (!identity) lobby.usedIds.add(HOST_PEER_ID);
      else this.awaitMembers(lobby);
    }
    if (identity) this.resume(s, lobby, identity, data);
    else this.place(s, lobby, created ? HOST_PEER_ID : ctx.book.newPeerId(lobby), data);
  }

  /**
   * Refuse the join (and say so) when it cannot succeed now: the token's lobby
   * was closed or its peer left, the server or lobby is full, the lobby is
   * sealed. Returns whether it refused.
   */
  private refusal(s: Session, name: string, identity: ResumeIdentity | undefined): boolean {
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
        },
        {
          name,
          mode: lobby?.mode ?? identity?.mode ?? m.mode ?? 'mesh',
          peers: lobby?.peers.size ?? 0,
          sealed: lobby?.sealed ?? false,
          creating: !lobby,
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

  /** A fresh join: `s` becomes peer `id` of `lobby`. */
  private place(s: Session, lobby: Lobby, id: number, data: unknown): void {
    const peer: Peer = { id, lobby, session: undefined, data, queue: [], graceTimer: undefined };
    lobby.peers.set(id, peer);
    lobby.usedIds.add(id);
    this.ctx.stats.joins++;
    this.attach(s, peer, false);
    this.ctx.out.announce(peer, 'peer_joined');
    this.joinedEvent(s, peer, false);
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
    this.attach(s, peer, true);
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
    this.joinedEvent(s, peer, true);
  }

  /** Bind `s` to `peer` and send it `joined`. */
  private attach(s: Session, peer: Peer, resumed: boolean): void {
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
      version: PROTOCOL_VERSION,
    });
  }

  private joinedEvent(s: Session, peer: Peer, resumed: boolean): void {
    this.ctx.events.emit('peer_joined', peer.lobby.name, peer.id, { remote: s.io.remote, resumed, data: peer.data });
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
