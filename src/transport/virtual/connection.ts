/**
 * The virtual engine: connections and data channels that behave like
 * node-datachannel's, over the simulated links of a {@link VirtualNetwork}.
 *
 * Model, per connection pair:
 * - Signaling: real-looking SDP and host candidates; a remote candidate names
 *   the other connection by address and port, and ICE succeeds only when both
 *   sides hold each other's description (ufrags match) and the link is alive.
 * - Timeline: connectivity check (1 RTT), then DTLS + SCTP (1 RTT) → CONNECTED
 *   and negotiated channels open; in-band channels open with DCEP (remote side
 *   after ½ RTT, local side after 1 RTT). A channel created on a connection
 *   whose association is up opens the same way, from that moment.
 * - SCTP: messages sent in the same instant share packets of up to 1200
 *   bytes; a larger message travels as fragments, one packet
 *   each, and arrives only when all of them have (a retry resends only the
 *   missing ones). A lost packet of a reliable message is sent
 *   again after the retransmission timeout (RTO = clamp(RTT + 4·jitter,
 *   rtoMin, rtoMax), doubled per retry); partially reliable messages are
 *   abandoned as SCTP does (after maxRetransmits retries, or when the next
 *   retry would exceed maxPacketLifeTime) and the receiver is told to skip
 *   them (FORWARD-TSN). Ordered streams deliver in sequence; duplicate copies
 *   are discarded (TSN check). Acknowledgements are not simulated as packets:
 *   the sender learns a loss when the link drops the packet.
 * - Send buffer: on a bandwidth-capped link a packet goes to the link only
 *   when the bottleneck queue has room; the rest waits in the connection's
 *   send buffer (bufferedAmount, bufferedAmountLow) and leaves it as the
 *   queue drains. Uncapped links never buffer.
 * - Consent: a dead link (partition, outage, 100 % loss) turns the connection
 *   DISCONNECTED after `ice.disconnectedAfterMs` and FAILED after
 *   `ice.failedAfterMs`; healing before FAILED brings it back to CONNECTED.
 * @module
 */
