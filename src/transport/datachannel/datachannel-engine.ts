/**
 * The engine over node-datachannel's own API (libdatachannel: ICE, DTLS, SCTP).
 *
 * What this file knows about node-datachannel (see the engine notes in the spec):
 * - Negotiation is manual (`disableAutoNegotiation`): offers and answers are made
 *   with an explicit type, so channels created up front on both sides never
 *   trigger a colliding offer.
 * - Callbacks arrive on the JS thread from native threads; an exception escaping
 *   one aborts the process, so every handler call is guarded.
 * - The binding releases a handle's thread-safe callbacks only when it sees that
 *   handle's own `closed` event. We therefore register `onStateChange` on every
 *   connection and `onClosed` on every channel, and call `close()` when the
 *   remote side closes: the process then exits by itself with no global
 *   `cleanup()` (which would also close connections that other code owns).
 * - Received channels are held in a set, so they are never garbage collected
 *   and closed behind the user's back (node-datachannel#76).
 * - libdatachannel never opens a second negotiated channel on a stream id that
 *   connection has used, even after the first one closed (before negotiation
 *   too). `createDataChannel` refuses such an id instead of returning a channel
 *   that would never open.
 * - Closing is graceful on the wire: `pc.close()` sends an SCTP ABORT and
 *   tears the transports down at once, and now and then the ABORT never leaves
 *   (Chromium then only notices ICE consent expiring, ~15 s later). So
 *   `close()` first closes every open channel (libdatachannel sends an SCTP
 *   stream reset, which SCTP retransmits until acknowledged and which the
 *   remote side reports as the channel closing), and calls `pc.close()`
 *   {@link GRACEFUL_CLOSE_MS} later. For the user `close()` takes effect at
 *   once: the state is final and no handler is called again. libdatachannel
 *   reports a channel closed as soon as the reset is queued, not when it is
 *   acknowledged, so the wait is a fixed bound, not an event.
 * - A binary message of up to {@link STAGED_MAX} bytes is copied into a
 *   reused view before `sendMessageBinary`, which copies it at once. V8 keeps
 *   arrays that small on its own heap, and handing one to native code first
 *   moves it off the heap (an allocation per message, and work for the
 *   collector later): on loopback, 41-byte messages in fresh arrays sent at
 *   110 k/s with 6.6 µs per send call, staged at 165–180 k/s with 3.1–3.4 µs.
 *   Larger arrays already live off the heap; staging them gains nothing.
 * @module
 */
import { EventHoldingChannel, type ChannelEvent } from '../channel-events.js';
import ndc from 'node-datachannel';
import type { DataChannel as NdcChannel, PeerConnection as NdcConnection, IceServer as NdcIceServer } from 'node-datachannel';
import {
  guard,
  rethrowAsync,
  type Engine,
  type EngineChannel,
  type EngineChannelInit,
  type EngineConfig,
  type EngineConnection,
  type EngineConnectionHandlers,
  type EngineConnectionState,
  type EngineGatheringState,
  type EngineIceServer,
  type EngineSignalingState,
  type EngineStats,
  type SdpType,
} from '../engine.js';
import { annotateSdp, extractAnnotations, type AnnotatedChannel } from '../sdp-annotation.js';
import { sendView } from '../send-views.js';

let connectionCounter = 0;

/** Binary messages up to this size (V8's largest typed array kept on its heap) are staged before sending. */
const STAGED_MAX = 64;

/** `data` (at most {@link STAGED_MAX} bytes) in the reused off-heap view of its length: copied there unless it is that view already. */
function staged(data: Uint8Array): Uint8Array {
  const v = sendView(data.length);
  if (v !== data) v.set(data);
  return v;
}

/**
 * node-datachannel's gathering state names (libdatachannel's: `in-progress`,
 * not the W3C `gathering` its typings declare) to the engine's.
 */
const NDC_GATHERING_STATES: Partial<Record<string, EngineGatheringState>> = {
  new: 'new',
  'in-progress': 'gathering',
  gathering: 'gathering',
  complete: 'complete',
};

/** libdatachannel's refusal of a candidate that merely came too early. */
const TRANSPORT_NOT_READY = /without (ICE transport|remote description)/i;

/**
 * How long a closed connection keeps its transports up after resetting its
 * channels' streams, so the resets reach the remote side before the ABORT and
 * the teardown (ms). The only timer the engine keeps after `close()`; a
 * process whose connections are all closed exits at most this much later.
 */
