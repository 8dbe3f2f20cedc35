/**
 * The receiving side of an endpoint: routes each decoded frame by kind,
 * resolves method ids / names, authorises and validates calls, runs handlers,
 * answers requests (through peer 1 in client mode) and settles our own
 * requests when their answers arrive. Never throws into the caller: every
 * problem is reported as an `rpc_error`.
 * @module
 */
import { describeError, isRtcmeshError } from '../errors.js';
import type { Handshake } from './handshake.js';
import type { Outbox } from './outbox.js';
import type { RpcEntry } from './registry.js';
import type { StarRelay } from './relay.js';
import type { RequestTable } from './requests.js';
import { CALL, FAILURE, HELLO, MAX_NAME_LENGTH, PEERS, RELAY, RELAYED, REQUEST, RESULT, show, type Arrival, type EndpointState } from './state.js';
import { RpcErrorCode, RpcHandlerError, RpcRemoteError, type RpcContext } from './types.js';

/** Frame routing and handler invocation. */
export class Dispatcher {
  constructor(
    private readonly state: EndpointState,
    private readonly handshake: Handshake,
    private readonly relay: StarRelay,
    private readonly requests: RequestTable,
    private readonly outbox: Outbox,
  ) {}

  /** Handle one frame; `topLevel` is false for frames unwrapped from a relay (they may only be calls and responses). */
  handleFrame(frame: unknown, arrival: Arrival, topLevel: boolean): void {
    const state = this.state;
    if (!Array.isArray(frame) || frame.length < 2 || typeof frame[0] !== 'number') {
      state.malformed(arrival, 'frame is not an array starting with a frame kind');
      return;
    }
    switch (frame[0]) {
      case CALL:
      case REQUEST:
        this.handleCall(frame, arrival);
        return;
      case RESULT:
      case FAILURE:
        this.handleResponse(frame, arrival);
        return;
      case RELAY:
        if (topLevel) this.relay.handleRelay(frame, arrival);
        else state.malformed(arrival, 'nested relay frame');
        return;
      case RELAYED:
        if (topLevel) this.relay.handleRelayed(frame, arrival);
        else state.malformed(arrival, 'nested relayed frame');
        return;
      case HELLO:
        if (topLevel) this.handshake.handleHello(frame, arrival);
        else state.malformed(arrival, 'relayed hello frame');
        return;
      case PEERS:
        if (topLevel) this.relay.handlePeers(frame, arrival);
        else state.malformed(arrival, 'relayed peers frame');
        return;
      default:
        state.malformed(arrival, `unknown frame kind ${show(frame[0])}`);
    }
  }

  /** Authorise, validate and run a handler. Never throws. */
  dispatchCall(entry: RpcEntry, args: unknown[], arrival: Arrival, requestId: number | undefined): void {
    const state = this.state;
    if (entry.mode === 'disabled') return this.refuse(entry, arrival, requestId, RpcErrorCode.RPC_DISABLED, `RPC "${entry.name}" is disabled here`);
    const fixed = refusingAuthority(entry, args, arrival.sender, state.authority, false);
    if (fixed !== undefined) return this.unauthorized(entry, arrival, requestId, fixed);
    if (entry.validate) {
      let ok = false;
      let error: unknown;
      try {
        ok = entry.validate(args) === true;
      } catch (err) {
        error = err;
      }
      if (!ok) {
        const msg = `arguments of RPC "${entry.name}" from peer ${arrival.sender} failed validation${error ? `: ${describeError(error)}` : ''}`;
        return this.refuse(entry, arrival, requestId, RpcErrorCode.INVALID_ARGS, msg);
      }
    }
    const byArgs = refusingAuthority(entry, args, arrival.sender, state.authority, true);
    if (byArgs !== undefined) return this.unauthorized(entry, arrival, requestId, byArgs);
    const ctx: RpcContext = {
      senderId: arrival.sender,
      channel: arrival.channel,
      mode: arrival.mode,
      tick: state.tick,
      name: entry.name,
      isRequest: requestId !== undefined,
    };
    state.stats.callsDispatched++;
    let result: unknown;
    const outer = state.remoteSender;
    state.remoteSender = arrival.sender;
    try {
      // Common arities called directly (a spread call costs more); the handler sees exactly `args`.
      switch (args.length) {
        case 0:
          result = entry.handler(ctx);
          break;
        case 1:
          result = entry.handler(ctx, args[0]);
          break;
        case 2:
          result = entry.handler(ctx, args[0], args[1]);
          break;
        case 3:
          result = entry.handler(ctx, args[0], args[1], args[2]);
          break;
        case 4:
          result = entry.handler(ctx, args[0], args[1], args[2], args[3]);
          break;
        default:
          result = entry.handler(ctx, ...args);
      }
    } catch (err) {
      this.handlerFailed(entry, arrival, requestId, err);
      return;
    } finally {
      state.remoteSender = outer;
    }
    if (result !== null && typeof result === 'object' && typeof (result as PromiseLike<unknown>).then === 'function') {
      (result as PromiseLike<unknown>).then(
        (v) => {
          if (requestId !== undefined) this.respondResult(arrival, requestId, entry, v);
        },
        (err) => this.handlerFailed(entry, arrival, requestId, err),
      );
    } else if (requestId !== undefined) {
      this.respondResult(arrival, requestId, entry, result);
    }
  }

