/**
 * The signaling wire protocol: message shapes and validators shared by the
 * server, the WebSocket client and the in-memory bus. Every frame is one JSON
 * object with a string `type`. See docs/signaling.md for the full description.
 *
 * Client → server messages are validated strictly (unknown fields are refused,
 * so a client cannot smuggle a `from`); server → client messages are validated
 * leniently (extra fields are ignored, so an older client talks to a newer server).
 * @module
 */
import { ErrorCode } from '../errors.js';

/**
 * Protocol version, announced in `joined`. 2 added `probe` / `peer_alive`
 * (clients send `probe` only to servers that announce 2 or more). 3 added the
 * host role: `join` fields `host`, `hostKey`, `create`, `waitForHostMs`, the
 * errors `HOST_TAKEN` and `LOBBY_NOT_FOUND`, and `peer_attached.restarted`.
 * A version 3 server accepts every version 2 message unchanged.
 *
 * TURN credentials (issue #14) need no version bump: a server configured with
 * `turn` adds the optional `iceServers` to `joined` and sends `ice_servers`
 * (fresh credentials, every half lifetime); older clients ignore both (an
 * unknown server message type is counted and dropped), and no client → server
 * message changed.
 *
 * 4 added array frames (see ./batch.ts): a client that announces 4 when it
 * connects (the query parameter `rtcmesh=4` on the WebSocket URL, which older
 * servers ignore) gets, when the server has several messages for it at once,
 * ONE text frame holding a JSON array of them, in order; it may also send an
 * array of messages in one frame once the server announced 4 in `joined`.
 * Clients that do not announce 4 keep getting one message per frame, and
 * every message shape is unchanged.
 *
 * 5 added `refuse` (see {@link REFUSE_PROTOCOL_VERSION}): a peer tells another
 * member it sees that it refused the link (`{type:'refuse', to, code?}`,
 * relayed as `{type:'refuse', from, code?}`). Clients send it only to servers
 * that announce 5 or more in `joined` (an older server would answer the
 * unknown type with an `error` and a strike); older clients ignore the
 * relayed message as an unknown type. Every other message is unchanged.
 */
export const PROTOCOL_VERSION = 5;

/** The protocol version that added `probe` / `peer_alive`: clients send `probe` only to servers announcing at least this. */
export const PROBE_PROTOCOL_VERSION = 2;

/** The protocol version that added `refuse`: clients send it only to servers announcing at least this. */
export const REFUSE_PROTOCOL_VERSION = 5;

/**
 * Why a peer refused a link, as `refuse.code`: `UNAUTHORIZED` (its
 * `refuseNewConnections` is on) or `INVALID_PEER` (its role does not take
 * that peer). Absent means UNAUTHORIZED.
 */
export type RefusalCode = 'UNAUTHORIZED' | 'INVALID_PEER';
/** Every {@link RefusalCode}. */
export const REFUSAL_CODES: readonly RefusalCode[] = ['UNAUTHORIZED', 'INVALID_PEER'];

/** `mesh`: everyone connects to everyone. `client_server`: everyone connects to the host (id 1) only. */
export type LobbyMode = 'mesh' | 'client_server';
/** All lobby modes. */
export const LOBBY_MODES: readonly LobbyMode[] = ['mesh', 'client_server'];

/** Id of a lobby's host (its creator). */
export const HOST_PEER_ID = 1;
/** Smallest id the server gives a non-host peer. */
export const MIN_SIGNALING_PEER_ID = 2;
/** Largest peer id (31-bit). */
export const MAX_SIGNALING_PEER_ID = 2147483647;

/** Lobby names chosen by clients: 1–64 characters of `A–Z a–z 0–9 _ . -`. */
export const LOBBY_NAME_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;
/** Longest SDP accepted (characters). Frames are also bounded by the server's byte limit. */
export const MAX_SDP_LENGTH = 65536;
/** Longest `mid` accepted. */
export const MAX_MID_LENGTH = 256;
/** Longest candidate line accepted. */
export const MAX_CANDIDATE_LENGTH = 4096;
/** Longest resume token accepted. */
export const MAX_TOKEN_LENGTH = 1024;
/** Longest host key accepted. */
export const MAX_HOST_KEY_LENGTH = 256;
/** Largest `waitForHostMs` a client may ask for (servers cap it lower, see `maxWaitForHostMs`). */
export const MAX_WAIT_FOR_HOST_MS = 3_600_000;
/** Deepest nesting of the free-form `join.auth` value (an object or array holding a scalar is depth 2). */
export const MAX_AUTH_DEPTH = 8;
/** Longest `join.auth` value, as JSON text (characters). */
export const MAX_AUTH_LENGTH = 4096;