export const GRACEFUL_CLOSE_MS = 250;

/** Parse a validated `stun:` / `turn:` / `turns:` URL into node-datachannel's form. */
export function toNdcIceServer(server: EngineIceServer): NdcIceServer {
  const match = /^(stun|turn|turns):(\[[^\]]+\]|[^:?]+)(?::(\d+))?(?:\?transport=(udp|tcp))?$/i.exec(server.url);
  if (!match) throw new TypeError(`unparseable ICE server URL ${server.url}`);
  const scheme = match[1]!.toLowerCase();
  const hostname = match[2]!.replace(/^\[|\]$/g, '');
  const secure = scheme === 'turns';
  const port = match[3] ? Number(match[3]) : secure ? 5349 : 3478;
  if (scheme === 'stun') return { hostname, port };
  const transport = (match[4] ?? 'udp').toLowerCase();
  return {
    hostname,
    port,
    username: server.username ?? '',
    password: server.credential ?? '',
    relayType: secure ? 'TurnTls' : transport === 'tcp' ? 'TurnTcp' : 'TurnUdp',
  };
}

function normaliseTransport(t: string): string {
  const lower = t.toLowerCase();
  if (lower.startsWith('udp')) return 'udp';
  if (lower.startsWith('tcp')) return 'tcp';
  return 'unknown';
}

class DatachannelChannel extends EventHoldingChannel implements EngineChannel {
  readonly init: EngineChannelInit;
  private closedFlag = false;

  constructor(
    private readonly dc: NdcChannel,
    init: EngineChannelInit,
    private readonly onRelease: (ch: DatachannelChannel) => void,
  ) {
    super();
    this.init = init;
    dc.onOpen(guard(() => this.dispatch({ kind: 'open' })));
    dc.onClosed(
      guard(() => {
        if (this.closedFlag) return;
        this.closedFlag = true;
        this.onRelease(this);
        this.dispatch({ kind: 'closed' });
      }),
    );
    dc.onError(guard((message: string) => this.dispatch({ kind: 'error', message })));
    dc.onBufferedAmountLow(guard(() => this.dispatch({ kind: 'low' })));
    // The hot path: one call per message, so no guard() wrapper (its rest parameters cost an array per call).
    dc.onMessage((msg: string | Buffer | ArrayBuffer) => {
      if (this.closedFlag) return;
      try {
        const isText = typeof msg === 'string';
        const data = isText ? Buffer.from(msg, 'utf8') : msg instanceof ArrayBuffer ? new Uint8Array(msg) : msg;
        const h = this.handlers;
        if (h) h.message(data, isText);
        else this.hold({ kind: 'message', data, isText });
      } catch (err) {
        rethrowAsync(err);
      }
    });
  }

  private dispatch(event: ChannelEvent): void {
    if (this.closedFlag && event.kind !== 'closed') return;
    this.emit(event);
  }

  id(): number {
    try {
      return this.dc.getId();
    } catch {
      return this.init.id ?? -1;
    }
  }

  /**
   * node-datachannel's `sendMessage*` returns false when libdatachannel only
   * buffered the message (it is still sent; `bufferedAmount()` counts it) and
   * throws when it refuses one, so every return here is an acceptance.
   */
  sendBinary(data: Uint8Array): boolean {
    this.dc.sendMessageBinary(data.length <= STAGED_MAX ? staged(data) : data);
    return true;
  }

  sendText(text: string): boolean {
    this.dc.sendMessage(text);
    return true;
  }

  bufferedAmount(): number {
    return this.closedFlag ? 0 : this.dc.bufferedAmount();
  }

  setBufferedAmountLowThreshold(bytes: number): void {
    if (!this.closedFlag) this.dc.setBufferedAmountLowThreshold(bytes);
  }

  maxMessageSize(): number {
    return this.closedFlag ? 0 : this.dc.maxMessageSize();
  }

  close(): void {
    if (this.closedFlag) return;
    this.dc.close();
  }

  /**
   * Connection closing: close the native channel (an SCTP stream reset, which
   * the remote side reports as the channel closing). True if it was open, so
   * a reset is on its way.
   */
  resetStream(): boolean {
    if (this.closedFlag) return false;
    try {
      const wasOpen = this.dc.isOpen();
      this.dc.close();
      return wasOpen;
    } catch {
      return false; // already gone natively: nothing to send
    }
  }