  /** Run a `request()` to this peer itself (callLocal): settles like a remote one, without the wire. */
  runLocalRequest(entry: RpcEntry, args: unknown[]): Promise<any> {
    const state = this.state;
    const me = state.mesh.getUniqueId();
    return new Promise((resolve, reject) => {
      const arrival = state.localArrival(me, entry);
      const fixed = refusingAuthority(entry, args, me, state.authority, false);
      if (fixed !== undefined) {
        reject(new RpcRemoteError(me, entry.name, RpcErrorCode.UNAUTHORIZED_SENDER, `RPC "${entry.name}" is authority-only (authority is peer ${fixed})`));
        return;
      }
      if (entry.validate) {
        let ok = false;
        try {
          ok = entry.validate(args) === true;
        } catch {
          ok = false;
        }
        if (!ok) {
          reject(new RpcRemoteError(me, entry.name, RpcErrorCode.INVALID_ARGS, `arguments of RPC "${entry.name}" failed validation`));
          return;
        }
      }
      const byArgs = refusingAuthority(entry, args, me, state.authority, true);
      if (byArgs !== undefined) {
        reject(new RpcRemoteError(me, entry.name, RpcErrorCode.UNAUTHORIZED_SENDER, `RPC "${entry.name}" is authority-only (authority for these arguments is peer ${byArgs})`));
        return;
      }
      const ctx: RpcContext = { senderId: me, channel: arrival.channel, mode: arrival.mode, tick: state.tick, name: entry.name, isRequest: true };
      state.stats.callsDispatched++;
      const outer = state.remoteSender;
      state.remoteSender = me;
      try {
        Promise.resolve(entry.handler(ctx, ...args)).then(resolve, (err) =>
          reject(new RpcRemoteError(me, entry.name, isRtcmeshError(err) ? err.code : RpcErrorCode.HANDLER_ERROR, describeError(err))),
        );
      } catch (err) {
        reject(new RpcRemoteError(me, entry.name, isRtcmeshError(err) ? err.code : RpcErrorCode.HANDLER_ERROR, describeError(err)));
      } finally {
        state.remoteSender = outer;
      }
    });
  }

  /** Resolve a method reference (id or name); reports and returns undefined on failure. */
  private resolveMethod(ref: unknown, arrival: Arrival): RpcEntry | undefined {
    const state = this.state;
    if (typeof ref === 'number') {
      if (!Number.isInteger(ref) || ref < 0) {
        state.malformed(arrival, 'method id is not a non-negative integer');
        return undefined;
      }
      if (!arrival.idsValid) {
        state.report({ code: RpcErrorCode.METHOD_TABLE_MISMATCH, senderId: arrival.sender, message: `method id ${ref} was sent under a different method table; the call was dropped` });
        return undefined;
      }
      const e = state.table.getById(ref);
      if (!e) state.report({ code: RpcErrorCode.UNKNOWN_RPC, senderId: arrival.sender, message: `no RPC with id ${ref}` });
      return e;
    }
    if (typeof ref === 'string') {
      const e = state.table.get(ref);
      if (!e) state.report({ code: RpcErrorCode.UNKNOWN_RPC, senderId: arrival.sender, name: ref.slice(0, MAX_NAME_LENGTH), message: `no RPC named "${ref.slice(0, 64)}" is registered` });
      return e;
    }
    state.malformed(arrival, 'method reference is neither an id nor a name');
    return undefined;
  }

  /** A `[CALL, method id, args]` frame already taken apart (the immediate call's fast path): as {@link handleFrame} would handle it. */
  handleCallById(method: number, args: unknown[], arrival: Arrival): void {
    const entry = this.resolveMethod(method, arrival);
    if (entry) this.dispatchCall(entry, args, arrival, undefined);
  }

  private handleCall(frame: unknown[], arrival: Arrival): void {
    const isRequest = frame[0] === REQUEST;
    const requestId = frame[3];
    if (isRequest && (typeof requestId !== 'number' || !Number.isInteger(requestId))) {
      this.state.malformed(arrival, 'request frame without an integer request id');
      return;
    }
    const args = frame[2];
    if (!Array.isArray(args)) {
      this.state.malformed(arrival, 'call arguments are not an array');
      if (isRequest) this.respondFailure(arrival, requestId as number, RpcErrorCode.MALFORMED_FRAME, 'call arguments are not an array');
      return;
    }
    const entry = this.resolveMethod(frame[1], arrival);
    if (!entry) {
      if (isRequest) this.respondFailure(arrival, requestId as number, RpcErrorCode.UNKNOWN_RPC, `RPC ${show(frame[1])} is not registered on peer ${this.state.mesh.getUniqueId()}`);
      return;
    }
    this.dispatchCall(entry, args, arrival, isRequest ? (requestId as number) : undefined);
  }

