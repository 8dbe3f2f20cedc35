/**
 * Public types of the RPC layer: configs, handler context, error event and
 * the remote-error class.
 * @module
 */
import { ErrorCode, RtcmeshError } from '../errors.js';
import type { TransferMode } from '../mesh/types.js';

/** Who may call an RPC (Godot's RPC modes). */
export type RpcMode = 'authority' | 'any_peer' | 'disabled';

/** How an RPC is declared. Every field is optional. */
export interface RpcConfig<A extends unknown[] = unknown[]> {
  /** `'authority'` (default): only the authority may call it; `'any_peer'`; `'disabled'`. */
  mode?: RpcMode;
  /**
   * In `'authority'` mode, the peer allowed to call this RPC (Godot's
   * `set_multiplayer_authority()` on the node that owns the method): a peer
   * id, or a function of the call's arguments returning one (for an RPC that
   * serves many objects named by an argument, each with its own authority; it
   * runs after `validate`, and a throw or a non-id counts as no authority).
   * Default: the endpoint's authority ({@link RpcEndpoint.setAuthority}, 1
   * unless changed). Can be changed later with `setAuthority(peerId, name)`.
   */
  authority?: number | ((args: A) => number);
  /** Also run on the caller when the target includes it (sender = own id). Default false. */
  callLocal?: boolean;
  /** Transfer mode used when `channel` is 0. Default RELIABLE. */
  transferMode?: TransferMode;
  /** 0 = the default channel of `transferMode`; N > 0 = custom channel N. Default 0. */
  channel?: number;
  /**
   * When calls of this RPC leave. `false` (default): at the tick's `flush()`,
   * batched. `true`: at once, one message per call (after what was batched
   * before it on the same link and channel). `'turn'`: at the end of the
   * current synchronous turn (a microtask by default, see the endpoint's
   * `turnScheduler` option): every call made in one turn shares one message
   * per link and channel.
   */
  immediate?: boolean | 'turn';
  /** Time allowed for `request()` of this RPC, in ms. Default: the endpoint's `requestTimeoutMs`. */
  timeoutMs?: number;
  /**
   * Checks received arguments before the handler runs. Return true to accept;
   * false (or a throw) drops the call with `INVALID_ARGS`.
   */
  validate?: (args: unknown[]) => args is A;
}

/** What a handler knows about the call it is serving. */
export interface RpcContext {
  /** Id of the peer that made the call (own id for a local call). Godot's get_remote_sender_id(). */
  readonly senderId: number;
  /** Channel it arrived on (0 = the default channel of `mode`). */
  readonly channel: number;
  /** Transfer mode it arrived with. */
  readonly mode: TransferMode;
  /**
   * The tick it was dispatched in: the driving `Ticker`'s tick number (the
   * `tick` its update gets), or, without a Ticker, the endpoint's own poll count.
   */
  readonly tick: number;
  /** Name of the RPC. */
  readonly name: string;
  /** True when this call is a `request()` whose return value goes back to the caller. */
  readonly isRequest: boolean;
}

/** Stable codes of `rpc_error` events (inbound problems, never thrown). */
export const RpcErrorCode = {
  /** The message could not be decoded as msgpack or a frame had the wrong shape. */
  MALFORMED_FRAME: 'MALFORMED_FRAME',
  /** The message is larger than `maxMessageSize`. */
  FRAME_TOO_LARGE: 'FRAME_TOO_LARGE',
  /** The named / numbered RPC is not registered here. */
  UNKNOWN_RPC: 'UNKNOWN_RPC',
  /** The RPC is registered with mode `'disabled'`. */
  RPC_DISABLED: 'RPC_DISABLED',
  /** An authority-only RPC came from a peer that is not the authority. */
  UNAUTHORIZED_SENDER: 'UNAUTHORIZED_SENDER',
  /** The RPC's validator rejected the arguments. */
  INVALID_ARGS: 'INVALID_ARGS',
  /** A relayed frame claims an origin other than the link it arrived on, or a system frame came from a non-server. */
  FORGED_SENDER: 'FORGED_SENDER',
  /** A relay asked for a peer the server does not know, or for the relaying client itself. */
  UNKNOWN_TARGET: 'UNKNOWN_TARGET',
  /** The peers' method tables differ (names are used instead of ids), or ids arrived under another table. */
  METHOD_TABLE_MISMATCH: 'METHOD_TABLE_MISMATCH',
  /** A response matched no pending request from that peer. */
  UNEXPECTED_RESPONSE: 'UNEXPECTED_RESPONSE',
  /** A handler of a plain (non-request) call threw or rejected. */
  HANDLER_ERROR: 'HANDLER_ERROR',
  /** The mesh refused an outgoing message (peer gone, channel closed). */
  SEND_FAILED: 'SEND_FAILED',
} as const;
/** One of the {@link RpcErrorCode} values. */
export type RpcErrorCode = (typeof RpcErrorCode)[keyof typeof RpcErrorCode];

/** Payload of the `rpc_error` event. */
export interface RpcErrorEvent {
  code: RpcErrorCode;
  /** Peer the offending frame came from (own id for local problems). */
  senderId: number;
  /** RPC name when known. */
  name?: string;
  /** What happened, in words. */
  message: string;
  /** The underlying error (handler throw, decode failure), when there is one. */
  error?: unknown;
}

/** Events of an {@link RpcEndpoint}. */
export interface RpcEndpointEvents {
  /** An inbound frame was dropped, or a handler failed; never thrown. */
  rpc_error: (event: RpcErrorEvent) => void;
  /** A peer became reachable by RPC (in client mode, includes other clients via the server). */
  peer_connected: (id: number) => void;
  /** A peer is no longer reachable by RPC. */
  peer_disconnected: (id: number) => void;
}

/**
 * A `request()` failed on the remote side: the handler threw, or the call was
 * refused (unknown RPC, unauthorised, invalid args). Code `REMOTE_ERROR`;
 * `remoteCode` is the thrower's {@link RtcmeshError.code}, an
 * {@link RpcErrorCode}, or `'HANDLER_ERROR'` for any other thrown value.
 */
export class RpcRemoteError extends RtcmeshError {
  constructor(
    readonly peerId: number,
    readonly rpcName: string,
    readonly remoteCode: string,
    readonly remoteMessage: string,
  ) {
    super(ErrorCode.REMOTE_ERROR, `RPC "${rpcName}" failed on peer ${peerId}: [${remoteCode}] ${remoteMessage}`);
    this.name = 'RpcRemoteError';
  }
}

/** Signature of one registered RPC, as tracked in an endpoint's type. */
export interface RpcSignature {
  args: unknown[];
  result: unknown;
}

/** The type-level method table of an endpoint. */
export type RpcMethods = Record<string, RpcSignature>;

/** Use as `RpcEndpoint<AnyRpcMethods>` to call RPCs without static types. */
export type AnyRpcMethods = Record<string, { args: any[]; result: any }>;

/**
 * Throw this from a handler to give a `request()` caller a specific
 * `remoteCode` (any other thrown value arrives as `HANDLER_ERROR`, an
 * {@link RtcmeshError} with its own code).
 */
export class RpcHandlerError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'RpcHandlerError';
  }
}
