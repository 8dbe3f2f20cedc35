/**
 * Received frames, handled in bounded slices: the WebSocket server's answer
 * to "thousands of sockets readable in one event-loop turn".
 *
 * Node reads every readable socket in one poll phase (libuv takes up to
 * 48 × 1024 ready sockets at once), so handling every frame where it is read
 * makes a turn as long as everything every client sent meanwhile: at 5000
 * busy clients a turn took hundreds of milliseconds, and timers (join, grace,
 * ping) and new sockets waited behind it. Instead frames are handled as they
 * are read only while the turn's handling time is under `sliceMs` (and
 * nothing waits); past that, each frame is queued here as it is read, and a
 * `setImmediate` handles the queue in order for the rest of the turn's
 * `sliceMs` (at least one batch of frames), writes what that produced
 * (`afterSlice`: the outbox), and yields to the event loop if frames are left.
 *
 * Handling on arrival (`onArrival`) and writing between batches keep what
 * the server holds small. Before, every frame read in the poll phase waited
 * for the end of the turn, and under load the output it produced waited for
 * later turns (writing is bounded per turn too): at 5000 busy clients nearly
 * every message in flight sat in the server as output strings, the
 * young-generation collections copied and promoted megabytes each time, and
 * old space grew by tens of megabytes in seconds. Now each batch of
 * {@link BATCH_FRAMES} frames is followed by `afterSlice(false)` (the server
 * writes then once many sockets have output waiting) and the turn ends with
 * `afterSlice(true)` (it writes what is left, within its write budget, and
 * that goes first in the next turn): the server takes in only as much as it
 * writes, and what it cannot handle yet waits as the received buffers, small
 * on the heap.
 * @module
 */
import type { Connection } from './connection.js';
import { FrameArena } from './frame-arena.js';

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
  /** Handle a frame as it is read while nothing waits and the turn's handling time is under `sliceMs` (default false: every frame waits for the end of the turn). */
  onArrival?: boolean;
}

/** Default {@link InboxOptions}. */
export const DEFAULT_INBOX_OPTIONS: InboxOptions = { sliceMs: 8, pauseFrames: 32, pauseBytes: 64 * 1024, onArrival: true };

/**
 * Frames handled between two writes of what they produced (`afterSlice`) and
 * two looks at the clock; also the least handled per turn.
 */
export const BATCH_FRAMES = 32;

/** What the inbox hands its server. */
export interface InboxHandler {
  /** Handle one frame of `c`. */
  frame(c: Connection, data: Buffer, isBinary: boolean): void;
  /** `c`'s socket closed (after its queued frames). */
  closed(c: Connection, code: number, reason: string): void;
  /**
   * A batch of frames was handled: write what it produced — at once at the
   * end of a turn (`turnEnd`), or between batches when enough waits.
   */
  afterSlice(turnEnd: boolean): void;
}

/** Bytes of the ring that queued frames are copied into (see ./frame-arena.ts). */
export const INBOX_ARENA_BYTES = 2 * 1024 * 1024;

/** Frames waiting to be handled, in arrival order (parallel arrays: no object per frame). */
export class Inbox {
  private conns: Connection[] = [];
  /** A frame (its offset in the arena, or its own copy) or a close. */
  private items: (number | Buffer | CloseNote)[] = [];
  /** Bytes of each frame in the arena. */
  private lens: number[] = [];
  private binary: boolean[] = [];
  private readonly arena = new FrameArena(INBOX_ARENA_BYTES);
  private head = 0;
  private scheduled: ReturnType<typeof setImmediate> | undefined;
  /** When this turn's first frame was handled (performance.now()); -1 when none was yet. */
  private turnStart = -1;
  /** Frames handled on arrival this turn. */
  private arrivals = 0;
  /** This turn's handling time is used up: frames wait for the next slice. */
  private overBudget = false;
  private readonly drain = () => this.run();

  constructor(
    private readonly handler: InboxHandler,
    private readonly o: InboxOptions = DEFAULT_INBOX_OPTIONS,
  ) {}

  /** Frames (and closes) waiting. */
  get size(): number {
    return this.conns.length - this.head;
  }