  private unauthorized(entry: RpcEntry, arrival: Arrival, requestId: number | undefined, authority: number): void {
    const who = authority > 0 ? `authority is peer ${authority}` : 'no peer is its authority for these arguments';
    this.refuse(entry, arrival, requestId, RpcErrorCode.UNAUTHORIZED_SENDER, `RPC "${entry.name}" is authority-only (${who}) and peer ${arrival.sender} called it`);
  }

  private refuse(entry: RpcEntry, arrival: Arrival, requestId: number | undefined, code: RpcErrorCode, message: string): void {
    this.state.report({ code, senderId: arrival.sender, name: entry.name, message });
    if (requestId !== undefined) this.respondFailure(arrival, requestId, code, message);
  }

  private handlerFailed(entry: RpcEntry, arrival: Arrival, requestId: number | undefined, err: unknown): void {
    if (requestId !== undefined) {
      const code = isRtcmeshError(err) ? err.code : err instanceof RpcHandlerError ? err.code : RpcErrorCode.HANDLER_ERROR;
      this.respondFailure(arrival, requestId, code, describeError(err));
    } else {
      this.state.report({ code: RpcErrorCode.HANDLER_ERROR, senderId: arrival.sender, name: entry.name, message: `handler of RPC "${entry.name}" threw: ${describeError(err)}`, error: err });
    }
  }

  /** Send a response back to the original sender (through peer 1 when needed). */
  private respond(arrival: Arrival, frame: unknown[]): void {
    const state = this.state;
    if (state.closed) return;
    const to = arrival.sender;
    const me = state.mesh.getUniqueId();
    if (to === arrival.link && to === me) return; // local request: resolved directly
    let link = to;
    let value = frame;
    if (state.isClientMode() && to !== 1) {
      link = 1;
      value = [RELAY, to, me, frame];
    }
    if (!this.handshake.has(link)) return; // the caller is gone; its side cancels the request
    if (!this.outbox.queueSystem(link, value, arrival.channel, arrival.mode)) {
      const fail = [FAILURE, frame[1], 'RESULT_TOO_LARGE', `the result does not fit in one message (max ${this.outbox.batcher.maxMessageSize} bytes)`];
      this.outbox.queueSystem(link, link === to ? fail : [RELAY, to, me, fail], arrival.channel, arrival.mode);
    }
  }

  private respondResult(arrival: Arrival, requestId: number, entry: RpcEntry, value: unknown): void {
    try {
      this.respond(arrival, [RESULT, requestId, value]);
    } catch (err) {
      this.respond(arrival, [FAILURE, requestId, RpcErrorCode.HANDLER_ERROR, `result of "${entry.name}" cannot be encoded: ${describeError(err)}`]);
    }
  }

  private respondFailure(arrival: Arrival, requestId: number, code: string, message: string): void {
    this.respond(arrival, [FAILURE, requestId, code, message]);
  }

  /** An answer to one of our requests. */
  private handleResponse(frame: unknown[], arrival: Arrival): void {
    const id = frame[1];
    const p = this.requests.get(id);
    if (!p || p.peer !== arrival.sender) {
      this.state.report({ code: RpcErrorCode.UNEXPECTED_RESPONSE, senderId: arrival.sender, message: `response to unknown request ${show(id)}` });
      return;
    }
    if (frame[0] === FAILURE && (typeof frame[2] !== 'string' || typeof frame[3] !== 'string')) {
      this.state.malformed(arrival, 'failure frame without code and message strings');
      return;
    }
    if (frame[0] === RESULT) this.requests.resolve(p.id, frame[2]);
    else this.requests.reject(p.id, new RpcRemoteError(p.peer, p.name, frame[2] as string, frame[3] as string));
  }
}

/**
 * The authority that refuses `sender`'s call of an `'authority'` RPC, or
 * undefined when the call may go on. Checked in two stages: a fixed authority
 * (a peer id, or the endpoint's) before the arguments are validated
 * (`validated` false), one taken from the arguments after (`validated` true).
 */
function refusingAuthority(entry: RpcEntry, args: unknown[], sender: number, fallback: number, validated: boolean): number | undefined {
  if (entry.mode !== 'authority' || (typeof entry.authority === 'function') !== validated) return undefined;
  const authority = authorityOf(entry, args, fallback);
  return sender === authority ? undefined : authority;
}

/**
 * The peer allowed to call an `'authority'` RPC: its own `authority` (a peer
 * id, or a function of the call's arguments), else the endpoint's. A function
 * that throws or returns anything but a positive integer gives 0: nobody.
 */
function authorityOf(entry: RpcEntry, args: unknown[], fallback: number): number {
  const a = entry.authority;
  if (a === undefined) return fallback;
  if (typeof a === 'number') return a;
  try {
    const id = a(args);
    return Number.isInteger(id) && id > 0 ? id : 0;
  } catch {
    return 0;
  }
}
