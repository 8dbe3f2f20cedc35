/**
 * The signaling client: join a lobby, learn the peers, exchange descriptions
 * and candidates, and survive signaling blips by resuming with the same id.
 * {@link BaseSignalingClient} holds the logic; subclasses provide the link
 * (a WebSocket, or the in-memory bus).
 *
 * Sans-IO: the client arms no timer. Its join timeout and reconnect backoff
 * are deadlines on the injected clock, run by `poll(now)` at `nextDeadline()`;
 * a driver (the WebSocket client's own timer, or the memory bus) polls it.
 * Reconnect jitter comes from the injected random source.
 * @module
 */
import { EventEmitter } from 'eventemitter3';
import { ErrorCode, RtcmeshError } from '../errors.js';
import type { Clock } from '../util/clock.js';
import { checkInt, checkNow, checkOneOf, checkString, invalid } from '../util/validate.js';
import type {
  BaseSignalingClientOptions,
  JoinOptions,
  JoinResult,
  SignalingClient,
  SignalingClientEvents,
  SignalingLink,
  SignalingLinkHandlers,
} from './client-types.js';
import {
  CloseCode,
  HOST_PEER_ID,
  MAX_CANDIDATE_LENGTH,
  MAX_MID_LENGTH,
  MAX_SDP_LENGTH,
  MAX_SIGNALING_PEER_ID,
  PROBE_PROTOCOL_VERSION,
  REFUSAL_CODES,
  REFUSE_PROTOCOL_VERSION,
  toErrorCode,
  type LobbyMode,
  type RefusalCode,
  type ServerMessage,
} from './protocol.js';
import { checkJoinOptions, joinMessage, joinResult, type PendingJoin } from './client-join.js';
import { ClientLink } from './client-link.js';
import { Membership } from './client-membership.js';
import { clientSettings } from './client-options.js';
import { ClientOutbox } from './client-outbox.js';
import { parseServerFrame } from './batch.js';
import type { Schedulable } from './transport.js';
import { ReconnectSchedule } from './reconnect-schedule.js';

export type {
  BaseSignalingClientOptions,
  JoinOptions,
  JoinResult,
  ReconnectOptions,
  SignalingClient,
  SignalingClientEvents,
  SignalingIceServer,
  SignalingLink,
  SignalingLinkHandlers,
} from './client-types.js';

/** Client logic over an abstract link. */
export abstract class BaseSignalingClient extends EventEmitter<SignalingClientEvents> implements SignalingClient, Schedulable {
  private readonly link: ClientLink;
  private member: Membership | undefined;
  private pending: PendingJoin | undefined;
  private resuming = false;
  private readonly reconnect: ReconnectSchedule;
  private readonly outbox: ClientOutbox;
  private isClosed = false;
  private unknownCount = 0;
  /** Protocol version the server announced in its last `joined`. */
  private serverVersion = 0;
  private readonly joinTimeoutMs: number;
  /** The injected clock (the driver's). */
  protected readonly clock: Clock;
  private wakeListener: ((at: number) => void) | undefined;
  /** The latest `now` given to `poll` (deadlines armed while polling count from it). */
  private polledAt = -Infinity;

  protected constructor(options: BaseSignalingClientOptions, what: string) {
    super();
    const settings = clientSettings(options, what);
    this.joinTimeoutMs = settings.joinTimeoutMs;
    this.outbox = new ClientOutbox(settings.outboxLimit);
    this.clock = settings.clock;
    this.reconnect = new ReconnectSchedule(settings.reconnect, settings.random);
    this.link = new ClientLink({
      open: (handlers, signal) => this.openLink(handlers, signal),
      message: (text, gen) => this.onMessage(text, gen),
      invalid: (reason) => this.emit('error', new RtcmeshError(ErrorCode.MALFORMED_DATA, `signaling server sent ${reason}`)),
      closed: (code, reason) => this.onLinkClosed(code, reason),
      isClosed: () => this.isClosed,
    });
  }

  /** Run what is due at `now`: a join that timed out, a reconnect attempt. */
  poll(now: number): void {
    checkNow(now, 'poll() now');
    if (now > this.polledAt) this.polledAt = now;
    if (this.pending && now >= this.pending.deadline) {
      this.failPending(new RtcmeshError(ErrorCode.TIMEOUT, `join was not answered within ${this.joinTimeoutMs} ms; check the server URL and that it is running`));
    }
    if (this.reconnect.due(now)) this.attemptReconnect();
  }

