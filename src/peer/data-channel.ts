/**
 * WebRTCDataChannel: one data channel as a packet peer (Godot's PacketPeer).
 * @module
 */
import { EventEmitter } from 'eventemitter3';
import { ErrorCode, RtcmeshError, describeError } from '../errors.js';
import type { EngineChannel, EngineChannelInit } from '../transport/engine.js';
import { msgpack, unpackStrict } from '../util/msgpack.js';
import { checkBytes, checkOneOf } from '../util/validate.js';
import type { Dispatcher } from './dispatcher.js';
import { run } from './dispatcher.js';
import { ChannelState, WriteMode, enumName } from './enums.js';
import { PacketQueue, type QueueLimits } from './packet-queue.js';

/** Events of a {@link WebRTCDataChannel}. */
export interface DataChannelEvents {
  /** The channel opened; `putPacket` works from now on. */
  open: () => void;
  /** The channel closed (locally, remotely, or with its connection). */
  close: () => void;
  /**
   * A packet arrived. While at least one `packet` listener is attached, packets
   * go to the listeners instead of the queue read by `getPacket()`.
   */
  packet: (data: Uint8Array, isText: boolean) => void;
  /** A received packet could not be decoded by `getVar()`; it was dropped. */
  malformed_packet: (error: RtcmeshError) => void;
  /** The engine reported an error on this channel. */
  error: (error: RtcmeshError) => void;
  /** `getBufferedAmount()` fell to the low threshold. */
  buffered_amount_low: () => void;
}

/** Per-channel counters, as reported by {@link WebRTCDataChannel.getStats}. */
export interface DataChannelStats {
  label: string;
  id: number;
  state: ChannelState;
  packetsSent: number;
  bytesSent: number;
  packetsReceived: number;
  bytesReceived: number;
  /** Packets waiting in the inbound queue. */
  packetsQueued: number;
  /** Packets dropped because the inbound queue was full. */
  packetsDropped: number;
  /** Packets `getVar()` could not decode. */
  packetsMalformed: number;
  /** Bytes accepted by the engine but not yet sent. */
  bufferedAmount: number;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A data channel. Create one with {@link WebRTCPeerConnection.createDataChannel};
 * received ones arrive with `data_channel_received`. The connection keeps a
 * reference to every channel, so dropping yours never closes it.
 */
export class WebRTCDataChannel extends EventEmitter<DataChannelEvents> {
  private state: ChannelState = ChannelState.CONNECTING;
  private mode: WriteMode = WriteMode.BINARY;
  private readonly queue: PacketQueue;
  private lastWasString = false;
  private packetError: ErrorCode | undefined;
  private maxSize = 0;
  private counters = { packetsSent: 0, bytesSent: 0, packetsReceived: 0, bytesReceived: 0, malformed: 0 };
  /**
   * @internal The owner's receiver (the mesh's link): offered each packet as
   * it arrives, while nothing waits in the queue (so order is kept), after any
   * `packet` listener. True: taken; false: the packet is queued as usual.
   * Spares the owner a queue round trip per packet.
   */
  sink: ((data: Uint8Array, isText: boolean) => boolean) | undefined = undefined;

  /** @internal Created by {@link WebRTCPeerConnection}. */
  constructor(
    private readonly engine: EngineChannel,
    private readonly dispatcher: Dispatcher,
    queueLimits: QueueLimits,
  ) {
    super();
    this.queue = new PacketQueue(queueLimits);
    engine.setHandlers({
      open: () => {
        if (this.state !== ChannelState.CONNECTING) return;
        this.state = ChannelState.OPEN;
        this.maxSize = safeNumber(() => engine.maxMessageSize());
        this.dispatcher.post(() => this.emit('open'));
      },
      closed: () => this.markClosed(),
      error: (message) => {
        const err = new RtcmeshError(ErrorCode.ENGINE_ERROR, `data channel "${this.init.label}": ${message}`);
        this.dispatcher.post(() => this.emit('error', err));
      },
      message: (data, isText) => this.receive(data, isText),
      bufferedAmountLow: () => this.dispatcher.post(() => this.emit('buffered_amount_low')),
    });
  }

  private get init(): EngineChannelInit {
    return this.engine.init;
  }

  private receive(data: Uint8Array, isText: boolean): void {
    if (this.state === ChannelState.CLOSED) return;
    this.counters.packetsReceived++;
    this.counters.bytesReceived += data.length;
    if (this.dispatcher.autoPoll && this.listenerCount('packet') > 0) {
      this.lastWasString = isText;
      run(() => this.emit('packet', data, isText));
      return;
    }
    const sink = this.sink;
    if (sink !== undefined && this.queue.length === 0 && sink(data, isText)) return;
    this.queue.push(data, isText);
  }

  /** @internal Called when the channel or its connection closed. */
  markClosed(): void {
    if (this.state === ChannelState.CLOSED) return;
    this.state = ChannelState.CLOSED;
    this.dispatcher.post(() => this.emit('close'));
  }

