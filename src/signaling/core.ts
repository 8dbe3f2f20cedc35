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
import { DEFAULT_CORE_OPTIONS, type SignalingCoreOptions, type SignalingServerEvents, type SignalingStats } from './core-types.js';
import { checkCoreOptions, checkTokenIssuer } from './core-options.js';
import { checkBool, checkNow, checkString, invalid } from '../util/validate.js';
import { AddressLedger } from './address-ledger.js';
import { JoinHandler } from './core-join.js';
import { Session, newCounters, sees, type Lobby, type Peer } from './core-model.js';
import { CoreOutput } from './core-output.js';
import { DeadlineQueue, type Deadline } from './deadlines.js';
import { LobbyBook } from './lobby-book.js';
import { CloseCode, HOST_PEER_ID, type ClientMessage, type ServerMessage } from './protocol.js';
import type { TokenIssuer } from './tokens.js';
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

/** The lobby state machine: the in-process signaling back end. Create one per server (or bus). */
export class SignalingCore extends EventEmitter<SignalingServerEvents> implements SignalingBackend {
  readonly options: SignalingCoreOptions;
  private readonly timers = new DeadlineQueue();
  private wakeListener: ((at: number) => void) | undefined;
  /** The latest `now` given to `poll` (deadlines armed while polling count from it). */
  private polledAt = -Infinity;
  private readonly book: LobbyBook;
  private readonly sessions = new Set<Session>();
  private shuttingDown = false;
  private readonly stats = newCounters();
  private readonly out: CoreOutput;
  private readonly joins: JoinHandler;
  /** What each client address holds (detached peers, lobbies) and its lobby creation rate. */
  private readonly ledger: AddressLedger;

  constructor(
    options: Partial<SignalingCoreOptions>,
    tokens: TokenIssuer,
  ) {
    super();
    checkCoreOptions(options, 'SignalingCore options');
    checkTokenIssuer(tokens, 'SignalingCore tokens');
    this.options = { ...DEFAULT_CORE_OPTIONS, ...options };
    this.options.random ??= DEFAULT_CORE_OPTIONS.random;
    this.options.clock ??= DEFAULT_CORE_OPTIONS.clock;
    // A rate limit given without bytes (an older caller) keeps the default byte limit.
    this.options.rateLimit = { ...this.options.rateLimit, bytes: this.options.rateLimit.bytes ?? DEFAULT_CORE_OPTIONS.rateLimit.bytes };
    this.book = new LobbyBook(this.options.random);
    this.out = new CoreOutput(this, this.options, this.stats, (s, code, reason) => this.sessionClosed(s, code, reason));
    this.ledger = new AddressLedger(this.options.lobbyCreationRate);
    this.joins = new JoinHandler({
      options: this.options,
      tokens,
      book: this.book,
      out: this.out,
      stats: this.stats,
      events: this,
      timers: this.timers,
      after: (ms, fire) => this.after(ms, fire),
      armJoinTimer: (s) => this.armJoinTimer(s),
      isShuttingDown: () => this.shuttingDown,
      creationRefusal: (s) => this.creationRefusal(s),
      lobbyCreated: (s, lobby) => {
        lobby.owner = addressOf(s);
        const now = this.options.clock.now();
        this.ledger.add(lobby.owner, 'lobbies', 1, now);
        this.ledger.created(lobby.owner, now);
      },
      reattach: (peer) => {
        this.release(peer);
        return this.out.queues.take(peer);
      },
    });
  }

