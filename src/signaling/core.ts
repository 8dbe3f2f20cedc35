/**
 * The lobby logic of the signaling server, independent of any socket: the
 * WebSocket server and the in-memory bus both feed it text frames through
 * {@link SignalingSession}s. It validates every frame, assigns ids, relays with
 * the sender stamped, enforces limits, and keeps detached peers for a grace
 * period so they can resume.
 *
 * Sans-IO: it arms no timer and reads no clock of its own. Time comes from the
 * injected `clock` (the driver's), its grace, seal, partial-lobby and join
 * timers are deadlines run by `poll(now)` (see `nextDeadline()`), and ids,
 * lobby names and epochs come from the injected `random` source.
 * @module
 */
import { EventEmitter } from 'eventemitter3';
import { ErrorCode } from '../errors.js';
import { randomHex } from '../util/sans-io.js';
import {
  DEFAULT_CORE_OPTIONS,
  type AuthorizeResult,
  type SignalingCoreOptions,
  type SignalingServerEvents,
  type SignalingStats,
} from './core-types.js';
import { DeadlineQueue, type Deadline } from './deadlines.js';
import {
  CloseCode,
  HOST_PEER_ID,
  MAX_SIGNALING_PEER_ID,
  MIN_SIGNALING_PEER_ID,
  PROTOCOL_VERSION,
  parseClientMessage,
  type ClientMessage,
  type LobbyMode,
  type ServerMessage,
} from './protocol.js';
import type { ResumeIdentity, TokenIssuer } from './tokens.js';
import type { SessionTransport, SignalingBackend, SignalingSession } from './transport.js';

export {
  DEFAULT_CORE_OPTIONS,
  type AuthorizeHook,
  type AuthorizeLobby,
  type AuthorizeRequest,
  type AuthorizeResult,
  type SignalingCoreOptions,
  type SignalingServerEvents,
  type SignalingStats,
} from './core-types.js';
export type { SessionTransport, SignalingSession } from './transport.js';

interface Peer {
  id: number;
  lobby: Lobby;
  session: Session | undefined;
  data: unknown;
  queue: string[];
  graceTimer: Deadline | undefined;
}

interface Lobby {
  name: string;
  epoch: string;
  mode: LobbyMode;
  peers: Map<number, Peer>;
  usedIds: Set<number>;
  sealed: boolean;
  sealTimer: Deadline | undefined;
  /**
   * True while a lobby recreated from a resume token (after a server restart)
   * waits `resumeGraceMs` for its other members to come back: its member list
   * is not complete, and late members may still resume into it. Then
   * `partialTimer` makes the list authoritative and sends every member a
   * `peers` roster. (With `resumeGraceMs` 0 it stays partial.)
   */
  partial: boolean;
  partialTimer: Deadline | undefined;
}

class Session implements SignalingSession {
  peer: Peer | undefined;
  joining = false;
  isClosed = false;
  strikes = 0;
  /** Joins refused on this socket, over its lifetime. */
  refusals = 0;
  windowStart = 0;
  windowCount = 0;
  windowDropped = 0;
  joinTimer: Deadline | undefined;
  /** Sessions waiting for this one's liveness check (`probe`). */
  readonly probers = new Set<Session>();
  /** A liveness check of this session is under way. */
  checking = false;

  constructor(
    readonly core: SignalingCore,
    readonly io: SessionTransport,
  ) {}

  receive(data: string, bytes: number, isBinary: boolean): void {
    this.core.receive(this, data, bytes, isBinary);
  }

  closed(code: number, reason: string): void {
    this.core.sessionClosed(this, code, reason);
  }
}

const MAX_CLOSED_EPOCHS = 100_000;

