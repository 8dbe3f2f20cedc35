/**
 * Coalesced sending for the WebSocket server: frames sent to one socket during
 * one event-loop turn (or one inbox slice) are written together at its end, as
 * ONE buffer holding every frame (header + payload each), in one
 * `socket.write` — one system call per socket per turn, not one per frame.
 * The server's sockets are its own (`ServerSocket`, ws-socket.ts; no compression):
 * pings and close frames are written synchronously too, so the order on the
 * wire is the order of the calls. Server frames are unmasked text frames
 * (RFC 6455 §5.2); the socket's `bufferedAmount` counts what waits in it.
 *
 * To a client that announced protocol 4 the waiting messages go as array
 * frames (`[a,b,…]`, spliced, at most `MAX_BATCH_CHARS` each, see ../batch.ts):
 * one frame for that client to parse and dispatch instead of one per message.
 * @module
 */
import { MAX_BATCH_CHARS } from '../batch.js';
import { encodeTextFrame, frameBuffer, headerBytes, writeHeader } from './ws-frames.js';
import { ReadyState } from './ws-socket.js';

/** The socket of an {@link OutboxSlot}: written ready-made frame buffers while open (`readyState` 1). */
export interface FrameWriter {
  readonly readyState: number;
  /** Bytes written and not yet handed to the kernel (a buffer written is the socket's until this is 0 again). */
  readonly bufferedAmount?: number;
  /** Write `frames` (and a ping after them, in the same write, when `ping`). */
  write(frames: Buffer, ping?: boolean): void;
}

/** One socket's pending frames. */
export interface OutboxSlot {
  ws: FrameWriter;
  /** Frames waiting for the end of the turn: one, or several in order; undefined when none. */
  out: string | string[] | undefined;
  /** Characters waiting in `out`. */
  outChars: number;
  /** The client speaks protocol 4: several waiting messages go in one array frame (see ../batch.ts). */
  readonly batch?: boolean;
  /** A ping to write after the waiting frames, in the same write. */
  pingDue?: boolean;
}

/** Byte lengths of the texts being encoded (reused). */
let lengths = new Uint32Array(64);
/** Frames in the buffer {@link encodeArrayFrames} returned last. */
let encodedFrames = 0;
/** Where each array frame being encoded ends (index of its first text not in it; reused). */
let groupEnds = new Uint32Array(64);

/** Room for `n` texts in the reused scratch arrays. */
function reserve(n: number): void {
  if (lengths.length >= n) return;
  const size = Math.max(n, lengths.length * 2);
  lengths = new Uint32Array(size);
  groupEnds = new Uint32Array(size);
}

/** `texts` as WebSocket text frames from a server (unmasked, FIN), in one buffer (the start of `into` when they fit). */
export function encodeTextFrames(texts: readonly string[], into?: Buffer): Buffer {
  const n = texts.length;
  reserve(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const len = Buffer.byteLength(texts[i]!, 'utf8');
    lengths[i] = len;
    total += len + headerBytes(len);
  }
  const buf = frameBuffer(total, into);
  let o = 0;
  for (let i = 0; i < n; i++) {
    o = writeHeader(buf, o, lengths[i]!);
    o += buf.write(texts[i]!, o, lengths[i]!, 'utf8');
  }
  return buf;
}

/**
 * `texts` (JSON messages) as array frames `[a,b,…]` of at most `maxChars`
 * characters each (a longer message alone; a group of one as it is), encoded
 * straight into one buffer of WebSocket frames (the start of `into` when
 * they fit): no joined string is built (nor flattened again to be written).
 */
export function encodeArrayFrames(texts: readonly string[], maxChars: number = MAX_BATCH_CHARS, into?: Buffer): Buffer {
  const n = texts.length;
  reserve(n);
  let total = 0;
  let groups = 0;
  let from = 0;
  let chars = 1; // `[` and `]`, and a comma before each element but the first
  let bytes = 0;
  for (let i = 0; i < n; i++) {
    const text = texts[i]!;
    const c = text.length + 1;
    if (i > from && chars + c > maxChars) {
      const payload = i - from === 1 ? bytes : bytes + (i - from) + 1;
      total += payload + headerBytes(payload);
      groupEnds[groups++] = i;
      from = i;
      chars = 1;
      bytes = 0;
    }
    chars += c;
    const len = Buffer.byteLength(text, 'utf8');
    lengths[i] = len;
    bytes += len;
  }
  const payload = n - from === 1 ? bytes : bytes + (n - from) + 1;
  total += payload + headerBytes(payload);
  groupEnds[groups++] = n;
  encodedFrames = groups;
  const buf = frameBuffer(total, into);
  let o = 0;
  let i = 0;
  for (let g = 0; g < groups; g++) {
    const end = groupEnds[g]!;
    if (end - i === 1) {
      o = writeHeader(buf, o, lengths[i]!);
      o += buf.write(texts[i]!, o, lengths[i]!, 'utf8');
      i++;
      continue;
    }
    let len = end - i + 1;
    for (let k = i; k < end; k++) len += lengths[k]!;
    o = writeHeader(buf, o, len);
    buf[o++] = 0x5b; // [
    o += buf.write(texts[i]!, o, lengths[i]!, 'utf8');
    for (i++; i < end; i++) {
      buf[o++] = 0x2c; // ,
      o += buf.write(texts[i]!, o, lengths[i]!, 'utf8');
    }
    buf[o++] = 0x5d; // ]
  }
  return buf;
}