  /** Run the timers due at `now` (join, grace, seal, partial-lobby). */
  poll(now: number): void {
    checkNow(now, 'SignalingCore poll() now');
    if (now > this.polledAt) this.polledAt = now;
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

  /** Arm a timer `ms` from now (the injected clock, or the latest poll if that is later). */
  private after(ms: number, fire: () => void): Deadline {
    const d = this.timers.schedule(Math.max(this.options.clock.now(), this.polledAt) + ms, fire);
    if (d.at === this.timers.next()) this.wakeListener?.(d.at);
    return d;
  }

  /** Register a new connection. Returns undefined when shutting down (the transport should close it). */
  open(io: SessionTransport): SignalingSession | undefined {
    if (io === null || typeof io !== 'object' || typeof io.send !== 'function' || typeof io.close !== 'function') invalid('open() io', 'a SessionTransport (an object with send(), close() and remote)', io);
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
    for (const lobby of this.book.values()) {
      peers += lobby.peers.size;
      for (const p of lobby.peers.values()) if (!p.session) detached++;
    }
    return {
      connections: this.sessions.size,
      lobbies: this.book.size,
      peers,
      detachedPeers: detached,
      waitingForHost: this.joins.waitingJoins,
      ...this.stats,
      errors: { ...this.stats.errors },
    };
  }

  /** Peers in their resume grace whose dropped socket came from `address` (it holds them against its limits). */
  detachedOf(address: string): number {
    checkString(address, 'detachedOf() address');
    return this.ledger.detached(address);
  }

  /** Live lobbies created by `address`. */
  lobbiesOf(address: string): number {
    checkString(address, 'lobbiesOf() address');
    return this.ledger.lobbies(address);
  }

  /** Tell every client, close every connection, clear every timer. */
  shutdown(reason: string, reconnect: boolean): void {
    checkString(reason, 'shutdown() reason', 200);
    checkBool(reconnect, 'shutdown() reconnect');
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    const text = JSON.stringify({ type: 'shutdown', reason, reconnect } satisfies ServerMessage);
    this.timers.clear();
    this.joins.clear();
    for (const lobby of this.book.values()) {
      lobby.sealTimer = lobby.partialTimer = undefined;
      for (const p of lobby.peers.values()) p.graceTimer = undefined;
    }
    this.book.clear();
    this.ledger.clear();
    this.stats.queuedBytes = 0;
    for (const s of [...this.sessions]) {
      s.joinTimer = undefined;
      s.peer = undefined;
      this.out.safeSend(s, text);
      this.out.safeClose(s, CloseCode.GOING_AWAY, 'server shutting down');
    }
  }

  // ---- inbound ----------------------------------------------------------

  /** @internal Called by a session. */
  receive(session: SignalingSession, data: string, bytes: number, isBinary: boolean): void {
    this.out.receive(session as Session, data, bytes, isBinary, this.handleOne, true);
  }

  private readonly handleOne = (s: Session, m: ClientMessage, text: string): void => this.handle(s, m, text);

  /** Act on one validated client message (`data`: its text as received). */
  private handle(s: Session, m: ClientMessage, data: string): void {
    switch (m.type) {
      case 'join':
        void this.joins.join(s, m);
        return;
      case 'offer':
      case 'answer':
      case 'candidate':
      case 'refuse':
        this.relay(s, m.to, data, m.type);
        return;
      case 'probe':
        this.probe(s, m.to);
        return;
      case 'seal':
        this.seal(s);
        return;
      case 'leave':
        this.joins.cancelWait(s);
        if (s.peer) {
          const peer = s.peer;
          s.peer = undefined;
          this.removePeer(peer, 'left');
          this.armJoinTimer(s);
        }
        return;
    }
  }

  /** @internal Called by a session. */
  sessionClosed(session: SignalingSession, code: number, reason: string): void {
    const s = session as Session;
    if (s.isClosed) return;
    s.isClosed = true;
    this.sessions.delete(s);
    s.joinTimer = this.timers.cancel(s.joinTimer);
    this.joins.cancelWait(s);
    const peer = s.peer;
    s.peer = undefined;
    if (peer && peer.session === s) {
      if (this.shuttingDown || this.options.resumeGraceMs <= 0) {
        this.removePeer(peer, 'disconnected');
      } else if (!this.hold(peer, addressOf(s))) {
        this.stats.addressLimited++;
        this.removePeer(peer, 'disconnected (its address holds too many peers in grace)');
      } else {
        peer.session = undefined;
        peer.graceTimer = this.after(this.options.resumeGraceMs, () => {
          peer.graceTimer = undefined;
          this.removePeer(peer, 'did not resume');
        });
        this.out.announce(peer, 'peer_detached');
        this.emit('peer_detached', peer.lobby.name, peer.id);
      }
    }
    this.emit('disconnection', s.io.remote, code, reason);
  }

  // ---- relay / probe / seal / leave --------------------------------------

  /**
   * The peer `s` addresses as `to` (`ref` names the message, `verb` what it
   * does), or undefined after an error when `s` has not joined or may not
   * address `to`.
   */
  private addressee(s: Session, to: number, ref: string, verb: string): Peer | undefined {
    const peer = s.peer;
    if (!peer) {
      this.out.violation(s, ErrorCode.INVALID_STATE, `cannot send "${ref}" before joining a lobby`, ref);
      return undefined;
    }
    const lobby = peer.lobby;
    const target = lobby.peers.get(to);
    if (!target || to === peer.id || !sees(lobby, peer.id, to)) {
      const msg = `peer ${to} is not a peer you can ${verb} in lobby "${lobby.name}"`;
      // A peer that just left is a normal race; an id never seen (or not visible) is probing.
      if (lobby.usedIds.has(to) && to !== peer.id && sees(lobby, peer.id, to)) this.out.reply(s, ErrorCode.INVALID_PEER, msg, ref);
      else this.out.violation(s, ErrorCode.INVALID_PEER, msg, ref);
      return undefined;
    }
    return target;
  }

  /**
   * Relay a validated `offer`, `answer`, `candidate` or `refuse` frame (`text`, as
   * received) with the sender stamped. The text is not re-serialised: `from`
   * is spliced in front of the client's fields (`to` stays, which lenient
   * receivers ignore; the strict parser already refused any client `from`).
   */
  private relay(s: Session, to: number, text: string, ref: string): void {
    const target = this.addressee(s, to, ref, 'signal');
    if (!target) return;
    this.stats.relayed++;
    // parseClientMessage accepted it as a JSON object; it may still start with whitespace.
    const body = text.charCodeAt(0) === 0x7b ? text.slice(1) : text.slice(text.indexOf('{') + 1);
    this.out.deliver(target, `{"from":${s.peer!.id},${body}`);
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
    (ts.probers ??= new Set()).add(s);
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
    const probers = ts.probers ? [...ts.probers] : [];
    ts.probers = undefined;
    if (!peer || ts.isClosed) return;
    const text = JSON.stringify({ type: 'peer_alive', id: peer.id } satisfies ServerMessage);
    for (const p of probers) if (p.peer?.lobby === peer.lobby) this.out.safeSend(p, text);
  }

  private seal(s: Session): void {
    const peer = s.peer;
    if (!peer) {
      this.out.violation(s, ErrorCode.INVALID_STATE, 'cannot seal before joining a lobby', 'seal');
      return;
    }
    if (peer.id !== HOST_PEER_ID) {
      this.out.reply(s, ErrorCode.UNAUTHORIZED, 'only the lobby host (peer 1) may seal it', 'seal');
      return;
    }
    const lobby = peer.lobby;
    if (lobby.sealed) return;
    lobby.sealed = true;
    const text = JSON.stringify({ type: 'sealed' } satisfies ServerMessage);
    for (const p of lobby.peers.values()) this.out.deliver(p, text);
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
    this.release(peer);
    this.out.queues.clear(peer);
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
    this.out.announce(peer, 'peer_left');
  }

  private closeLobby(lobby: Lobby, reason: string): void {
    if (!this.book.remove(lobby)) return;
    lobby.sealTimer = this.timers.cancel(lobby.sealTimer);
    lobby.partialTimer = this.timers.cancel(lobby.partialTimer);
    const text = JSON.stringify({ type: 'lobby_closed', reason } satisfies ServerMessage);
    if (lobby.owner !== undefined) this.ledger.add(lobby.owner, 'lobbies', -1, this.options.clock.now());
    lobby.owner = undefined;
    for (const p of lobby.peers.values()) {
      p.graceTimer = this.timers.cancel(p.graceTimer);
      this.release(p);
      this.out.queues.clear(p);
      const s = p.session;
      p.session = undefined;
      if (s) {
        s.peer = undefined;
        this.out.safeSend(s, text);
        this.out.safeClose(s, CloseCode.NORMAL, `lobby closed: ${reason}`);
      }
    }
    lobby.peers.clear();
    this.emit('lobby_closed', lobby.name, reason);
  }

  // ---- per-address holdings ------------------------------------------------

  /** Why `s` may not create a lobby now: its address holds too many, or creates too fast. */
  private creationRefusal(s: Session): { code: ErrorCode; message: string } | undefined {
    const address = addressOf(s);
    const max = this.options.maxLobbiesPerAddress;
    if (max > 0 && this.ledger.lobbies(address) >= max) {
      this.stats.addressLimited++;
      return { code: ErrorCode.SERVER_FULL, message: `your address already created ${max} lobbies that are still open; join one or try later` };
    }
    if (!this.ledger.mayCreate(address, this.options.clock.now())) {
      this.stats.addressLimited++;
      const { count, windowMs } = this.options.lobbyCreationRate;
      return { code: ErrorCode.RATE_LIMITED, message: `your address created ${count} lobbies in ${windowMs} ms; try again shortly` };
    }
    return undefined;
  }

  /** Count the detached `peer` against `address`; false when the address holds its maximum already. */
  private hold(peer: Peer, address: string): boolean {
    const max = this.options.maxDetachedPerAddress;
    if (max > 0 && this.ledger.detached(address) >= max) return false;
    this.ledger.add(address, 'detached', 1, this.options.clock.now());
    peer.heldBy = address;
    return true;
  }

  /** `peer` is no longer detached (resumed, left): its address no longer holds it. */
  private release(peer: Peer): void {
    if (peer.heldBy === undefined) return;
    this.ledger.add(peer.heldBy, 'detached', -1, this.options.clock.now());
    peer.heldBy = undefined;
  }

  private armJoinTimer(s: Session): void {
    s.joinTimer = this.timers.cancel(s.joinTimer);
    if (this.options.joinTimeoutMs <= 0) return;
    s.joinTimer = this.after(this.options.joinTimeoutMs, () => {
      s.joinTimer = undefined;
      if (s.peer || s.isClosed) return;
      this.stats.joinTimeouts++;
      this.out.reply(s, ErrorCode.TIMEOUT, `no join within ${this.options.joinTimeoutMs} ms`);
      this.out.safeClose(s, CloseCode.JOIN_TIMEOUT, 'join timeout');
    });
  }
}

/** The address a session's limits are counted against. */
function addressOf(s: Session): string {
  return s.io.address ?? s.io.remote;
}
