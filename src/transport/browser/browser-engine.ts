/**
 * The engine over the browser's own RTCPeerConnection.
 *
 * How the asynchronous browser API meets the synchronous engine interface:
 * - Every native operation (createOffer, setRemoteDescription, createAnswer,
 *   setLocalDescription, addIceCandidate) runs on one promise chain per
 *   connection, in call order, so a candidate given right after a description
 *   is applied after it.
 * - `setRemoteDescription` checks the SDP synchronously first (a session
 *   description with an application m-section, ICE credentials and a DTLS
 *   fingerprint) and throws what it can see at once. When the browser refuses
 *   the description later, the connection reports
 *   `remoteError('description', …)`; a refused candidate `remoteError('candidate', …)`.
 *   The browser leaves its state as it was in both cases.
 * - A local step that fails (createOffer/createAnswer/setLocalDescription,
 *   which only fails on a broken browser) moves the connection to `failed`.
 * - `stats()` is synchronous but `getStats()` is not: the engine keeps the last
 *   report's RTT and selected pair, refreshes it once a second while connected
 *   and whenever `stats()` is called. Byte counts are exact: the engine counts
 *   message payload bytes itself as they are sent and received.
 * - The remote side closing never shows up as a `closed` connection state in
 *   Chromium (it only goes `disconnected` after ~5 s and `failed` after ~15 s,
 *   when ICE consent expires). What does show up: every channel being closed
 *   by the remote side (stream resets, which rtcmesh's Node engine sends on
 *   close before anything else); an SCTP ABORT with cause "User-Initiated
 *   Abort" (12), reported on every open channel as an RTCErrorEvent
 *   (`sctp-failure`), which is what node-datachannel and browsers send on
 *   close; or a closed DTLS transport / SCTP association. The engine turns any
 *   of these into `stateChange('closed')` and closes the connection, as
 *   node-datachannel does by itself. With no channel open and the ABORT lost,
 *   only ICE consent expiry (`failed`) remains.
 * - Local descriptions carry `a=x-rtcmesh-dc:` lines for in-band channels (see
 *   sdp-annotation.ts); a Node peer learns their options from them. Such
 *   lines in a remote description are removed before the browser sees it
 *   (browsers read channel options natively from the DCEP open message).
 *
 * Config the browser has no knob for (`bindAddress`, `portRange*`,
 * `enableIceTcp`, `enableIceUdpMux`, `mtu`, `maxMessageSize`) is ignored.
 * @module
 */
import { annotateSdp, extractAnnotations } from '../sdp-annotation.js';
import {
  guard,
  type Engine,
  type EngineChannel,
  type EngineChannelInit,
  type EngineConfig,
  type EngineConnection,
  type EngineConnectionHandlers,
  type EngineConnectionState,
  type EngineGatheringState,
  type EngineSignalingState,
  type EngineStats,
  type SdpType,
} from '../engine.js';
import { BrowserChannel, nativeInit, type ByteCounters } from './browser-channel.js';
import { EMPTY_SNAPSHOT, readStatsReport, type BrowserStatsSnapshot } from './browser-stats.js';
import { checkRemoteSdp } from './sdp-check.js';

/** How often cached statistics are refreshed while connected (ms). */
const STATS_REFRESH_MS = 1000;

/** The RTCPeerConnection constructor the engine uses. */
export type RTCPeerConnectionConstructor = new (config?: RTCConfiguration) => RTCPeerConnection;

function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

class BrowserConnection implements EngineConnection {
  private readonly pc: RTCPeerConnection;
  private readonly channels = new Set<BrowserChannel>();
  private readonly localInits: EngineChannelInit[] = [];
  private readonly counters: ByteCounters = { sent: 0, received: 0 };
  private chain: Promise<void> = Promise.resolve();
  private closed = false;
  private statsSnapshot: BrowserStatsSnapshot = EMPTY_SNAPSHOT;
  private statsInFlight = false;
  private statsTimer: ReturnType<typeof setInterval> | undefined;
  private transportWatched = false;
  /** A channel ended other than by the remote side resetting it while open. */
  private channelEndedLocally = false;