  /**
   * Deliver this channel's queued packets to its `packet` listeners, in
   * arrival order, and return when the queue is empty.
   *
   * {@link WebRTCPeerConnection.poll} calls this for every channel of its
   * connection, so a game loop that polls the connection never needs it. Call
   * it to drain one channel on its own. Without `autoPoll` every packet waits
   * in the queue for a poll; with `autoPoll` only those that arrived while no
   * `packet` listener was attached. With no listener this does nothing and the
   * packets stay readable with {@link getPacket}; if the last listener is
   * removed meanwhile, the rest stay queued. Cheap when nothing is queued. A
   * listener that throws does not stop delivery: its error is rethrown
   * asynchronously.
   */
  poll(): void {
    if (this.queue.length === 0 || this.listenerCount('packet') === 0) return;
    const q = this.queue;
    for (;;) {
      const data = q.shiftData();
      if (data === undefined) break;
      const isText = q.lastWasText;
      this.lastWasString = isText;
      run(() => this.emit('packet', data, isText));
      if (this.listenerCount('packet') === 0) break;
    }
  }

  /**
   * Send one message. In {@link WriteMode.TEXT} the bytes must be valid UTF-8
   * and go out as a text message.
   *
   * A packet the engine only queues (see {@link getBufferedAmount}) counts as
   * sent. A packet the engine refuses is not sent, not counted in
   * {@link getStats}, and throws: nothing is dropped silently.
   * @throws RtcmeshError NOT_OPEN when the channel is not open,
   *   PACKET_TOO_LARGE above {@link getMaxPacketSize}, INVALID_ARGUMENT for
   *   non-bytes or invalid UTF-8 in text mode, ENGINE_ERROR when the engine
   *   refuses the packet (e.g. the browser's send queue is full).
   */
  putPacket(data: Uint8Array): void {
    if (!(data instanceof Uint8Array)) checkBytes(data, 'putPacket() data');
    if (this.state !== ChannelState.OPEN) {
      throw new RtcmeshError(
        ErrorCode.NOT_OPEN,
        `data channel "${this.init.label}" is ${enumName(ChannelState, this.state)}, not OPEN; ` +
          (this.state === ChannelState.CONNECTING ? 'wait for its open event before sending' : 'create a new connection to send again'),
      );
    }
    if (this.maxSize > 0 && data.length > this.maxSize) {
      throw new RtcmeshError(
        ErrorCode.PACKET_TOO_LARGE,
        `packet of ${data.length} bytes is larger than the negotiated maximum of ${this.maxSize} bytes on "${this.init.label}"; split it or raise maxMessageSize on both sides`,
      );
    }
    let accepted: boolean;
    try {
      if (this.mode === WriteMode.TEXT) {
        let text: string;
        try {
          text = utf8.decode(data);
        } catch {
          throw new RtcmeshError(ErrorCode.INVALID_ARGUMENT, 'putPacket() in TEXT write mode needs valid UTF-8; switch writeMode to BINARY for raw bytes');
        }
        accepted = this.engine.sendText(text);
      } else {
        accepted = this.engine.sendBinary(data);
      }
    } catch (err) {
      if (err instanceof RtcmeshError) throw err;
      throw new RtcmeshError(ErrorCode.ENGINE_ERROR, `send on "${this.init.label}" failed: ${describeError(err)}`, { cause: err });
    }
    if (!accepted) {
      throw new RtcmeshError(
        ErrorCode.ENGINE_ERROR,
        `the engine refused a ${data.length}-byte packet on "${this.init.label}" and dropped it (its send queue is full, or the connection failed); ` +
          'send less at once: watch getBufferedAmount() and the buffered_amount_low event, then send it again',
      );
    }
    this.counters.packetsSent++;
    this.counters.bytesSent += data.length;
  }

  /** Next received packet, or `undefined` when none is queued (then {@link getPacketError} says why). */
  getPacket(): Uint8Array | undefined {
    const q = this.queue;
    const data = q.shiftData();
    if (data === undefined) {
      const state = this.getReadyState();
      this.packetError = state === ChannelState.OPEN ? ErrorCode.UNAVAILABLE : state === ChannelState.CONNECTING ? ErrorCode.NOT_OPEN : ErrorCode.CLOSED;
      return undefined;
    }
    this.packetError = undefined;
    this.lastWasString = q.lastWasText;
    return data;
  }

  /**
   * Why the last {@link getPacket} returned nothing (Godot's
   * `PacketPeer.get_packet_error()`): `UNAVAILABLE` when the channel is open
   * and nothing is queued, `NOT_OPEN` while it is still connecting, `CLOSED`
   * once it is closing or closed. `undefined` when the last call returned a
   * packet, or before the first call.
   */
  getPacketError(): ErrorCode | undefined {
    return this.packetError;
  }

