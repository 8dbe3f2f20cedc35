/**
 * WebRTCPeerConnection: one connection to a remote peer, in the shape of
 * Godot's class of the same name, over any {@link Engine}.
 * @module
 */
import { EventEmitter } from 'eventemitter3';
import { ErrorCode, RtcmeshError, describeError } from '../errors.js';
import type { Engine, EngineCandidatePair, EngineConnection, SdpType } from '../transport/engine.js';
import { checkInt, checkOneOf, checkString } from '../util/validate.js';
import { WebRTCDataChannel } from './data-channel.js';
import { Dispatcher } from './dispatcher.js';
import {
  CONNECTION_STATES,
  ChannelState,
  ConnectionState,
  GATHERING_STATES,
  GatheringState,
  SIGNALING_STATES,
  SignalingState,
  enumName,
} from './enums.js';
import { Negotiation } from './negotiation.js';
import type { PeerConnectionEvents, PeerConnectionStats } from './peer-connection-types.js';
import {
  resolveChannelOptions,
  resolveConfig,
  resolveConnectionOptions,
  type DataChannelOptions,
  type PeerConnectionConfig,
  type PeerConnectionOptions,
} from './options.js';
import type { QueueLimits } from './packet-queue.js';

export type { PeerConnectionOptions } from './options.js';
export type { PeerConnectionEvents, PeerConnectionStats } from './peer-connection-types.js';

const CANDIDATE = /^(?:a=)?candidate:\S+ \d+ (?:udp|tcp) \d+ \S+ \d+ typ (?:host|srflx|prflx|relay)(?: .*)?$/i;

/**
 * A WebRTC peer connection. Construction initialises it (state NEW); call
 * `initialize()` again to start over with a fresh connection.
 *
 * Flow: create channels → `createOffer()` (or `setRemoteDescription('offer', …)`
 * on the answering side) → forward `session_description_created` and
 * `ice_candidate_created` through signaling → `poll()` every tick.
 *
 * `setLocalDescription`, `setRemoteDescription` and `addIceCandidate` are
 * bound to their connection, like a Godot Callable: they can be passed as
 * listeners directly, `a.on('ice_candidate_created', b.addIceCandidate)`.
 */
export class WebRTCPeerConnection extends EventEmitter<PeerConnectionEvents> {
  private readonly engineImpl: Engine;
  private readonly dispatcher: Dispatcher;
  private conn: EngineConnection | undefined;
  private generation = 0;
  private queueLimits!: QueueLimits;
  private channels: WebRTCDataChannel[] = [];
  private connectionState: ConnectionState = ConnectionState.CLOSED;
  private gatheringState: GatheringState = GatheringState.NEW;
  private signalingState: SignalingState = SignalingState.CLOSED;
  private negotiation = new Negotiation();
  private candidateErrors = 0;
  private localCandidates = 0;

  /**
   * @param config connection configuration, as for {@link initialize}.
   * @param options engine and event delivery for this object's lifetime.
   */
  constructor(config: PeerConnectionConfig = {}, options: PeerConnectionOptions = {}) {
    super();
    // Bound, as a Godot Callable is: `p1.on('session_description_created', p2.setRemoteDescription)`
    // (minimal.gd's `p1.session_description_created.connect(p2.set_remote_description)`)
    // must act on p2, not on the emitter the listener is called with.
    this.setLocalDescription = this.setLocalDescription.bind(this);
    this.setRemoteDescription = this.setRemoteDescription.bind(this);
    this.addIceCandidate = this.addIceCandidate.bind(this);
    const opts = resolveConnectionOptions(options);
    this.engineImpl = opts.engine;
    this.dispatcher = new Dispatcher(opts.autoPoll);
    this.initialize(config);
  }

  /** Whether events are delivered as they happen rather than on `poll()`. */
  get autoPoll(): boolean {
    return this.dispatcher.autoPoll;
  }