/**
 * Whether a free-form JSON value (already parsed) is at most `maxDepth` deep
 * and, serialised, at most `maxLength` characters. Iterative, so a hostile
 * value cannot exhaust the stack; it stops at the first breach.
 */
export function isBoundedJson(value: unknown, maxDepth: number, maxLength: number): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  let length = 0;
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (depth > maxDepth) return false;
    if (typeof v === 'string') length += v.length + 2;
    else if (v === null || typeof v !== 'object') length += String(v).length;
    else if (Array.isArray(v)) {
      length += 2 + v.length;
      if (length > maxLength) return false;
      for (const x of v) stack.push([x, depth + 1]);
    } else {
      length += 2;
      for (const [k, x] of Object.entries(v)) {
        length += k.length + 4;
        stack.push([x, depth + 1]);
      }
    }
    if (length > maxLength) return false;
  }
  return true;
}

/** Messages a client sends. */
export type ClientMessage =
  | {
      type: 'join';
      lobby?: string;
      mode?: LobbyMode;
      auth?: unknown;
      resume?: string;
      /** (3) Join as the lobby's host: create it with this peer as id 1, or reclaim id 1 with the host key. */
      host?: boolean;
      /** (3) The host's key: proves a restarted host is the lobby's host; checked against the server's key when it has one. */
      hostKey?: string;
      /** (3) `false`: join only, never create (`LOBBY_NOT_FOUND` when absent). */
      create?: boolean;
      /** (3) Join only; when the lobby does not exist, wait up to this long for its host to create it. */
      waitForHostMs?: number;
    }
  | { type: 'offer' | 'answer'; to: number; sdp: string }
  | { type: 'candidate'; to: number; mid: string; index: number; candidate: string }
  | { type: 'probe'; to: number }
  /** (5) This peer refused its link to `to` (relayed as a server `refuse` with `from`). */
  | { type: 'refuse'; to: number; code?: RefusalCode }
  | { type: 'seal' }
  | { type: 'leave' };

/** Messages the server sends. */
export type ServerMessage =
  | {
      type: 'joined';
      lobby: string;
      id: number;
      mode: LobbyMode;
      peers: number[];
      token: string;
      resumed: boolean;
      sealed: boolean;
      /**
       * True when `peers` is the lobby's full member list, so a resuming
       * client may forget known peers missing from it (they left meanwhile).
       * False in a lobby recreated after a server restart while it still
       * waits for members to come back. Absent from older servers (treated
       * as false).
       */
      complete?: boolean;
      /** (3) True when this join reclaimed id 1 from a host in its resume grace (a restarted host with its key). */
      reclaimed?: boolean;
      /** STUN/TURN servers with time-limited credentials, from a server configured with `turn`. */
      iceServers?: WireIceServer[];
      version: number;
    }
  /** Fresh TURN credentials for connections created from now on (sent every half credential lifetime). */
  | { type: 'ice_servers'; iceServers: WireIceServer[] }
  | { type: 'peer_joined'; id: number }
  /** The full list of peers the client sees, sent when a lobby recreated after a restart stops waiting for members. */
  | { type: 'peers'; ids: number[] }
  | { type: 'peer_left'; id: number }
  | { type: 'peer_detached'; id: number }
  /** `restarted` (3): the peer came back as a new process (a host that reclaimed id 1 with its key): links to it must be rebuilt. */
  | { type: 'peer_attached'; id: number; restarted?: boolean }
  | { type: 'peer_alive'; id: number }
  | { type: 'offer' | 'answer'; from: number; sdp: string }
  | { type: 'candidate'; from: number; mid: string; index: number; candidate: string }
  /** (5) Peer `from` refused its link to this peer (`code`: why; absent means UNAUTHORIZED). */
  | { type: 'refuse'; from: number; code?: RefusalCode }
  | { type: 'sealed' }
  | { type: 'lobby_closed'; reason: string }
  | { type: 'error'; code: string; message: string; ref?: string }
  | { type: 'shutdown'; reason: string; reconnect: boolean };

/**
 * Result of parsing: the message, or a stable error code and a readable reason.
 * `unknown` marks a well-formed server message of a type this version does not
 * know (a newer server): clients ignore it instead of reporting an error.
 */
