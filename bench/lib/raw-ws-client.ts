/**
 * A minimal WebSocket client for load generation (bench/signaling): the
 * upgrade over a plain `net` socket, then frames read and written by hand.
 * The generator's sends are pre-built frames (header, zero masking key,
 * payload) written with one `write` each, and what it receives is scanned in
 * place, so per relayed message it spends a fraction of a full client
 * library's CPU and the servers under test get the machine's cores.
 *
 * Servers' frames are unmasked (RFC 6455 §5.1). A ping is answered with a
 * pong; a close ends the socket. Fragmented messages are not expected from
 * either server under test at these sizes and are reported as an error.
 *
 * A zero masking key is valid (the key guards browsers against cache
 * poisoning by scripts; a load generator on loopback needs none) and makes
 * masking the identity, so a frame is built once and resent as is.
 * @module
 */
import { connect, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { Opcode, headerBytes, writeHeader } from '../../src/signaling/drivers/ws-frames.js';
/**
 * Every socket of this thread is read into this one buffer (`net`'s `onread`
 * mode): no buffer per read, no stream machinery; what must outlive a read
 * (a partial frame) is copied.
 */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

/** A client frame of `payload` (FIN, opcode `op`, masked with the zero key). */
export function clientFrame(payload: Buffer | string, op: number = Opcode.TEXT): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const n = body.length;
  const head = headerBytes(n);
  const out = Buffer.alloc(head + 4 + n); // the 4 key bytes stay zero
  writeHeader(out, 0, n, 0x80 | op); // the server's frame header…
  out[1]! |= 0x80; // …with the MASK bit a client frame carries
  body.copy(out, head + 4);
  return out;
}

/** Receives each text message's payload (a view valid during the call) and the socket's errors. */
export interface RawHandlers {
  text(payload: Buffer): void;
  error(message: string): void;
}

/** One WebSocket connection. */
export class RawWsClient {
  private rest: Buffer | null = null;
  private closed = false;

  private constructor(
    readonly socket: Socket,
    private handlers: RawHandlers,
  ) {}

  /** Connect to `url` (ws://host:port/path?query) and finish the upgrade. */
  static open(url: string, handlers: RawHandlers, timeoutMs = 60_000): Promise<RawWsClient> {
    const u = new URL(url);
    return new Promise((resolve, reject) => {
      let client: RawWsClient | undefined;
      let head: Buffer = Buffer.alloc(0);
      const fail = (err: Error) => {
        clearTimeout(timer);
        socket.destroy();
        reject(err);
      };
      /** Bytes before the upgrade's end are its response; after it, frames. */
      const onRead = (nread: number): boolean => {
        const chunk = READ_BUFFER.subarray(0, nread);
        if (client !== undefined) {
          client.read(chunk);
          return true;
        }
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return true;
        clearTimeout(timer);
        socket.off('error', fail);
        const status = head.toString('latin1', 0, head.indexOf('\r\n'));
        if (!/^HTTP\/1\.1 101/.test(status)) {
          fail(new Error(`upgrade refused: ${status}`));
          return false;
        }
        const c = (client = new RawWsClient(socket, handlers));
        socket.on('error', (e) => c.handlers.error(e.message));
        socket.on('close', () => (c.closed = true));
        resolve(c);
        if (end + 4 < head.length) c.read(head.subarray(end + 4));
        return true;
      };
      const socket = connect({ host: u.hostname, port: Number(u.port), onread: { buffer: READ_BUFFER, callback: onRead } });
      socket.setNoDelay(true);
      const timer = setTimeout(() => fail(new Error(`upgrade of ${url} timed out`)), timeoutMs);
      socket.once('error', fail);
      socket.once('connect', () => {
        socket.write(
          `GET ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
            `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
        );
      });
    });
  }

  /** Replace the message handlers (after the join, the steady-state ones). */
  setHandlers(handlers: RawHandlers): void {
    this.handlers = handlers;
  }

  /** Whether the socket is still open. */
  get open(): boolean {
    return !this.closed;
  }

  /** Send a pre-built frame (see {@link clientFrame}). */
  send(frame: Buffer): void {
    if (!this.closed) this.socket.write(frame);
  }

  /** Drop the connection at once. */
  terminate(): void {
    this.socket.destroy();
  }

  private read(chunk: Buffer): void {
    const buf = this.rest === null ? chunk : Buffer.concat([this.rest, chunk]);
    this.rest = null;
    let at = 0;
    while (buf.length - at >= 2) {
      const op = buf[at]! & 0x0f;
      const fin = (buf[at]! & 0x80) !== 0;
      let n = buf[at + 1]! & 0x7f;
      let start = at + 2;
      if (n === 126) {
        if (buf.length - at < 4) break;
        n = buf.readUInt16BE(at + 2);
        start = at + 4;
      } else if (n === 127) {
        if (buf.length - at < 10) break;
        n = Number(buf.readBigUInt64BE(at + 2));
        start = at + 10;
      }
      if (buf.length - start < n) break;
      const payload = buf.subarray(start, start + n);
      at = start + n;
      if (!fin) this.handlers.error('fragmented message');
      else if (op === Opcode.TEXT) this.handlers.text(payload);
      else if (op === Opcode.PING) this.send(clientFrame(payload, Opcode.PONG));
      else if (op === Opcode.CLOSE) this.socket.end();
    }
    if (at < buf.length) this.rest = Buffer.from(buf.subarray(at)); // own copy: the chunk's memory may be reused
  }
}