  /**
   * Build a fresh connection, closing any previous one and its channels.
   * State returns to NEW.
   * @throws RtcmeshError INVALID_ARGUMENT / UNKNOWN_OPTION for a bad config,
   *   ENGINE_ERROR when the engine refuses it.
   */
  initialize(config: PeerConnectionConfig = {}): void {
    const resolved = resolveConfig(config);
    this.close();
    this.dispatcher.clear();
    this.channels = [];
    const gen = ++this.generation;
    const live = (fn: () => void) => {
      if (gen === this.generation) fn();
    };
    try {
      this.conn = this.engineImpl.createConnection(resolved.engine, {
        localDescription: (type, sdp) =>
          live(() => {
            this.negotiation.emitted[type] = sdp;
            this.setSignalingState(type === 'offer' ? SignalingState.HAVE_LOCAL_OFFER : SignalingState.STABLE);
            this.dispatcher.post(() => this.emit('session_description_created', type, sdp));
          }),
        localCandidate: (mid, index, candidate) =>
          live(() => {
            this.localCandidates++;
            if (!this.negotiation.hold({ mid, index, candidate })) this.postCandidate(mid, index, candidate);
          }),
        stateChange: (state) => live(() => this.setConnectionState(CONNECTION_STATES[state] ?? ConnectionState.FAILED)),
        gatheringStateChange: (state) =>
          live(() => {
            const next = GATHERING_STATES[state] ?? GatheringState.NEW;
            if (next === this.gatheringState) return;
            this.gatheringState = next;
            this.dispatcher.post(() => this.emit('gathering_state_changed', next));
            if (next === GatheringState.COMPLETE && this.localCandidates === 0) {
              this.reportRemoteError(
                ErrorCode.NO_CANDIDATES,
                'ICE gathering finished without any local candidate: check the iceServers (TURN username/credential, reachability) and iceTransportPolicy',
              );
            }
          }),
        // Offer/answer states are tracked here, in call order (engines report them late and out of order).
        signalingStateChange: (state) => live(() => state.includes('pranswer') && this.setSignalingState(SIGNALING_STATES[state])),
        remoteError: (kind, message) =>
          live(() => {
            if (kind === 'candidate') this.candidateErrors++;
            this.reportRemoteError(
              kind === 'description' ? ErrorCode.INVALID_SDP : ErrorCode.INVALID_CANDIDATE,
              `remote ${kind} rejected by the ${this.engineImpl.name} engine: ${message}`,
            );
          }),
        dataChannel: (engineChannel) =>
          live(() => {
            const channel = new WebRTCDataChannel(engineChannel, this.dispatcher, this.queueLimits);
            this.channels.push(channel);
            this.dispatcher.post(() => this.emit('data_channel_received', channel));
          }),
      });
    } catch (err) {
      if (err instanceof RtcmeshError) throw err; // a typed refusal keeps its code (e.g. CLOSED: the virtual network is closed)
      throw new RtcmeshError(ErrorCode.ENGINE_ERROR, `the ${this.engineImpl.name} engine refused the configuration: ${describeError(err)}`, {
        cause: err,
      });
    }
    this.queueLimits = resolved.queueLimits;
    this.connectionState = ConnectionState.NEW;
    this.gatheringState = GatheringState.NEW;
    this.signalingState = SignalingState.STABLE;
    this.negotiation = new Negotiation();
    this.candidateErrors = 0;
    this.localCandidates = 0;
  }

  private postCandidate(mid: string, index: number, candidate: string): void {
    this.dispatcher.post(() => this.emit('ice_candidate_created', mid, index, candidate));
  }

  private setConnectionState(next: ConnectionState): void {
    if (next === this.connectionState || this.connectionState === ConnectionState.CLOSED) return;
    this.connectionState = next;
    this.dispatcher.post(() => this.emit('connection_state_changed', next));
    if (next === ConnectionState.CLOSED) this.releaseEngine();
  }

  private setSignalingState(next: SignalingState): void {
    if (next === this.signalingState) return;
    this.signalingState = next;
    this.dispatcher.post(() => this.emit('signaling_state_changed', next));
  }

  private releaseEngine(): void {
    const conn = this.conn;
    this.conn = undefined;
    this.signalingState = SignalingState.CLOSED;
    try {
      conn?.close();
    } catch {
      // The engine is gone either way; nothing the user can do about it.
    }
    for (const ch of this.channels) ch.markClosed();
  }

  private requireConnection(what: string): EngineConnection {
    if (!this.conn || this.connectionState === ConnectionState.CLOSED) {
      throw new RtcmeshError(ErrorCode.INVALID_STATE, `${what}: the connection is closed; call initialize() to start a new one`);
    }
    return this.conn;
  }

  private reportRemoteError(code: ErrorCode, message: string, cause?: unknown): false {
    const err = new RtcmeshError(code, message, { cause });
    this.dispatcher.post(() => this.emit('error', err));
    return false;
  }

  /**
   * Create a data channel. Only in state NEW, before the offer or answer.
   * @throws RtcmeshError INVALID_STATE after negotiation started,
   *   INVALID_ARGUMENT / UNKNOWN_OPTION naming the option that is wrong.
   */
  createDataChannel(label: string, options: DataChannelOptions = {}): WebRTCDataChannel {
    const init = resolveChannelOptions(label, options);
    const conn = this.requireConnection('createDataChannel()');
    if (this.connectionState !== ConnectionState.NEW || this.negotiation.started) {
      throw new RtcmeshError(
        ErrorCode.INVALID_STATE,
        `createDataChannel() is only allowed in state NEW before createOffer()/setRemoteDescription(); the connection is ${enumName(ConnectionState, this.connectionState)}${this.negotiation.started ? ' and negotiation has started' : ''}`,
      );
    }
    if (init.negotiated && this.channels.some((c) => c.isNegotiated() && c.getId() === init.id)) {
      throw new RtcmeshError(ErrorCode.INVALID_ARGUMENT, `a negotiated channel with id ${init.id} already exists on this connection; pick another id`);
    }
    let engineChannel;
    try {
      engineChannel = conn.createDataChannel(init);
    } catch (err) {
      throw new RtcmeshError(ErrorCode.ENGINE_ERROR, `the engine refused channel "${init.label}": ${describeError(err)}`, { cause: err });
    }
    const channel = new WebRTCDataChannel(engineChannel, this.dispatcher, this.queueLimits);
    this.channels.push(channel);
    return channel;
  }

