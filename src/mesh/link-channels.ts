/**
 * The channels of one mesh link and what outlives a connection: the user
 * channels and the control channel of the current connection, plus per
 * channel an inbox, the session halves (reliable channels with sessions on)
 * and counters. A reconnect {@link LinkChannels.attach}es a fresh connection
 * and keeps everything else.
 * @module
 */
import { ErrorCode, RtcmeshError, describeError } from '../errors.js';
import { ChannelState } from '../peer/enums.js';
import type { WebRTCDataChannel } from '../peer/data-channel.js';
import { PacketQueue } from '../peer/packet-queue.js';
import type { WebRTCPeerConnection } from '../peer/peer-connection.js';
import { transferChannelOf, type ChannelSpec } from './channel-layout.js';
import { TransferMode } from './constants.js';
import { CONTROL_CHANNEL_ID, CONTROL_CHANNEL_LABEL } from './health/control.js';
import { MAX_SESSION_HEADER, ReceiveSession, SendSession, type ReplayLimits } from './health/session.js';
import { varintLength } from './health/varint.js';

/** Most packets held for the application per channel (beyond, they wait in the channel's own queue). */
export const INBOX_LIMITS = { maxPackets: 65536, maxBytes: 64 * 1024 * 1024 };

/** Counters of one user channel, cumulative across reconnects. */
export interface ChannelCounters {
  packetsSent: number;
  bytesSent: number;
  packetsReceived: number;
  bytesReceived: number;
  droppedWhileDown: number;
}

/** Channels of a link's current connection and the per-channel state that outlives it. */
export class LinkChannels {
  readonly inbox: PacketQueue[];
  readonly sendSessions: (SendSession | undefined)[];
  readonly recvSessions: (ReceiveSession | undefined)[];
  readonly counters: ChannelCounters[];
  /**
   * Reliable (session) channels of the current connection are not read until
   * the remote's first control frame on it says which session epoch it is in
   * (set on a fresh connection when sessions hold state, cleared by the link).
   */
  gated = false;

  private constructor(
    readonly specs: ChannelSpec[],
    public channels: WebRTCDataChannel[],
    public control: WebRTCDataChannel,
    sessions: boolean,
    limits: ReplayLimits,
  ) {
    const session = (s: ChannelSpec) => sessions && s.mode === TransferMode.RELIABLE;
    this.inbox = specs.map(() => new PacketQueue(INBOX_LIMITS));
    this.sendSessions = specs.map((s) => (session(s) ? new SendSession(limits) : undefined));
    this.recvSessions = specs.map((s) => (session(s) ? new ReceiveSession() : undefined));
    this.counters = specs.map(() => ({ packetsSent: 0, bytesSent: 0, packetsReceived: 0, bytesReceived: 0, droppedWhileDown: 0 }));
    this.sinkInto(channels);
  }

  /** @internal see {@link createLinkChannels}. */
  static create(connection: WebRTCPeerConnection, specs: ChannelSpec[], sessions: boolean, limits: ReplayLimits, what: string): LinkChannels {
    const { channels, control } = createChannels(connection, specs, what);
    return new LinkChannels(specs, channels, control, sessions, limits);
  }

  /** Create the channels on a fresh connection (the old channels' packets are pulled first). */
  attach(connection: WebRTCPeerConnection, what: string): void {
    const { channels, control } = createChannels(connection, this.specs, what);
    this.pull();
    for (const ch of this.channels) ch.sink = undefined; // late packets of the old connection stay unread, as before
    this.channels = channels;
    this.control = control;
    this.gated = this.recvSessions.some((r) => r !== undefined && r.seq > 0);
    this.sinkInto(channels);
  }

  /**
   * Take each channel's packets into its inbox as they arrive (see
   * {@link WebRTCDataChannel.sink}) instead of on the next {@link pull}: one
   * queue fewer per packet. A packet the inbox cannot take now (the channel
   * is gated, or the inbox full) stays in the channel's queue, and so do the
   * ones after it, until {@link pull} moves them.
   */
  private sinkInto(channels: WebRTCDataChannel[]): void {
    channels.forEach((ch, i) => {
      ch.sink = (data, isText) => this.take(i, data, isText);
    });
  }

  /** One packet of channel `index` arrived: strip its session header into the inbox; false when it must wait in the channel. */
  private take(index: number, data: Uint8Array, isText: boolean): boolean {
    const inbox = this.inbox[index]!;
    if (inbox.length >= INBOX_LIMITS.maxPackets) return false;
    const recv = this.recvSessions[index];
    if (recv === undefined) {
      this.received(index, inbox, data, isText);
      return true;
    }
    if (this.gated) return false;
    const payload = recv.accept(data);
    if (payload !== undefined) this.received(index, inbox, payload, isText);
    return true;
  }

  /** A packet of channel `index`, header stripped: counted, into the inbox. */
  private received(index: number, inbox: PacketQueue, data: Uint8Array, isText: boolean): void {
    const counters = this.counters[index]!;
    counters.packetsReceived++;
    counters.bytesReceived += data.length;
    inbox.push(data, isText);
  }

  /** Every channel, control included, is open. */
  allOpen(): boolean {
    return this.control.getReadyState() === ChannelState.OPEN && this.channels.every((c) => c.getReadyState() === ChannelState.OPEN);
  }

  /** Some channel, control included, closed. */
  anyClosed(): boolean {
    return this.control.getReadyState() === ChannelState.CLOSED || this.channels.some((c) => c.getReadyState() === ChannelState.CLOSED);
  }