  /** The join timeout or the next reconnect attempt, whichever is sooner; `Infinity` when idle. */
  nextDeadline(): number {
    return Math.min(this.pending?.deadline ?? Infinity, this.reconnect.at);
  }

  /** `listener(at)` is called with the new `nextDeadline()` whenever it changes. */
  setWakeListener(listener: ((at: number) => void) | undefined): void {
    if (listener !== undefined && typeof listener !== 'function') invalid('setWakeListener() listener', 'a function or undefined', listener);
    this.wakeListener = listener;
  }

  /** Current time: the injected clock, or the latest poll if that is later. */
  private now(): number {
    return Math.max(this.clock.now(), this.polledAt);
  }

  /** Deadlines changed: tell the driver. */
  private rescheduled(): void {
    this.wakeListener?.(this.nextDeadline());
  }

  /**
   * Open a new link; reject when the server cannot be reached. When `signal`
   * aborts before the link is open, release everything and reject.
   */
  protected abstract openLink(handlers: SignalingLinkHandlers, signal: AbortSignal): Promise<SignalingLink>;

  get id(): number | undefined {
    return this.member?.id;
  }

  get lobby(): string | undefined {
    return this.member?.lobby;
  }

  /** The lobby's mode while in a lobby. */
  get mode(): LobbyMode | undefined {
    return this.member?.mode;
  }

  /** True once closed for good. */
  get closed(): boolean {
    return this.isClosed;
  }

  join(options?: JoinOptions): Promise<JoinResult> {
    let o: Partial<JoinOptions>;
    try {
      o = this.checkJoin(options);
    } catch (err) {
      return Promise.reject(err as Error);
    }
    return new Promise<JoinResult>((resolve, reject) => {
      this.pending = { auth: o.auth, resolve, reject, deadline: this.now() + this.joinTimeoutMs + (o.waitForHostMs ?? 0) };
      this.rescheduled();
      const msg = joinMessage(o);
      this.link.ensure().then(
        (link) => {
          if (this.pending && this.link.current === link) link.send(JSON.stringify(msg));
        },
        (err: unknown) => {
          this.failPending(
            err instanceof RtcmeshError ? err : new RtcmeshError(ErrorCode.CLOSED, `could not connect to the signaling server: ${String(err)}`),
          );
        },
      );
    });
  }

  /** Validate join options and state; throws RtcmeshError. */
  private checkJoin(options: JoinOptions | undefined): Partial<JoinOptions> {
    const o = checkJoinOptions(options);
    this.assertOpen();
    if (this.member || this.pending) {
      throw new RtcmeshError(ErrorCode.INVALID_STATE, `already in lobby "${this.member?.lobby ?? '(joining)'}"; call leave() before joining another`);
    }
    return o;
  }

  sendDescription(to: number, type: 'offer' | 'answer', sdp: string): void {
    checkInt(to, HOST_PEER_ID, MAX_SIGNALING_PEER_ID, 'sendDescription to');
    checkOneOf(type, ['offer', 'answer'] as const, 'sendDescription type');
    checkString(sdp, 'sendDescription sdp', MAX_SDP_LENGTH);
    this.assertMember('sendDescription');
    this.post(JSON.stringify({ type, to, sdp }));
  }

  sendCandidate(to: number, mid: string, index: number, candidate: string): void {
    checkInt(to, HOST_PEER_ID, MAX_SIGNALING_PEER_ID, 'sendCandidate to');
    checkString(mid, 'sendCandidate mid', MAX_MID_LENGTH);
    checkInt(index, 0, 65535, 'sendCandidate index');
    checkString(candidate, 'sendCandidate candidate', MAX_CANDIDATE_LENGTH);
    this.assertMember('sendCandidate');
    this.post(JSON.stringify({ type: 'candidate', to, mid, index, candidate }));
  }

  probe(to: number): boolean {
    checkInt(to, HOST_PEER_ID, MAX_SIGNALING_PEER_ID, 'probe to');
    const link = this.link.current;
    if (this.isClosed || !this.member || !link || this.resuming || this.serverVersion < PROBE_PROTOCOL_VERSION) return false;
    link.send(JSON.stringify({ type: 'probe', to }));
    return true;
  }