/** The lobby state machine. Create one per server (or bus). */
export class SignalingCore extends EventEmitter<SignalingServerEvents> implements SignalingBackend {
  readonly options: SignalingCoreOptions;
  private readonly timers = new DeadlineQueue();
  private wakeListener: ((at: number) => void) | undefined;
  private readonly lobbies = new Map<string, Lobby>();
  /** Epochs of recently closed lobbies: their tokens must not recreate them. Bounded, oldest forgotten first. */
  private readonly closedEpochs = new Set<string>();
  private readonly sessions = new Set<Session>();
  private shuttingDown = false;
  private readonly stats = {
    connectionsTotal: 0,
    messagesIn: 0,
    relayed: 0,
    relayDropped: 0,
    joins: 0,
    resumes: 0,
    errors: {} as Record<string, number>,
    abuseClosed: 0,
    joinTimeouts: 0,
  };

  constructor(
    options: Partial<SignalingCoreOptions>,
    private readonly tokens: TokenIssuer,
  ) {
    super();
    this.options = { ...DEFAULT_CORE_OPTIONS, ...options };
    this.options.random ??= DEFAULT_CORE_OPTIONS.random;
    this.options.clock ??= DEFAULT_CORE_OPTIONS.clock;
  }

  /** Run the timers due at `now` (join, grace, seal, partial-lobby). */
  poll(now: number): void {
    this.timers.runDue(now);
  }

  /** The soonest timer, `Infinity` when none. */
  nextDeadline(): number {
    return this.timers.next();
  }

  /**
   * `listener(at)` is called when a timer armed at `at` became the soonest
   * (the driver re-arms). A cancelled soonest timer is not reported: the
   * driver polls at its time for nothing and re-arms.
   */
  setWakeListener(listener: ((at: number) => void) | undefined): void {
    this.wakeListener = listener;
  }

  /** Arm a timer `ms` from now on the injected clock. */
  private after(ms: number, fire: () => void): Deadline {
    const d = this.timers.schedule(this.options.clock.now() + ms, fire);
    if (d.at === this.timers.next()) this.wakeListener?.(d.at);
    return d;
  }

  /** Register a new connection. Returns undefined when shutting down (the transport should close it). */
  open(io: SessionTransport): SignalingSession | undefined {
    if (this.shuttingDown) return undefined;
    const s = new Session(this, io);
    this.sessions.add(s);
    this.stats.connectionsTotal++;
    this.armJoinTimer(s);
    this.emit('connection', io.remote);
    return s;
  }

  /** Counters and gauges. */
  getStats(): SignalingStats {
    let peers = 0;
    let detached = 0;
    for (const lobby of this.lobbies.values()) {
      peers += lobby.peers.size;
      for (const p of lobby.peers.values()) if (!p.session) detached++;
    }
    return {
      connections: this.sessions.size,
      lobbies: this.lobbies.size,
      peers,
      detachedPeers: detached,
      ...this.stats,
      errors: { ...this.stats.errors },
    };
  }

  /** Tell every client, close every connection, clear every timer. */
  shutdown(reason: string, reconnect: boolean): void {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    const text = JSON.stringify({ type: 'shutdown', reason, reconnect } satisfies ServerMessage);
    this.timers.clear();
    for (const lobby of this.lobbies.values()) {
      lobby.sealTimer = lobby.partialTimer = undefined;
      for (const p of lobby.peers.values()) p.graceTimer = undefined;
    }
    this.lobbies.clear();
    for (const s of [...this.sessions]) {
      s.joinTimer = undefined;
      s.peer = undefined;
      this.safeSend(s, text);
      this.safeClose(s, CloseCode.GOING_AWAY, 'server shutting down');
    }
  }

  // ---- inbound ----------------------------------------------------------

