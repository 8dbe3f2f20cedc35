/**
 * The server's half of the WebSocket opening handshake (RFC 6455 §4.2), as
 * `ws`'s `WebSocketServer.handleUpgrade` does it without compression: the
 * request checked, then `101 Switching Protocols` with the
 * `Sec-WebSocket-Accept` digest (and the first offered subprotocol, as `ws`
 * picks it). The socket is then the server's ({@link ServerSocket}).
 * @module
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const KEY = /^[+/0-9A-Za-z]{22}==$/;
/** A subprotocol token (RFC 7230 tchar). */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Why an upgrade request cannot become a WebSocket: HTTP status and text. */
export interface HandshakeRefusal {
  status: number;
  text: string;
}

/** Check an upgrade request as `ws` does; undefined when it may be accepted. */
export function checkHandshake(req: IncomingMessage): HandshakeRefusal | undefined {
  if (req.method !== 'GET') return { status: 405, text: 'Method Not Allowed' };
  if (req.headers.upgrade?.toLowerCase() !== 'websocket') return { status: 400, text: 'Invalid Upgrade header' };
  const key = req.headers['sec-websocket-key'];
  if (key === undefined || !KEY.test(key)) return { status: 400, text: 'Missing or invalid Sec-WebSocket-Key header' };
  const version = req.headers['sec-websocket-version'];
  if (version !== '8' && version !== '13') return { status: 400, text: 'Missing or invalid Sec-WebSocket-Version header' };
  const protocols = req.headers['sec-websocket-protocol'];
  if (protocols !== undefined && !protocols.split(',').every((p) => TOKEN.test(p.trim()))) return { status: 400, text: 'Invalid Sec-WebSocket-Protocol header' };
  return undefined;
}

/**
 * Answer a checked upgrade request with `101 Switching Protocols`; false
 * (and the socket destroyed) when the socket can no longer be written.
 */
export function completeHandshake(req: IncomingMessage, socket: Duplex): boolean {
  if (!socket.readable || !socket.writable) {
    socket.destroy();
    return false;
  }
  const accept = createHash('sha1').update(req.headers['sec-websocket-key']! + GUID).digest('base64');
  const protocol = req.headers['sec-websocket-protocol']?.split(',')[0]?.trim();
  socket.write(
    'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      `Sec-WebSocket-Accept: ${accept}\r\n${protocol ? `Sec-WebSocket-Protocol: ${protocol}\r\n` : ''}\r\n`,
  );
  return true;
}
