/**
 * Fast path for the messages the server relays most: `offer`, `answer` and
 * `candidate` as clients write them (`JSON.stringify` of a flat object, no
 * whitespace). The server needs only their `type` and `to` (the text is
 * relayed as received) and that they are valid, and `JSON.parse` building the
 * whole object (every string copied out) was the largest part of the
 * server's JavaScript per relayed message. This scans the text once instead:
 * it accepts a message only when `JSON.parse` plus `validateClientMessage`
 * would accept it with the same `type` and `to`, and gives up (undefined / -1)
 * on anything else — whitespace, other fields, other types, numbers that are
 * not plain integers, invalid escapes, control characters — so that the
 * regular path decides, and reports, exactly as before.
 * @module
 */
import { MAX_CANDIDATE_LENGTH, MAX_MID_LENGTH, MAX_SDP_LENGTH, MAX_SIGNALING_PEER_ID } from './protocol.js';

/** The relayed message types the fast path reads. */
export type FastRelayType = 'offer' | 'answer' | 'candidate';

const TYPE = 1;
const TO = 2;
const SDP = 4;
const MID = 8;
const INDEX = 16;
const CANDIDATE = 32;
/** The fields each type must have, all of them and no other (as CLIENT_FIELDS and the validation require). */
const DESCRIPTION_FIELDS = TYPE | TO | SDP;
const CANDIDATE_FIELDS = TYPE | TO | MID | INDEX | CANDIDATE;

/** What the last successful {@link scanRelayMessage} read. */
export const scannedMessage = { type: 'offer' as FastRelayType, to: 0 };

