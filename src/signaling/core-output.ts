/**
 * What the lobby logic sends: frames to sessions, queued frames for detached
 * peers, announcements to lobby members, and the error discipline (replies,
 * refused joins, strikes, closing abusive sockets).
 * @module
 */
import type { EventEmitter } from 'eventemitter3';
import { ErrorCode } from '../errors.js';
import type { SignalingCoreOptions, SignalingServerEvents } from './core-types.js';
import { sees, type CoreCounters, type Peer, type Session } from './core-model.js';
import { CloseCode, parseClientMessage, validateClientMessage, type ClientMessage, type ServerMessage } from './protocol.js';
import { ResumeQueues } from './resume-queues.js';
import { isArrayFrame, MAX_BATCH_MESSAGES, parseBatch } from './batch.js';
import { scanRelayBatch, scanRelayMessage, scannedBatch, scannedMessage } from './fast-relay.js';
import { utf8Length } from '../util/utf8.js';

/** Sends on behalf of the lobby logic. */
export class CoreOutput {
  /** What is held for detached peers, under byte budgets. */
  readonly queues: ResumeQueues;
  /** A frame read by the relay scan is being handled (its results are shared: see {@link readRelayBatch}). */
  private scanning = false;

  constructor(
    private readonly events: EventEmitter<SignalingServerEvents>,
    private readonly options: SignalingCoreOptions,
    private readonly stats: CoreCounters,
    /** Ends a session the server closed for abuse (stops processing what it already sent). */
    private readonly endSession: (s: Session, code: number, reason: string) => void,
  ) {
    this.queues = new ResumeQueues(options, stats);
  }

  /** Send to `peer` now, or queue it while detached (within the queue budgets, see {@link ResumeQueues}). */
  deliver(peer: Peer, text: string): void {
    if (peer.session) {
      this.safeSend(peer.session, text);
      return;
    }
    this.queues.push(peer, text);
  }

  /**
   * Tell the lobby members that see `peer` that it joined, left, that its
   * socket dropped (it is in its resume grace) or that it came back: `{ type, id }`
   * (`restarted: true` on `peer_attached` when a restarted host reclaimed its id).
   */
  announce(peer: Peer, type: 'peer_joined' | 'peer_left' | 'peer_detached' | 'peer_attached', restarted = false): void {
    const lobby = peer.lobby;
    const text = JSON.stringify((restarted ? { type, id: peer.id, restarted } : { type, id: peer.id }) satisfies ServerMessage);
    for (const other of lobby.peers.values()) {
      if (other !== peer && sees(lobby, other.id, peer.id)) this.deliver(other, text);
    }
  }

  send(s: Session, m: ServerMessage): void {
    this.safeSend(s, JSON.stringify(m));
  }

  /** An error the client may legitimately cause (full lobby, auth refused): no strike. */
  reply(s: Session, code: ErrorCode, message: string, ref?: string): void {
    this.stats.errors[code] = (this.stats.errors[code] ?? 0) + 1;
    this.send(s, { type: 'error', code, message, ...(ref ? { ref } : {}) });
    this.events.emit('client_error', s.io.remote, code, message);
  }

  /**
   * A refused join: an error without a strike, but counted; after
   * `maxJoinRefusals` refusals the socket is closed (1008), so nobody can
   * retry a sealed or full lobby, or guess `auth`, on one socket forever.
   */
  refuseJoin(s: Session, code: ErrorCode, message: string): void {
    this.reply(s, code, message, 'join');
    if (++s.refusals >= this.options.maxJoinRefusals) this.abuseClose(s, `${s.refusals} refused joins`);
  }

  /**
   * A frame a session received: an array frame (protocol 4, from a client
   * whose transport set `io.batch`) element by element, else one message;
   * each message counted (`messagesIn`), rate-limited ({@link admit}) and
   * validated, then handed to `handle` with its text as received.
   * `byText`: `handle` relays `offer`/`answer`/`candidate` from their text
   * and reads only their `type` and `to`, so those may be read by the relay
   * scan (fast-relay.ts) and handed over as `{ type, to }` alone.
   */
  receive(s: Session, data: string, bytes: number, isBinary: boolean, handle: (s: Session, m: ClientMessage, text: string) => void, byText = false): void {
    if (s.isClosed) return;
    if (s.io.batch === true && !isBinary && isArrayFrame(data)) {
      this.readBatch(s, data, bytes, handle, byText);
      return;
    }
    this.stats.messagesIn++;
    if (!this.admit(s, bytes)) return;
    const m = this.readFrame(s, data, bytes, isBinary, byText);
    if (m !== undefined) handle(s, m, data);
  }

  /**
   * Fixed-window rate limit of messages and bytes per session: false when
   * the message is to be dropped (the first drop of a window is reported,
   * a flood past twice the limit closes the socket).
   */
  admit(s: Session, bytes: number): boolean {
    const { messages, windowMs, bytes: maxBytes } = this.options.rateLimit;
    const now = this.options.clock.now();
    if (now - s.windowStart >= windowMs) {
      s.windowStart = now;
      s.windowCount = 0;
      s.windowDropped = 0;
      s.windowBytes = 0;
    }
    s.windowBytes += bytes;
    if (++s.windowCount <= messages && s.windowBytes <= maxBytes) return true;
    s.windowDropped++;
    if (s.windowDropped === 1) {
      this.violation(s, ErrorCode.RATE_LIMITED, `more than ${messages} messages or ${maxBytes} bytes in ${windowMs} ms; messages are being dropped`);
    } else if (s.windowDropped > messages) {
      this.abuseClose(s, 'flood');
    }
    return false;
  }