  /**
   * Whether the packet received last arrived as text (Godot's
   * `was_string_packet()`): the one {@link getPacket} returned last, or the
   * one handed to a `packet` listener last (inside the listener: that one).
   */
  wasStringPacket(): boolean {
    return this.lastWasString;
  }

  /** Packets waiting to be read. */
  getAvailablePacketCount(): number {
    return this.queue.length;
  }

  /** Send one value as a msgpack-encoded packet. */
  putVar(value: unknown): void {
    let bytes: Uint8Array;
    try {
      bytes = msgpack.pack(value);
    } catch (err) {
      throw new RtcmeshError(ErrorCode.INVALID_ARGUMENT, `putVar() cannot encode this value as msgpack: ${describeError(err)}`, { cause: err });
    }
    this.putPacket(bytes);
  }

  /**
   * Next received value decoded from msgpack, or `undefined` when none is
   * queued. Packets that do not decode are dropped, counted and reported with
   * `malformed_packet`; they never throw.
   */
  getVar(): unknown {
    for (;;) {
      const data = this.getPacket();
      if (data === undefined) return undefined;
      try {
        return unpackStrict(data);
      } catch (err) {
        this.counters.malformed++;
        const error = new RtcmeshError(ErrorCode.MALFORMED_DATA, `dropped a ${data.length}-byte packet on "${this.init.label}" that is not msgpack: ${describeError(err)}`);
        run(() => this.emit('malformed_packet', error));
      }
    }
  }

  /** How `putPacket` sends. Default BINARY. */
  get writeMode(): WriteMode {
    return this.mode;
  }

  set writeMode(mode: WriteMode) {
    this.mode = checkOneOf(mode, [WriteMode.TEXT, WriteMode.BINARY], 'writeMode (WriteMode.TEXT or WriteMode.BINARY)');
  }

  getReadyState(): ChannelState {
    return this.state;
  }

  getLabel(): string {
    return this.init.label;
  }

  /** SCTP stream id; 65535 until an in-band channel is assigned one (as Godot reports it). */
  getId(): number {
    const id = safeNumber(() => this.engine.id(), this.init.id ?? -1);
    return id >= 0 ? id : 65535;
  }

  isOrdered(): boolean {
    return this.init.ordered;
  }

  isNegotiated(): boolean {
    return this.init.negotiated;
  }

  /** Milliseconds; 65535 when unset (as Godot reports it). */
  getMaxPacketLifeTime(): number {
    return this.init.maxPacketLifeTime ?? 65535;
  }

  /** Retransmissions; 65535 when unset (as Godot reports it). */
  getMaxRetransmits(): number {
    return this.init.maxRetransmits ?? 65535;
  }

  /** Sub-protocol, '' when unset. */
  getProtocol(): string {
    return this.init.protocol;
  }

  /** Bytes accepted but not yet sent. */
  getBufferedAmount(): number {
    if (this.state === ChannelState.CLOSED) return 0;
    // Called per packet by senders that pace themselves: no closure (safeNumber) on this path.
    try {
      return this.engine.bufferedAmount();
    } catch {
      return 0;
    }
  }

  /** Threshold for the `buffered_amount_low` event, in bytes. */
  setBufferedAmountLowThreshold(bytes: number): void {
    if (typeof bytes !== 'number' || !Number.isInteger(bytes) || bytes < 0) {
      throw new RtcmeshError(ErrorCode.INVALID_ARGUMENT, `buffered amount low threshold must be a non-negative integer, got ${String(bytes)}`);
    }
    if (this.state !== ChannelState.CLOSED) this.engine.setBufferedAmountLowThreshold(bytes);
  }

  /** Largest packet `putPacket` accepts (the negotiated max message size). */
  getMaxPacketSize(): number {
    if (this.maxSize > 0) return this.maxSize;
    return safeNumber(() => this.engine.maxMessageSize());
  }

  /** Counters for monitoring. */
  getStats(): DataChannelStats {
    return {
      label: this.init.label,
      id: this.getId(),
      state: this.state,
      packetsSent: this.counters.packetsSent,
      bytesSent: this.counters.bytesSent,
      packetsReceived: this.counters.packetsReceived,
      bytesReceived: this.counters.bytesReceived,
      packetsQueued: this.queue.length,
      packetsDropped: this.queue.dropped,
      packetsMalformed: this.counters.malformed,
      bufferedAmount: this.getBufferedAmount(),
    };
  }

  /** Close the channel. Queued packets stay readable. */
  close(): void {
    if (this.state === ChannelState.CLOSED || this.state === ChannelState.CLOSING) return;
    this.state = ChannelState.CLOSING;
    try {
      this.engine.close();
    } catch {
      this.markClosed();
    }
  }
}

function safeNumber(fn: () => number, fallback = 0): number {
  try {
    return fn();
  } catch {
    return fallback;
  }
}