  refuse(to: number, code: RefusalCode = 'UNAUTHORIZED'): boolean {
    checkInt(to, HOST_PEER_ID, MAX_SIGNALING_PEER_ID, 'refuse to');
    checkOneOf(code, REFUSAL_CODES, 'refuse code');
    if (this.isClosed || !this.member || this.serverVersion < REFUSE_PROTOCOL_VERSION) return false;
    this.post(JSON.stringify({ type: 'refuse', to, code }));
    return true;
  }

  seal(): void {
    const m = this.assertMember('seal');
    if (m.id !== HOST_PEER_ID) throw new RtcmeshError(ErrorCode.INVALID_STATE, `only the lobby host (peer 1) may seal; this peer is ${m.id}`);
    this.post(JSON.stringify({ type: 'seal' }));
  }

  leave(): void {
    if (this.isClosed) return;
    if (this.pending) {
      this.failPending(new RtcmeshError(ErrorCode.INVALID_STATE, 'leave() was called while joining'));
      this.link.drop(CloseCode.NORMAL, 'left while joining');
      return;
    }
    if (!this.member) return;
    this.member = undefined;
    this.outbox.clear();
    if (this.link.current && !this.resuming) {
      this.link.current.send(JSON.stringify({ type: 'leave' }));
    } else {
      this.link.drop(CloseCode.NORMAL, 'left');
    }
    this.cancelReconnect();
    this.resuming = false;
  }

  close(): void {
    this.finish('closed by user');
  }

  // ---- internals --------------------------------------------------------

  private assertOpen(): void {
    if (this.isClosed) throw new RtcmeshError(ErrorCode.CLOSED, 'the signaling client is closed; create a new one');
  }

  private assertMember(what: string): Membership {
    this.assertOpen();
    if (!this.member) throw new RtcmeshError(ErrorCode.INVALID_STATE, `${what}: join a lobby first`);
    return this.member;
  }

  /** Send now, or queue while the link is down or resuming. */
  private post(text: string): void {
    if (this.link.current && !this.resuming) this.link.current.send(text);
    else this.outbox.push(text);
  }

  private failPending(err: RtcmeshError): void {
    const p = this.pending;
    if (!p) return;
    this.pending = undefined;
    this.rescheduled();
    p.reject(err);
  }

  /** Server messages of a type this client does not know (a newer server), ignored. */
  get unknownMessages(): number {
    return this.unknownCount;
  }

  /** A frame: one message, or several in an array frame (protocol 4), handled in order while its link is current. */
  private onMessage(text: string, gen: number): void {
    for (const parsed of parseServerFrame(text)) {
      if (!this.link.isCurrent(gen)) return;
      if (!parsed.ok && parsed.unknown) this.unknownCount++;
      else if (!parsed.ok) this.emit('error', new RtcmeshError(parsed.code, parsed.error));
      else this.handle(parsed.message);
    }
  }

