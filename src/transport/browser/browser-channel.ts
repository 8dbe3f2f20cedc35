/**
 * One browser RTCDataChannel behind the {@link EngineChannel} interface.
 * @module
 */
import { EventHoldingChannel, type ChannelEvent } from '../channel-events.js';
import { guard, type EngineChannel, type EngineChannelInit } from '../engine.js';
import { utf8Length } from '../../util/utf8.js';

const encoder = new TextEncoder();

/** SCTP error cause "User-Initiated Abort" (RFC 4960 §3.3.10.12): the remote peer closed. */
const SCTP_USER_INITIATED_ABORT = 12;

/** The options a native channel reports about itself (all native in browsers). */
export function nativeInit(dc: RTCDataChannel): EngineChannelInit {
  const init: EngineChannelInit = {
    label: dc.label,
    protocol: dc.protocol,
    negotiated: dc.negotiated,
    ordered: dc.ordered,
  };
  if (dc.id !== null) init.id = dc.id;
  if (dc.maxPacketLifeTime !== null) init.maxPacketLifeTime = dc.maxPacketLifeTime;
  if (dc.maxRetransmits !== null) init.maxRetransmits = dc.maxRetransmits;
  return init;
}

/** Payload counters shared by the channels of one connection. */
export interface ByteCounters {
  sent: number;
  received: number;
}

/** @internal An RTCDataChannel as an engine channel. */
export class BrowserChannel extends EventHoldingChannel implements EngineChannel {
  readonly init: EngineChannelInit;
  private closedFlag = false;
  private wasOpen = false;
  private closedLocally = false;

  constructor(
    private readonly dc: RTCDataChannel,
    init: EngineChannelInit,
    private readonly counters: ByteCounters,
    private readonly maxSize: () => number,
    private readonly onRelease: (ch: BrowserChannel) => void,
    private readonly onRemoteAbort: () => void,
    private readonly onEnded: (byRemote: boolean) => void = () => undefined,
  ) {
    super();
    this.init = init;
    dc.binaryType = 'arraybuffer';
    dc.onopen = guard(() => this.dispatch({ kind: 'open' }));
    dc.onclose = guard(() => {
      // Closed natively: by our close(), or by the remote side resetting the
      // stream of an open channel.
      const byRemote = this.wasOpen && !this.closedLocally;
      this.markClosed();
      this.onEnded(byRemote);
    });
    dc.onerror = guard((ev: Event) => {
      const err = (ev as RTCErrorEvent).error;
      if (err?.errorDetail === 'sctp-failure' && err.sctpCauseCode === SCTP_USER_INITIATED_ABORT) {
        // The remote side closed the whole association (RFC 4960 cause 12):
        // the connection is over, which is not an error of this channel.
        this.onRemoteAbort();
        return;
      }
      this.dispatch({ kind: 'error', message: err?.message || 'data channel error' });
    });
    dc.onbufferedamountlow = guard(() => this.dispatch({ kind: 'low' }));
    dc.onmessage = guard((ev: MessageEvent) => {
      const raw: unknown = ev.data;
      let event: ChannelEvent;
      if (typeof raw === 'string') event = { kind: 'message', data: encoder.encode(raw), isText: true };
      else if (raw instanceof ArrayBuffer) event = { kind: 'message', data: new Uint8Array(raw), isText: false };
      else return; // binaryType is 'arraybuffer': nothing else arrives
      this.counters.received += event.data.byteLength;
      this.dispatch(event);
    });
    // A channel created open (or received already open) fires no open event.
    if (dc.readyState === 'open') this.dispatch({ kind: 'open' });
  }

  private dispatch(event: ChannelEvent): void {
    if (this.closedFlag && event.kind !== 'closed') return;
    if (event.kind === 'open') this.wasOpen = true;
    this.emit(event);
  }

  id(): number {
    return this.dc.id ?? this.init.id ?? -1;
  }

  sendBinary(data: Uint8Array): boolean {
    if (!this.trySend(() => this.dc.send(data as Uint8Array<ArrayBuffer>))) return false;
    this.counters.sent += data.byteLength;
    return true;
  }

  sendText(text: string): boolean {
    if (!this.trySend(() => this.dc.send(text))) return false;
    this.counters.sent += utf8Length(text);
    return true;
  }

  /** Throws when the channel is not open; false when the browser's send buffer is full. */
  private trySend(send: () => void): boolean {
    if (this.closedFlag || this.dc.readyState !== 'open') throw new Error(`data channel is ${this.closedFlag ? 'closed' : this.dc.readyState}`);
    try {
      send();
      return true;
    } catch (err) {
      // OperationError: the send queue is full (Chromium: 16 MiB).
      if (err instanceof DOMException && err.name === 'OperationError') return false;
      throw err;
    }
  }

  bufferedAmount(): number {
    return this.closedFlag ? 0 : this.dc.bufferedAmount;
  }

  setBufferedAmountLowThreshold(bytes: number): void {
    if (!this.closedFlag) this.dc.bufferedAmountLowThreshold = bytes;
  }

  maxMessageSize(): number {
    return this.closedFlag ? 0 : this.maxSize();
  }

  close(): void {
    if (this.closedFlag) return;
    this.closedLocally = true;
    this.dc.close();
  }

  /** Closed by the browser, or because its connection closed: detach and report once. */
  markClosed(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    const dc = this.dc;
    dc.onopen = dc.onclose = dc.onerror = dc.onbufferedamountlow = dc.onmessage = null;
    this.onRelease(this);
    this.dispatch({ kind: 'closed' });
  }
}