export type ParseResult<T> = { ok: true; message: T } | { ok: false; code: ErrorCode; error: string; unknown?: boolean };

const CLIENT_FIELDS: Record<ClientMessage['type'], readonly string[]> = {
  join: ['type', 'lobby', 'mode', 'auth', 'resume', 'host', 'hostKey', 'create', 'waitForHostMs'],
  offer: ['type', 'to', 'sdp'],
  answer: ['type', 'to', 'sdp'],
  candidate: ['type', 'to', 'mid', 'index', 'candidate'],
  probe: ['type', 'to'],
  refuse: ['type', 'to', 'code'],
  seal: ['type'],
  leave: ['type'],
};

/** True when `id` is a valid peer id (1 or 2..2^31-1). */
export function isPeerId(id: unknown): id is number {
  return typeof id === 'number' && Number.isInteger(id) && id >= HOST_PEER_ID && id <= MAX_SIGNALING_PEER_ID;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function bad<T>(error: string, code: ErrorCode = ErrorCode.PROTOCOL_ERROR): ParseResult<T> {
  return { ok: false, code, error };
}

function str(v: unknown, max: number): v is string {
  return typeof v === 'string' && v.length <= max;
}

/** Decode and validate one client → server frame (already known to be text). */
export function parseClientMessage(text: string): ParseResult<ClientMessage> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return bad('frame is not valid JSON; send one JSON object per text frame', ErrorCode.MALFORMED_DATA);
  }
  return validateClientMessage(raw);
}

/** Validate one client → server message, already parsed from JSON (a frame, or an element of an array frame). */
export function validateClientMessage(raw: unknown): ParseResult<ClientMessage> {
  if (!isObject(raw)) return bad('frame must be a JSON object with a "type" field', ErrorCode.MALFORMED_DATA);
  const type = raw.type;
  if (typeof type !== 'string' || !Object.hasOwn(CLIENT_FIELDS, type)) {
    return bad(`unknown message type ${JSON.stringify(type)}; expected one of ${Object.keys(CLIENT_FIELDS).join(', ')}`);
  }
  const allowed = CLIENT_FIELDS[type as ClientMessage['type']];
  // for…in rather than Object.keys: no array of keys per message (a parsed object inherits no enumerable keys).
  for (const key in raw) {
    if (!allowed.includes(key)) {
      const hint = key === 'from' ? ' (the server stamps the sender itself)' : '';
      return bad(`field "${key}" is not allowed in "${type}"${hint}; allowed: ${allowed.join(', ')}`);
    }
  }
  switch (type) {
    case 'join': {
      if (raw.lobby !== undefined && raw.lobby !== '' && !(typeof raw.lobby === 'string' && LOBBY_NAME_PATTERN.test(raw.lobby))) {
        return bad('join.lobby must be "" (create) or 1-64 characters of A-Z a-z 0-9 _ . -');
      }
      if (raw.mode !== undefined && !LOBBY_MODES.includes(raw.mode as LobbyMode)) {
        return bad('join.mode must be "mesh" or "client_server"');
      }
      if (raw.auth !== undefined && !isBoundedJson(raw.auth, MAX_AUTH_DEPTH, MAX_AUTH_LENGTH)) {
        return bad(`join.auth must be JSON at most ${MAX_AUTH_DEPTH} levels deep and ${MAX_AUTH_LENGTH} characters long`);
      }
      if (raw.resume !== undefined && !(str(raw.resume, MAX_TOKEN_LENGTH) && raw.resume.length > 0)) {
        return bad(`join.resume must be a non-empty token of at most ${MAX_TOKEN_LENGTH} characters`);
      }
      if (raw.host !== undefined && typeof raw.host !== 'boolean') return bad('join.host must be a boolean');
      if (raw.create !== undefined && typeof raw.create !== 'boolean') return bad('join.create must be a boolean');
      if (raw.hostKey !== undefined && !(str(raw.hostKey, MAX_HOST_KEY_LENGTH) && raw.hostKey.length > 0)) {
        return bad(`join.hostKey must be a non-empty string of at most ${MAX_HOST_KEY_LENGTH} characters`);
      }
      if (
        raw.waitForHostMs !== undefined &&
        !(typeof raw.waitForHostMs === 'number' && Number.isInteger(raw.waitForHostMs) && raw.waitForHostMs >= 0 && raw.waitForHostMs <= MAX_WAIT_FOR_HOST_MS)
      ) {
        return bad(`join.waitForHostMs must be an integer from 0 to ${MAX_WAIT_FOR_HOST_MS}`);
      }
      if (raw.host === true && (raw.create === false || raw.waitForHostMs !== undefined)) {
        return bad('join.host cannot be combined with create: false or waitForHostMs (a host creates the lobby)');
      }
      return { ok: true, message: raw as ClientMessage };
    }
    case 'offer':
    case 'answer':
      if (!isPeerId(raw.to)) return bad(`${type}.to must be a peer id (1..${MAX_SIGNALING_PEER_ID})`);
      if (!str(raw.sdp, MAX_SDP_LENGTH)) return bad(`${type}.sdp must be a string of at most ${MAX_SDP_LENGTH} characters`);
      return { ok: true, message: raw as ClientMessage };
    case 'candidate':
      if (!isPeerId(raw.to)) return bad(`candidate.to must be a peer id (1..${MAX_SIGNALING_PEER_ID})`);
      if (!str(raw.mid, MAX_MID_LENGTH)) return bad(`candidate.mid must be a string of at most ${MAX_MID_LENGTH} characters`);
      if (typeof raw.index !== 'number' || !Number.isInteger(raw.index) || raw.index < 0 || raw.index > 65535) {
        return bad('candidate.index must be an integer from 0 to 65535');
      }
      if (!str(raw.candidate, MAX_CANDIDATE_LENGTH)) {
        return bad(`candidate.candidate must be a string of at most ${MAX_CANDIDATE_LENGTH} characters`);
      }
      return { ok: true, message: raw as ClientMessage };
    case 'probe':
      if (!isPeerId(raw.to)) return bad(`probe.to must be a peer id (1..${MAX_SIGNALING_PEER_ID})`);
      return { ok: true, message: raw as ClientMessage };
    case 'refuse':
      if (!isPeerId(raw.to)) return bad(`refuse.to must be a peer id (1..${MAX_SIGNALING_PEER_ID})`);
      if (raw.code !== undefined && !REFUSAL_CODES.includes(raw.code as RefusalCode)) return bad(`refuse.code must be one of ${REFUSAL_CODES.join(', ')}`);
      return { ok: true, message: raw as ClientMessage };
    default:
      return { ok: true, message: raw as ClientMessage };
  }
}