  /** @internal Called by a session. */
  receive(session: SignalingSession, data: string, bytes: number, isBinary: boolean): void {
    const s = session as Session;
    if (s.isClosed) return;
    this.stats.messagesIn++;
    if (!this.admit(s)) return;
    if (bytes > this.options.maxMessageBytes) {
      this.violation(s, ErrorCode.PACKET_TOO_LARGE, `frame of ${bytes} bytes is over the limit of ${this.options.maxMessageBytes}`);
      return;
    }
    if (isBinary) {
      this.violation(s, ErrorCode.MALFORMED_DATA, 'binary frames are not part of the protocol; send JSON text frames');
      return;
    }
    const parsed = parseClientMessage(data);
    if (!parsed.ok) {
      this.violation(s, parsed.code, parsed.error);
      return;
    }
    const m = parsed.message;
    switch (m.type) {
      case 'join':
        void this.join(s, m);
        return;
      case 'offer':
      case 'answer':
        this.relay(s, m.to, { type: m.type, from: 0, sdp: m.sdp }, m.type);
        return;
      case 'candidate':
        this.relay(s, m.to, { type: 'candidate', from: 0, mid: m.mid, index: m.index, candidate: m.candidate }, m.type);
        return;
      case 'probe':
        this.probe(s, m.to);
        return;
      case 'seal':
        this.seal(s);
        return;
      case 'leave':
        if (s.peer) {
          const peer = s.peer;
          s.peer = undefined;
          this.removePeer(peer, 'left');
          this.armJoinTimer(s);
        }
        return;
    }
  }

  /** Fixed-window rate limit. Over the limit: one RATE_LIMITED error per window; twice the limit: closed. */
  private admit(s: Session): boolean {
    const { messages, windowMs } = this.options.rateLimit;
    const now = this.options.clock.now();
    if (now - s.windowStart >= windowMs) {
      s.windowStart = now;
      s.windowCount = 0;
      s.windowDropped = 0;
    }
    if (++s.windowCount <= messages) return true;
    s.windowDropped++;
    if (s.windowDropped === 1) {
      this.violation(s, ErrorCode.RATE_LIMITED, `more than ${messages} messages in ${windowMs} ms; messages are being dropped`);
    } else if (s.windowDropped > messages) {
      this.abuseClose(s, 'flood');
    }
    return false;
  }

  /** @internal Called by a session. */
  sessionClosed(session: SignalingSession, code: number, reason: string): void {
    const s = session as Session;
    if (s.isClosed) return;
    s.isClosed = true;
    this.sessions.delete(s);
    s.joinTimer = this.timers.cancel(s.joinTimer);
    const peer = s.peer;
    s.peer = undefined;
    if (peer && peer.session === s) {
      if (this.shuttingDown || this.options.resumeGraceMs <= 0) {
        this.removePeer(peer, 'disconnected');
      } else {
        peer.session = undefined;
        peer.graceTimer = this.after(this.options.resumeGraceMs, () => {
          peer.graceTimer = undefined;
          this.removePeer(peer, 'did not resume');
        });
        this.announce(peer, 'peer_detached');
        this.emit('peer_detached', peer.lobby.name, peer.id);
      }
    }
    this.emit('disconnection', s.io.remote, code, reason);
  }

  // ---- join / resume ---------------------------------------------------

