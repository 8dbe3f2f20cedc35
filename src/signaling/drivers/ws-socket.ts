/**
 * The server's side of one WebSocket, on the raw socket: frames parsed by
 * {@link readFrames} as chunks are read, output written as ready-made frame
 * buffers, pings answered, and the close handshake and `terminate()` as
 * `ws` does them. One object per socket — its parser state as fields, no
 * streams, no closures: the socket's listeners are functions shared by every
 * socket, which find theirs on the socket, and what they see goes to the
 * server's one {@link ServerSocketEvents}.
 * @module
 */
import type { Duplex } from 'node:stream';
import { encodeCloseFrame, encodeControlFrame, type FrameSink, type FrameState, NO_STATUS, Opcode, readFrames } from './ws-frames.js';

/** `readyState` values, as the WebSocket API numbers them. */
export const ReadyState = { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 } as const;

/** How long a socket waits for the peer's close frame (or its end of the TCP connection) after sending its own (ms, as `ws`). */
export const CLOSE_TIMEOUT_MS = 30_000;

/** What the sockets of one server report (`s.owner` tells whose). */
export interface ServerSocketEvents {
  /** A whole message (text checked to be UTF-8); `transient`: `data` is valid during the call only (copy it to keep it). */
  message(s: ServerSocket, data: Buffer, isBinary: boolean, transient: boolean): void;
  /** A pong. */
  pong(s: ServerSocket): void;
  /** The peer broke the protocol; the socket is being closed with `closeCode`. */
  error(s: ServerSocket, closeCode: number, message: string, errCode: string): void;
  /** The socket closed: the peer's close code (1005 when its close frame had none, 1006 when there was none) and reason. */
  close(s: ServerSocket, code: number, reason: string): void;
}

const SOCKET = Symbol('rtcmesh.serverSocket');

/** A ping frame with no payload (never changed: written as it is). */
const PING = encodeControlFrame(Opcode.PING);

function socketOf(socket: Duplex): ServerSocket | undefined {
  return (socket as unknown as { [SOCKET]?: ServerSocket })[SOCKET];
}

/**
 * One read buffer for every socket: Node reads into it (net.Socket's
 * `onread` mode, set up on accepted sockets by {@link readIntoShared}) and
 * {@link onRead} parses it before the next read. No buffer allocated per
 * read, and none of the stream machinery a `data` event goes through
 * (`push`, `emit`, a `nextTick` per read).
 */
let shared: Buffer | undefined;
const SHARED_BYTES = 64 * 1024;

/** Node's own keys of net.Socket's `onread` mode (its user buffer and callback); null when this Node has none. */
let onreadKeys: { buffer: symbol; callback: symbol } | null | undefined;

type UserReadSocket = Duplex & { _handle?: { useUserBuffer?(buf: Uint8Array): void } | null } & Record<symbol, unknown>;

/**
 * Read `socket` into the shared buffer from now on: what net.Socket's
 * `onread` option does for sockets it creates, done on an accepted one
 * (same keys, same handle call). False — the socket keeps its `data`
 * events — when that is not possible: not a TCP or pipe socket (TLS, a
 * wrapper), bytes already waiting in the stream, or a Node without that
 * mode.
 */
function readIntoShared(socket: Duplex): boolean {
  if (onreadKeys === undefined) {
    const keys = Object.getOwnPropertySymbols(socket);
    const buffer = keys.find((k) => k.description === 'kBuffer');
    const callback = keys.find((k) => k.description === 'kBufferCb');
    onreadKeys = buffer && callback ? { buffer, callback } : null;
  }
  const keys = onreadKeys;
  const u = socket as UserReadSocket;
  const handle = u._handle;
  if (keys === null || !handle || typeof handle.useUserBuffer !== 'function') return false;
  const kind = (handle as object).constructor?.name;
  if ((kind !== 'TCP' && kind !== 'Pipe') || u[keys.buffer] !== null || u[keys.callback] !== null) return false;
  if (socket.readableLength > 0) return false;
  shared ??= Buffer.allocUnsafeSlow(SHARED_BYTES);
  handle.useUserBuffer(shared);
  u[keys.buffer] = shared;
  u[keys.callback] = onRead;
  return true;
}

/** Listeners shared by every socket (`this` is the raw socket). */
function onRead(this: Duplex, nread: number, buf: Buffer): void {
  const s = socketOf(this);
  if (s) readFrames(s, buf, SINK, s.maxPayload, nread, true);
}
function onData(this: Duplex, chunk: Buffer): void {
  const s = socketOf(this);
  if (s) readFrames(s, chunk, SINK, s.maxPayload);
}
function onEnd(this: Duplex): void {
  // The peer ended its side without (or after) a close frame: end ours too.
  const s = socketOf(this);
  if (s && s.readyState === ReadyState.OPEN) s.readyState = ReadyState.CLOSING;
  this.end();
}
function onError(this: Duplex): void {
  const s = socketOf(this);
  if (s && s.readyState === ReadyState.OPEN) s.readyState = ReadyState.CLOSING;
  this.destroy();
}
function onClose(this: Duplex): void {
  const s = socketOf(this);
  if (!s) return;
  s.readyState = ReadyState.CLOSED;
  s.reading = false;
  s.parts = s.fragments = undefined;
  if (s.closeTimer) clearTimeout(s.closeTimer);
  s.closeTimer = undefined;
  s.events.close(s, s.closeCode, s.closeReason);
}
function destroy(this: ServerSocket): void {
  this.closeTimer = undefined;
  this.socket.destroy();
}