  /** Mark closed without waiting for the native event (connection closed). */
  markClosed(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    this.dispatch({ kind: 'closed' });
  }
}

class DatachannelConnection implements EngineConnection {
  private readonly pc: NdcConnection;
  private readonly channels = new Set<DatachannelChannel>();
  private readonly localInits: EngineChannelInit[] = [];
  /** Negotiated stream ids handed to libdatachannel: it never opens a second channel on one, even after the first closed. */
  private readonly negotiatedIds = new Set<number>();
  private remoteAnnotations: AnnotatedChannel[] = [];
  private closed = false;
  /**
   * The remote description came from libdatachannel (`o=rtc …`). Its ABORT
   * handling is what node↔node closing relies on, and it reports stream
   * resets as separate channel closes spread over round trips, so to such a
   * peer the connection closes without resetting streams first.
   */
  private remoteIsLibdatachannel = false;

  constructor(config: EngineConfig, handlers: EngineConnectionHandlers) {
    this.pc = new ndc.PeerConnection(`rtcmesh-${++connectionCounter}`, {
      iceServers: config.iceServers.map(toNdcIceServer),
      disableAutoNegotiation: true,
      iceTransportPolicy: config.iceTransportPolicy,
      ...(config.bindAddress !== undefined && { bindAddress: config.bindAddress }),
      ...(config.portRangeBegin !== undefined && { portRangeBegin: config.portRangeBegin }),
      ...(config.portRangeEnd !== undefined && { portRangeEnd: config.portRangeEnd }),
      ...(config.enableIceTcp !== undefined && { enableIceTcp: config.enableIceTcp }),
      ...(config.enableIceUdpMux !== undefined && { enableIceUdpMux: config.enableIceUdpMux }),
      ...(config.mtu !== undefined && { mtu: config.mtu }),
      ...(config.maxMessageSize !== undefined && { maxMessageSize: config.maxMessageSize }),
    });
    const pc = this.pc;
    pc.onLocalDescription(
      guard((sdp: string, type: string) => {
        if (this.closed || (type !== 'offer' && type !== 'answer')) return;
        handlers.localDescription(type, annotateSdp(sdp, this.localInits));
      }),
    );
    pc.onLocalCandidate(
      guard((candidate: string, mid: string) => {
        if (this.closed) return;
        const index = /^\d+$/.test(mid) ? Number(mid) : 0;
        handlers.localCandidate(mid, index, candidate);
      }),
    );
    pc.onStateChange(
      guard((state: string) => {
        if (this.closed) return;
        handlers.stateChange(state as EngineConnectionState);
        // The remote side closed: release our native handles too.
        if (state === 'closed') this.close();
      }),
    );
    pc.onGatheringStateChange(
      guard((state: string) => {
        const mapped = NDC_GATHERING_STATES[state];
        if (!this.closed && mapped !== undefined) handlers.gatheringStateChange(mapped);
      }),
    );
    pc.onSignalingStateChange(
      guard((state: string) => {
        if (!this.closed) handlers.signalingStateChange(state as EngineSignalingState);
      }),
    );
    pc.onDataChannel(
      guard((dc: NdcChannel) => {
        if (this.closed) {
          dc.close();
          return;
        }
        const label = dc.getLabel();
        const at = this.remoteAnnotations.findIndex((a) => a.label === label);
        const meta = at >= 0 ? this.remoteAnnotations.splice(at, 1)[0] : undefined;
        const init: EngineChannelInit = {
          label,
          protocol: dc.getProtocol(),
          negotiated: false,
          id: dc.getId(),
          ordered: meta?.ordered ?? true,
          ...(meta?.maxPacketLifeTime !== undefined && { maxPacketLifeTime: meta.maxPacketLifeTime }),
          ...(meta?.maxRetransmits !== undefined && { maxRetransmits: meta.maxRetransmits }),
        };
        const channel = this.track(dc, init);
        handlers.dataChannel(channel);
      }),
    );
  }

  private track(dc: NdcChannel, init: EngineChannelInit): DatachannelChannel {
    const channel = new DatachannelChannel(dc, init, (ch) => this.channels.delete(ch));
    this.channels.add(channel);
    return channel;
  }