  constructor(Ctor: RTCPeerConnectionConstructor, config: EngineConfig, private readonly handlers: EngineConnectionHandlers) {
    this.pc = new Ctor({
      iceServers: config.iceServers.map((s) => ({
        urls: s.url,
        ...(s.username !== undefined && { username: s.username }),
        ...(s.credential !== undefined && { credential: s.credential }),
      })),
      iceTransportPolicy: config.iceTransportPolicy,
    });
    const pc = this.pc;
    pc.onicecandidate = guard((ev: RTCPeerConnectionIceEvent) => {
      const c = ev.candidate;
      if (this.closed || !c || !c.candidate) return; // null / '' = end of candidates
      handlers.localCandidate(c.sdpMid ?? String(c.sdpMLineIndex ?? 0), c.sdpMLineIndex ?? 0, c.candidate);
    });
    pc.onconnectionstatechange = guard(() => {
      if (this.closed) return;
      const state = pc.connectionState as EngineConnectionState;
      if (state === 'connected') this.startStats();
      handlers.stateChange(state);
      if (state === 'closed') this.close();
    });
    pc.onicegatheringstatechange = guard(() => {
      if (!this.closed) handlers.gatheringStateChange(pc.iceGatheringState as EngineGatheringState);
    });
    pc.onsignalingstatechange = guard(() => {
      if (!this.closed) handlers.signalingStateChange(pc.signalingState as EngineSignalingState);
    });
    pc.ondatachannel = guard((ev: RTCDataChannelEvent) => {
      if (this.closed) {
        ev.channel.close();
        return;
      }
      handlers.dataChannel(this.track(ev.channel, nativeInit(ev.channel)));
    });
  }

  private track(dc: RTCDataChannel, init: EngineChannelInit): BrowserChannel {
    const channel = new BrowserChannel(
      dc,
      init,
      this.counters,
      () => this.maxMessageSize(),
      (ch) => this.channels.delete(ch),
      () => this.remoteClosed(),
      (byRemote) => this.channelEnded(byRemote),
    );
    this.channels.add(channel);
    return channel;
  }

  /** Run native operations one after another; report a failure with `onError`. */
  private enqueue(op: () => Promise<void>, onError: (message: string) => void): void {
    this.chain = this.chain.then(async () => {
      if (this.closed) return;
      try {
        await op();
      } catch (err) {
        if (!this.closed) guard(onError)(messageOf(err));
      }
    });
  }

  private emitLocalDescription(): void {
    const desc = this.pc.localDescription;
    if (this.closed || !desc || (desc.type !== 'offer' && desc.type !== 'answer')) return;
    this.watchTransport();
    guard(() => this.handlers.localDescription(desc.type as SdpType, annotateSdp(desc.sdp, this.localInits)))();
  }

  private localFailure = (message: string): void => {
    void message; // the state says it; the browser's message names no remote input
    this.handlers.stateChange('failed');
  };

  /** The remote side ended the connection: report `closed` and release everything. */
  private remoteClosed(): void {
    if (this.closed) return;
    guard(() => this.handlers.stateChange('closed'))();
    this.close();
  }

  /**
   * A channel closed natively. When every channel of the connection was open
   * and has been closed by the remote side, the remote closed the connection:
   * rtcmesh creates channels only before negotiation, so a connection left
   * with none can carry nothing more, and rtcmesh's Node engine resets
   * every stream before it tears the association down (its ABORT is not
   * always delivered, and Chromium reports it only on open channels).
   */
  private channelEnded(byRemote: boolean): void {
    if (!byRemote) this.channelEndedLocally = true;
    else if (this.channels.size === 0 && !this.channelEndedLocally) this.remoteClosed();
  }

  /**
   * Watch the DTLS transport and the SCTP association: a DTLS close_notify or
   * the association ending means the remote side closed (the connection state
   * itself only moves to `failed` once ICE consent expires, ~15 s later).
   */
  private watchTransport(): void {
    const sctp = this.pc.sctp;
    if (this.transportWatched || !sctp) return;
    this.transportWatched = true;
    const remoteClosed = () => this.remoteClosed();
    const dtls = sctp.transport;
    dtls.addEventListener('statechange', () => {
      if (dtls.state === 'closed') remoteClosed();
    });
    sctp.addEventListener('statechange', () => {
      if (sctp.state === 'closed') remoteClosed();
    });
  }

