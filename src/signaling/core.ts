/**
 * The lobby logic of the signaling server, independent of any socket: the
 * WebSocket server and the in-memory bus both feed it text frames through
 * {@link SignalingSession}s. It validates every frame, assigns ids, relays with
 * the sender stamped, enforces limits, and keeps detached peers for a grace
 * period so they can resume.
 * @module
 */
import { EventEmitter } from 'eventemitter3';
import { ErrorCode } from '../errors.js';
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
import { randomHex, randomInt, type ResumeIdentity, type TokenIssuer } from './tokens.js';

/** What the authorize hook learns about the joining client. */
export interface AuthorizeRequest {
  /** The `auth` value the client sent with `join` (any JSON). */
  auth: unknown;
  /** True when the client is resuming an earlier session with a token. */
  resume: boolean;
  /** Peer id it resumes with (resume only). */
  id?: number;
  /** Remote address (`ip:port`) or a bus-local name. */
  remote: string;
  /** `Origin` header, when the client sent one. */
  origin?: string;
  /** HTTP headers of the WebSocket upgrade request (empty on the memory bus). */
  headers: Record<string, string | string[] | undefined>;
}

/** What the authorize hook learns about the lobby being joined. */
export interface AuthorizeLobby {
  name: string;
  mode: LobbyMode;
  /** Peers currently in it. */
  peers: number;
  sealed: boolean;
  /** True when this join would create the lobby. */
  creating: boolean;
}

/** Verdict of the authorize hook: a boolean, or an object carrying user data kept with the peer. */
export type AuthorizeResult = boolean | { allow: boolean; reason?: string; data?: unknown };

/** Decides whether a client may join a lobby. May be async. Throwing denies. */
export type AuthorizeHook = (request: AuthorizeRequest, lobby: AuthorizeLobby) => AuthorizeResult | Promise<AuthorizeResult>;

/** Limits and timers of the lobby logic. All times in milliseconds; 0 disables a timer. */
export interface SignalingCoreOptions {
  /** Peers per lobby (default 4096). */
  maxPeersPerLobby: number;
  /** Lobbies on the server (default 4096). */
  maxLobbies: number;
  /** Frames larger than this (bytes) get a PACKET_TOO_LARGE error (default 65536). */
  maxMessageBytes: number;
  /** A socket that has not joined within this time is closed (default 5000; 0 = never). */
  joinTimeoutMs: number;
  /** A sealed lobby is closed this long after sealing (default 10000). */
  sealGraceMs: number;
  /** A peer whose socket dropped keeps its place this long, waiting to resume (default 15000; 0 = leaves at once). */
  resumeGraceMs: number;
  /** Messages queued for a detached peer, oldest dropped first (default 256). */
  resumeQueueLimit: number;
  /** At most `messages` frames per `windowMs` per socket (default 200 per 1000 ms). */
  rateLimit: { messages: number; windowMs: number };
  /** Protocol violations before the socket is closed (default 10). */
  maxStrikes: number;
  /**
   * Refused joins a socket may get over its lifetime before it is closed with
   * 1008 (default 10): sealed, full, server full, authorisation refused,
   * resume refused, join while already in a lobby or joining. Refusals are not
   * strikes (an honest client can be refused), but without this cap a socket
   * could retry a sealed or full lobby, or guess `auth`, at the rate limit
   * forever. The WebSocket client opens a new socket on its next `join()`.
   */
  maxJoinRefusals: number;
  /** Join authorisation hook (default: allow everyone). */
  authorize: AuthorizeHook | undefined;
}

/** Defaults of {@link SignalingCoreOptions}. */
export const DEFAULT_CORE_OPTIONS: Readonly<SignalingCoreOptions> = {
  maxPeersPerLobby: 4096,
  maxLobbies: 4096,
  maxMessageBytes: 65536,
  joinTimeoutMs: 5000,
  sealGraceMs: 10_000,
  resumeGraceMs: 15_000,
  resumeQueueLimit: 256,
  rateLimit: { messages: 200, windowMs: 1000 },
  maxStrikes: 10,
  maxJoinRefusals: 10,
  authorize: undefined,
};