  private async join(s: Session, m: Extract<ClientMessage, { type: 'join' }>): Promise<void> {
    if (s.peer || s.joining) {
      this.refuseJoin(s, ErrorCode.INVALID_STATE, 'already in a lobby (or joining); send leave first');
      return;
    }
    let identity: ResumeIdentity | undefined;
    if (m.resume !== undefined) {
      identity = this.tokens.verify(m.resume);
      if (!identity) {
        this.refuseJoin(s, ErrorCode.RESUME_FAILED, 'resume token is invalid or expired; join again without resume');
        return;
      }
    }
    const name = identity?.lobby ?? (m.lobby ? m.lobby : this.newLobbyName());
    const check = (): string | undefined => {
      const lobby = this.lobbies.get(name);
      if (identity && (lobby ? lobby.epoch !== identity.epoch : this.closedEpochs.has(identity.epoch))) {
        this.refuseJoin(s, ErrorCode.RESUME_FAILED, `lobby "${name}" was closed; join again without resume`);
        return 'gone';
      }
      if (!lobby) {
        if (this.lobbies.size >= this.options.maxLobbies) {
          this.refuseJoin(s, ErrorCode.SERVER_FULL, `the server has its maximum of ${this.options.maxLobbies} lobbies; try later`);
          return 'full';
        }
        return undefined;
      }
      const existing = identity ? lobby.peers.get(identity.id) : undefined;
      // Outside a recreated lobby's waiting time, the member list is complete: a token of a peer not in it is stale.
      if (identity && !existing && (lobby.usedIds.has(identity.id) || !lobby.partial)) {
        this.refuseJoin(s, ErrorCode.RESUME_FAILED, `peer ${identity.id} already left lobby "${name}" (or did not resume in time); join again without resume`);
        return 'left';
      }
      if (!identity && lobby.sealed) {
        this.refuseJoin(s, ErrorCode.LOBBY_SEALED, `lobby "${name}" is sealed and accepts no new peers`);
        return 'sealed';
      }
      if (!existing && lobby.peers.size >= this.options.maxPeersPerLobby) {
        this.refuseJoin(s, ErrorCode.LOBBY_FULL, `lobby "${name}" is full (${this.options.maxPeersPerLobby} peers)`);
        return 'full';
      }
      return undefined;
    };
    if (check()) return;

    let data: unknown;
    const hook = this.options.authorize;
    if (hook) {
      const lobby = this.lobbies.get(name);
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
      if (s.isClosed || this.shuttingDown) return;
      const allow = typeof verdict === 'boolean' ? verdict : verdict?.allow === true;
      if (!allow) {
        const reason = typeof verdict === 'object' && verdict && typeof verdict.reason === 'string' ? verdict.reason : 'not authorized';
        this.refuseJoin(s, ErrorCode.UNAUTHORIZED, `join refused: ${reason}`);
        return;
      }
      data = typeof verdict === 'object' ? verdict.data : undefined;
      // The world may have changed while the hook ran.
      if (s.peer || check()) return;
    }

    let lobby = this.lobbies.get(name);
    const created = !lobby;
    if (!lobby) {
      lobby = {
        name,
        epoch: identity?.epoch ?? randomHex(this.options.random, 8),
        mode: identity?.mode ?? m.mode ?? 'mesh',
        peers: new Map(),
        usedIds: new Set(),
        sealed: false,
        sealTimer: undefined,
        partial: identity !== undefined,
        partialTimer: undefined,
      };
      this.lobbies.set(name, lobby);
      this.emit('lobby_created', name, lobby.mode);
      if (!identity) lobby.usedIds.add(HOST_PEER_ID);
      else this.awaitMembers(lobby);
    }

    let peer: Peer;
    let reattached = false;
    let recreated = false;
    if (identity) {
      const existing = lobby.peers.get(identity.id);
      if (existing) {
        reattached = existing.session === undefined;
        existing.graceTimer = this.timers.cancel(existing.graceTimer);
        const old = existing.session;
        if (old) {
          old.peer = undefined;
          this.safeClose(old, CloseCode.REPLACED, 'resumed on another connection');
        }
        peer = existing;
      } else {
        peer = { id: identity.id, lobby, session: undefined, data, queue: [], graceTimer: undefined };
        lobby.peers.set(peer.id, peer);
        lobby.usedIds.add(peer.id);
        recreated = true;
      }
      if (data !== undefined) peer.data = data;
      this.stats.resumes++;
    } else {
      const id = created ? HOST_PEER_ID : this.newPeerId(lobby);
      peer = { id, lobby, session: undefined, data, queue: [], graceTimer: undefined };
      lobby.peers.set(id, peer);
      lobby.usedIds.add(id);
      this.stats.joins++;
    }
    peer.session = s;
    s.peer = peer;
    s.joinTimer = this.timers.cancel(s.joinTimer);

    const visible = [...lobby.peers.keys()].filter((other) => other !== peer.id && this.sees(lobby, peer.id, other));
    this.send(s, {
      type: 'joined',
      lobby: lobby.name,
      id: peer.id,
      mode: lobby.mode,
      peers: visible,
      token: this.tokens.issue({ lobby: lobby.name, epoch: lobby.epoch, id: peer.id, mode: lobby.mode }),
      resumed: identity !== undefined,
      sealed: lobby.sealed,
      complete: !lobby.partial,
      version: PROTOCOL_VERSION,
    });
    if (identity && !recreated) {
      const queued = peer.queue;
      peer.queue = [];
      for (const text of queued) this.safeSend(s, text);
      if (reattached) this.announce(peer, 'peer_attached');
    } else {
      // A fresh join, or a member coming back into a lobby recreated after a restart
      // (those that knew it ignore the repeat; those that joined meanwhile learn of it).
      this.announce(peer, 'peer_joined');
    }
    this.emit('peer_joined', lobby.name, peer.id, { remote: s.io.remote, resumed: identity !== undefined, data: peer.data });
  }