/** What the parser finds, for every socket. */
const SINK: FrameSink<ServerSocket> = {
  message(s, data, isBinary, transient) {
    s.events.message(s, data, isBinary, transient);
  },
  ping(s, payload) {
    if (s.readyState === ReadyState.OPEN) s.socket.write(encodeControlFrame(Opcode.PONG, payload));
  },
  pong(s) {
    s.events.pong(s);
  },
  close(s, code, reason) {
    s.closeReceived = true;
    s.closeCode = code;
    s.closeReason = reason;
    // The peer's code back (none when it gave none); ends the TCP connection once both were sent.
    if (code === NO_STATUS) s.close();
    else s.close(code, reason);
  },
  error(s, closeCode, message, errCode) {
    s.errored = true;
    s.events.error(s, closeCode, message, errCode);
    s.close(closeCode);
  },
};

/** One accepted WebSocket, server side (unmasked frames out, masked frames in). */
export class ServerSocket implements FrameState {
  readyState: number = ReadyState.OPEN;
  /** Whose socket this is (the server's connection object). */
  owner: unknown = undefined;
  parts: Buffer[] | undefined = undefined;
  partsBytes = 0;
  need = 0;
  fragments: Buffer[] | undefined = undefined;
  fragmentsBytes = 0;
  fragmentsBinary = false;
  reading = true;
  /** A close frame was received / sent; a protocol error was found. */
  closeReceived = false;
  closeSent = false;
  errored = false;
  /** What `close` reports: the peer's code and reason (1006, none, until a close frame came). */
  closeCode = 1006;
  closeReason = '';
  /** Destroys the socket if the peer does not finish the close handshake in time. */
  closeTimer: ReturnType<typeof setTimeout> | undefined = undefined;

  /**
   * Take over `socket` right after the upgrade. `maxPayload` bounds a
   * message (0 = no bound).
   */
  constructor(
    readonly socket: Duplex,
    readonly events: ServerSocketEvents,
    readonly maxPayload: number,
  ) {
    (socket as unknown as { [SOCKET]?: ServerSocket })[SOCKET] = this;
    const net = socket as Duplex & { setTimeout?(ms: number): void; setNoDelay?(on: boolean): void };
    net.setTimeout?.(0);
    net.setNoDelay?.(true);
    // Reads go to the shared buffer where possible; `data` events otherwise (and for whatever the stream still holds).
    if (!readIntoShared(socket)) socket.on('data', onData);
    else socket.resume();
    socket.on('end', onEnd);
    socket.on('error', onError);
    socket.on('close', onClose);
  }

  /** Parse bytes that were read past the upgrade request (its `head`): they came first. */
  receive(chunk: Buffer): void {
    readFrames(this, chunk, SINK, this.maxPayload);
  }

  /** Bytes written and not yet handed to the kernel. */
  get bufferedAmount(): number {
    return this.socket.writableLength;
  }

  /** Write ready-made server frames (while open), and a ping after them in the same write when `ping`. */
  write(frames: Buffer, ping = false): void {
    if (this.readyState !== ReadyState.OPEN) return;
    this.socket.write(ping ? Buffer.concat([frames, PING]) : frames);
  }

  /** Send a ping (while open). */
  ping(): void {
    if (this.readyState === ReadyState.OPEN) this.socket.write(PING);
  }

  /**
   * Start (or finish) the close handshake: a close frame with `code` and
   * `reason`; the TCP connection ends once the peer's close frame came too,
   * or is destroyed after {@link CLOSE_TIMEOUT_MS}.
   */
  close(code?: number, reason?: string): void {
    if (this.readyState === ReadyState.CLOSED) return;
    if (this.readyState === ReadyState.CLOSING) {
      if (this.closeSent && (this.closeReceived || this.errored)) this.socket.end();
      return;
    }
    this.readyState = ReadyState.CLOSING;
    this.closeSent = true;
    if (!this.socket.writable) return;
    this.socket.write(encodeCloseFrame(code, reason));
    if (this.closeReceived || this.errored) this.socket.end();
    this.closeTimer ??= setTimeout(destroy.bind(this), CLOSE_TIMEOUT_MS);
  }

  /** Destroy the socket at once (no close handshake). */
  terminate(): void {
    if (this.readyState === ReadyState.CLOSED) return;
    this.readyState = ReadyState.CLOSING;
    this.socket.destroy();
  }

  /** Stop reading the socket (TCP pushes back on the peer). */
  pause(): void {
    this.socket.pause();
  }

  /** Read the socket again. */
  resume(): void {
    this.socket.resume();
  }
}