  /** Move received packets from the channels to the inboxes, stripping session headers. */
  pull(): void {
    const channels = this.channels;
    for (let i = 0; i < channels.length; i++) {
      const channel = channels[i]!;
      if (channel.getAvailablePacketCount() === 0) continue; // the common case: called for every packet read
      const recv = this.recvSessions[i];
      if (recv && this.gated) continue;
      const inbox = this.inbox[i]!;
      while (inbox.length < INBOX_LIMITS.maxPackets) {
        const raw = channel.getPacket();
        if (raw === undefined) break;
        const data = recv ? recv.accept(raw) : raw;
        if (data !== undefined) this.received(i, inbox, data, channel.wasStringPacket());
      }
    }
  }

  /** Packets waiting in the inboxes. */
  queued(): number {
    let n = 0;
    for (const q of this.inbox) n += q.length;
    return n;
  }

  /** Resend every unacknowledged reliable frame on the current connection (after a reconnect). */
  replay(): void {
    this.sendSessions.forEach((session, i) => {
      if (!session) return;
      const channel = this.channels[i]!;
      for (const frame of session.pending()) {
        try {
          channel.putPacket(frame);
          session.replayed++;
        } catch {
          return; // lost again; the frames stay buffered
        }
      }
    });
  }

  /**
   * Send one packet on channel `index`. Before the link first connected the
   * channel's own errors are thrown (NOT_OPEN); while it is down, reliable
   * packets wait in the replay buffer and unreliable ones are dropped and
   * counted. Returns the transfer channel when the replay buffer just
   * overflowed, else undefined.
   */
  send(index: number, data: Uint8Array, connected: boolean, linkUp: boolean): number | undefined {
    const channel = this.channels[index]!;
    const session = this.sendSessions[index];
    const counters = this.counters[index]!;
    let overflowed: number | undefined;
    if (!connected || !session) {
      if (connected && !linkUp) {
        counters.droppedWhileDown++;
        return undefined;
      }
      if (!connected) {
        channel.putPacket(data); // throws NOT_OPEN while connecting, as documented
      } else {
        try {
          channel.putPacket(data);
        } catch (err) {
          // The channel closed under a connected link (the remote left or the connection is failing) since the last
          // poll, which will notice: a packet without a session is dropped and counted, as while the link is down.
          if (!closedUnder(err)) throw err;
          counters.droppedWhileDown++;
          return undefined;
        }
      }
    } else {
      const max = channel.getMaxPacketSize();
      if (max > 0 && data.length + MAX_SESSION_HEADER > max && data.length + varintLength(session.seq + 1) > max) {
        throw new RtcmeshError(
          ErrorCode.PACKET_TOO_LARGE,
          `packet of ${data.length} bytes plus its session header is larger than the negotiated maximum of ${max} bytes; split it (getMaxPacketSize() says what fits)`,
        );
      }
      const frame = session.frameToSend(data);
      if (session.justOverflowed) overflowed = transferChannelOf(index);
      if (linkUp) {
        try {
          channel.putPacket(frame);
        } catch {
          // the link is failing; the frame waits in the replay buffer
        }
      }
    }
    counters.packetsSent++;
    counters.bytesSent += data.length;
    return overflowed;
  }
}

/** The channels of a new link on `connection` (see {@link LinkChannels}). */
export function createLinkChannels(connection: WebRTCPeerConnection, specs: ChannelSpec[], sessions: boolean, limits: ReplayLimits, what: string): LinkChannels {
  return LinkChannels.create(connection, specs, sessions, limits, what);
}

/** Create the layout's channels and the control channel on `connection`; on failure none is left behind (removed from the connection, ids free again). */
function createChannels(connection: WebRTCPeerConnection, specs: ChannelSpec[], what: string): { channels: WebRTCDataChannel[]; control: WebRTCDataChannel } {
  const taken = new Set(connection.getDataChannels().map((c) => c.getId()));
  const clash = [...specs.map((s) => s.options.id), CONTROL_CHANNEL_ID].find((id) => taken.has(id));
  if (clash !== undefined) {
    throw new RtcmeshError(ErrorCode.INVALID_ARGUMENT, `${what}: the connection already has a channel with id ${clash}, which the mesh layout needs`);
  }
  const made: WebRTCDataChannel[] = [];
  try {
    for (const spec of specs) made.push(connection.createDataChannel(spec.label, spec.options));
    made.push(connection.createDataChannel(CONTROL_CHANNEL_LABEL, { negotiated: true, id: CONTROL_CHANNEL_ID, ordered: false, maxRetransmits: 0 }));
  } catch (err) {
    // roll back: the channels leave the connection and their ids are free for a retry
    for (const ch of made) connection.discardDataChannel(ch);
    throw err instanceof RtcmeshError ? err : new RtcmeshError(ErrorCode.ENGINE_ERROR, `${what}: creating channels failed: ${describeError(err)}`, { cause: err });
  }
  const control = made.pop()!;
  return { channels: made, control };
}

/** A send error that means the channel is closed or closing (not a full queue, not a bad packet). */
function closedUnder(err: unknown): boolean {
  if (!(err instanceof RtcmeshError)) return false;
  // NOT_OPEN: the channel already reports CLOSING/CLOSED; ENGINE_ERROR with a cause: the engine threw (closed channel).
  return err.code === ErrorCode.NOT_OPEN || (err.code === ErrorCode.ENGINE_ERROR && err.cause !== undefined);
}