  /**
   * @internal Close a channel this connection created and forget it, so it
   * leaves {@link getDataChannels} and its negotiated id can be used again.
   * Only for rolling back channels made before negotiation (a failed
   * `WebRTCMultiplayerPeer.addPeer`); a channel it does not know is ignored.
   */
  discardDataChannel(channel: WebRTCDataChannel): void {
    const i = this.channels.indexOf(channel);
    if (i < 0) return;
    this.channels.splice(i, 1);
    channel.close();
    channel.markClosed();
  }

  /**
   * Start negotiation as the offerer. The offer arrives with
   * `session_description_created('offer', sdp)`.
   * @throws RtcmeshError INVALID_STATE unless in NEW with at least one channel.
   */
  createOffer(): void {
    const conn = this.requireConnection('createOffer()');
    if (this.connectionState !== ConnectionState.NEW || this.negotiation.started) {
      throw new RtcmeshError(ErrorCode.INVALID_STATE, 'createOffer() needs a NEW connection that has not started negotiating; call initialize() to start over');
    }
    if (this.channels.length === 0) {
      throw new RtcmeshError(ErrorCode.INVALID_STATE, 'createOffer() needs at least one data channel; call createDataChannel() first');
    }
    // The offerer's candidates are held until the answer is applied (see Negotiation.offering()).
    this.negotiation.offering();
    try {
      conn.createOffer();
    } catch (err) {
      this.negotiation.offerFailed();
      throw new RtcmeshError(ErrorCode.ENGINE_ERROR, `createOffer() failed: ${describeError(err)}`, { cause: err });
    }
  }

  /**
   * Apply the remote peer's description. An offer is answered automatically
   * (`session_description_created('answer', …)`).
   *
   * The SDP comes from the remote side: when it is malformed or does not fit
   * the current state, this returns false and emits `error` (code INVALID_SDP)
   * with the connection left as it was. Only a wrong argument type throws.
   */
  setRemoteDescription(type: SdpType, sdp: string): boolean {
    checkOneOf(type, ['offer', 'answer'] as const, 'setRemoteDescription() type');
    checkString(sdp, 'setRemoteDescription() sdp');
    const conn = this.requireConnection('setRemoteDescription()');
    if (!/^v=0\r?\n/.test(sdp)) {
      return this.reportRemoteError(ErrorCode.INVALID_SDP, `remote ${type} is not an SDP session description (it must start with "v=0")`);
    }
    if (type === 'answer' && !this.negotiation.awaitingAnswer) {
      return this.reportRemoteError(ErrorCode.INVALID_SDP, 'a remote answer arrived but this connection has no offer waiting for one; answers only fit after createOffer()');
    }
    if (type === 'offer' && this.negotiation.started) {
      return this.reportRemoteError(ErrorCode.INVALID_SDP, 'a remote offer arrived but this connection already negotiated (or made its own offer); start over with initialize()');
    }
    try {
      conn.setRemoteDescription(type, sdp);
    } catch (err) {
      return this.reportRemoteError(ErrorCode.INVALID_SDP, `remote ${type} rejected: ${describeError(err)}`, err);
    }
    this.negotiation.started = true;
    this.negotiation.remoteDescriptionSet = true;
    if (type === 'answer' || this.negotiation.emitted.answer === undefined) {
      this.setSignalingState(type === 'offer' ? SignalingState.HAVE_REMOTE_OFFER : SignalingState.STABLE);
    }
    // Read this.negotiation afresh: an autoPoll listener may have called initialize() meanwhile.
    if (type === 'answer') {
      for (const c of this.negotiation.answered()) this.postCandidate(c.mid, c.index, c.candidate);
    }
    for (const { mid, candidate } of this.negotiation.takePendingCandidates()) this.applyCandidate(conn, mid, candidate);
    return true;
  }