/** A STUN/TURN server on the wire (the W3C RTCIceServer shape). */
export interface WireIceServer {
  urls: string | string[];
  username?: string;
  credential?: string;
}

/** Most `iceServers` entries / URLs per entry accepted from a server. */
const MAX_ICE_SERVERS = 16;

function isIceServers(v: unknown): v is WireIceServer[] {
  if (!Array.isArray(v) || v.length > MAX_ICE_SERVERS) return false;
  return v.every((x) => {
    if (!isObject(x)) return false;
    const urls = x.urls;
    const okUrls =
      (typeof urls === 'string' && urls.length <= 1024) ||
      (Array.isArray(urls) && urls.length > 0 && urls.length <= MAX_ICE_SERVERS && urls.every((u) => typeof u === 'string' && u.length <= 1024));
    const okStr = (s: unknown) => s === undefined || (typeof s === 'string' && s.length <= 1024);
    return okUrls && okStr(x.username) && okStr(x.credential);
  });
}

/** Decode and validate one server → client frame. Extra fields are ignored. */
export function parseServerMessage(text: string): ParseResult<ServerMessage> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return bad('server sent a frame that is not JSON', ErrorCode.MALFORMED_DATA);
  }
  return validateServerMessage(raw);
}

/** Validate one server → client message, already parsed from JSON (a frame, or an element of an array frame). */
export function validateServerMessage(raw: unknown): ParseResult<ServerMessage> {
  if (!isObject(raw)) return bad('server sent a frame that is not a JSON object', ErrorCode.MALFORMED_DATA);
  const m = raw;
  const fail = (what: string) => bad<ServerMessage>(`server sent an invalid "${String(m.type)}": ${what}`);
  switch (m.type) {
    case 'joined':
      if (typeof m.lobby !== 'string' || !m.lobby) return fail('lobby');
      if (!isPeerId(m.id)) return fail('id');
      if (!LOBBY_MODES.includes(m.mode as LobbyMode)) return fail('mode');
      if (!Array.isArray(m.peers) || !m.peers.every(isPeerId)) return fail('peers');
      if (typeof m.token !== 'string') return fail('token');
      if (typeof m.resumed !== 'boolean' || typeof m.sealed !== 'boolean') return fail('resumed/sealed');
      if (m.complete !== undefined && typeof m.complete !== 'boolean') return fail('complete');
      if (m.iceServers !== undefined && !isIceServers(m.iceServers)) return fail('iceServers');
      break;
    case 'ice_servers':
      if (!isIceServers(m.iceServers)) return fail('iceServers');
      break;
    case 'peers':
      if (!Array.isArray(m.ids) || !m.ids.every(isPeerId)) return fail('ids');
      break;
    case 'peer_joined':
    case 'peer_left':
    case 'peer_detached':
    case 'peer_attached':
    case 'peer_alive':
      if (!isPeerId(m.id)) return fail('id');
      if (m.type === 'peer_attached' && m.restarted !== undefined && typeof m.restarted !== 'boolean') return fail('restarted');
      break;
    case 'offer':
    case 'answer':
      if (!isPeerId(m.from)) return fail('from');
      if (typeof m.sdp !== 'string') return fail('sdp');
      break;
    case 'candidate':
      if (!isPeerId(m.from)) return fail('from');
      if (typeof m.mid !== 'string' || typeof m.candidate !== 'string') return fail('mid/candidate');
      if (typeof m.index !== 'number' || !Number.isInteger(m.index) || m.index < 0) return fail('index');
      break;
    case 'refuse':
      if (!isPeerId(m.from)) return fail('from');
      // A code this version does not know (a newer peer) reads as the default.
      if (m.code !== undefined && typeof m.code !== 'string') return fail('code');
      break;
    case 'sealed':
      break;
    case 'lobby_closed':
      if (typeof m.reason !== 'string') return fail('reason');
      break;
    case 'error':
      if (typeof m.code !== 'string' || typeof m.message !== 'string') return fail('code/message');
      if (m.ref !== undefined && typeof m.ref !== 'string') return fail('ref');
      break;
    case 'shutdown':
      if (typeof m.reason !== 'string' || typeof m.reconnect !== 'boolean') return fail('reason/reconnect');
      break;
    default:
      if (typeof m.type !== 'string') return bad('server sent a frame without a string "type"', ErrorCode.MALFORMED_DATA);
      return { ok: false, code: ErrorCode.PROTOCOL_ERROR, error: `server sent an unknown message type ${JSON.stringify(m.type)}`, unknown: true };
  }
  return { ok: true, message: m as unknown as ServerMessage };
}