  /**
   * The client message in a received frame, or undefined after reporting why
   * it was refused (over `maxMessageBytes`, binary, malformed) as a violation.
   */
  private readFrame(s: Session, data: string, bytes: number, isBinary: boolean, byText: boolean): ClientMessage | undefined {
    const maxBytes = this.options.maxMessageBytes;
    if (bytes > maxBytes) {
      this.violation(s, ErrorCode.PACKET_TOO_LARGE, `frame of ${bytes} bytes is over the limit of ${maxBytes}`);
      return undefined;
    }
    if (isBinary) {
      this.violation(s, ErrorCode.MALFORMED_DATA, 'binary frames are not part of the protocol; send JSON text frames');
      return undefined;
    }
    // The common relayed message, read by one scan (see fast-relay.ts); anything else is parsed.
    if (byText && scanRelayMessage(data, 0) === data.length) return { type: scannedMessage.type, to: scannedMessage.to } as ClientMessage;
    const parsed = parseClientMessage(data);
    if (!parsed.ok) {
      this.violation(s, parsed.code, parsed.error);
      return undefined;
    }
    return parsed.message;
  }

  /**
   * Handle an array frame (protocol 4, from a client whose transport set
   * `io.batch`): each element counted (`messagesIn`), rate-limited (`admit`,
   * with its own byte length) and validated exactly as if it came alone, then
   * handed to `handle` with its text as sent; a malformed element is reported
   * as a violation and the rest still handled. A frame over `maxBytes`, not
   * JSON, or of too many elements is refused whole, as one message.
   */
  private readBatch(s: Session, data: string, bytes: number, handle: (s: Session, m: ClientMessage, text: string) => void, byText: boolean): void {
    const maxBytes = this.options.maxMessageBytes;
    if (byText && bytes <= maxBytes && !this.scanning && scanRelayBatch(data, MAX_BATCH_MESSAGES)) {
      this.readRelayBatch(s, data, bytes, handle);
      return;
    }
    const batch = bytes > maxBytes ? undefined : parseBatch(data);
    if (!batch || !batch.ok) {
      this.stats.messagesIn++;
      if (!this.admit(s, bytes)) return;
      if (!batch) this.violation(s, ErrorCode.PACKET_TOO_LARGE, `frame of ${bytes} bytes is over the limit of ${maxBytes}`);
      else this.violation(s, batch.code, batch.error);
      return;
    }
    const { items, texts } = batch.message;
    const ascii = data.length === bytes;
    for (let i = 0; i < items.length && !s.isClosed; i++) {
      const text = texts[i]!;
      if (!this.admitElement(s, text, ascii)) continue;
      const parsed = validateClientMessage(items[i]);
      if (!parsed.ok) {
        this.violation(s, parsed.code, `message ${i} of the array frame: ${parsed.error}`);
        continue;
      }
      handle(s, parsed.message, text);
    }
  }

  /**
   * {@link readBatch} for a frame {@link scanRelayBatch} read (relayed
   * messages only, all valid): the same counting, rate limit and handling,
   * without parsing. A frame that arrives while one is being handled (an
   * in-process transport answering at once) takes the regular path, as the
   * scan's results are shared.
   */
  private readRelayBatch(s: Session, data: string, bytes: number, handle: (s: Session, m: ClientMessage, text: string) => void): void {
    const { count, types, tos, starts, ends } = scannedBatch;
    const ascii = data.length === bytes;
    this.scanning = true;
    try {
      for (let i = 0; i < count && !s.isClosed; i++) {
        const text = data.slice(starts[i], ends[i]);
        if (!this.admitElement(s, text, ascii)) continue;
        handle(s, { type: types[i]!, to: tos[i]! } as ClientMessage, text);
      }
    } finally {
      this.scanning = false;
    }
  }

  /** One element of an array frame counted and rate-limited with its own byte length (`ascii`: the frame is, so characters are bytes). */
  private admitElement(s: Session, text: string, ascii: boolean): boolean {
    this.stats.messagesIn++;
    return this.admit(s, ascii ? text.length : utf8Length(text));
  }

  /** A protocol violation: error plus a strike; too many strikes close the socket. */
  violation(s: Session, code: ErrorCode, message: string, ref?: string): void {
    this.reply(s, code, message, ref);
    if (++s.strikes >= this.options.maxStrikes) this.abuseClose(s, `${s.strikes} protocol violations`);
  }

  abuseClose(s: Session, reason: string): void {
    if (s.isClosed) return;
    this.stats.abuseClosed++;
    this.events.emit('abuse_closed', s.io.remote, reason);
    this.safeClose(s, CloseCode.POLICY, reason);
    // Stop processing anything else it already sent.
    this.endSession(s, CloseCode.POLICY, reason);
  }

  safeSend(s: Session, text: string): void {
    if (s.isClosed) return;
    try {
      s.io.send(text);
    } catch {
      this.safeClose(s, CloseCode.TRY_AGAIN, 'send failed');
    }
  }

  safeClose(s: Session, code: number, reason: string): void {
    try {
      s.io.close(code, reason);
    } catch {
      // The transport is already gone; its close notification will follow.
    }
  }
}
