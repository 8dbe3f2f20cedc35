/**
 * WebSocket framing (RFC 6455 §5) for the signaling server's side of a
 * socket: frames from clients parsed in place, frames to clients built
 * straight into write buffers. No streams, no object per frame.
 *
 * Why not `ws`'s Receiver and Sender: at 5000 busy clients the server is
 * CPU-bound on one core, and `ws`'s receive path (a Writable stream per socket
 * that every received chunk goes through, a `message` event per frame) and
 * its per-socket objects (WebSocket, Receiver, Sender: a few kB each) were a
 * large share of what a relayed message costs. Here the parser state lives on
 * the socket object itself ({@link FrameState}) and what it finds goes to one
 * {@link FrameSink} shared by every socket.
 *
 * What a client sends is checked as `ws` checks it, with the same close codes:
 * 1002 for a protocol error (RSV bits, no mask, bad opcode, a control frame
 * fragmented or over 125 bytes, a continuation with nothing to continue, a
 * bad close code), 1009 for a message over `maxPayload` (checked on each
 * frame header, before its payload is buffered), 1007 for a text message or
 * close reason that is not valid UTF-8.
 * @module
 */
import { isUtf8 } from 'node:buffer';

/** Frame opcodes. */
export const Opcode = { CONTINUATION: 0, TEXT: 1, BINARY: 2, CLOSE: 8, PING: 9, PONG: 10 } as const;

/** Reads an unfinished frame is kept in before they are joined into one buffer. */
const MAX_PARTS = 32;

/** Close code for "the close frame carried no code" (never sent). */
export const NO_STATUS = 1005;

/** What a parser keeps between two chunks of one socket (fields of the socket object). */
export interface FrameState {
  /** Bytes of an unfinished frame, in order (undefined when none). */
  parts: Buffer[] | undefined;
  /** Bytes in `parts`. */
  partsBytes: number;
  /** Bytes the unfinished frame needs before it is parsed again. */
  need: number;
  /** Payloads of an unfinished fragmented message (undefined when none). */
  fragments: Buffer[] | undefined;
  /** Bytes in `fragments`. */
  fragmentsBytes: number;
  /** The fragmented message is binary. */
  fragmentsBinary: boolean;
  /** Frames are parsed (false after a close frame or a protocol error: the rest is ignored). */
  reading: boolean;
}

/** What a parser finds, for one socket `s`. */
export interface FrameSink<S extends FrameState> {
  /**
   * A whole message (text already checked to be UTF-8). `data` may share
   * memory with the received chunk; when `transient`, that chunk is a read
   * buffer reused for the next read: `data` is valid during the call only
   * (copy it to keep it).
   */
  message(s: S, data: Buffer, isBinary: boolean, transient: boolean): void;
  ping(s: S, payload: Buffer): void;
  pong(s: S): void;
  /** A close frame (`code` {@link NO_STATUS} when it carried none). Reading stops. */
  close(s: S, code: number, reason: string): void;
  /** A protocol error: close with `closeCode`. Reading stops. `errCode` names it as `ws` does (`WS_ERR_…`). */
  error(s: S, closeCode: number, message: string, errCode: string): void;
}

/** Fresh parser state (spread into the socket object's fields). */
export function initialFrameState(): FrameState {
  return { parts: undefined, partsBytes: 0, need: 0, fragments: undefined, fragmentsBytes: 0, fragmentsBinary: false, reading: true };
}

/** Close codes a peer may send (as `ws` accepts them). */
export function isValidCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) || (code >= 3000 && code <= 4999);
}

/** XOR `len` bytes of `buf` from `o` with the 4-byte mask at `m`, in place. */
function unmask(buf: Buffer, o: number, len: number, m: number): void {
  const m0 = buf[m]!;
  const m1 = buf[m + 1]!;
  const m2 = buf[m + 2]!;
  const m3 = buf[m + 3]!;
  const end = o + len;
  let i = o;
  for (; i + 3 < end; i += 4) {
    buf[i] = buf[i]! ^ m0;
    buf[i + 1] = buf[i + 1]! ^ m1;
    buf[i + 2] = buf[i + 2]! ^ m2;
    buf[i + 3] = buf[i + 3]! ^ m3;
  }
  if (i < end) buf[i] = buf[i]! ^ m0;
  if (i + 1 < end) buf[i + 1] = buf[i + 1]! ^ m1;
  if (i + 2 < end) buf[i + 2] = buf[i + 2]! ^ m2;
}

/**
 * Parse the frames of `chunk` (its first `length` bytes, after what `s`
 * kept of an unfinished frame), handing each to `sink`; keeps the bytes of
 * an unfinished frame. Masked payloads are unmasked in place: `chunk` is the
 * parser's from now on. `maxPayload` bounds a message (all its fragments;
 * 0 = no bound). `transient`: `chunk` is a read buffer that is reused once
 * this returns — what is kept of it (an unfinished frame, fragments) is
 * copied, and messages are handed over as transient.
 */
