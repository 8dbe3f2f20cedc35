/**
 * The virtual engine: connections and data channels that behave like
 * node-datachannel's, over the simulated links of a virtual network.
 *
 * A connection composes its parts, each in its own module:
 * - signaling (here): real-looking SDP and host candidates (./sdp.ts); a
 *   remote candidate names the other connection by address and port;
 * - ICE (./ice.ts): connectivity checks (1 RTT), then DTLS + SCTP (1 RTT) →
 *   CONNECTED; consent on a dead link (DISCONNECTED, FAILED, back to CONNECTED
 *   on healing);
 * - the association's sending half (./association.ts, ./send-buffer.ts):
 *   bundling, fragmentation, retransmission, abandonment, the send buffer;
 * - the channels and the receiving half (./streams.ts): stream ids, DCEP
 *   (remote side opens after ½ RTT, local side after 1 RTT), reset,
 *   FORWARD-TSN, ordered delivery.
 * @module
 */
import { ErrorCode, RtcmeshError } from '../../errors.js';
import {
  rethrowAsync,
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
import { Association } from './association.js';
import { DCEP_OPEN, RESET } from './chunk.js';
import { VirtualChannel } from './channel.js';
import { callTask, type HostContext, type NetworkContext } from './context.js';
import { IceAgent, type Pair } from './ice.js';
import { Verdict } from './link.js';
import type { TimerHandle, VirtualClock } from './scheduler.js';
import { parseCandidate, parseSdp, writeCandidate, writeSdp, type VirtualSdp } from './sdp.js';
import { StreamTable } from './streams.js';

const DEFAULT_MAX_MESSAGE_SIZE = 262144;

function safe(fn: () => void): void {
  try {
    fn();
  } catch (err) {
    rethrowAsync(err);
  }
}

/** A connection of the virtual engine. */
export class VirtualConnection implements EngineConnection {
  // Also a ChannelOwner, a StreamOwner and an IceEndpoint (checked where it is passed as one; internal interfaces stay out of the public docs).
  // Fields of the per-packet paths first: they share the object's first memory lines.
  /** @internal The sending half of the association. */ readonly sctp: Association;
  /** @internal The channels and the receiving half. */ readonly streams: StreamTable;
  private closed = false;
  private state: EngineConnectionState = 'new';
  /** @internal */ peer: VirtualConnection | null = null;
  /** @internal */ readonly label: string;
  /** @internal */ readonly ice: IceAgent<VirtualConnection>;
  private readonly net: NetworkContext<VirtualConnection>;
  private readonly clock: VirtualClock;
  private readonly localSdp: VirtualSdp;
  private readonly port: number;
  private signaling: EngineSignalingState = 'stable';
  private gathering: EngineGatheringState = 'new';
  private remote: VirtualSdp | null = null;
  private role: 'offerer' | 'answerer' | null = null;
  private readonly timers = new Set<TimerHandle>();

  /** @internal */
  constructor(
    /** @internal The host this connection lives on. */
    readonly host: HostContext<VirtualConnection>,
    private readonly config: EngineConfig,
    private readonly handlers: EngineConnectionHandlers,
  ) {
    this.net = host.network;
    this.clock = this.net.clock;
    this.port = host.allocatePort();
    this.label = `${host.address}:${this.port}`;
    const rng = this.net.rng;
    this.localSdp = {
      sessionId: String(rng.nextUint32()) + String(rng.nextUint32()).padStart(10, '0'),
      ufrag: rng.iceString(4),
      pwd: rng.iceString(22),
      fingerprint: rng.hex(32).toUpperCase().replace(/(..)(?!$)/g, '$1:'),
      setup: 'actpass',
      maxMessageSize: config.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE,
      channels: [],
    };
    this.streams = new StreamTable(this, this.net);
    this.sctp = new Association(this.net, this.label, this.streams);
    this.ice = new IceAgent<VirtualConnection>(this, this.localSdp.ufrag);
    host.connections.add(this);
    this.net.endpoints.set(this.label, this);
  }

  /** @internal */
  isClosed(): boolean {
    return this.closed;
  }

  /** Current connection state (for tests and tools). */
  getState(): EngineConnectionState {
    return this.state;
  }

  // ---- handlers -------------------------------------------------------

  /** @internal Run `fn` after `delayMs` unless the connection closed meanwhile. */
  later(fn: () => void, delayMs = 0): void {
    const handle = this.clock.schedule(this.clock.now() + delayMs, callTask, () => {
      this.timers.delete(handle);
      if (!this.closed) fn();
    });
    this.timers.add(handle);
  }

  /** @internal */
  setState(next: EngineConnectionState): void {
    if (this.closed || this.state === next || this.state === 'closed') return;
    if (this.state === 'failed' && next !== 'closed') return;
    this.state = next;
    this.sctp.endRun(); // a failed association sends nothing more: its channels stop extending runs
    this.sctp.failed = next === 'failed';
    this.net.record('state', `${this.label} ${next}`);
    safe(() => this.handlers.stateChange(next));
  }

  private setSignaling(next: EngineSignalingState): void {
    if (this.signaling === next) return;
    this.signaling = next;
    safe(() => this.handlers.signalingStateChange(next));
  }

  private setGathering(next: EngineGatheringState): void {
    if (this.gathering === next) return;
    this.gathering = next;
    safe(() => this.handlers.gatheringStateChange(next));
  }

  // ---- signaling ------------------------------------------------------

  createDataChannel(init: EngineChannelInit): EngineChannel {
    if (this.closed) throw new Error('Connection is closed');
    const streams = this.streams;
    if (init.negotiated && (init.id === undefined || streams.has(init.id))) {
      throw new Error(init.id === undefined ? 'a negotiated channel needs an id' : `stream id ${init.id} is already in use`);
    }
    // An in-band channel's id is assigned later (assignStreamIds).
    const own = { ...init };
    if (!init.negotiated) delete own.id;
    const channel = new VirtualChannel(this, own);
    streams.channels.push(channel);
    if (init.negotiated) streams.setStream(init.id!, channel);
    // On an association that is already up (a channel created after connecting), open it now:
    // a negotiated one at once, an in-band one through DCEP. Before that, handshakeComplete() does it.
    if (this.ice.pair?.handshakeDone && this.peer !== null && this.state !== 'failed') {
      if (init.negotiated) {
        this.later(() => {
          if (channel.state !== 'connecting') return;
          channel.state = 'open';
          channel.dispatch({ kind: 'open' });
        });
      } else {
        streams.assignStreamIds(this.role);
        this.sctp.sendControl(DCEP_OPEN, channel.streamId, { ...channel.init, id: channel.streamId });
      }
    }
    return channel;
  }

  createOffer(): void {
    if (this.closed) throw new Error('Connection is closed');
    if (this.role !== null) throw new Error(`createOffer() in signaling state ${this.signaling}`);
    this.role = 'offerer';
    this.later(() => {
      this.setSignaling('have-local-offer');
      this.emitDescription('offer');
    });
  }

  private emitDescription(type: SdpType): void {
    // In-band channels not open yet are announced with the annotation every engine writes (their options also travel by DCEP).
    const announced = this.streams.channels.filter((ch) => !ch.init.negotiated && ch.state === 'connecting').map((ch) => ch.init);
    const sdp = writeSdp({ ...this.localSdp, setup: type === 'offer' ? 'actpass' : 'active', channels: announced }, this.host.address);
    safe(() => this.handlers.localDescription(type, sdp));
    this.setGathering('gathering');
    // The virtual network has no TURN servers: relay-only policy gathers nothing, as a real engine without reachable TURN does.
    if (this.config.iceTransportPolicy !== 'relay') {
      const candidate = writeCandidate(1, this.host.address, this.port);
      safe(() => this.handlers.localCandidate('0', 0, candidate));
    }
    this.setGathering('complete');
  }

  setRemoteDescription(type: SdpType, sdp: string): void {
    if (this.closed) throw new Error('Connection is closed');
    if (typeof sdp !== 'string') throw new Error('SDP must be a string');
    if (type === 'offer' && this.role !== null) throw new Error(`Unexpected remote offer in signaling state ${this.signaling}`);
    if (type === 'answer' && (this.role !== 'offerer' || this.remote !== null)) {
      throw new Error(`Unexpected remote answer description in signaling state ${this.signaling}`);
    }
    const parsed = parseSdp(sdp);
    if (parsed.ufrag === this.localSdp.ufrag && parsed.fingerprint === this.localSdp.fingerprint) {
      throw new Error('Remote description is this connection\'s own description');
    }
    this.remote = parsed;
    this.ice.remoteUfrag = parsed.ufrag;
    this.sctp.endRun(); // runs were checked against the old limit
    this.sctp.maxSize = Math.min(this.localSdp.maxMessageSize, parsed.maxMessageSize);
    if (type === 'offer') {
      this.role = 'answerer';
      this.later(() => {
        this.setSignaling('have-remote-offer');
        this.setSignaling('stable');
        this.emitDescription('answer');
        this.setState('connecting');
        this.ice.start();
      });
    } else {
      this.later(() => {
        this.setSignaling('stable');
        this.setState('connecting');
        this.ice.start();
      });
    }
  }

  addRemoteCandidate(mid: string, candidate: string): void {
    if (this.closed) throw new Error('Connection is closed');
    if (this.remote === null) throw new Error('Got a remote candidate without remote description');
    if (candidate.trim() === '') return;
    const c = parseCandidate(candidate);
    void mid;
    if (!this.ice.addCandidate(c.address, c.port)) return;
    this.net.record('candidate', `${this.label} <- ${c.address}:${c.port}`);
    if (this.state === 'connecting') this.ice.start();
  }

  // ---- ICE callbacks ----------------------------------------------------

  /** @internal Checks found `target`: both become each other's peer. */
  icePaired(target: VirtualConnection, pair: Pair<VirtualConnection>): void {
    const [out, back] = pair.a === this ? [pair.ab, pair.ba] : [pair.ba, pair.ab];
    this.peer = target;
    target.peer = this;
    // Packets go straight to the receiving half (the stream table), one object less per packet.
    this.sctp.attach(out, back, target.streams, target.label);
    target.sctp.attach(back, out, this.streams, this.label);
  }

  /** @internal DTLS + SCTP done: connected; channels open (negotiated at once, in-band through DCEP). */
  handshakeComplete(pair: Pair<VirtualConnection>): void {
    if (pair.a.closed || pair.b.closed || this.ice.pair !== pair) return;
    pair.handshakeDone = true;
    for (const c of [pair.a, pair.b]) {
      c.streams.assignStreamIds(c.role);
      c.setState('connected');
      c.streams.openNegotiated();
    }
    for (const c of [pair.a, pair.b]) c.streams.openInBand();
    if (pair.link.isDead()) pair.linkChanged();
  }

  /** @internal Consent failed: the connection is dead, its channels close. */
  fail(): void {
    if (this.closed) return;
    this.setState('failed');
    this.dropTransport();
    this.streams.closeAll();
  }

  /** @internal Round-trip time from the current link conditions, ms. */
  rttMs(): number {
    return this.sctp.rttMs();
  }

  // ---- the association ----------------------------------------------------

  /** @internal */
  sendData(ch: VirtualChannel, data: Uint8Array, isText: boolean, copy: boolean): boolean {
    return this.sctp.sendData(ch, data, isText, copy);
  }

  /** @internal */
  sendControl(kind: number, stream: number, extra: EngineChannelInit | null, ssn = -1): void {
    this.sctp.sendControl(kind, stream, extra, ssn);
  }

  /** @internal */
  bufferedBytes(ch: VirtualChannel): number {
    return this.sctp.bufferedBytes(ch);
  }

  /** @internal */
  peerLabel(): string {
    return this.peer?.label ?? '?';
  }

  /** @internal */
  channelReceived(ch: VirtualChannel): void {
    safe(() => this.handlers.dataChannel(ch));
  }

  // ---- closing ------------------------------------------------------------

  /** @internal */
  closeChannel(ch: VirtualChannel): void {
    if (ch.state === 'closed' || ch.state === 'closing' || this.closed) return;
    const wasOpen = ch.streamId >= 0 && this.peer !== null && this.state !== 'failed';
    ch.state = 'closing';
    if (wasOpen) this.sctp.sendControl(RESET, ch.streamId, null);
    // Never negotiated: the stream id is free again at once, as in libdatachannel.
    if (this.role === null) this.streams.remove(ch);
    this.later(() => this.streams.markClosed(ch));
  }

  /** @internal The peer sent SHUTDOWN. */
  remoteClosed(): void {
    if (this.closed) return;
    this.net.record('remote-closed', this.label);
    this.streams.closeAll();
    this.setState('closed');
    this.close();
  }

  /** Stop all SCTP activity (failed or closed). */
  private dropTransport(): void {
    this.sctp.drop(this.streams.channels);
    // The pair's consent timers belong to the peer too while it is alive.
    this.ice.release();
  }

  close(): void {
    if (this.closed) return;
    this.sctp.flush();
    const peer = this.peer;
    const pair = this.ice.pair;
    const canNotify = peer !== null && !peer.closed && pair !== null && pair.handshakeDone && this.state !== 'failed';
    if (canNotify) {
      // SHUTDOWN crosses the link once; if it is lost the peer finds out by ICE consent.
      const verdict = this.sctp.shutdown();
      this.net.record(verdict === Verdict.DELIVERED ? 'send' : 'drop', `${this.label}>${peer.label} shutdown`);
      if (verdict !== Verdict.DELIVERED) peer.ice.peerVanished();
    } else if (peer !== null && !peer.closed && pair !== null) {
      peer.ice.peerVanished();
    }
    this.closed = true;
    this.sctp.closed = true;
    this.streams.closed = true;
    this.dropTransport();
    this.ice.close();
    for (const t of this.timers) this.clock.cancel(t);
    this.timers.clear();
    for (const ch of this.streams.channels) if (ch.state !== 'closed') ch.state = 'closed';
    this.host.connections.delete(this);
    if (this.net.endpoints.get(this.label) === this) this.net.endpoints.delete(this.label);
    this.net.record('closed', this.label);
  }

  // ---- queries --------------------------------------------------------

  maxMessageSize(): number {
    return this.closed ? 0 : this.sctp.maxSize;
  }

  stats(): EngineStats {
    const peer = this.peer;
    const bytesSent = this.sctp.sentBytes();
    const bytesReceived = this.streams.bytesReceived;
    if (this.closed || !peer) return { rttMs: -1, bytesSent, bytesReceived, selectedCandidatePair: null };
    return {
      rttMs: Math.round(this.rttMs()),
      bytesSent,
      bytesReceived,
      selectedCandidatePair: {
        local: { address: this.host.address, port: this.port, type: 'host', transport: 'udp' },
        remote: { address: peer.host.address, port: peer.port, type: 'host', transport: 'udp' },
      },
    };
  }
}

/** The engine of one virtual host. Get it as `host.engine`. */
export class VirtualEngine implements Engine {
  readonly name = 'virtual';

  /** @internal */
  constructor(
    /** @internal The host whose connections this engine makes. */
    readonly host: HostContext<VirtualConnection>,
  ) {}

  createConnection(config: EngineConfig, handlers: EngineConnectionHandlers): EngineConnection {
    if (this.host.network.isClosed()) throw new RtcmeshError(ErrorCode.CLOSED, 'the virtual network is closed; create a new VirtualNetwork and its hosts');
    return new VirtualConnection(this.host, config, handlers);
  }
}