/** Error codes a server may put in an `error` message (a subset of {@link ErrorCode}). */
export const SIGNALING_ERROR_CODES: readonly ErrorCode[] = [
  ErrorCode.MALFORMED_DATA,
  ErrorCode.PROTOCOL_ERROR,
  ErrorCode.PACKET_TOO_LARGE,
  ErrorCode.RATE_LIMITED,
  ErrorCode.INVALID_STATE,
  ErrorCode.INVALID_PEER,
  ErrorCode.UNAUTHORIZED,
  ErrorCode.LOBBY_SEALED,
  ErrorCode.LOBBY_FULL,
  ErrorCode.SERVER_FULL,
  ErrorCode.RESUME_FAILED,
  ErrorCode.HOST_TAKEN,
  ErrorCode.LOBBY_NOT_FOUND,
  ErrorCode.TIMEOUT,
];

/** Map a wire error code to an {@link ErrorCode}; unknown codes become PROTOCOL_ERROR. */
export function toErrorCode(code: string): ErrorCode {
  return (SIGNALING_ERROR_CODES as readonly string[]).includes(code) ? (code as ErrorCode) : ErrorCode.PROTOCOL_ERROR;
}

/** WebSocket close codes the server uses. */
export const CloseCode = {
  /** Normal: lobby closed (sealed, host left) or the client left. */
  NORMAL: 1000,
  /** Server shutting down (see the preceding `shutdown` message). */
  GOING_AWAY: 1001,
  /** Policy violation: repeated abuse, flood, disallowed origin. */
  POLICY: 1008,
  /** Frame larger than the hard limit. */
  TOO_BIG: 1009,
  /** The socket could not keep up (send buffer over the limit). */
  TRY_AGAIN: 1013,
  /** No join within the join timeout. */
  JOIN_TIMEOUT: 4001,
  /** The same peer resumed on another socket. */
  REPLACED: 4002,
} as const;