  private newPeerId(lobby: Lobby): number {
    for (;;) {
      const id = this.options.random.int(MIN_SIGNALING_PEER_ID, MAX_SIGNALING_PEER_ID);
      if (!lobby.usedIds.has(id)) return id;
    }
  }

  private newLobbyName(): string {
    for (;;) {
      const name = randomHex(this.options.random, 16);
      if (!this.lobbies.has(name)) return name;
    }
  }

  /**
   * A lobby recreated from a token (after a server restart) does not know who
   * else was in it. Its members have `resumeGraceMs` to come back, as after a
   * blip; then the list is authoritative: late tokens are refused, and every
   * member gets the roster (`peers`) so it can forget those that never came back.
   */
  private awaitMembers(lobby: Lobby): void {
    if (this.options.resumeGraceMs <= 0) return;
    lobby.partialTimer = this.after(this.options.resumeGraceMs, () => {
      lobby.partialTimer = undefined;
      lobby.partial = false;
      if (this.lobbies.get(lobby.name) !== lobby) return;
      // Detached members are not sent it: their `joined` on resume is complete and newer than a queued roster would be.
      for (const p of lobby.peers.values()) {
        if (!p.session) continue;
        const ids = [...lobby.peers.keys()].filter((other) => other !== p.id && this.sees(lobby, p.id, other));
        this.safeSend(p.session, JSON.stringify({ type: 'peers', ids } satisfies ServerMessage));
      }
    });
  }

  /** Whether `a` is told about and may signal `b`: everyone in a mesh; only host↔client in client/server. */
  private sees(lobby: Lobby, a: number, b: number): boolean {
    return lobby.mode === 'mesh' || a === HOST_PEER_ID || b === HOST_PEER_ID;
  }

  /**
   * Tell the lobby members that see `peer` that it joined, left, that its
   * socket dropped (it is in its resume grace) or that it came back: `{ type, id }`.
   */
  private announce(peer: Peer, type: 'peer_joined' | 'peer_left' | 'peer_detached' | 'peer_attached'): void {
    const lobby = peer.lobby;
    const text = JSON.stringify({ type, id: peer.id } satisfies ServerMessage);
    for (const other of lobby.peers.values()) {
      if (other !== peer && this.sees(lobby, other.id, peer.id)) this.deliver(other, text);
    }
  }

  // ---- relay / seal / leave ---------------------------------------------

  /**
   * The peer `s` addresses as `to` (`ref` names the message, `verb` what it
   * does), or undefined after an error when `s` has not joined or may not
   * address `to`.
   */
  private addressee(s: Session, to: number, ref: string, verb: string): Peer | undefined {
    const peer = s.peer;
    if (!peer) {
      this.violation(s, ErrorCode.INVALID_STATE, `cannot send "${ref}" before joining a lobby`, ref);
      return undefined;
    }
    const lobby = peer.lobby;
    const target = lobby.peers.get(to);
    if (!target || to === peer.id || !this.sees(lobby, peer.id, to)) {
      const msg = `peer ${to} is not a peer you can ${verb} in lobby "${lobby.name}"`;
      // A peer that just left is a normal race; an id never seen (or not visible) is probing.
      if (lobby.usedIds.has(to) && to !== peer.id && this.sees(lobby, peer.id, to)) this.reply(s, ErrorCode.INVALID_PEER, msg, ref);
      else this.violation(s, ErrorCode.INVALID_PEER, msg, ref);
      return undefined;
    }
    return target;
  }