export function readFrames<S extends FrameState>(s: S, chunk: Buffer, sink: FrameSink<S>, maxPayload: number, length = chunk.length, transient = false): void {
  if (!s.reading) return;
  let buf = chunk;
  let n = length;
  if (s.parts !== undefined) {
    s.parts.push(transient || length < chunk.length ? copyOf(chunk, 0, length) : chunk);
    s.partsBytes += length;
    if (s.partsBytes < s.need) {
      // A frame trickling in small reads is kept as one buffer, not as thousands of small ones (their objects would outweigh the bytes).
      if (s.parts.length >= MAX_PARTS) s.parts = [Buffer.concat(s.parts, s.partsBytes)];
      return;
    }
    buf = Buffer.concat(s.parts, s.partsBytes);
    n = buf.length;
    transient = false;
    s.parts = undefined;
    s.partsBytes = 0;
  }
  let o = 0;
  while (o < n) {
    const avail = n - o;
    if (avail < 2) return keep(s, buf, o, n, 2, transient);
    const b0 = buf[o]!;
    const b1 = buf[o + 1]!;
    let len = b1 & 0x7f;
    let h = 2;
    if (len === 126) {
      if (avail < 4) return keep(s, buf, o, n, 4, transient);
      len = buf.readUInt16BE(o + 2);
      h = 4;
    } else if (len === 127) {
      if (avail < 10) return keep(s, buf, o, n, 10, transient);
      const hi = buf.readUInt32BE(o + 2);
      if (hi > 0x1fffff) return fail(s, sink, 1009, 'Unsupported WebSocket frame: payload length > 2^53 - 1', 'WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH');
      len = hi * 0x100000000 + buf.readUInt32BE(o + 6);
      h = 10;
    }
    if ((b0 & 0x70) !== 0) return fail(s, sink, 1002, 'RSV bits must be clear (no extension was negotiated)', 'WS_ERR_UNEXPECTED_RSV_1');
    if ((b1 & 0x80) === 0) return fail(s, sink, 1002, 'MASK must be set', 'WS_ERR_EXPECTED_MASK');
    const opcode = b0 & 0x0f;
    const fin = (b0 & 0x80) !== 0;
    if (opcode >= 8) {
      if (opcode > Opcode.PONG) return fail(s, sink, 1002, `invalid opcode ${opcode}`, 'WS_ERR_INVALID_OPCODE');
      if (!fin) return fail(s, sink, 1002, 'FIN must be set', 'WS_ERR_EXPECTED_FIN');
      if (len > 125) return fail(s, sink, 1002, `invalid payload length ${len}`, 'WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH');
    } else {
      if (opcode > Opcode.BINARY) return fail(s, sink, 1002, `invalid opcode ${opcode}`, 'WS_ERR_INVALID_OPCODE');
      if ((opcode === Opcode.CONTINUATION) !== (s.fragments !== undefined)) return fail(s, sink, 1002, `invalid opcode ${opcode}`, 'WS_ERR_INVALID_OPCODE');
      if (maxPayload > 0 && len > maxPayload - s.fragmentsBytes) return fail(s, sink, 1009, 'Max payload size exceeded', 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH');
    }
    h += 4; // the mask
    if (avail < h + len) return keep(s, buf, o, n, h + len, transient);
    const start = o + h;
    if (len > 0) unmask(buf, start, len, start - 4);
    const payload = buf.subarray(start, start + len);
    o = start + len;
    if (opcode >= 8) {
      if (opcode === Opcode.PING) sink.ping(s, payload);
      else if (opcode === Opcode.PONG) sink.pong(s);
      else return closeFrame(s, sink, payload);
    } else if (fin && opcode !== Opcode.CONTINUATION) {
      const binary = opcode === Opcode.BINARY;
      if (!binary && !isUtf8(payload)) return fail(s, sink, 1007, 'invalid UTF-8 sequence', 'WS_ERR_INVALID_UTF8');
      sink.message(s, payload, binary, transient);
    } else {
      if (opcode !== Opcode.CONTINUATION) {
        s.fragments = [];
        s.fragmentsBinary = opcode === Opcode.BINARY;
      }
      s.fragments!.push(transient ? copyOf(buf, start, start + len) : payload);
      s.fragmentsBytes += len;
      if (fin) {
        const data = Buffer.concat(s.fragments!, s.fragmentsBytes);
        const binary = s.fragmentsBinary;
        s.fragments = undefined;
        s.fragmentsBytes = 0;
        if (!binary && !isUtf8(data)) return fail(s, sink, 1007, 'invalid UTF-8 sequence', 'WS_ERR_INVALID_UTF8');
        sink.message(s, data, binary, false);
      }
    }
    if (!s.reading) return;
  }
}

/** Bytes `from`–`to` of `buf` in a buffer of their own. */
function copyOf(buf: Buffer, from: number, to: number): Buffer {
  const out = Buffer.allocUnsafeSlow(to - from);
  buf.copy(out, 0, from, to);
  return out;
}

/** Keep the unfinished frame from `o` to `n` (it needs `need` bytes before it is parsed again). */
function keep(s: FrameState, buf: Buffer, o: number, n: number, need: number, transient: boolean): void {
  s.parts = [transient || n < buf.length ? copyOf(buf, o, n) : o === 0 ? buf : buf.subarray(o)];
  s.partsBytes = n - o;
  s.need = need;
}

function fail<S extends FrameState>(s: S, sink: FrameSink<S>, closeCode: number, message: string, errCode: string): void {
  stop(s);
  sink.error(s, closeCode, message, errCode);
}

/** Stop reading and forget what was kept. */
function stop(s: FrameState): void {
  s.reading = false;
  s.parts = s.fragments = undefined;
  s.partsBytes = s.fragmentsBytes = 0;
}

function closeFrame<S extends FrameState>(s: S, sink: FrameSink<S>, payload: Buffer): void {
  if (payload.length === 1) return fail(s, sink, 1002, 'invalid payload length 1', 'WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH');
  if (payload.length === 0) {
    stop(s);
    return sink.close(s, NO_STATUS, '');
  }
  const code = payload.readUInt16BE(0);
  if (!isValidCloseCode(code)) return fail(s, sink, 1002, `invalid status code ${code}`, 'WS_ERR_INVALID_CLOSE_CODE');
  const reason = payload.subarray(2);
  if (!isUtf8(reason)) return fail(s, sink, 1007, 'invalid UTF-8 sequence', 'WS_ERR_INVALID_UTF8');
  stop(s);
  sink.close(s, code, reason.toString('utf8'));
}

/** Header bytes of a server frame with a payload of `len` bytes. */
export function headerBytes(len: number): number {
  return len < 126 ? 2 : len < 65536 ? 4 : 10;
}

/**
 * Write a server frame header (unmasked; `first` is FIN + opcode, default a
 * whole text frame) for a payload of `len` bytes at `o`; returns the offset after it.
 */
export function writeHeader(buf: Buffer, o: number, len: number, first = 0x81): number {
  buf[o++] = first;
  if (len < 126) {
    buf[o++] = len;
  } else if (len < 65536) {
    buf[o++] = 126;
    buf.writeUInt16BE(len, o);
    o += 2;
  } else {
    buf[o++] = 127;
    buf.writeUInt32BE(Math.floor(len / 0x100000000), o);
    buf.writeUInt32BE(len >>> 0, o + 4);
    o += 8;
  }
  return o;
}

/** A buffer of `size` bytes for frames: the start of `into` when it is large enough, else a new one. */
export function frameBuffer(size: number, into?: Buffer): Buffer {
  return into !== undefined && size <= into.length ? into.subarray(0, size) : Buffer.allocUnsafe(size);
}

/** `text` as a WebSocket text frame from a server (unmasked, FIN), at the start of `into` when it fits. */
export function encodeTextFrame(text: string, into?: Buffer): Buffer {
  const len = Buffer.byteLength(text, 'utf8');
  const buf = frameBuffer(len + headerBytes(len), into);
  buf.write(text, writeHeader(buf, 0, len), len, 'utf8');
  return buf;
}

/** A control frame from a server (ping, pong) with `payload` (at most 125 bytes). */
export function encodeControlFrame(opcode: number, payload?: Buffer): Buffer {
  const len = payload?.length ?? 0;
  const buf = Buffer.allocUnsafe(2 + len);
  buf[0] = 0x80 | opcode;
  buf[1] = len;
  if (len > 0) payload!.copy(buf, 2);
  return buf;
}

/** A close frame from a server: `code` (none when undefined) and `reason` cut to fit 123 bytes of UTF-8. */
export function encodeCloseFrame(code?: number, reason = ''): Buffer {
  if (code === undefined) return encodeControlFrame(Opcode.CLOSE);
  let text = reason;
  while (Buffer.byteLength(text, 'utf8') > 123) text = text.slice(0, -1);
  const len = 2 + Buffer.byteLength(text, 'utf8');
  const buf = Buffer.allocUnsafe(2 + len);
  buf[0] = 0x80 | Opcode.CLOSE;
  buf[1] = len;
  buf.writeUInt16BE(code, 2);
  buf.write(text, 4, 'utf8');
  return buf;
}