  /**
   * Confirm the local description. The engine has applied it already; this
   * checks that it is the one emitted by `session_description_created`.
   * @throws RtcmeshError INVALID_ARGUMENT when it is not.
   */
  setLocalDescription(type: SdpType, sdp: string): void {
    checkOneOf(type, ['offer', 'answer'] as const, 'setLocalDescription() type');
    checkString(sdp, 'setLocalDescription() sdp');
    this.requireConnection('setLocalDescription()');
    if (this.negotiation.emitted[type] !== sdp) {
      throw new RtcmeshError(
        ErrorCode.INVALID_ARGUMENT,
        `setLocalDescription(): this ${type} is not the one this connection emitted with session_description_created; pass that one unchanged`,
      );
    }
  }

  /**
   * Add a remote ICE candidate. Candidates that arrive before the remote
   * description are held and applied after it. A malformed candidate (it comes
   * from the remote side) returns false and emits `error` (INVALID_CANDIDATE);
   * an empty candidate (end of candidates) is accepted and ignored.
   */
  addIceCandidate(mid: string, index: number, candidate: string): boolean {
    checkString(mid, 'addIceCandidate() mid', 256);
    checkInt(index, 0, 65535, 'addIceCandidate() index');
    checkString(candidate, 'addIceCandidate() candidate', 4096);
    const conn = this.requireConnection('addIceCandidate()');
    if (candidate === '') return true;
    if (!CANDIDATE.test(candidate)) {
      this.candidateErrors++;
      return this.reportRemoteError(ErrorCode.INVALID_CANDIDATE, `remote ICE candidate is malformed: ${JSON.stringify(candidate.slice(0, 120))}`);
    }
    if (!this.negotiation.remoteDescriptionSet) {
      this.negotiation.pendingCandidates.push({ mid, candidate });
      return true;
    }
    return this.applyCandidate(conn, mid, candidate);
  }

  private applyCandidate(conn: EngineConnection, mid: string, candidate: string): boolean {
    try {
      conn.addRemoteCandidate(mid, candidate.startsWith('a=') ? candidate.slice(2) : candidate);
      return true;
    } catch (err) {
      this.candidateErrors++;
      return this.reportRemoteError(ErrorCode.INVALID_CANDIDATE, `remote ICE candidate rejected: ${describeError(err)}`, err);
    }
  }

  /** Deliver queued events (and packets to `packet` listeners). Cheap when idle. */
  poll(): void {
    this.dispatcher.drain();
    for (const ch of this.channels) ch.poll();
  }

  /**
   * Whether events (state changes, descriptions, candidates, channel events)
   * wait for the next {@link poll}. Cheap; a sans-IO owner uses it to say its
   * next deadline is now. Always false with `autoPoll`.
   */
  hasPendingEvents(): boolean {
    return this.dispatcher.pending;
  }

  /** Close the connection and every channel; reusable after `initialize()`. */
  close(): void {
    if (!this.conn) return;
    const wasClosed = this.connectionState === ConnectionState.CLOSED;
    this.connectionState = ConnectionState.CLOSED;
    this.releaseEngine();
    this.negotiation.pendingCandidates = [];
    if (!wasClosed) this.dispatcher.post(() => this.emit('connection_state_changed', ConnectionState.CLOSED));
  }

  getConnectionState(): ConnectionState {
    return this.connectionState;
  }

  /**
   * @internal The engine connection underneath (undefined once released).
   * For tests and benchmarks that break a link below this object, so that the
   * layers above learn of it only from the engine's own events.
   */
  get engineConnection(): EngineConnection | undefined {
    return this.conn;
  }

  getGatheringState(): GatheringState {
    return this.conn ? this.gatheringState : GatheringState.NEW;
  }

  getSignalingState(): SignalingState {
    return this.conn ? this.signalingState : SignalingState.CLOSED;
  }

  /** Every channel of this connection, created or received, open or not. */
  getDataChannels(): readonly WebRTCDataChannel[] {
    return this.channels;
  }

  /** Negotiated maximum message size in bytes (0 before negotiation). */
  getMaxMessageSize(): number {
    try {
      return this.conn?.maxMessageSize() ?? 0;
    } catch {
      return 0;
    }
  }

  /** RTT, traffic, selected candidate pair and per-channel counters. */
  getStats(): PeerConnectionStats {
    let engineStats = { rttMs: -1, bytesSent: 0, bytesReceived: 0, selectedCandidatePair: null as EngineCandidatePair | null };
    try {
      if (this.conn) engineStats = this.conn.stats();
    } catch {
      // keep defaults: a closing engine has no stats
    }
    return {
      connectionState: this.connectionState,
      gatheringState: this.getGatheringState(),
      signalingState: this.getSignalingState(),
      ...engineStats,
      candidateErrors: this.candidateErrors,
      channels: this.channels.map((c) => c.getStats()),
    };
  }

  /** Channels that are open right now. */
  getOpenChannelCount(): number {
    return this.channels.filter((c) => c.getReadyState() === ChannelState.OPEN).length;
  }
}