import {
  rethrowAsync,
  type Engine,
  type EngineChannel,
  type EngineChannelHandlers,
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
import { meanDelay } from './conditions.js';
import { Verdict, type Link, type LinkDirection, type LinkWatcher, type PacketSink } from './link.js';
import type { VirtualHost, VirtualNetwork } from './network.js';
import { hashBytes } from './rng.js';
import type { Task, TimerHandle, VirtualClock } from './scheduler.js';
import { parseCandidate, parseSdp, writeCandidate, writeSdp, type VirtualSdp } from './sdp.js';
import { BUNDLE_BYTES, Bundle, CHUNK_HEADER, REF_LENGTH, REF_SHIFT, fragmentBytes, fragmentCount, refLength, DATA, DCEP_ACK, DCEP_OPEN, FORWARD, KIND_NAMES, Message, RESET, SHUTDOWN } from './chunk.js';
import { VirtualChannel } from './channel.js';

const DEFAULT_MAX_MESSAGE_SIZE = 262144;

function safe(fn: () => void): void {
  try {
    fn();
  } catch (err) {
    rethrowAsync(err);
  }
}

/** Mean round-trip time over `there` and `back` from their current conditions, ms. */
function roundTrip(there: LinkDirection, back: LinkDirection): number {
  return meanDelay(there.cond) + meanDelay(back.cond);
}

/** Runs a closure; used for rare control-plane events only. */
const callTask: Task = {
  fire(arg: unknown): void {
    (arg as () => void)();
  },
};
/** @internal Shared state of two connected connections. */
class Pair implements LinkWatcher {
  handshakeDone = false;
  disconnectTimer: TimerHandle | undefined;
  failTimer: TimerHandle | undefined;
  reconnectTimer: TimerHandle | undefined;
  constructor(
    readonly a: VirtualConnection,
    readonly b: VirtualConnection,
    readonly link: Link,
  ) {}

  linkChanged(): void {
    this.a.linkHealthChanged(this);
  }
}

/**
 * @internal What a connection holds back while its bandwidth-capped link has
 * no room (see {@link VirtualConnection.hold}); its timer drains it.
 */
class SendBuffer implements Task {
  /** Retransmissions and FORWARD-TSN: they go before new data, as in SCTP. */
  urgent: Message[] = [];
  /** New packets (bundles and single messages) in send order, from `head`. */
  packets: (Bundle | Message | undefined)[] = [];
  head = 0;
  timer: TimerHandle | undefined = undefined;
  constructor(private readonly conn: VirtualConnection) {}

  fire(): void {
    this.timer = undefined;
    this.conn.drain(this);
  }
}

/** A connection of the virtual engine. */
export class VirtualConnection implements EngineConnection, PacketSink, Task {
  // Fields of the per-packet paths first: they share the object's first memory lines.
  private readonly net: VirtualNetwork;
  private readonly clock: VirtualClock;
  private closed = false;
  private state: EngineConnectionState = 'new';
  /** @internal */ peer: VirtualConnection | null = null;
  private out: LinkDirection | null = null;
  /** Negotiated max message size (0 before the remote description). */
  private maxSize = 0;
  private bundle: Bundle | null = null;
  /** Stream id of the last fast-chunk lookup (-1: none) and its result; reset when byStream changes. */
  private rxStream = -1;
  private rxChannel: VirtualChannel | undefined = undefined;
  private bytesSent = 0;
  private bytesReceived = 0;
  /** Lost first transmissions waiting for three SACK gap reports. */
  private frPending: Message[] = [];
  /** Send buffer while the capped link has no room; null when nothing is held. */
  private held: SendBuffer | null = null;
  /** @internal */ readonly label: string;
  private readonly localSdp: VirtualSdp;
  private readonly port: number;
  private signaling: EngineSignalingState = 'stable';
  private gathering: EngineGatheringState = 'new';
  private remote: VirtualSdp | null = null;
  private role: 'offerer' | 'answerer' | null = null;
  private readonly remoteCandidates: { address: string; port: number }[] = [];
  private readonly channels: VirtualChannel[] = [];
  private readonly byStream = new Map<number, VirtualChannel>();
  private readonly retransmits = new Set<Message>();
  private readonly timers = new Set<TimerHandle>();
  private orphans: Map<number, Message[]> | null = null;
  private checkTimer: TimerHandle | undefined;
  private checkDeadline = Infinity;
  private checkInFlight = false;
  /** @internal */ pair: Pair | null = null;
  private nextTsn = 1;


  /** @internal */
  constructor(
    /** The host this connection lives on. */
    readonly host: VirtualHost,
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

  private later(fn: () => void, delayMs = 0): void {
    const handle = this.clock.schedule(this.clock.now() + delayMs, callTask, () => {
      this.timers.delete(handle);
      if (!this.closed) fn();
    });
    this.timers.add(handle);
  }

  private setState(next: EngineConnectionState): void {
    if (this.closed || this.state === next || this.state === 'closed') return;
    if (this.state === 'failed' && next !== 'closed') return;
    this.state = next;
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
    if (init.negotiated && (init.id === undefined || this.byStream.has(init.id))) {
      throw new Error(init.id === undefined ? 'a negotiated channel needs an id' : `stream id ${init.id} is already in use`);
    }
    // An in-band channel's id is assigned later (assignStreamIds).
    const own = { ...init };
    if (!init.negotiated) delete own.id;
    const channel = new VirtualChannel(this, own);
    this.channels.push(channel);
    if (init.negotiated) this.setStream(init.id!, channel);
    // On an association that is already up (a channel created after connecting), open it now:
    // a negotiated one at once, an in-band one through DCEP. Before that, handshakeComplete() does it.
    if (this.pair?.handshakeDone && this.peer !== null && this.state !== 'failed') {
      if (init.negotiated) {
        this.later(() => {
          if (channel.state !== 'connecting') return;
          channel.state = 'open';
          channel.dispatch({ kind: 'open' });
        });
      } else {
        this.assignStreamIds();
        this.sendControl(DCEP_OPEN, channel.streamId, { ...channel.init, id: channel.streamId });
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
    const sdp = writeSdp({ ...this.localSdp, setup: type === 'offer' ? 'actpass' : 'active' }, this.host.address);
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
    this.maxSize = Math.min(this.localSdp.maxMessageSize, parsed.maxMessageSize);
    if (type === 'offer') {
      this.role = 'answerer';
      this.later(() => {
        this.setSignaling('have-remote-offer');
        this.setSignaling('stable');
        this.emitDescription('answer');
        this.setState('connecting');
        this.startChecks();
      });
    } else {
      this.later(() => {
        this.setSignaling('stable');
        this.setState('connecting');
        this.startChecks();
      });
    }
  }

  addRemoteCandidate(mid: string, candidate: string): void {
    if (this.closed) throw new Error('Connection is closed');
    if (this.remote === null) throw new Error('Got a remote candidate without remote description');
    if (candidate.trim() === '') return;
    const c = parseCandidate(candidate);
    void mid;
    if (this.remoteCandidates.some((r) => r.address === c.address && r.port === c.port)) return;
    this.remoteCandidates.push({ address: c.address, port: c.port });
    this.net.record('candidate', `${this.label} <- ${c.address}:${c.port}`);
    if (this.state === 'connecting') this.startChecks();
  }

  // ---- ICE ------------------------------------------------------------

  private startChecks(): void {
    if (this.closed || this.pair !== null || this.checkInFlight) return;
    if (this.checkDeadline === Infinity) {
      this.checkDeadline = this.clock.now() + this.net.ice.failedAfterMs;
    }
    if (this.checkTimer === undefined) this.runCheck();
  }

  private runCheck(): void {
    this.checkTimer = undefined;
    if (this.closed || this.pair !== null || this.checkInFlight) return;
    if (this.clock.now() >= this.checkDeadline) {
      this.net.record('ice-failed', this.label);
      this.setState('failed');
      return;
    }
    for (const rc of this.remoteCandidates) {
      const target = this.net.endpoints.get(`${rc.address}:${rc.port}`);
      if (!target || target.closed || target.pair !== null || target === this) continue;
      if (target.remote?.ufrag !== this.localSdp.ufrag || this.remote?.ufrag !== target.localSdp.ufrag) continue;
      const link = this.net.linkBetween(this.host, target.host);
      if (link.isDead()) continue;
      const rtt = roundTrip(this.net.direction(this.host, target.host), this.net.direction(target.host, this.host));
      this.checkInFlight = true;
      const h = this.clock.schedule(this.clock.now() + rtt, callTask, () => {
        this.timers.delete(h);
        this.checkInFlight = false;
        this.checkSucceeded(target, link);
      });
      this.timers.add(h);
      return;
    }
    this.checkTimer = this.clock.schedule(this.clock.now() + this.net.ice.checkIntervalMs, callTask, () => this.runCheck());
  }

  private checkSucceeded(target: VirtualConnection, link: Link): void {
    if (this.closed || this.pair !== null) return;
    if (target.closed || target.pair !== null || link.isDead()) {
      this.runCheck();
      return;
    }
    const pair = new Pair(this, target, link);
    this.pair = pair;
    target.pair = pair;
    this.peer = target;
    target.peer = this;
    this.out = this.net.direction(this.host, target.host);
    target.out = this.net.direction(target.host, this.host);
    this.stopChecks();
    target.stopChecks();
    link.watchers.add(pair);
    this.net.record('ice-connected', `${this.label} ${target.label}`);
    // DTLS + SCTP handshake: one more round trip.
    const rtt = this.rttMs();
    const h = this.clock.schedule(this.clock.now() + rtt, callTask, () => {
      this.timers.delete(h);
      this.handshakeComplete(pair);
    });
    this.timers.add(h);
  }

  /** @internal Cancel ICE checking timers. */
  stopChecks(): void {
    this.clock.cancel(this.checkTimer);
    this.checkTimer = undefined;
  }

  private handshakeComplete(pair: Pair): void {
    if (pair.a.closed || pair.b.closed || this.pair !== pair) return;
    pair.handshakeDone = true;
    for (const c of [pair.a, pair.b]) {
      c.assignStreamIds();
      c.setState('connected');
      for (const ch of c.channels) {
        if (ch.init.negotiated && ch.state === 'connecting') {
          ch.state = 'open';
          ch.dispatch({ kind: 'open' });
        }
      }
    }
    for (const c of [pair.a, pair.b]) {
      for (const ch of c.channels) {
        if (!ch.init.negotiated && ch.state === 'connecting') c.sendControl(DCEP_OPEN, ch.streamId, { ...ch.init, id: ch.streamId });
      }
    }
    if (pair.link.isDead()) this.linkHealthChanged(pair);
  }

  private setStream(id: number, ch: VirtualChannel): void {
    this.byStream.set(id, ch);
    this.rxStream = -1;
  }

  /** Free `ch`'s stream id, if it still holds it. */
  private unsetStream(ch: VirtualChannel): void {
    if (ch.streamId >= 0 && this.byStream.get(ch.streamId) === ch) {
      this.byStream.delete(ch.streamId);
      this.rxStream = -1;
    }
  }

  /** In-band ids: the DTLS client (answerer) uses even ids, the server odd ones. */
  private assignStreamIds(): void {
    let next = this.role === 'answerer' ? 0 : 1;
    for (const ch of this.channels) {
      if (ch.init.negotiated || ch.streamId >= 0) continue;
      while (this.byStream.has(next)) next += 2;
      ch.streamId = next;
      (ch.init as { id?: number }).id = next;
      this.setStream(next, ch);
      next += 2;
    }
  }

  /** @internal A link under a pair died or came back. */
  linkHealthChanged(pair: Pair): void {
    if (this.pair !== pair || !pair.handshakeDone) return;
    const dead = pair.link.isDead();
    const now = this.clock.now();
    const clock = this.clock;
    clock.cancel(pair.reconnectTimer);
    pair.reconnectTimer = undefined;
    if (dead) {
      this.startConsentTimers(pair, [pair.a, pair.b]);
    } else {
      clock.cancel(pair.disconnectTimer);
      clock.cancel(pair.failTimer);
      pair.disconnectTimer = undefined;
      pair.failTimer = undefined;
      if (pair.a.state === 'disconnected' || pair.b.state === 'disconnected') {
        // Consent check succeeds one round trip after the path is back.
        pair.reconnectTimer = clock.schedule(now + this.rttMs(), callTask, () => {
          pair.reconnectTimer = undefined;
          if (!pair.link.isDead()) {
            pair.a.setState('connected');
            pair.b.setState('connected');
          }
        });
      }
    }
  }

  /**
   * Consent checks stop succeeding for `conns`: they turn DISCONNECTED, then
   * FAILED, on the pair's timers (unless those already run).
   */
  private startConsentTimers(pair: Pair, conns: readonly VirtualConnection[]): void {
    if (pair.disconnectTimer !== undefined || pair.failTimer !== undefined) return;
    const clock = this.clock;
    const now = clock.now();
    pair.disconnectTimer = clock.schedule(now + this.net.ice.disconnectedAfterMs, callTask, () => {
      pair.disconnectTimer = undefined;
      for (const c of conns) c.setState('disconnected');
    });
    pair.failTimer = clock.schedule(now + this.net.ice.failedAfterMs, callTask, () => {
      pair.failTimer = undefined;
      for (const c of conns) c.fail();
    });
  }

  /** Consent failed: the connection is dead, its channels close. */
  private fail(): void {
    if (this.closed) return;
    this.setState('failed');
    this.dropTransport();
    for (const ch of this.channels) this.markChannelClosed(ch);
  }

  /** @internal Round-trip time from the current link conditions, ms. */
  rttMs(): number {
    const peer = this.peer;
    return peer ? roundTrip(this.out!, peer.out!) : -1;
  }

  private rto(tries: number): number {
    const a = this.out!.cond;
    const b = this.peer!.out!.cond;
    const base = meanDelay(a) + meanDelay(b) + 4 * (a.jitterMs + b.jitterMs);
    const { rtoMinMs, rtoMaxMs } = this.net.sctp;
    return Math.min(rtoMaxMs, Math.max(rtoMinMs, base) * 2 ** (tries - 1));
  }

  // ---- SCTP: sending ----------------------------------------------------

  /**
   * @internal Send a binary message on a {@link VirtualChannel.fast} channel
   * (same checks and outcome as {@link sendData}, without per-message state):
   * the bytes are copied into the network's payload slab and the bundle keeps
   * the stream id and a slab reference; the receiver gets a view.
   */
  sendFast(ch: VirtualChannel, data: Uint8Array): boolean {
    if (this.closed || ch.state !== 'open') throw new Error('DataChannel is closed');
    const len = data.length;
    if (len > this.maxSize) throw new Error(`Message size exceeds limit (${len} > ${this.maxSize})`);
    if (this.state === 'failed' || this.peer === null) return false;
    this.bytesSent += len;
    const b = this.openBundle(len + CHUNK_HEADER);
    const slab = this.net.slab;
    const ref = slab.copy(data);
    const items = b.items;
    if (typeof ref === 'number' && b.page !== slab.buffer) items.push((b.page = slab.buffer));
    items.push(ch.streamId, ref);
    return true;
  }

  /**
   * @internal Send one message with SCTP state (text, or binary on a channel
   * that is not {@link VirtualChannel.fast}). `copy`: `data` belongs to the caller, who may
   * reuse it; the connection keeps a copy.
   */
  sendData(ch: VirtualChannel, data: Uint8Array, isText: boolean, copy: boolean): boolean {
    if (this.closed || ch.state !== 'open') throw new Error('DataChannel is closed');
    const len = data.length;
    if (len > this.maxSize) throw new Error(`Message size exceeds limit (${len} > ${this.maxSize})`);
    if (this.state === 'failed' || this.peer === null) return false;
    this.bytesSent += len;
    const size = len + CHUNK_HEADER;
    if (copy) {
      // `new` + `set` keeps small arrays on the V8 heap, where `slice()` would allocate an ArrayBuffer.
      const own = new Uint8Array(len);
      own.set(data);
      data = own;
    }
    const init = ch.init;
    const now = this.clock.now();
    const msg = new Message(
      this.nextTsn++,
      DATA,
      ch.streamId,
      init.ordered ? ch.sendSsn++ : -1,
      data,
      isText,
      init.maxRetransmits ?? -1,
      init.maxPacketLifeTime === undefined ? Infinity : now + init.maxPacketLifeTime,
      null,
    );
    if (size >= BUNDLE_BYTES) {
      this.flush();
      if ((this.held !== null || this.out!.cond.bytesPerMs > 0) && this.hold(msg, false)) return true;
      this.transmit(msg);
    } else {
      const b = this.openBundle(size);
      b.items.push(msg);
      b.messages++;
    }
    return true;
  }

  /** @internal Reliable control message. */
  sendControl(kind: number, stream: number, extra: EngineChannelInit | null, ssn = -1): void {
    if (this.closed || this.peer === null) return;
    this.flush();
    const msg = new Message(this.nextTsn++, kind, stream, ssn, null, false, -1, Infinity, extra);
    if ((this.held !== null || this.out!.cond.bytesPerMs > 0) && this.hold(msg, kind === FORWARD)) return;
    this.transmit(msg);
  }

  /** The bundle open for this instant with room for `size` more bytes. */
  private openBundle(size: number): Bundle {
    let b = this.bundle;
    if (b !== null && b.bytes + size > BUNDLE_BYTES) {
      this.flush();
      b = null;
    }
    if (b === null) {
      b = this.bundle = new Bundle();
      this.net.flushLater(this);
    }
    b.bytes += size;
    return b;
  }

  /** @internal Send the open bundle, if any. */
  flush(): void {
    const b = this.bundle;
    if (b === null) return;
    this.bundle = null;
    if (this.closed || this.peer === null || this.out === null) return;
    if ((this.held !== null || this.out.cond.bytesPerMs > 0) && this.hold(b, false)) return;
    this.sendBundle(b);
  }

  /** Hand a bundle to the link. */
  private sendBundle(b: Bundle): void {
    if (this.out === null || this.peer === null) return;
    const items = b.items;
    if (items.length === 1) {
      this.transmit(items[0] as Message);
      return;
    }
    // Only a bundle of one fast chunk larger than a packet exceeds the budget.
    if (b.bytes > BUNDLE_BYTES) {
      this.flushFragmented(b);
      return;
    }
    const verdict = this.out.transmit(this.peer, b, b.bytes);
    if (this.net.trace.enabled) this.traceSend(verdict, items);
    const hadPending = this.frPending.length > 0;
    // Fast chunks keep no state: only Message chunks count their tries.
    if (b.messages > 0) {
      for (let i = 0; i < items.length; i++) {
        const m = items[i];
        if (typeof m === 'number') {
          i++;
          continue;
        }
        if (!(m instanceof Message)) continue; // page marker
        m.tries++;
        if (verdict !== Verdict.DELIVERED) this.lost(m, verdict);
      }
    }
    if (verdict === Verdict.DELIVERED && hadPending) this.notePacketDelivered(this.out.lastArrival);
  }

  /** A fast chunk larger than a packet: its fragments, sent once (no retransmission). */
  private flushFragmented(b: Bundle): void {
    const out = this.out!;
    const fragments = fragmentCount(b.bytes - CHUNK_HEADER);
    const verdict = out.transmitFragments(this.peer!, b, b.bytes + (fragments - 1) * CHUNK_HEADER, fragments);
    if (this.net.trace.enabled) this.traceSend(verdict, b.items, fragments);
    this.fragmentsArrived(verdict === Verdict.DELIVERED ? fragments : out.fragmentsAfterLoss);
  }

  private transmit(msg: Message): void {
    const out = this.out!;
    msg.tries++;
    const size = msg.data === null ? CHUNK_HEADER : msg.data.length + CHUNK_HEADER;
    if (size > BUNDLE_BYTES) {
      this.transmitFragmented(msg, out);
      return;
    }
    const verdict = out.transmit(this.peer!, msg, size);
    if (this.net.trace.enabled) this.traceSend(verdict, [msg]);
    if (verdict !== Verdict.DELIVERED) this.lost(msg, verdict);
    else if (this.frPending.length > 0) this.notePacketDelivered(out.lastArrival);
  }

  /**
   * A message larger than a packet travels as SCTP fragments; a try sends the
   * fragments still missing (SCTP retransmits only those), and the message is
   * delivered when the last one arrives.
   */
  private transmitFragmented(msg: Message, out: LinkDirection): void {
    const len = msg.data!.length;
    const total = fragmentCount(len);
    const left = msg.fragmentsLeft > 0 ? msg.fragmentsLeft : total;
    const size = fragmentBytes(len, left, total) + left * CHUNK_HEADER;
    const verdict = out.transmitFragments(this.peer!, msg, size, left);
    if (this.net.trace.enabled) this.traceSend(verdict, [msg], left);
    if (verdict !== Verdict.DELIVERED) {
      msg.fragmentsLeft = out.fragmentsLost;
      this.lost(msg, verdict);
      this.fragmentsArrived(out.fragmentsAfterLoss);
    } else this.fragmentsArrived(left);
  }

  /** `count` packets (fragments) arrived at `out.lastArrival`: each SACK reports the gaps before it. */
  private fragmentsArrived(count: number): void {
    for (let i = 0; i < count && i < 3 && this.frPending.length > 0; i++) this.notePacketDelivered(this.out!.lastArrival);
  }

  private traceSend(verdict: Verdict, items: unknown[], fragments = 1): void {
    const tag = verdict === Verdict.DELIVERED ? 'send' : verdict === Verdict.LOST ? 'drop-loss' : verdict === Verdict.QUEUE_FULL ? 'drop-queue' : 'drop-down';
    const parts: string[] = [];
    const bundled = items.length > 1 ? 1 : 0;
    for (let i = 0; i < items.length; i++) {
      const m = items[i];
      if (typeof m === 'number') {
        parts.push(`s=${m} len=${refLength(items[++i])}`);
        continue;
      }
      if (!(m instanceof Message)) continue; // page marker
      const msg = m as Message;
      parts.push((msg.kind === DATA ? `s=${msg.stream} tsn=${msg.tsn} len=${msg.data!.length}` : `${KIND_NAMES[msg.kind]} s=${msg.stream} tsn=${msg.tsn}`) + ` try=${msg.tries + bundled}`);
    }
    const what = parts.join(', ') + (fragments > 1 ? ` frags=${fragments}` : '');
    this.net.record(tag, `${this.label}>${this.peer!.label} ${what}`);
  }

  private lost(msg: Message, verdict: Verdict): void {
    if (msg.maxRtx >= 0 && msg.tries > msg.maxRtx) {
      this.abandon(msg);
      return;
    }
    const now = this.clock.now();
    const wait = this.rto(msg.tries);
    // Fast retransmit (RFC 4960 §7.2.4): once, for a first transmission the receiver will report missing.
    const fast = this.net.sctp.fastRetransmit && msg.tries === 1 && verdict !== Verdict.DOWN;
    if (now + wait > msg.deadline && !fast) {
      this.abandon(msg);
      return;
    }
    msg.timer = this.clock.schedule(Math.min(now + wait, msg.deadline), this, msg);
    this.retransmits.add(msg);
    if (fast) {
      msg.misses = 0;
      this.frPending.push(msg);
    }
  }

  /**
   * A packet sent after a loss arrives at `arrival`: the receiver SACKs at
   * once (gap detected), and the SACK reaches us one way later. The third
   * such report triggers the retransmission, if that beats the RTO timer.
   */
  private notePacketDelivered(arrival: number): void {
    const pending = this.frPending;
    let keep = 0;
    for (let i = 0; i < pending.length; i++) {
      const m = pending[i]!;
      if (++m.misses < 3 || m.timer === undefined) {
        if (m.timer !== undefined) pending[keep++] = m;
        continue;
      }
      const at = arrival + meanDelay(this.peer!.out!.cond);
      if (at < m.timer.at) {
        this.clock.cancel(m.timer);
        m.timer = this.clock.schedule(at, this, m);
      }
    }
    pending.length = keep;
  }

  /** Retransmission timer. */
  fire(arg: unknown): void {
    const msg = arg as Message;
    this.retransmits.delete(msg);
    msg.timer = undefined;
    if (this.closed || this.peer === null) return;
    if (this.clock.now() >= msg.deadline) {
      this.abandon(msg);
      return;
    }
    if ((this.held !== null || this.out!.cond.bytesPerMs > 0) && this.hold(msg, true)) return;
    this.transmit(msg);
  }

  // ---- SCTP: the send buffer (bandwidth-capped links only) ---------------

  /**
   * The link has a bandwidth cap: send `p` now if nothing is held and the
   * bottleneck queue has room for it, else hold it in the send buffer, which
   * hands packets to the link as the queue drains (so a flood backs up here,
   * in `bufferedAmount`, instead of being tail-dropped). `urgent`:
   * retransmissions and FORWARD-TSN, which go before new data. Returns
   * whether `p` was held.
   */
  private hold(p: Bundle | Message, urgent: boolean): boolean {
    const out = this.out!;
    let buf = this.held;
    if (buf === null) {
      if (out.cond.bytesPerMs <= 0 || out.fits(this.wireOf(p))) return false;
      buf = this.held = new SendBuffer(this);
    }
    if (urgent) buf.urgent.push(p as Message);
    else {
      buf.packets.push(p);
      this.account(p, 1, null);
    }
    if (buf.timer === undefined) {
      const head = buf.urgent.length > 0 ? buf.urgent[0]! : buf.packets[buf.head]!;
      const now = this.clock.now();
      const at = out.cond.bytesPerMs > 0 ? out.fitsAt(this.wireOf(head)) : now;
      buf.timer = this.clock.schedule(at > now ? at : now, buf);
    }
    return true;
  }

  /** @internal The send buffer's timer: hand the link what it has room for, then wait for more room. */
  drain(buf: SendBuffer): void {
    if (this.held !== buf) return;
    if (this.closed || this.peer === null || this.out === null) {
      this.held = null;
      return;
    }
    const out = this.out;
    const now = this.clock.now();
    const low: VirtualChannel[] = [];
    for (;;) {
      if (this.held !== buf) break;
      const urgent = buf.urgent.length > 0;
      const p = urgent ? buf.urgent[0]! : buf.packets[buf.head];
      if (p === undefined) {
        this.held = null;
        break;
      }
      if (out.cond.bytesPerMs > 0) {
        const wire = this.wireOf(p);
        if (!out.fits(wire)) {
          // Rounding can leave it a hair short at the computed time: look again a moment later.
          const at = out.fitsAt(wire);
          buf.timer = this.clock.schedule(at > now ? at : now + 1e-6, buf);
          break;
        }
      }
      if (urgent) buf.urgent.shift();
      else {
        buf.packets[buf.head++] = undefined;
        if (buf.head >= 1024 && buf.head * 2 >= buf.packets.length) {
          buf.packets = buf.packets.slice(buf.head);
          buf.head = 0;
        }
        this.account(p, -1, low);
      }
      this.sendHeld(p, urgent, now);
    }
    // bufferedAmountLow after the loop: a handler that sends or closes then queues behind what was sent.
    for (const ch of low) if (ch.state === 'open' && !this.closed) ch.dispatch({ kind: 'low' });
  }

  /** Send a packet leaving the send buffer; partially reliable messages whose lifetime ran out while held are abandoned unsent, as SCTP does. */
  private sendHeld(p: Bundle | Message, urgent: boolean, now: number): void {
    if (p instanceof Message) {
      if (now >= p.deadline) this.abandon(p);
      else this.transmit(p);
      return;
    }
    if (!urgent && p.messages > 0) {
      const items = p.items;
      let kept = 0;
      for (let i = 0; i < items.length; i++) {
        const m = items[i];
        if (typeof m === 'number') {
          items[kept++] = m;
          items[kept++] = items[++i];
        } else if (m instanceof Message && now >= m.deadline) {
          p.bytes -= m.data!.length + CHUNK_HEADER;
          p.messages--;
          this.abandon(m);
        } else items[kept++] = m;
      }
      items.length = kept;
      if (p.bytes === 0) return;
    }
    this.sendBundle(p);
  }

  /** Bytes a packet costs on the link (fragments, chunk headers and overhead included). */
  private wireOf(p: Bundle | Message): number {
    const overhead = this.out!.cond.overheadBytes;
    const size = p instanceof Bundle ? p.bytes : p.data === null ? CHUNK_HEADER : p.data.length + CHUNK_HEADER;
    if (size <= BUNDLE_BYTES) return size + overhead;
    const len = size - CHUNK_HEADER;
    const total = fragmentCount(len);
    const left = p instanceof Message && p.fragmentsLeft > 0 ? p.fragmentsLeft : total;
    return fragmentBytes(len, left, total) + left * (CHUNK_HEADER + overhead);
  }

  /** Add (`sign` 1) or remove (-1) the payload bytes of `p` from its channels' held counts; channels that fall to their threshold go to `low`. */
  private account(p: Bundle | Message, sign: 1 | -1, low: VirtualChannel[] | null): void {
    if (p instanceof Message) {
      if (p.kind === DATA) this.accountChunk(p.stream, sign * p.data!.length, low);
      return;
    }
    const items = p.items;
    for (let i = 0; i < items.length; i++) {
      const m = items[i];
      if (typeof m === 'number') this.accountChunk(m, sign * refLength(items[++i]), low);
      else if (m instanceof Message && m.kind === DATA) this.accountChunk(m.stream, sign * m.data!.length, low);
    }
  }

  private accountChunk(stream: number, delta: number, low: VirtualChannel[] | null): void {
    const ch = this.byStream.get(stream);
    if (ch === undefined) return;
    const before = ch.held;
    const after = before + delta > 0 ? before + delta : 0;
    ch.held = after;
    if (low !== null && before > ch.lowThreshold && after <= ch.lowThreshold && !low.includes(ch)) low.push(ch);
  }

  /** @internal bufferedAmount of `ch`: its bytes held in the send buffer, and those in this instant's bundle, which will queue behind them. */
  bufferedBytes(ch: VirtualChannel): number {
    if (this.held === null) return 0;
    let n = ch.held;
    const b = this.bundle;
    if (b !== null) {
      const items = b.items;
      for (let i = 0; i < items.length; i++) {
        const m = items[i];
        if (typeof m === 'number') {
          const ref = items[++i];
          if (m === ch.streamId) n += refLength(ref);
        } else if (m instanceof Message && m.kind === DATA && m.stream === ch.streamId) n += m.data!.length;
      }
    }
    return n;
  }

  private abandon(msg: Message): void {
    this.net.record('abandon', `${this.label} s=${msg.stream} tsn=${msg.tsn}`);
    if (msg.ssn >= 0) this.sendControl(FORWARD, msg.stream, null, msg.ssn);
  }

  // ---- SCTP: receiving --------------------------------------------------

  /** @internal A packet arrived from the link. */
  receive(payload: unknown, duplicate: boolean): void {
    if (this.closed) return;
    if (payload instanceof Bundle) {
      if (payload.received) {
        if (this.net.trace.enabled) this.net.record('discard-dup', `${this.label} bundle of ${payload.traceLength()}${duplicate ? ' copy' : ''}`);
        return;
      }
      payload.received = true;
      const items = payload.items;
      const tracing = this.net.trace.enabled;
      let lastStream = -1;
      let ch: VirtualChannel | undefined;
      let page: ArrayBuffer | null = null;
      for (let i = 0; i < items.length && !this.closed; i++) {
        const m = items[i];
        if (typeof m === 'number') {
          const ref = items[++i];
          if (m !== lastStream) {
            if (m !== this.rxStream) {
              this.rxStream = m;
              this.rxChannel = this.byStream.get(m);
            }
            ch = this.rxChannel;
            lastStream = m;
          }
          // Unreliable data for a channel not (or no longer) here is dropped, as SCTP would.
          if (ch === undefined || ch.state === 'closed') continue;
          // A view of the slab: those bytes are never written again.
          let data: Uint8Array;
          if (typeof ref === 'number') {
            const len = ref & REF_LENGTH;
            data = new Uint8Array(page!, ref >>> REF_SHIFT, len);
            this.bytesReceived += len;
          } else {
            data = ref as Uint8Array;
            this.bytesReceived += data.length;
          }
          if (tracing) this.traceDeliver(ch, data, -1);
          ch.deliverMessage(data, false);
        } else if (m instanceof Message) {
          this.receiveOne(m, duplicate);
          lastStream = -1;
        } else {
          page = m as ArrayBuffer; // page of the slab references that follow
        }
      }
      return;
    }
    this.receiveOne(payload as Message, duplicate);
  }

  private receiveOne(msg: Message, duplicate: boolean): void {
    if (msg.received) {
      if (this.net.trace.enabled) this.net.record('discard-dup', `${this.label} tsn=${msg.tsn}${duplicate ? ' copy' : ''}`);
      return;
    }
    msg.received = true;
    if (msg.kind === DATA) {
      const ch = this.byStream.get(msg.stream);
      if (ch === undefined) {
        // Data can overtake the DCEP open of its channel (reordering): hold it.
        const orphans = (this.orphans ??= new Map());
        let list = orphans.get(msg.stream);
        if (!list) orphans.set(msg.stream, (list = []));
        list.push(msg);
        return;
      }
      this.receiveData(ch, msg);
      return;
    }
    this.receiveControl(msg);
  }

  private receiveData(ch: VirtualChannel, msg: Message): void {
    if (ch.state === 'closed') return;
    if (msg.ssn < 0) {
      this.deliverNow(ch, msg.data!, msg.isText, msg.tsn);
      return;
    }
    if (msg.ssn === ch.recvSsn) {
      ch.recvSsn++;
      this.deliverNow(ch, msg.data!, msg.isText, msg.tsn);
      this.flushOrdered(ch);
    } else if (msg.ssn > ch.recvSsn) {
      (ch.early ??= new Map()).set(msg.ssn, msg);
    }
  }

  private flushOrdered(ch: VirtualChannel): void {
    for (;;) {
      const next = ch.recvSsn;
      const early = ch.early?.get(next);
      if (early !== undefined) {
        ch.early!.delete(next);
        ch.recvSsn++;
        this.deliverNow(ch, early.data!, early.isText, early.tsn);
        if (ch.state === 'closed' || this.closed) return;
      } else if (ch.skipped?.has(next)) {
        ch.skipped.delete(next);
        ch.recvSsn++;
      } else return;
    }
  }

  private deliverNow(ch: VirtualChannel, data: Uint8Array, isText: boolean, tsn: number): void {
    this.bytesReceived += data.length;
    if (this.net.trace.enabled) this.traceDeliver(ch, data, tsn);
    ch.deliverMessage(data, isText);
  }

  private traceDeliver(ch: VirtualChannel, data: Uint8Array, tsn: number): void {
    this.net.record('deliver', `${this.peer?.label ?? '?'}>${this.label} s=${ch.streamId} tsn=${tsn < 0 ? '-' : tsn} len=${data.length} h=${hashBytes(data).toString(16)}`);
  }

  private receiveControl(msg: Message): void {
    switch (msg.kind) {
      case DCEP_OPEN: {
        const init = msg.extra!;
        if (this.byStream.has(msg.stream)) return;
        const ch = new VirtualChannel(this, { ...init });
        ch.state = 'open';
        this.channels.push(ch);
        this.setStream(msg.stream, ch);
        this.net.record('channel', `${this.label} s=${msg.stream} ${JSON.stringify(init.label)}`);
        this.sendControl(DCEP_ACK, msg.stream, null);
        safe(() => this.handlers.dataChannel(ch));
        ch.dispatch({ kind: 'open' });
        const orphans = this.orphans?.get(msg.stream);
        if (orphans) {
          this.orphans!.delete(msg.stream);
          for (const m of orphans) if (!this.closed) this.receiveData(ch, m);
        }
        return;
      }
      case DCEP_ACK: {
        const ch = this.byStream.get(msg.stream);
        if (ch && ch.state === 'connecting') {
          ch.state = 'open';
          ch.dispatch({ kind: 'open' });
        }
        return;
      }
      case RESET: {
        const ch = this.byStream.get(msg.stream);
        if (ch) this.markChannelClosed(ch);
        return;
      }
      case FORWARD: {
        const ch = this.byStream.get(msg.stream);
        if (!ch || msg.ssn < ch.recvSsn) return;
        (ch.skipped ??= new Set()).add(msg.ssn);
        this.flushOrdered(ch);
        return;
      }
      case SHUTDOWN:
        this.remoteClosed();
        return;
    }
  }

  // ---- closing ------------------------------------------------------------

  /** @internal */
  closeChannel(ch: VirtualChannel): void {
    if (ch.state === 'closed' || ch.state === 'closing' || this.closed) return;
    const wasOpen = ch.streamId >= 0 && this.peer !== null && this.state !== 'failed';
    ch.state = 'closing';
    if (wasOpen) this.sendControl(RESET, ch.streamId, null);
    if (this.role === null) {
      // Never negotiated: the stream id is free again at once, as in libdatachannel.
      this.unsetStream(ch);
      const i = this.channels.indexOf(ch);
      if (i >= 0) this.channels.splice(i, 1);
    }
    this.later(() => this.markChannelClosed(ch));
  }

  private markChannelClosed(ch: VirtualChannel): void {
    if (ch.state === 'closed') return;
    ch.state = 'closed';
    ch.early = null;
    ch.skipped = null;
    this.unsetStream(ch);
    ch.dispatch({ kind: 'closed' });
  }

  private remoteClosed(): void {
    if (this.closed) return;
    this.net.record('remote-closed', this.label);
    for (const ch of this.channels) this.markChannelClosed(ch);
    this.setState('closed');
    this.close();
  }

  /** @internal Stop all SCTP activity (failed or closed). */
  private dropTransport(): void {
    this.bundle = null;
    if (this.held !== null) {
      this.clock.cancel(this.held.timer);
      this.held = null;
      for (const ch of this.channels) ch.held = 0;
    }
    for (const m of this.retransmits) this.clock.cancel(m.timer);
    this.retransmits.clear();
    this.frPending = [];
    const pair = this.pair;
    const peer = this.peer;
    // The pair's consent timers belong to the peer too while it is alive.
    if (pair && (peer === null || peer.closed || peer.state === 'failed' || peer.state === 'closed')) {
      this.clock.cancel(pair.disconnectTimer);
      this.clock.cancel(pair.failTimer);
      this.clock.cancel(pair.reconnectTimer);
      pair.disconnectTimer = pair.failTimer = pair.reconnectTimer = undefined;
    }
  }

  close(): void {
    if (this.closed) return;
    this.flush();
    const peer = this.peer;
    const pair = this.pair;
    const canNotify = peer !== null && !peer.closed && pair !== null && pair.handshakeDone && this.state !== 'failed';
    if (canNotify) {
      // SHUTDOWN crosses the link once; if it is lost the peer finds out by ICE consent.
      const msg = new Message(this.nextTsn++, SHUTDOWN, 0, -1, null, false, 0, Infinity, null);
      const verdict = this.out!.transmit(peer, msg, 16);
      this.net.record(verdict === Verdict.DELIVERED ? 'send' : 'drop', `${this.label}>${peer.label} shutdown`);
      if (verdict !== Verdict.DELIVERED) peer.peerVanished();
    } else if (peer !== null && !peer.closed && pair !== null) {
      peer.peerVanished();
    }
    this.closed = true;
    this.dropTransport();
    this.stopChecks();
    for (const t of this.timers) this.clock.cancel(t);
    this.timers.clear();
    if (pair) pair.link.watchers.delete(pair);
    for (const ch of this.channels) if (ch.state !== 'closed') ch.state = 'closed';
    this.host.connections.delete(this);
    if (this.net.endpoints.get(this.label) === this) this.net.endpoints.delete(this.label);
    this.net.record('closed', this.label);
  }

  /** The peer closed without telling us: consent checks will stop succeeding. */
  private peerVanished(): void {
    if (this.closed || this.state === 'failed') return;
    if (!this.pair?.handshakeDone) {
      this.later(() => this.setState('failed'), this.net.ice.failedAfterMs);
      return;
    }
    const pair = this.pair;
    this.clock.cancel(pair.reconnectTimer);
    pair.reconnectTimer = undefined;
    this.startConsentTimers(pair, [this]);
    // The dead peer no longer watches the link; make sure healing does not revive us.
    pair.link.watchers.delete(pair);
  }

  // ---- queries --------------------------------------------------------

  maxMessageSize(): number {
    return this.closed ? 0 : this.maxSize;
  }

  stats(): EngineStats {
    const peer = this.peer;
    if (this.closed || !peer) return { rttMs: -1, bytesSent: this.bytesSent, bytesReceived: this.bytesReceived, selectedCandidatePair: null };
    return {
      rttMs: Math.round(this.rttMs()),
      bytesSent: this.bytesSent,
      bytesReceived: this.bytesReceived,
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
    /** The host whose connections this engine makes. */
    readonly host: VirtualHost,
  ) {}

  createConnection(config: EngineConfig, handlers: EngineConnectionHandlers): EngineConnection {
    if (this.host.network.isClosed()) throw new Error('the virtual network is closed');
    return new VirtualConnection(this.host, config, handlers);
  }
}