/** Size of the output buffer reused from one socket write to the next. */
const SCRATCH_BYTES = 64 * 1024;

/** Frames waiting for the end of the event-loop turn, per socket. */
export class Outbox {
  private due: OutboxSlot[] = [];
  /**
   * Frames for a socket with nothing buffered are encoded here: the kernel
   * takes such a write whole, at once, almost always, and the buffer is free
   * again — no buffer allocated (and collected) per write. When the socket
   * keeps it (the kernel took part of it), the outbox takes a new one.
   */
  private scratch: Buffer | undefined;
  private scheduled: ReturnType<typeof setImmediate> | undefined;
  private readonly onTurnEnd = () => {
    this.scheduled = undefined;
    if (!this.mayWait()) this.flush(this.turnBudgetMs);
  };
  /** Socket writes, frames and messages written (what coalescing and array frames achieved). */
  writes = 0;
  frames = 0;
  messages = 0;

  constructor(
    /** Called before writing to a socket; false drops its frames (e.g. it was terminated as a slow consumer). */
    private readonly beforeWrite: (slot: OutboxSlot, chars: number) => boolean,
    /** At the end of a turn: true leaves the frames waiting (someone else calls `flush` soon, e.g. the inbox after its next slice). */
    private readonly mayWait: () => boolean = () => false,
    /** Writing time per turn when the outbox flushes by itself at the end of a turn (ms). */
    private readonly turnBudgetMs = Infinity,
  ) {}


  /** Sockets with frames waiting. */
  get pending(): number {
    return this.due.length;
  }

  /** Queue `text` for `slot`'s socket; written at the end of this turn (or of the inbox slice). */
  send(slot: OutboxSlot, text: string): void {
    const out = slot.out;
    if (out !== undefined) {
      // The first frame alone, an array from the second on (most sockets get one or two per turn).
      if (typeof out === 'string') slot.out = [out, text];
      else out.push(text);
      slot.outChars += text.length;
      return;
    }
    slot.out = text;
    slot.outChars = text.length;
    this.due.push(slot);
    this.scheduled ??= setImmediate(this.onTurnEnd);
  }

  /**
   * Write what is due now: everything, or (with `budgetMs`) as much as fits in
   * that time — the rest is written next turn, so no turn writes to thousands
   * of sockets at once.
   */
  flush(budgetMs = Infinity): void {
    if (this.scheduled) clearImmediate(this.scheduled);
    this.scheduled = undefined;
    const due = this.due;
    if (due.length === 0) return;
    this.due = [];
    const start = budgetMs === Infinity ? 0 : performance.now();
    let i = 0;
    while (i < due.length) {
      this.write(due[i++]!);
      if ((i & 31) === 0 && budgetMs !== Infinity && performance.now() - start >= budgetMs) break;
    }
    if (i < due.length) {
      // Out of time: the rest first next turn (their frames keep collecting meanwhile).
      const rest = i === 0 ? due : due.slice(i);
      this.due = this.due.length > 0 ? rest.concat(this.due) : rest;
      this.scheduled = setImmediate(this.onTurnEnd);
    }
  }

  /** Write `slot`'s waiting frames now (before its socket is closed, so they go first). */
  write(slot: OutboxSlot): void {
    const waiting = slot.out;
    if (waiting === undefined) return;
    const chars = slot.outChars;
    const ping = slot.pingDue === true;
    slot.out = undefined;
    slot.outChars = 0;
    if (ping) slot.pingDue = false;
    const ws = slot.ws;
    if (ws.readyState !== ReadyState.OPEN || !this.beforeWrite(slot, chars)) return;
    this.writes++;
    // Into the reused buffer only when nothing waits in the socket: then the write either completes now or the socket keeps the buffer.
    const into = ws.bufferedAmount === 0 ? (this.scratch ??= Buffer.allocUnsafeSlow(SCRATCH_BYTES)) : undefined;
    let buf: Buffer;
    if (typeof waiting === 'string') {
      this.messages++;
      this.frames++;
      buf = encodeTextFrame(waiting, into);
    } else {
      this.messages += waiting.length;
      const arrays = slot.batch === true && waiting.length > 1;
      buf = arrays ? encodeArrayFrames(waiting, MAX_BATCH_CHARS, into) : encodeTextFrames(waiting, into);
      this.frames += arrays ? encodedFrames : waiting.length;
    }
    ws.write(buf, ping);
    // The socket still holds the bytes (the kernel did not take them all): the buffer is its own now.
    if (into !== undefined && buf.buffer === into.buffer && ws.bufferedAmount !== 0) this.scratch = undefined;
  }

  /** Forget what is waiting (server closed). */
  clear(): void {
    if (this.scheduled) clearImmediate(this.scheduled);
    this.scheduled = undefined;
    for (const slot of this.due) slot.out = undefined;
    this.due = [];
  }
}