  private relay(s: Session, to: number, out: ServerMessage & { from: number }, ref: string): void {
    const target = this.addressee(s, to, ref, 'signal');
    if (!target) return;
    out.from = s.peer!.id;
    this.stats.relayed++;
    this.deliver(target, JSON.stringify(out));
  }

  /**
   * `probe`: is `to` still reachable? Its connection is checked (a WebSocket
   * ping) and the prober gets `peer_alive` when it answers. A peer without a
   * connection gets no check and no answer: its `peer_detached` announcement
   * has reached the prober already (or waits in its resume queue). No answer
   * means its connection is dead although the server has not noticed yet
   * (cable cut): the prober decides how long to wait. Checks of one peer are
   * shared by every prober.
   */
  private probe(s: Session, to: number): void {
    const target = this.addressee(s, to, 'probe', 'probe');
    if (!target) return;
    const ts = target.session;
    if (!ts) return; // detached: announced to every member that sees it
    ts.probers.add(s);
    if (ts.checking) return;
    ts.checking = true;
    const answer = () => this.answerProbes(ts);
    if (!ts.io.checkAlive) return answer();
    try {
      ts.io.checkAlive(answer);
    } catch {
      ts.checking = false; // the transport is failing; its close follows and detaches the peer
    }
  }

  private answerProbes(ts: Session): void {
    ts.checking = false;
    const peer = ts.peer;
    const probers = [...ts.probers];
    ts.probers.clear();
    if (!peer || ts.isClosed) return;
    const text = JSON.stringify({ type: 'peer_alive', id: peer.id } satisfies ServerMessage);
    for (const p of probers) if (p.peer?.lobby === peer.lobby) this.safeSend(p, text);
  }

  private seal(s: Session): void {
    const peer = s.peer;
    if (!peer) {
      this.violation(s, ErrorCode.INVALID_STATE, 'cannot seal before joining a lobby', 'seal');
      return;
    }
    if (peer.id !== HOST_PEER_ID) {
      this.reply(s, ErrorCode.UNAUTHORIZED, 'only the lobby host (peer 1) may seal it', 'seal');
      return;
    }
    const lobby = peer.lobby;
    if (lobby.sealed) return;
    lobby.sealed = true;
    const text = JSON.stringify({ type: 'sealed' } satisfies ServerMessage);
    for (const p of lobby.peers.values()) this.deliver(p, text);
    lobby.sealTimer = this.after(this.options.sealGraceMs, () => {
      lobby.sealTimer = undefined;
      this.closeLobby(lobby, 'sealed');
    });
    this.emit('sealed', lobby.name);
  }

  private removePeer(peer: Peer, reason: string): void {
    const lobby = peer.lobby;
    if (lobby.peers.get(peer.id) !== peer) return;
    peer.graceTimer = this.timers.cancel(peer.graceTimer);
    lobby.peers.delete(peer.id);
    if (peer.session) peer.session.peer = undefined;
    peer.session = undefined;
    this.emit('peer_left', lobby.name, peer.id, reason);
    if (lobby.mode === 'client_server' && peer.id === HOST_PEER_ID) {
      this.closeLobby(lobby, 'host left');
      return;
    }
    if (lobby.peers.size === 0) {
      this.closeLobby(lobby, 'empty');
      return;
    }
    this.announce(peer, 'peer_left');
  }

