/**
 * Array frames (protocol 4): several signaling messages in one WebSocket text
 * frame, as a JSON array of the messages, in order.
 *
 * - A client announces that it speaks 4 when it connects, with the query
 *   parameter `rtcmesh=4` on the WebSocket URL ({@link announceProtocol}):
 *   older servers ignore the query, so a new client still talks to them.
 * - The server then writes, when it has several messages for that client at
 *   once, one frame `[m1,m2,…]` (spliced from the messages' texts, no
 *   re-serialisation); a client that did not announce 4 keeps getting one
 *   message per frame.
 * - Such a client may send an array frame too, once the server announced 4
 *   (`joined.version`). Each element is validated, rate-limited and counted
 *   exactly as if it came alone; a malformed element is reported like a
 *   malformed frame and the others are still handled. At most
 *   {@link MAX_BATCH_MESSAGES} elements per frame, and the whole frame is
 *   bounded by the server's frame byte limit.
 * @module
 */
import { ErrorCode } from '../errors.js';
import { parseServerMessage, validateServerMessage, type ParseResult, type ServerMessage } from './protocol.js';
import { checkString } from '../util/validate.js';

/** The version that added array frames. */
export const BATCH_PROTOCOL_VERSION = 4;
/** The URL query parameter with which a client announces the protocol version it speaks. */
export const PROTOCOL_QUERY_PARAM = 'rtcmesh';
/** Most messages in one array frame a server accepts from a client (a longer array is refused whole). */
export const MAX_BATCH_MESSAGES = 64;
/** Most characters a server puts in one array frame it sends (more messages go in further frames). */
export const MAX_BATCH_CHARS = 64 * 1024;

/** `url` with the query parameter announcing protocol {@link BATCH_PROTOCOL_VERSION} (kept when already there). */
export function announceProtocol(url: string): string {
  checkString(url, 'announceProtocol() url');
  const hash = url.indexOf('#');
  const base = hash < 0 ? url : url.slice(0, hash);
  if (announcedVersion(base) > 0) return url;
  const sep = base.includes('?') ? (base.endsWith('?') || base.endsWith('&') ? '' : '&') : '?';
  return `${base}${sep}${PROTOCOL_QUERY_PARAM}=${BATCH_PROTOCOL_VERSION}${hash < 0 ? '' : url.slice(hash)}`;
}

/** The protocol version a request URL (path and query) announces; 0 when none. */
export function announcedVersion(url: string | undefined): number {
  if (url !== undefined) checkString(url, 'announcedVersion() url');
  if (!url) return 0;
  const q = url.indexOf('?');
  if (q < 0) return 0;
  const v = new URLSearchParams(url.slice(q + 1)).get(PROTOCOL_QUERY_PARAM);
  const n = v === null ? NaN : Number(v);
  return Number.isInteger(n) && n > 0 ? n : 0;
}

/** True when a text frame holds an array (its first non-blank character is `[`). */
export function isArrayFrame(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5b) return true;
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return false;
  }
  return false;
}

/** A parsed array frame: each element, and its text as sent. */
export interface Batch {
  items: unknown[];
  texts: string[];
}

/**
 * Decode an array frame (known to start with `[`): every element and its text
 * (for relaying it without re-serialising). Refuses invalid JSON and arrays of
 * more than `maxItems` elements.
 */
export function parseBatch(text: string, maxItems: number = MAX_BATCH_MESSAGES): ParseResult<Batch> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { ok: false, code: ErrorCode.MALFORMED_DATA, error: 'array frame is not valid JSON' };
  }
  if (!Array.isArray(raw)) return { ok: false, code: ErrorCode.MALFORMED_DATA, error: 'frame must be a JSON object or an array of them' };
  if (raw.length > maxItems) {
    return { ok: false, code: ErrorCode.PROTOCOL_ERROR, error: `array frame of ${raw.length} messages; at most ${maxItems} per frame` };
  }
  const texts = splitArrayText(text, raw.length);
  if (texts.length !== raw.length) return { ok: false, code: ErrorCode.MALFORMED_DATA, error: 'array frame could not be split into its messages' };
  return { ok: true, message: { items: raw, texts } };
}

/**
 * The top-level elements of a JSON array text (already known to be valid
 * JSON), as substrings: a scan that tracks strings and nesting only.
 */
export function splitArrayText(text: string, expected = 0): string[] {
  // Sized for the elements expected (an array grown by push starts at 17 slots).
  const out: string[] = expected > 0 ? new Array<string>(expected) : [];
  let n = 0;
  let depth = 0;
  let start = -1;
  let blank = true;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // A string: to its closing quote, the next `"` not escaped (an even run of backslashes before it).
      // indexOf rather than a loop over every character: most of a message is strings.
      let j = i;
      for (;;) {
        j = text.indexOf('"', j + 1);
        if (j < 0) {
          j = text.length;
          break;
        }
        let b = j - 1;
        while (text.charCodeAt(b) === 0x5c) b--;
        if (((j - 1 - b) & 1) === 0) break;
      }
      i = j;
      blank = false;
      continue;
    }
    if (c === 0x5b || c === 0x7b) {
      if (depth++ === 0) {
        start = i + 1;
        continue;
      }
    } else if (c === 0x5d || c === 0x7d) {
      if (--depth === 0) {
        if (!blank) out[n++] = text.slice(start, i);
        if (out.length !== n) out.length = n;
        return out;
      }
    } else if (c === 0x2c && depth === 1) {
      out[n++] = text.slice(start, i);
      start = i + 1;
      continue;
    } else if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) {
      continue;
    }
    if (depth >= 1) blank = false;
  }
  if (out.length !== n) out.length = n;
  return out;
}

/** Most messages a client takes from one array frame (the rest are reported as one error). */
export const MAX_SERVER_BATCH_MESSAGES = 4096;

/**
 * Decode and validate a server → client frame: its one message, or (protocol
 * 4) each message of an array frame, in order — one result per message.
 */
export function parseServerFrame(text: string): ParseResult<ServerMessage>[] {
  checkString(text, 'parseServerFrame() text');
  if (!isArrayFrame(text)) return [parseServerMessage(text)];
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return [{ ok: false, code: ErrorCode.MALFORMED_DATA, error: 'server sent an array frame that is not JSON' }];
  }
  if (!Array.isArray(raw) || raw.length > MAX_SERVER_BATCH_MESSAGES) {
    return [{ ok: false, code: ErrorCode.MALFORMED_DATA, error: `server sent an array frame of more than ${MAX_SERVER_BATCH_MESSAGES} messages` }];
  }
  return raw.map(validateServerMessage);
}
