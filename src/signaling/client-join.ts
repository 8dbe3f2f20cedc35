/**
 * The client side of `join`: validating {@link JoinOptions}, building the
 * wire message, and the join waiting for its answer and what it resolves with.
 * @module
 */
import type { RtcmeshError } from '../errors.js';
import { checkBool, checkInt, checkOneOf, checkOptions, checkString, invalid } from '../util/validate.js';
import type { JoinOptions, JoinResult } from './client-types.js';
import {
  LOBBY_MODES,
  LOBBY_NAME_PATTERN,
  MAX_AUTH_DEPTH,
  MAX_AUTH_LENGTH,
  MAX_HOST_KEY_LENGTH,
  MAX_WAIT_FOR_HOST_MS,
  isBoundedJson,
  type ClientMessage,
  type ServerMessage,
} from './protocol.js';

/** Validate join options; throws `RtcmeshError` (INVALID_ARGUMENT, UNKNOWN_OPTION). */
export function checkJoinOptions(options: JoinOptions | undefined): Partial<JoinOptions> {
  const o = checkOptions<JoinOptions>(options, ['lobby', 'mode', 'auth', 'host', 'hostKey', 'create', 'waitForHostMs'], 'join options');
  if (o.lobby !== undefined) {
    checkString(o.lobby, 'join options.lobby', 64);
    if (o.lobby !== '' && !LOBBY_NAME_PATTERN.test(o.lobby)) invalid('join options.lobby', '"" or 1-64 characters of A-Z a-z 0-9 _ . -', o.lobby);
  }
  if (o.mode !== undefined) checkOneOf(o.mode, LOBBY_MODES, 'join options.mode');
  if (o.auth !== undefined) {
    let text: string | undefined;
    try {
      text = JSON.stringify(o.auth);
    } catch {
      text = undefined;
    }
    if (text === undefined || !isBoundedJson(JSON.parse(text), MAX_AUTH_DEPTH, MAX_AUTH_LENGTH)) {
      invalid('join options.auth', `a JSON value at most ${MAX_AUTH_DEPTH} levels deep and ${MAX_AUTH_LENGTH} characters long`, o.auth);
    }
  }
  if (o.host !== undefined) checkBool(o.host, 'join options.host');
  if (o.create !== undefined) checkBool(o.create, 'join options.create');
  if (o.hostKey !== undefined) {
    checkString(o.hostKey, 'join options.hostKey', MAX_HOST_KEY_LENGTH);
    if (o.hostKey === '') invalid('join options.hostKey', `1-${MAX_HOST_KEY_LENGTH} characters`, o.hostKey);
  }
  if (o.waitForHostMs !== undefined) checkInt(o.waitForHostMs, 0, MAX_WAIT_FOR_HOST_MS, 'join options.waitForHostMs');
  if (o.host === true && (o.create === false || o.waitForHostMs !== undefined)) {
    invalid('join options', 'host: true without create: false or waitForHostMs (a host creates the lobby)', o);
  }
  return o;
}

/** The `join` message for validated options (fields left out when they are the default). */
export function joinMessage(o: Partial<JoinOptions>): Extract<ClientMessage, { type: 'join' }> {
  return {
    type: 'join',
    ...(o.lobby ? { lobby: o.lobby } : {}),
    ...(o.mode ? { mode: o.mode } : {}),
    ...(o.auth !== undefined ? { auth: o.auth } : {}),
    ...(o.host === true ? { host: true } : {}),
    ...(o.hostKey !== undefined ? { hostKey: o.hostKey } : {}),
    ...(o.create === false ? { create: false } : {}),
    ...(o.waitForHostMs !== undefined ? { waitForHostMs: o.waitForHostMs } : {}),
  };
}

/** A join sent and not answered yet. */
export interface PendingJoin {
  /** The join's `auth`, kept for resuming. */
  auth: unknown;
  resolve: (r: JoinResult) => void;
  reject: (e: RtcmeshError) => void;
  /** When the join times out (client clock). */
  deadline: number;
}

/** What `join()` resolves with for the server's `joined` (arrays copied). */
export function joinResult(m: Extract<ServerMessage, { type: 'joined' }>): JoinResult {
  return {
    lobby: m.lobby,
    id: m.id,
    mode: m.mode,
    peers: [...m.peers],
    ...(m.reclaimed === true ? { reclaimed: true } : {}),
    ...(m.iceServers ? { iceServers: m.iceServers.map((x) => ({ ...x })) } : {}),
  };
}