/** Transport side of one connection, implemented by the server and the bus. */
export interface SessionTransport {
  /** Send one text frame. */
  send(text: string): void;
  /** Close the connection; the transport later calls {@link SignalingSession.closed}. */
  close(code: number, reason: string): void;
  /**
   * Check that the connection still reaches its client (the WebSocket server
   * sends a ping) and call `onAlive` once it answers; never called when it
   * does not. Without it, the connection counts as alive at once.
   */
  checkAlive?(onAlive: () => void): void;
  remote: string;
  origin?: string;
  headers?: Record<string, string | string[] | undefined>;
}

/** Events of the lobby logic (re-emitted by the server). */
export interface SignalingServerEvents {
  /** A connection was accepted. */
  connection: (remote: string) => void;
  /** A connection ended. */
  disconnection: (remote: string, code: number, reason: string) => void;
  lobby_created: (lobby: string, mode: LobbyMode) => void;
  lobby_closed: (lobby: string, reason: string) => void;
  /** A peer joined (or resumed, `resumed` true); `data` is what authorize returned. */
  peer_joined: (lobby: string, id: number, info: { remote: string; resumed: boolean; data: unknown }) => void;
  /** A peer's socket dropped; it has `resumeGraceMs` to resume. */
  peer_detached: (lobby: string, id: number) => void;
  peer_left: (lobby: string, id: number, reason: string) => void;
  sealed: (lobby: string) => void;
  /** A client broke a rule; it was sent an `error` with this code. */
  client_error: (remote: string, code: ErrorCode, message: string) => void;
  /** A socket was closed for abuse (too many violations, flood, too-large frame). */
  abuse_closed: (remote: string, reason: string) => void;
}

/** Counters, for logs and metrics. */
export interface SignalingStats {
  /** Open connections. */
  connections: number;
  /** Lobbies that exist. */
  lobbies: number;
  /** Peers in lobbies, attached or waiting to resume. */
  peers: number;
  /** Peers waiting to resume. */
  detachedPeers: number;
  /** Connections accepted since start. */
  connectionsTotal: number;
  /** Frames received. */
  messagesIn: number;
  /** Offers, answers and candidates relayed. */
  relayed: number;
  /** Relayed messages dropped (queue of a detached peer overflowed). */
  relayDropped: number;
  joins: number;
  resumes: number;
  /** Error messages sent, by code. */
  errors: Record<string, number>;
  /** Sockets closed for abuse. */
  abuseClosed: number;
  /** Sockets closed by the join timeout. */
  joinTimeouts: number;
}

interface Peer {
  id: number;
  lobby: Lobby;
  session: Session | undefined;
  data: unknown;
  queue: string[];
  graceTimer: ReturnType<typeof setTimeout> | undefined;
}

interface Lobby {
  name: string;
  epoch: string;
  mode: LobbyMode;
  peers: Map<number, Peer>;
  usedIds: Set<number>;
  sealed: boolean;
  sealTimer: ReturnType<typeof setTimeout> | undefined;
  /**
   * True while a lobby recreated from a resume token (after a server restart)
   * waits `resumeGraceMs` for its other members to come back: its member list
   * is not complete, and late members may still resume into it. Then
   * `partialTimer` makes the list authoritative and sends every member a
   * `peers` roster. (With `resumeGraceMs` 0 it stays partial.)
   */
  partial: boolean;
  partialTimer: ReturnType<typeof setTimeout> | undefined;
}