  private handle(m: ServerMessage): void {
    switch (m.type) {
      case 'joined': {
        this.serverVersion = typeof m.version === 'number' ? m.version : 0;
        if (this.resuming && this.member) {
          const member = this.member;
          this.resuming = false;
          this.reconnect.succeeded();
          member.token = m.token;
          if (m.iceServers) this.emit('ice_servers', m.iceServers.map((x) => ({ ...x })));
          for (const text of this.outbox.take()) this.link.current?.send(text);
          this.emit('resumed');
          // Peers that left while we were away (their peer_left may have been lost) and peers that arrived.
          this.reconcile(m.peers, m.complete === true);
          return;
        }
        const p = this.pending;
        if (!p) return;
        this.pending = undefined;
        this.rescheduled();
        this.member = new Membership(m.lobby, m.id, m.mode, m.token, p.auth, m.peers);
        p.resolve(joinResult(m));
        return;
      }
      case 'ice_servers':
        if (this.member) this.emit('ice_servers', m.iceServers.map((x) => ({ ...x })));
        return;
      case 'peer_joined':
        if (this.member?.admit(m.id)) this.emit('peer_joined', m.id);
        return;
      case 'peer_left':
        // Once per peer: a resume may already have reported it (see reconcile).
        if (this.member?.forget(m.id)) this.emit('peer_left', m.id);
        return;
      case 'peers':
        if (this.member && !this.resuming) this.reconcile(m.ids, true);
        return;
      case 'peer_attached':
        if (!this.member?.known.has(m.id)) return;
        this.emit('peer_attached', m.id);
        if (m.restarted === true && this.member?.known.has(m.id)) this.emit('peer_restarted', m.id);
        return;
      case 'peer_detached':
      case 'peer_alive':
        if (this.member?.known.has(m.id)) this.emit(m.type, m.id);
        return;
      case 'offer':
      case 'answer':
        if (this.member) this.emit('description', m.from, m.type, m.sdp);
        return;
      case 'candidate':
        if (this.member) this.emit('candidate', m.from, m.mid, m.index, m.candidate);
        return;
      case 'refuse':
        if (this.member) this.emit('refused', m.from, m.code !== undefined && REFUSAL_CODES.includes(m.code) ? m.code : 'UNAUTHORIZED');
        return;
      case 'sealed':
        if (this.member) this.emit('sealed');
        return;
      case 'lobby_closed':
        this.finish(`lobby closed: ${m.reason}`);
        return;
      case 'shutdown':
        if (!m.reconnect) this.finish(`server shut down: ${m.reason}`);
        return;
      case 'error': {
        if (m.ref === 'refuse') return; // the refused peer left meanwhile: nobody to tell (see refuse())
        const err = new RtcmeshError(toErrorCode(m.code), `signaling server: ${m.message}`);
        if (m.ref === 'join' && this.pending && !this.resuming) {
          this.failPending(err);
          return;
        }
        if (m.ref === 'join' && this.resuming) {
          this.emit('error', err);
          this.finish(`could not resume: ${m.message}`);
          return;
        }
        this.emit('error', err);
        return;
      }
    }
  }

  /**
   * Bring the known peers in line with a list from the server: `peer_joined`
   * for new ids and, when the list is `complete` (the server knows every
   * member), `peer_left` for known ids missing from it.
   */
  private reconcile(peers: number[], complete: boolean): void {
    const member = this.member;
    if (!member) return;
    const { gone, fresh } = member.reconcile(peers, complete);
    for (const id of gone) {
      if (this.member !== member) return;
      this.emit('peer_left', id);
    }
    for (const id of fresh) {
      if (this.member !== member) return;
      this.emit('peer_joined', id);
    }
  }

  private onLinkClosed(code: number, reason: string): void {
    if (this.isClosed) return;
    if (this.pending && !this.resuming) {
      this.failPending(new RtcmeshError(ErrorCode.CLOSED, `signaling connection closed before the join completed (${code} ${reason})`));
    }
    if (!this.member) return;
    const final = code === CloseCode.POLICY || code === CloseCode.REPLACED || code === CloseCode.TOO_BIG;
    if (final || this.reconnect.disabled) {
      this.finish(`signaling connection closed (${code}${reason ? ` ${reason}` : ''})`);
      return;
    }
    this.resuming = true;
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.isClosed || !this.member) return;
    const attempt = this.reconnect.next(this.now());
    if (attempt === 0) {
      this.finish(`gave up reconnecting after ${this.reconnect.policy.maxAttempts} attempts`);
      return;
    }
    this.rescheduled();
    this.emit('reconnecting', attempt);
  }

  /** The reconnect deadline is due: open a link and resume. */
  private attemptReconnect(): void {
    const member = this.member;
    if (!member || this.isClosed) return;
    this.link.ensure().then(
      (link) => {
        link.send(JSON.stringify(member.resumeMessage()));
      },
      () => {
        if (!this.link.current) this.scheduleReconnect();
      },
    );
  }

  private cancelReconnect(): void {
    if (this.reconnect.cancel()) this.rescheduled();
  }

  /** Close for good, once. */
  private finish(reason: string): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.cancelReconnect();
    this.failPending(new RtcmeshError(ErrorCode.CLOSED, `signaling client closed: ${reason}`));
    this.member = undefined;
    this.outbox.clear();
    this.resuming = false;
    this.link.drop(CloseCode.NORMAL, 'client closed');
    this.emit('closed', reason);
  }
}
