/**
 * The engine interface: what a WebRTC implementation gives the peer layer.
 *
 * The peer layer ({@link WebRTCPeerConnection}) talks only to this interface, so the
 * same peer, mesh and RPC code runs over node-datachannel, the browser's
 * RTCPeerConnection, and the virtual network. Nothing here names a type of any
 * particular WebRTC library.
 *
 * Contract for implementers:
 * - Handlers are called on the JavaScript thread. An engine must never let an
 *   exception thrown by a handler escape into native code; it catches it and
 *   rethrows it asynchronously (see {@link rethrowAsync}).
 * - Handlers are called in the order things happened. After `close()` no handler
 *   of that connection or its channels is called again.
 * - A closed connection releases every native handle and timer it holds, so a
 *   process whose connections are all closed exits by itself.
 * @module
 */

/** State of the whole connection (W3C RTCPeerConnectionState names). */
export type EngineConnectionState = 'new' | 'connecting' | 'connected' | 'disconnected' | 'failed' | 'closed';
/** ICE gathering state. */
export type EngineGatheringState = 'new' | 'gathering' | 'complete';
/** Signaling (offer/answer) state. */
export type EngineSignalingState =
  | 'stable'
  | 'have-local-offer'
  | 'have-remote-offer'
  | 'have-local-pranswer'
  | 'have-remote-pranswer'
  | 'closed';
/** Session description type. */
export type SdpType = 'offer' | 'answer';

/** One STUN or TURN server, already validated and normalised. */
export interface EngineIceServer {
  /** `stun:`, `turn:` or `turns:` URL. */
  url: string;
  username?: string;
  credential?: string;
}

/** Connection configuration, already validated by the peer layer. */
export interface EngineConfig {
  iceServers: EngineIceServer[];
  /** Local address to bind ICE sockets to (e.g. `127.0.0.1`). */
  bindAddress?: string;
  /** Inclusive UDP port range for ICE. */
  portRangeBegin?: number;
  portRangeEnd?: number;
  /** `relay` uses TURN relays only. */
  iceTransportPolicy: 'all' | 'relay';
  enableIceTcp?: boolean;
  enableIceUdpMux?: boolean;
  mtu?: number;
  /** Local maximum message size announced in SDP. */
  maxMessageSize?: number;
}

/** A data channel's configuration; what both sides should report. */
export interface EngineChannelInit {
  label: string;
  protocol: string;
  negotiated: boolean;
  /** Stream id; for non-negotiated channels assigned by the engine. */
  id?: number;
  ordered: boolean;
  /** Milliseconds; undefined when unset. */
  maxPacketLifeTime?: number;
  /** Undefined when unset. */
  maxRetransmits?: number;
}

/** Candidate pair in use, when known. */
export interface EngineCandidatePair {
  local: EngineCandidateInfo;
  remote: EngineCandidateInfo;
}

/** One side of the selected candidate pair. */
export interface EngineCandidateInfo {
  address: string;
  port: number;
  /** `host`, `srflx`, `prflx`, `relay` or `unknown`. */
  type: string;
  /** `udp`, `tcp` or `unknown`. */
  transport: string;
}

/** Connection-level statistics from the engine. */
export interface EngineStats {
  /** Round-trip time in milliseconds, or -1 when unknown. */
  rttMs: number;
  /** Payload bytes sent and received on all channels. */
  bytesSent: number;
  bytesReceived: number;
  selectedCandidatePair: EngineCandidatePair | null;
}

/** Called by an engine channel. */
export interface EngineChannelHandlers {
  open(): void;
  closed(): void;
  error(message: string): void;
  /** A message; `isText` when it was sent as a string. */
  message(data: Uint8Array, isText: boolean): void;
  bufferedAmountLow(): void;
}