/** One connection as the lobby logic sees it. The transport feeds it frames. */
export interface SignalingSession {
  /** A text frame (`isBinary` false) or a binary one arrived; `bytes` is its size. */
  receive(data: string, bytes: number, isBinary: boolean): void;
  /** The transport's connection ended. */
  closed(code: number, reason: string): void;
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
  joinTimer: ReturnType<typeof setTimeout> | undefined;
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
export class SignalingCore extends EventEmitter<SignalingServerEvents> {
  readonly options: SignalingCoreOptions;
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
    for (const lobby of this.lobbies.values()) {
      if (lobby.sealTimer) clearTimeout(lobby.sealTimer);
      if (lobby.partialTimer) clearTimeout(lobby.partialTimer);
      for (const p of lobby.peers.values()) if (p.graceTimer) clearTimeout(p.graceTimer);
    }
    this.lobbies.clear();
    for (const s of [...this.sessions]) {
      if (s.joinTimer) clearTimeout(s.joinTimer);
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
    const now = Date.now();
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
    if (s.joinTimer) clearTimeout(s.joinTimer);
    s.joinTimer = undefined;
    const peer = s.peer;
    s.peer = undefined;
    if (peer && peer.session === s) {
      if (this.shuttingDown || this.options.resumeGraceMs <= 0) {
        this.removePeer(peer, 'disconnected');
      } else {
        peer.session = undefined;
        peer.graceTimer = setTimeout(() => {
          peer.graceTimer = undefined;
          this.removePeer(peer, 'did not resume');
        }, this.options.resumeGraceMs);
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
        epoch: identity?.epoch ?? randomHex(8),
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
        if (existing.graceTimer) clearTimeout(existing.graceTimer);
        existing.graceTimer = undefined;
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
    if (s.joinTimer) clearTimeout(s.joinTimer);
    s.joinTimer = undefined;

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
      const id = randomInt(MIN_SIGNALING_PEER_ID, MAX_SIGNALING_PEER_ID);
      if (!lobby.usedIds.has(id)) return id;
    }
  }

  private newLobbyName(): string {
    for (;;) {
      const name = randomHex(16);
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
    lobby.partialTimer = setTimeout(() => {
      lobby.partialTimer = undefined;
      lobby.partial = false;
      if (this.lobbies.get(lobby.name) !== lobby) return;
      // Detached members are not sent it: their `joined` on resume is complete and newer than a queued roster would be.
      for (const p of lobby.peers.values()) {
        if (!p.session) continue;
        const ids = [...lobby.peers.keys()].filter((other) => other !== p.id && this.sees(lobby, p.id, other));
        this.safeSend(p.session, JSON.stringify({ type: 'peers', ids } satisfies ServerMessage));
      }
    }, this.options.resumeGraceMs);
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
    lobby.sealTimer = setTimeout(() => {
      lobby.sealTimer = undefined;
      this.closeLobby(lobby, 'sealed');
    }, this.options.sealGraceMs);
    this.emit('sealed', lobby.name);
  }

  private removePeer(peer: Peer, reason: string): void {
    const lobby = peer.lobby;
    if (lobby.peers.get(peer.id) !== peer) return;
    if (peer.graceTimer) clearTimeout(peer.graceTimer);
    peer.graceTimer = undefined;
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
    if (lobby.sealTimer) clearTimeout(lobby.sealTimer);
    lobby.sealTimer = undefined;
    if (lobby.partialTimer) clearTimeout(lobby.partialTimer);
    lobby.partialTimer = undefined;
    const text = JSON.stringify({ type: 'lobby_closed', reason } satisfies ServerMessage);
    for (const p of lobby.peers.values()) {
      if (p.graceTimer) clearTimeout(p.graceTimer);
      p.graceTimer = undefined;
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
    if (s.joinTimer) clearTimeout(s.joinTimer);
    s.joinTimer = undefined;
    if (this.options.joinTimeoutMs <= 0) return;
    s.joinTimer = setTimeout(() => {
      s.joinTimer = undefined;
      if (s.peer || s.isClosed) return;
      this.stats.joinTimeouts++;
      this.reply(s, ErrorCode.TIMEOUT, `no join within ${this.options.joinTimeoutMs} ms`);
      this.safeClose(s, CloseCode.JOIN_TIMEOUT, 'join timeout');
    }, this.options.joinTimeoutMs);
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