  private closeLobby(lobby: Lobby, reason: string): void {
    if (this.lobbies.get(lobby.name) !== lobby) return;
    this.lobbies.delete(lobby.name);
    this.closedEpochs.add(lobby.epoch);
    if (this.closedEpochs.size > MAX_CLOSED_EPOCHS) this.closedEpochs.delete(this.closedEpochs.values().next().value!);
    lobby.sealTimer = this.timers.cancel(lobby.sealTimer);
    lobby.partialTimer = this.timers.cancel(lobby.partialTimer);
    const text = JSON.stringify({ type: 'lobby_closed', reason } satisfies ServerMessage);
    for (const p of lobby.peers.values()) {
      p.graceTimer = this.timers.cancel(p.graceTimer);
      const s = p.session;
      p.session = undefined;
      if (s) {
        s.peer = undefined;
        this.safeSend(s, text);
        this.safeClose(s, CloseCode.NORMAL, `lobby closed: ${reason}`);
      }
    }
    lobby.peers.clear();
    this.emit('lobby_closed', lobby.name, reason);
  }

  // ---- outbound ---------------------------------------------------------

  private deliver(peer: Peer, text: string): void {
    if (peer.session) {
      this.safeSend(peer.session, text);
      return;
    }
    peer.queue.push(text);
    if (peer.queue.length > this.options.resumeQueueLimit) {
      peer.queue.shift();
      this.stats.relayDropped++;
    }
  }

  private send(s: Session, m: ServerMessage): void {
    this.safeSend(s, JSON.stringify(m));
  }

  /** An error the client may legitimately cause (full lobby, auth refused): no strike. */
  private reply(s: Session, code: ErrorCode, message: string, ref?: string): void {
    this.stats.errors[code] = (this.stats.errors[code] ?? 0) + 1;
    this.send(s, { type: 'error', code, message, ...(ref ? { ref } : {}) });
    this.emit('client_error', s.io.remote, code, message);
  }

  /**
   * A refused join: an error without a strike, but counted; after
   * `maxJoinRefusals` refusals the socket is closed (1008), so nobody can
   * retry a sealed or full lobby, or guess `auth`, on one socket forever.
   */
  private refuseJoin(s: Session, code: ErrorCode, message: string): void {
    this.reply(s, code, message, 'join');
    if (++s.refusals >= this.options.maxJoinRefusals) this.abuseClose(s, `${s.refusals} refused joins`);
  }

  /** A protocol violation: error plus a strike; too many strikes close the socket. */
  private violation(s: Session, code: ErrorCode, message: string, ref?: string): void {
    this.reply(s, code, message, ref);
    if (++s.strikes >= this.options.maxStrikes) this.abuseClose(s, `${s.strikes} protocol violations`);
  }

  private abuseClose(s: Session, reason: string): void {
    if (s.isClosed) return;
    this.stats.abuseClosed++;
    this.emit('abuse_closed', s.io.remote, reason);
    this.safeClose(s, CloseCode.POLICY, reason);
    // Stop processing anything else it already sent.
    this.sessionClosed(s, CloseCode.POLICY, reason);
  }

  private armJoinTimer(s: Session): void {
    s.joinTimer = this.timers.cancel(s.joinTimer);
    if (this.options.joinTimeoutMs <= 0) return;
    s.joinTimer = this.after(this.options.joinTimeoutMs, () => {
      s.joinTimer = undefined;
      if (s.peer || s.isClosed) return;
      this.stats.joinTimeouts++;
      this.reply(s, ErrorCode.TIMEOUT, `no join within ${this.options.joinTimeoutMs} ms`);
      this.safeClose(s, CloseCode.JOIN_TIMEOUT, 'join timeout');
    });
  }

  private safeSend(s: Session, text: string): void {
    if (s.isClosed) return;
    try {
      s.io.send(text);
    } catch {
      this.safeClose(s, CloseCode.TRY_AGAIN, 'send failed');
    }
  }

  private safeClose(s: Session, code: number, reason: string): void {
    try {
      s.io.close(code, reason);
    } catch {
      // The transport is already gone; its close notification will follow.
    }
  }
}