  createDataChannel(init: EngineChannelInit): EngineChannel {
    const dc = this.pc.createDataChannel(init.label, {
      protocol: init.protocol,
      negotiated: init.negotiated,
      ordered: init.ordered,
      ...(init.id !== undefined && { id: init.id }),
      ...(init.maxPacketLifeTime !== undefined && { maxPacketLifeTime: init.maxPacketLifeTime }),
      ...(init.maxRetransmits !== undefined && { maxRetransmits: init.maxRetransmits }),
    });
    this.localInits.push(init);
    return this.track(dc, init);
  }

  createOffer(): void {
    this.enqueue(async () => {
      const offer = await this.pc.createOffer();
      await this.pc.setLocalDescription(offer);
      this.emitLocalDescription();
    }, this.localFailure);
  }

  setRemoteDescription(type: SdpType, sdp: string): void {
    if (this.closed) throw new Error('the connection is closed');
    checkRemoteSdp(sdp);
    const { sdp: clean } = extractAnnotations(sdp);
    let applied = false;
    this.enqueue(
      async () => {
        await this.pc.setRemoteDescription({ type, sdp: clean });
        applied = true;
        this.watchTransport();
        if (type !== 'offer') return;
        const answer = await this.pc.createAnswer();
        await this.pc.setLocalDescription(answer);
        this.emitLocalDescription();
      },
      (message) => {
        if (applied) this.localFailure(message);
        else this.handlers.remoteError?.('description', message);
      },
    );
  }

  addRemoteCandidate(mid: string, candidate: string): void {
    if (this.closed) throw new Error('the connection is closed');
    const init: RTCIceCandidateInit = mid === '' ? { candidate, sdpMLineIndex: 0 } : { candidate, sdpMid: mid };
    this.enqueue(
      () => this.pc.addIceCandidate(init),
      (message) => this.handlers.remoteError?.('candidate', message),
    );
  }

  maxMessageSize(): number {
    if (this.closed) return 0;
    return this.pc.sctp?.maxMessageSize ?? 0;
  }

  private startStats(): void {
    this.refreshStats();
    if (this.statsTimer === undefined && !this.closed) this.statsTimer = setInterval(() => this.refreshStats(), STATS_REFRESH_MS);
  }

  private refreshStats(): void {
    if (this.closed || this.statsInFlight) return;
    this.statsInFlight = true;
    this.pc.getStats().then(
      (report) => {
        this.statsInFlight = false;
        if (!this.closed) this.statsSnapshot = readStatsReport(report);
      },
      () => {
        this.statsInFlight = false;
      },
    );
  }

  stats(): EngineStats {
    if (this.closed) return { rttMs: -1, bytesSent: 0, bytesReceived: 0, selectedCandidatePair: null };
    this.refreshStats();
    return {
      ...this.statsSnapshot,
      bytesSent: this.counters.sent,
      bytesReceived: this.counters.received,
    };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.statsTimer !== undefined) clearInterval(this.statsTimer);
    this.statsTimer = undefined;
    const pc = this.pc;
    pc.onicecandidate = pc.onconnectionstatechange = pc.onicegatheringstatechange = null;
    pc.onsignalingstatechange = pc.ondatachannel = null;
    const open = [...this.channels];
    this.channels.clear();
    try {
      pc.close();
    } finally {
      for (const ch of open) ch.markClosed();
    }
  }
}

/**
 * The browser engine. One instance serves any number of connections.
 * Pass another RTCPeerConnection constructor to run over a compatible
 * implementation (a shim, or a wrapper that logs).
 */
export class BrowserEngine implements Engine {
  readonly name = 'browser';
  private readonly ctor: RTCPeerConnectionConstructor | undefined;

  constructor(options: { RTCPeerConnection?: RTCPeerConnectionConstructor } = {}) {
    this.ctor = options.RTCPeerConnection;
  }

  createConnection(config: EngineConfig, handlers: EngineConnectionHandlers): EngineConnection {
    const Ctor = this.ctor ?? (globalThis as { RTCPeerConnection?: RTCPeerConnectionConstructor }).RTCPeerConnection;
    if (typeof Ctor !== 'function') {
      throw new Error('this environment has no RTCPeerConnection (the browser engine needs a browser; in Node.js import "rtcmesh")');
    }
    return new BrowserConnection(Ctor, config, handlers);
  }
}

/** The default engine in browsers (uses `globalThis.RTCPeerConnection`). */
export const browserEngine: Engine = new BrowserEngine();