/** A data channel inside an engine connection. */
export interface EngineChannel {
  /** Options as configured locally, or as announced by the remote side. */
  readonly init: EngineChannelInit;
  /** The SCTP stream id, or -1 before one is assigned. */
  id(): number;
  /** Set the handlers; events that happened before are delivered now, in order. */
  setHandlers(handlers: EngineChannelHandlers): void;
  /**
   * Send one binary message.
   *
   * Returns true when the engine accepted the message: sent at once or queued
   * to be sent (an engine whose native call reports "only queued" as false,
   * like node-datachannel's `sendMessageBinary`, must return true for it).
   * Returns false only on a real refusal: the message was dropped and will
   * never be sent (e.g. the browser's send queue is full). Throws when the
   * channel is not open or the message is larger than the engine allows.
   * The engine copies the bytes (or has sent them) before it returns: the
   * caller may overwrite `data` afterwards (the mesh's session layer reuses
   * its frame slab once the remote acknowledged a frame).
   */
  sendBinary(data: Uint8Array): boolean;
  /** Send one text message; same contract as {@link sendBinary}. */
  sendText(text: string): boolean;
  bufferedAmount(): number;
  setBufferedAmountLowThreshold(bytes: number): void;
  /** Maximum message size for this channel (negotiated). */
  maxMessageSize(): number;
  close(): void;
}

/** Called by an engine connection. */
export interface EngineConnectionHandlers {
  localDescription(type: SdpType, sdp: string): void;
  localCandidate(mid: string, index: number, candidate: string): void;
  stateChange(state: EngineConnectionState): void;
  gatheringStateChange(state: EngineGatheringState): void;
  signalingStateChange(state: EngineSignalingState): void;
  /** An in-band channel opened by the remote side. Call `setHandlers` at once. */
  dataChannel(channel: EngineChannel): void;
  /**
   * Something from the remote side was rejected after the call that applied it
   * had returned. Engines over an asynchronous native API (the browser's
   * RTCPeerConnection) use it for a description or candidate that the native
   * side refuses later; synchronous engines throw from the call instead and
   * never call this. The connection's state is left as it was.
   */
  remoteError?(kind: 'description' | 'candidate', message: string): void;
}

/** A peer connection inside an engine. */
export interface EngineConnection {
  /**
   * Create a channel: before the offer or answer is made, or once the
   * connection is connected (an in-band channel then opens through DCEP and
   * the remote side gets `dataChannel`). The peer layer allows only the first.
   */
  createDataChannel(init: EngineChannelInit): EngineChannel;
  /** Make an offer; it arrives through `localDescription`. */
  createOffer(): void;
  /**
   * Apply the remote description. For an offer, the engine answers by itself
   * through `localDescription`. Throws on malformed SDP, leaving state intact.
   * An asynchronous engine throws for what it can check at once and reports a
   * later refusal through `remoteError('description', …)`.
   */
  setRemoteDescription(type: SdpType, sdp: string): void;
  /**
   * Apply a remote candidate. Throws on malformed input (an asynchronous
   * engine reports a later refusal through `remoteError('candidate', …)`).
   */
  addRemoteCandidate(mid: string, candidate: string): void;
  /** Negotiated maximum message size (0 before negotiation). */
  maxMessageSize(): number;
  stats(): EngineStats;
  /** Close the connection and all its channels; release everything. Idempotent. */
  close(): void;
}

/** A WebRTC implementation. */
export interface Engine {
  /** Short name, e.g. `node-datachannel`, `browser`, `virtual`. */
  readonly name: string;
  createConnection(config: EngineConfig, handlers: EngineConnectionHandlers): EngineConnection;
}

/**
 * Rethrow an error thrown by a user handler outside the current (possibly
 * native) call stack, so it surfaces as an ordinary uncaught exception instead
 * of aborting the process.
 */
export function rethrowAsync(err: unknown): void {
  queueMicrotask(() => {
    throw err;
  });
}

/**
 * `fn`, with any exception rethrown asynchronously ({@link rethrowAsync}): for
 * handlers called from native code or a browser's event dispatch.
 */
export function guard<A extends unknown[]>(fn: (...args: A) => void): (...args: A) => void {
  return (...args: A) => {
    try {
      fn(...args);
    } catch (err) {
      rethrowAsync(err);
    }
  };
}