  createDataChannel(init: EngineChannelInit): EngineChannel {
    if (init.negotiated && init.id !== undefined && this.negotiatedIds.has(init.id)) {
      // Fail loudly: libdatachannel would accept it and the channel would never open.
      throw new Error(
        `stream id ${init.id} was used before on this connection, and libdatachannel never opens a second channel on a stream id, even after the first one closed; initialize() the connection to start over`,
      );
    }
    const dc = this.pc.createDataChannel(init.label, {
      protocol: init.protocol,
      negotiated: init.negotiated,
      unordered: !init.ordered,
      ...(init.id !== undefined && { id: init.id }),
      ...(init.maxPacketLifeTime !== undefined && { maxPacketLifeTime: init.maxPacketLifeTime }),
      ...(init.maxRetransmits !== undefined && { maxRetransmits: init.maxRetransmits }),
    });
    if (init.negotiated && init.id !== undefined) this.negotiatedIds.add(init.id);
    this.localInits.push(init);
    return this.track(dc, init);
  }

  createOffer(): void {
    this.pc.setLocalDescription('offer');
  }

  setRemoteDescription(type: SdpType, sdp: string): void {
    const { sdp: clean, channels } = extractAnnotations(sdp);
    this.pc.setRemoteDescription(clean, type);
    this.remoteIsLibdatachannel = /^o=rtc /m.test(clean);
    this.remoteAnnotations.push(...channels);
    if (type === 'offer') this.pc.setLocalDescription('answer');
  }

  addRemoteCandidate(mid: string, candidate: string): void {
    try {
      this.pc.addRemoteCandidate(candidate, mid);
    } catch (err) {
      // libdatachannel refuses a well-formed candidate that arrives before its
      // ICE transport exists; that is timing, not a bad candidate: retry it.
      if (!TRANSPORT_NOT_READY.test(err instanceof Error ? err.message : String(err))) throw err;
      this.retryCandidate(mid, candidate, 50);
    }
  }

  private retryCandidate(mid: string, candidate: string, tries: number): void {
    setImmediate(() => {
      if (this.closed) return;
      try {
        this.pc.addRemoteCandidate(candidate, mid);
      } catch {
        if (tries > 1) this.retryCandidate(mid, candidate, tries - 1);
      }
    });
  }

  maxMessageSize(): number {
    return this.closed ? 0 : this.pc.maxMessageSize();
  }

  stats(): EngineStats {
    if (this.closed) return { rttMs: -1, bytesSent: 0, bytesReceived: 0, selectedCandidatePair: null };
    const pair = this.pc.getSelectedCandidatePair();
    return {
      rttMs: this.pc.rtt(),
      bytesSent: this.pc.bytesSent(),
      bytesReceived: this.pc.bytesReceived(),
      selectedCandidatePair: pair
        ? {
            local: { address: pair.local.address, port: pair.local.port, type: pair.local.type, transport: normaliseTransport(pair.local.transportType) },
            remote: { address: pair.remote.address, port: pair.remote.port, type: pair.remote.type, transport: normaliseTransport(pair.remote.transportType) },
          }
        : null,
    };
  }

  /**
   * Close at once for the user; on the wire, reset every open channel's
   * stream first and tear the association down {@link GRACEFUL_CLOSE_MS}
   * later (see the module notes). With no channel open, or to a libdatachannel
   * peer, tear down now.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const open = [...this.channels];
    this.channels.clear();
    let resetting = false;
    if (!this.remoteIsLibdatachannel) for (const ch of open) if (ch.resetStream()) resetting = true;
    if (!resetting) {
      try {
        this.pc.close();
      } finally {
        for (const ch of open) ch.markClosed();
      }
      return;
    }
    for (const ch of open) ch.markClosed();
    const pc = this.pc;
    setTimeout(() => {
      try {
        pc.close();
      } catch {
        // Nothing is left to release and nobody to tell.
      }
    }, GRACEFUL_CLOSE_MS);
  }
}

/** The node-datachannel engine. One instance serves any number of connections. */
export class DatachannelEngine implements Engine {
  readonly name = 'node-datachannel';

  createConnection(config: EngineConfig, handlers: EngineConnectionHandlers): EngineConnection {
    return new DatachannelConnection(config, handlers);
  }
}

/** The process-wide default engine in Node.js. */
export const datachannelEngine: Engine = new DatachannelEngine();
