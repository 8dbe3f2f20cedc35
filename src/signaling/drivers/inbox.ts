/**
 * Received frames, handled in bounded slices: the WebSocket server's answer
 * to "thousands of sockets readable in one event-loop turn".
 *
 * Node reads every readable socket in one poll phase (libuv takes up to
 * 48 × 1024 ready sockets at once), so handling each frame where it is read
 * makes a turn as long as everything every client sent meanwhile: at 5000
 * busy clients a turn took hundreds of milliseconds, and timers (join, grace,
 * ping) and new sockets waited behind it. Instead each frame is queued here
 * as it is read, and a `setImmediate` handles the queue in order for at most
 * `sliceMs` per turn, writes what that slice produced (`afterSlice`: the
 * outbox), and yields to the event loop if frames are left.
 *
 * Memory stays bounded: a socket with more than `pauseFrames` frames or
 * `pauseBytes` bytes waiting stops being read (TCP pushes back on its client)
 * until its queue is handled. A socket's close is queued behind its frames, so
 * what it sent before closing is handled before the lobby logic hears of the
 * close.
 * @module
 */
import type { Connection } from './connection.js';

/** A socket's close, queued behind its frames. */
interface CloseNote {
  code: number;
  reason: string;
}

/** Limits of {@link Inbox}. */
export interface InboxOptions {
  /** Handling time per event-loop turn (ms). */
  sliceMs: number;
  /** A socket stops being read while more frames than this wait… */
  pauseFrames: number;
  /** …or more bytes than this; it is read again once its queue is handled. */
  pauseBytes: number;
}

/** Default {@link InboxOptions}. */
export const DEFAULT_INBOX_OPTIONS: InboxOptions = { sliceMs: 8, pauseFrames: 32, pauseBytes: 64 * 1024 };

/** What the inbox hands its server. */
export interface InboxHandler {
  /** Handle one frame of `c`. */
  frame(c: Connection, data: Buffer, isBinary: boolean): void;
  /** `c`'s socket closed (after its queued frames). */
  closed(c: Connection, code: number, reason: string): void;
  /** A slice was handled (`drained`: nothing is left waiting): write what it produced. */
  afterSlice(drained: boolean): void;
}

/** Frames waiting to be handled, in arrival order (parallel arrays: no object per frame). */
export class Inbox {
  private conns: Connection[] = [];
  private items: (Buffer | CloseNote)[] = [];
  private binary: boolean[] = [];
  private head = 0;
  private scheduled: ReturnType<typeof setImmediate> | undefined;
  private readonly drain = () => this.run();

  constructor(
    private readonly handler: InboxHandler,
    private readonly o: InboxOptions = DEFAULT_INBOX_OPTIONS,
  ) {}

  /** Frames (and closes) waiting. */
  get size(): number {
    return this.conns.length - this.head;
  }

  /** Queue a frame of `c`; pauses reading `c` past its limits. */
  push(c: Connection, data: Buffer, isBinary: boolean): void {
    this.conns.push(c);
    this.items.push(data);
    this.binary.push(isBinary);
    c.inboxedBytes += data.length;
    if (++c.inboxed > this.o.pauseFrames || c.inboxedBytes > this.o.pauseBytes) {
      if (!c.paused) {
        c.paused = true;
        c.ws.pause();
      }
    }
    this.scheduled ??= setImmediate(this.drain);
  }

  /** `c`'s socket closed: handled at once when nothing of it waits, else queued behind its frames. */
  close(c: Connection, code: number, reason: string): void {
    if (c.inboxed === 0) {
      this.handler.closed(c, code, reason);
      return;
    }
    this.conns.push(c);
    this.items.push({ code, reason });
    this.binary.push(false);
    c.inboxed++;
    this.scheduled ??= setImmediate(this.drain);
  }

  /** Handle frames for up to `sliceMs`, write, and come back next turn if some are left. */
  private run(): void {
    this.scheduled = undefined;
    const start = performance.now();
    const { conns, items, binary } = this;
    let i = this.head;
    const end = conns.length;
    while (i < end) {
      const c = conns[i]!;
      const item = items[i]!;
      const isBinary = binary[i]!;
      conns[i] = undefined as unknown as Connection;
      items[i] = undefined as unknown as Buffer;
      i++;
      c.inboxed--;
      if (Buffer.isBuffer(item)) {
        c.inboxedBytes -= item.length;
        if (c.paused && c.inboxed <= this.o.pauseFrames >> 1 && c.inboxedBytes <= this.o.pauseBytes >> 1) {
          c.paused = false;
          c.ws.resume();
        }
        this.handler.frame(c, item, isBinary);
      } else {
        this.handler.closed(c, item.code, item.reason);
      }
      if ((i & 31) === 0 && performance.now() - start >= this.o.sliceMs) break;
    }
    this.head = i;
    if (i >= conns.length) {
      this.head = 0;
      conns.length = items.length = binary.length = 0;
    } else if (i > 4096 && i * 2 > conns.length) {
      // Compact now and then so the arrays do not grow with the total ever queued.
      this.conns = conns.slice(i);
      this.items = items.slice(i);
      this.binary = binary.slice(i);
      this.head = 0;
    }
    this.handler.afterSlice(this.size === 0);
    if (this.size > 0) this.scheduled ??= setImmediate(this.drain);
  }

  /** Forget everything waiting (server closed). */
  clear(): void {
    if (this.scheduled) clearImmediate(this.scheduled);
    this.scheduled = undefined;
    for (let i = this.head; i < this.conns.length; i++) this.conns[i]!.inboxed = this.conns[i]!.inboxedBytes = 0;
    this.conns = [];
    this.items = [];
    this.binary = [];
    this.head = 0;
  }
}