  /**
   * Handle a frame of `c` now (within the turn's budget, nothing waiting), or
   * queue it (copied when `transient`, `data` being valid during the call
   * only: into the inbox's ring, else into a buffer of its own);
   * pauses reading `c` past its limits.
   */
  push(c: Connection, data: Buffer, isBinary: boolean, transient = false): void {
    if (this.o.onArrival === true && !this.overBudget && this.head === this.conns.length) {
      const n = this.arrivals++;
      if (n === 0) {
        this.turnStart = performance.now();
        // The end of the turn resets the budget and writes what is left.
        this.scheduled ??= setImmediate(this.drain);
      }
      this.handler.frame(c, data, isBinary);
      if ((n + 1) % BATCH_FRAMES === 0) {
        this.handler.afterSlice(false);
        if (performance.now() - this.turnStart >= this.o.sliceMs) this.overBudget = true;
      }
      return;
    }
    const n = data.length;
    const at = transient ? this.arena.put(data) : -1;
    this.conns.push(c);
    this.items.push(at >= 0 ? at : transient ? Buffer.from(data) : data);
    this.lens.push(n);
    this.binary.push(isBinary);
    c.inboxedBytes += n;
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
    this.lens.push(0);
    this.binary.push(false);
    c.inboxed++;
    this.scheduled ??= setImmediate(this.drain);
  }

  /** Handle frames for up to `sliceMs` (counting what was handled on arrival this turn), writing after each batch; come back next turn if some are left. */
  private run(): void {
    this.scheduled = undefined;
    const start = this.turnStart >= 0 ? this.turnStart : performance.now();
    this.turnStart = -1;
    this.arrivals = 0;
    this.overBudget = false;
    // What earlier batches produced and was not written yet goes first.
    this.handler.afterSlice(true);
    const { conns, items, lens, binary, arena } = this;
    let i = this.head;
    const first = i;
    const end = conns.length;
    while (i < end) {
      const c = conns[i]!;
      const item = items[i]!;
      const isBinary = binary[i]!;
      conns[i] = undefined as unknown as Connection;
      items[i] = undefined as unknown as Buffer;
      i++;
      c.inboxed--;
      if (typeof item === 'number' || Buffer.isBuffer(item)) {
        const n = lens[i - 1]!;
        c.inboxedBytes -= n;
        if (c.paused && c.inboxed <= this.o.pauseFrames >> 1 && c.inboxedBytes <= this.o.pauseBytes >> 1) {
          c.paused = false;
          c.ws.resume();
        }
        if (typeof item !== 'number') this.handler.frame(c, item, isBinary);
        else {
          try {
            this.handler.frame(c, arena.view(item, n), isBinary);
          } finally {
            arena.release(item, n);
          }
        }
      } else {
        this.handler.closed(c, item.code, item.reason);
      }
      if (((i - first) & (BATCH_FRAMES - 1)) === 0) {
        this.handler.afterSlice(false);
        // At least one batch per turn, even when the turn's time went to frames handled on arrival.
        if (performance.now() - start >= this.o.sliceMs) break;
      }
    }
    this.head = i;
    if (i >= conns.length) {
      this.head = 0;
      conns.length = items.length = lens.length = binary.length = 0;
    } else if (i > 4096 && i * 2 > conns.length) {
      // Compact now and then so the arrays do not grow with the total ever queued.
      this.conns = conns.slice(i);
      this.items = items.slice(i);
      this.lens = lens.slice(i);
      this.binary = binary.slice(i);
      this.head = 0;
    }
    this.handler.afterSlice(true);
    if (this.size > 0) this.scheduled ??= setImmediate(this.drain);
  }

  /** Forget everything waiting (server closed). */
  clear(): void {
    if (this.scheduled) clearImmediate(this.scheduled);
    this.scheduled = undefined;
    this.turnStart = -1;
    this.arrivals = 0;
    this.overBudget = false;
    for (let i = this.head; i < this.conns.length; i++) this.conns[i]!.inboxed = this.conns[i]!.inboxedBytes = 0;
    this.conns = [];
    this.items = [];
    this.lens = [];
    this.binary = [];
    this.head = 0;
    this.arena.clear();
  }
}