/** The rest of a JSON string without escapes or control characters, and its closing quote (sticky: matched where `lastIndex` says). */
const PLAIN_STRING = /[^"\\\u0000-\u001f]*"/y;

/**
 * A `candidate` exactly as `SignalingClient.sendCandidate` writes it, with no
 * escape in its strings: `to` of 1–10 digits (range checked after), `index`
 * 0–65535 (sticky). Its strings' limits hold when the whole message is no
 * longer than the shorter limit, `mid`'s (checked after the match; a longer
 * one takes the general scan).
 */
const CLIENT_CANDIDATE =
  /\{"type":"candidate","to":[1-9][0-9]{0,9},"mid":"[^"\\\u0000-\u001f]*","index":(?:0|[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]),"candidate":"[^"\\\u0000-\u001f]*"\}/y;
/** Where `to`'s digits start in such a candidate. */
const CANDIDATE_TO_AT = '{"type":"candidate","to":'.length;

/** Decoded length of the string scanned last by {@link scanString}. */
let stringLength = 0;

/**
 * The end (index after the closing quote) of the JSON string whose opening
 * quote is at `i`, with its decoded length in {@link stringLength}; -1 when
 * it is not a valid JSON string (unterminated, a control character, a bad
 * escape).
 */
function scanString(t: string, i: number, n: number): number {
  // Most strings have no escape: one native regular-expression run to the closing quote.
  PLAIN_STRING.lastIndex = i + 1;
  if (PLAIN_STRING.test(t)) {
    stringLength = PLAIN_STRING.lastIndex - i - 2;
    return PLAIN_STRING.lastIndex;
  }
  let extra = 0;
  const start = i + 1;
  for (let j = start; j < n; j++) {
    const c = t.charCodeAt(j);
    if (c === 0x22) {
      stringLength = j - start - extra;
      return j + 1;
    }
    if (c < 0x20) return -1;
    if (c === 0x5c) {
      const e = t.charCodeAt(j + 1);
      if (e === 0x75) {
        // \uXXXX: six characters, one code unit
        for (let k = j + 2; k < j + 6; k++) {
          const h = t.charCodeAt(k) | 0x20; // lower case for letters
          if (!((h >= 0x30 && h <= 0x39) || (h >= 0x61 && h <= 0x66))) return -1;
        }
        extra += 5;
        j += 5;
      } else if (e === 0x22 || e === 0x5c || e === 0x2f || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74) {
        extra += 1;
        j += 1;
      } else return -1;
    }
  }
  return -1;
}

/**
 * Scan the message at `t[i]` (an object, known to start there): the index
 * after its closing brace, with its `type` and `to` in {@link scannedMessage},
 * when it is a valid `offer`, `answer` or `candidate` written compactly;
 * else -1.
 */
export function scanRelayMessage(t: string, i: number, n: number = t.length): number {
  if (t.charCodeAt(i) !== 0x7b) return -1;
  // A candidate as the client writes it (its fields in that order, no escapes): one native run.
  CLIENT_CANDIDATE.lastIndex = i;
  if (CLIENT_CANDIDATE.test(t) && CLIENT_CANDIDATE.lastIndex - i <= MAX_MID_LENGTH) {
    let to = 0;
    for (let p = i + CANDIDATE_TO_AT, c = t.charCodeAt(p); c !== 0x2c; c = t.charCodeAt(++p)) to = to * 10 + (c - 0x30);
    if (to <= MAX_SIGNALING_PEER_ID) {
      scannedMessage.type = 'candidate';
      scannedMessage.to = to;
      return CLIENT_CANDIDATE.lastIndex;
    }
  }
  i++;
  let seen = 0;
  let type = 0; // 1 offer, 2 answer, 3 candidate
  let to = 0;
  for (;;) {
    // A key: a plain string, one of the six fields.
    if (t.charCodeAt(i) !== 0x22) return -1;
    const k = i + 1;
    const ke = t.indexOf('"', k);
    if (ke < 0) return -1;
    let field: number;
    switch (ke - k) {
      case 2:
        field = t.startsWith('to', k) ? TO : -1;
        break;
      case 3:
        field = t.startsWith('sdp', k) ? SDP : t.startsWith('mid', k) ? MID : -1;
        break;
      case 4:
        field = t.startsWith('type', k) ? TYPE : -1;
        break;
      case 5:
        field = t.startsWith('index', k) ? INDEX : -1;
        break;
      case 9:
        field = t.startsWith('candidate', k) ? CANDIDATE : -1;
        break;
      default:
        return -1;
    }
    if (field < 0 || (seen & field) !== 0 || t.charCodeAt(ke + 1) !== 0x3a) return -1;
    seen |= field;
    i = ke + 2;
    if (field === TO || field === INDEX) {
      // A plain integer: no sign, fraction, exponent or leading zero (anything else goes the regular way).
      let v = 0;
      const d0 = i;
      for (let c = t.charCodeAt(i); c >= 0x30 && c <= 0x39; c = t.charCodeAt(++i)) v = v * 10 + (c - 0x30);
      const digits = i - d0;
      if (digits === 0 || digits > 10 || (digits > 1 && t.charCodeAt(d0) === 0x30)) return -1;
      if (field === TO) {
        if (v < 1 || v > MAX_SIGNALING_PEER_ID) return -1;
        to = v;
      } else if (v > 65535) return -1; // index: checked, not needed by the relay
    } else {
      if (t.charCodeAt(i) !== 0x22) return -1;
      const end = scanString(t, i, n);
      if (end < 0) return -1;
      const len = stringLength;
      if (field === TYPE) {
        // No escapes in a type the fast path takes (the decoded length is then the raw one).
        if (len !== end - i - 2) return -1;
        if (len === 5 && t.startsWith('offer', i + 1)) type = 1;
        else if (len === 6 && t.startsWith('answer', i + 1)) type = 2;
        else if (len === 9 && t.startsWith('candidate', i + 1)) type = 3;
        else return -1;
      } else if (len > (field === SDP ? MAX_SDP_LENGTH : field === MID ? MAX_MID_LENGTH : MAX_CANDIDATE_LENGTH)) return -1;
      i = end;
    }
    const sep = t.charCodeAt(i);
    if (sep === 0x2c) {
      i++;
      continue;
    }
    if (sep !== 0x7d) return -1;
    i++;
    break;
  }
  if (type === 3 ? seen !== CANDIDATE_FIELDS : seen !== DESCRIPTION_FIELDS) return -1;
  scannedMessage.type = type === 1 ? 'offer' : type === 2 ? 'answer' : 'candidate';
  scannedMessage.to = to;
  return i;
}

/** The messages the last successful {@link scanRelayBatch} read, in order (reused arrays; `count` of them). */
export const scannedBatch = {
  count: 0,
  types: [] as FastRelayType[],
  tos: [] as number[],
  starts: [] as number[],
  ends: [] as number[],
};

/**
 * Scan an array frame `[m1,m2,…]` (compact, at most `maxItems` elements)
 * whose every element is a message {@link scanRelayMessage} takes: true,
 * with the elements in {@link scannedBatch}; false for any other frame (the
 * regular path reads it).
 */
export function scanRelayBatch(t: string, maxItems: number): boolean {
  const n = t.length;
  if (t.charCodeAt(0) !== 0x5b) return false;
  const out = scannedBatch;
  let count = 0;
  let i = 1;
  for (;;) {
    if (count >= maxItems) return false;
    const end = scanRelayMessage(t, i, n);
    if (end < 0) return false;
    out.types[count] = scannedMessage.type;
    out.tos[count] = scannedMessage.to;
    out.starts[count] = i;
    out.ends[count] = end;
    count++;
    const c = t.charCodeAt(end);
    if (c === 0x2c) {
      i = end + 1;
      continue;
    }
    if (c !== 0x5d || end + 1 !== n) return false;
    break;
  }
  out.count = count;
  return true;
}
