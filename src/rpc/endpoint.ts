/**
 * RpcEndpoint: typed remote procedure calls over a {@link MultiplayerPeer}
 * (Godot's SceneMultiplayer RPC without the scene tree), with request/response,
 * receive-side validation, a method-table handshake, relay through peer 1 and
 * per-tick batching. Poll-driven: call {@link RpcEndpoint.poll} then
 * {@link RpcEndpoint.flush} once per tick (the {@link Ticker} does).
 *
 * The endpoint composes small parts: the method table (`registry.ts`), the
 * handshake (`handshake.ts`), the request table (`requests.ts`), the outbox and
 * batcher (`outbox.ts`, `batcher.ts`), the star relay (`relay.ts`), frame
 * dispatch (`dispatch.ts`) and message decoding (`inbound.ts`).
 * @module
 */
import { EventEmitter } from 'eventemitter3';
import { ErrorCode, RtcmeshError } from '../errors.js';
import { ConnectionStatus, MAX_PEER_ID, type MultiplayerPeer, type TakenPacket, type TransferMode } from '../mesh/types.js';
import { realClock, type Clock } from '../util/clock.js';
import type { Pollable } from '../util/sans-io.js';
import { checkClock, checkInt, checkOptions, checkPeerId, checkString, invalid } from '../util/validate.js';
import { Dispatcher } from './dispatch.js';
import { microtaskTurn, type TurnScheduler } from './drivers/turn.js';
import { Handshake } from './handshake.js';
import { receiveMessage, takePacket } from './inbound.js';
import { Outbox } from './outbox.js';
import { MethodTable, checkedEntry, type RpcEntry } from './registry.js';
import { StarRelay } from './relay.js';
import { RequestTable } from './requests.js';
import { EndpointState, MAX_NAME_LENGTH, type RpcStats } from './state.js';
import { RpcHandlerError, type RpcConfig, type RpcContext, type RpcEndpointEvents, type RpcErrorEvent, type RpcMethods } from './types.js';

export type { RpcStats } from './state.js';
export type { TurnScheduler } from './drivers/turn.js';
export { RpcHandlerError };

/** Options of an {@link RpcEndpoint}. */
export interface RpcEndpointOptions {
  /** Time source for request timeouts when {@link RpcEndpoint.poll} is called without a time. Default: the real clock. */
  clock?: Clock;
  /** Peer allowed to call `'authority'` RPCs. Default 1. */
  authority?: number;
  /** Default `request()` timeout in ms. Default 5000. */
  requestTimeoutMs?: number;
  /** Largest message sent or accepted, in bytes (capped by the mesh's max packet size). Default 65536. */
  maxMessageSize?: number;
  /**
   * Runs the end-of-turn flush of RPCs registered with `immediate: 'turn'`.
   * Default: a microtask (`queueMicrotask`). A simulation may pass its own.
   */
  turnScheduler?: TurnScheduler;
}

const OPTION_KEYS = ['clock', 'authority', 'requestTimeoutMs', 'maxMessageSize', 'turnScheduler'] as const;

/**
 * RPC endpoint bound to one multiplayer peer. Register RPCs with
 * {@link register} (chain the calls so the types accumulate), then call them
 * with {@link rpc}, {@link rpcId} and {@link request}.
 *
 * @example
 * ```ts
 * const net = new RpcEndpoint(mesh)
 *   .register('move', (ctx, x: number, y: number) => { ... }, { mode: 'any_peer', transferMode: TransferMode.UNRELIABLE })
 *   .register('getScore', (ctx, who: string) => scores.get(who) ?? 0, { mode: 'any_peer' });
 * net.rpc('move', 3, 4);                        // typed: (x: number, y: number)
 * const s = await net.request(1, 'getScore', 'ann'); // s: number
 * ```
 */
export class RpcEndpoint<M extends RpcMethods = {}> extends EventEmitter<RpcEndpointEvents> {
  private readonly clock: Clock;
  private readonly requestTimeoutMs: number;
  private readonly maxMessageSizeOption: number;
  private readonly state: EndpointState;
  private readonly handshake: Handshake;
  private readonly requests: RequestTable;
  private readonly outbox: Outbox;
  private readonly relay: StarRelay;
  private readonly dispatcher: Dispatcher;
  private readonly packet: TakenPacket = { data: undefined, peer: 0, channel: 0, mode: 0 as TransferMode };
  private readonly onPeerConnected = (id: number) => this.linkOpened(id);
  private readonly onPeerDisconnected = (id: number) => this.linkClosed(id);

  constructor(
    readonly mesh: MultiplayerPeer,
    options?: RpcEndpointOptions,
  ) {
    super();
    if (mesh === null || typeof mesh !== 'object' || typeof (mesh as MultiplayerPeer).putPacket !== 'function') {
      invalid('RpcEndpoint mesh', 'a MultiplayerPeer (e.g. a WebRTCMultiplayerPeer)', mesh);
    }
    const o = checkOptions<RpcEndpointOptions>(options, OPTION_KEYS, 'RpcEndpoint options');
    if (o.clock !== undefined) checkClock(o.clock, 'RpcEndpoint options.clock');
    this.clock = o.clock ?? realClock;
    const authority = o.authority === undefined ? 1 : checkInt(o.authority, 1, MAX_PEER_ID, 'RpcEndpoint options.authority');
    this.requestTimeoutMs =
      o.requestTimeoutMs === undefined ? 5000 : checkInt(o.requestTimeoutMs, 1, 2 ** 31 - 1, 'RpcEndpoint options.requestTimeoutMs');
    this.maxMessageSizeOption =
      o.maxMessageSize === undefined ? 65536 : checkInt(o.maxMessageSize, 64, 2 ** 30, 'RpcEndpoint options.maxMessageSize');
    if (o.turnScheduler !== undefined && typeof o.turnScheduler !== 'function') {
      invalid('RpcEndpoint options.turnScheduler', 'a function that runs its argument after the current turn', o.turnScheduler);
    }
    this.state = new EndpointState(mesh, new MethodTable(), authority, {
      report: (e) => this.report(e),
      peerConnected: (id) => this.emit('peer_connected', id),
      peerGone: (id) => this.peerGone(id),
    });
    this.handshake = new Handshake(this.state);
    this.requests = new RequestTable(
      (p) => new RtcmeshError(ErrorCode.TIMEOUT, `request("${p.name}") to peer ${p.peer} got no answer in time; raise timeoutMs or check that the peer polls its endpoint`),
    );
    this.outbox = new Outbox(this.state, this.handshake, this.effectiveMaxMessageSize(), o.turnScheduler ?? microtaskTurn, mesh.copiesPutPackets === true);
    this.relay = new StarRelay(this.state, this.handshake, this.outbox, (frame, arrival) => this.dispatcher.handleFrame(frame, arrival, false));
    this.dispatcher = new Dispatcher(this.state, this.handshake, this.relay, this.requests, this.outbox);
    this.state.refreshTopology();
    mesh.on('peer_connected', this.onPeerConnected);
    mesh.on('peer_disconnected', this.onPeerDisconnected);
    for (const id of this.state.peerIds()) this.linkOpened(id);
  }

  /**
   * The current tick, which handlers see as `ctx.tick`. A {@link Ticker}
   * driving this endpoint sets it to its own tick number (the `tick` its update
   * gets); otherwise every {@link RpcEndpoint.poll} advances it by one.
   */
  get tick(): number {
    return this.state.tick;
  }

  set tick(tick: number) {
    this.state.tick = checkInt(tick, 0, Number.MAX_SAFE_INTEGER, 'RpcEndpoint tick');
  }

  // ---------------------------------------------------------------- registry

  /**
   * Register an RPC. The handler gets a {@link RpcContext} then the call's
   * arguments; its return value (awaited) answers `request()`. Register the
   * same names on every peer, ideally before peers connect (registering later
   * re-runs the handshake). Returns this endpoint, typed with the new RPC.
   */
  register<N extends string, A extends unknown[], R>(
    name: N,
    handler: (ctx: RpcContext, ...args: A) => R,
    config?: RpcConfig<A>,
  ): RpcEndpoint<M & { [K in N]: { args: A; result: Awaited<R> } }> {
    this.checkOpen();
    const entry = checkedEntry(name, handler, config, MAX_NAME_LENGTH);
    const table = this.state.table;
    if (table.has(name)) {
      throw new RtcmeshError(ErrorCode.INVALID_STATE, `RPC "${name}" is already registered; call unregister("${name}") first to replace it`);
    }
    table.set(entry);
    this.handshake.tableChanged();
    return this as unknown as RpcEndpoint<M & { [K in N]: { args: A; result: Awaited<R> } }>;
  }

  /** Remove an RPC; returns whether it was registered. */
  unregister(name: keyof M & string): boolean {
    checkString(name, 'RPC name');
    const had = this.state.table.delete(name);
    if (had) this.handshake.tableChanged();
    return had;
  }

  /** Registered names, in wire-id order (sorted). */
  getRegisteredNames(): string[] {
    return this.state.table.names();
  }

  /** Checksum of this endpoint's method table (what HELLO announces). */
  getTableChecksum(): number {
    return this.state.table.checksum;
  }

  /**
   * Change the peer allowed to call `'authority'` RPCs (Godot's
   * `set_multiplayer_authority(id)`). Without `name`: the endpoint's
   * authority, used by every RPC registered without its own `authority`.
   * With `name`: that RPC's own authority only (as Godot sets it on the one
   * node that owns the method), replacing its `authority` config.
   */
  setAuthority(peerId: number, name?: keyof M & string): void {
    const id = checkInt(peerId, 1, MAX_PEER_ID, 'authority peer id');
    if (name === undefined) {
      this.state.authority = id;
      return;
    }
    this.registeredEntry(name, 'setAuthority').authority = id;
  }

  /**
   * The peer allowed to call `'authority'` RPCs: the endpoint's, or with
   * `name` that RPC's (its own `authority`, else the endpoint's). An RPC
   * whose authority is a function of its arguments throws INVALID_ARGUMENT:
   * it has no single authority.
   */
  getAuthority(name?: keyof M & string): number {
    if (name === undefined) return this.state.authority;
    const a = this.registeredEntry(name, 'getAuthority').authority;
    if (typeof a === 'function') {
      throw new RtcmeshError(ErrorCode.INVALID_ARGUMENT, `RPC "${name}" takes its authority from its arguments (config.authority is a function); call that function with the arguments instead`);
    }
    return a ?? this.state.authority;
  }

  /** True when this peer is the authority (Godot's `is_multiplayer_authority()`): of the endpoint, or with `name` of that RPC (see {@link getAuthority}). */
  isAuthority(name?: keyof M & string): boolean {
    return this.mesh.getUniqueId() === this.getAuthority(name);
  }

  /**
   * Godot's `multiplayer.get_remote_sender_id()`: inside a handler, the id of
   * the peer that made the call being run (the same as `ctx.senderId`; your
   * own id for a `callLocal` run on yourself); 0 anywhere else. As in Godot,
   * it is 0 again after the handler's first `await`: read it before.
   */
  getRemoteSenderId(): number {
    return this.state.remoteSender;
  }

  // ---------------------------------------------------------------- calling

  /** Call `name` on every peer (target 0); also locally when `callLocal`. */
  rpc<N extends keyof M & string>(name: N, ...args: M[N]['args']): void {
    this.send(0, name, args, 'rpc');
  }

  /**
   * Call `name` on one peer (`peer` > 0) or on all but one (`peer` < 0).
   * Calling your own id needs `callLocal`. As in Godot, `peer` (or `-peer`)
   * must be a connected peer: an unknown id, or minus your own id, throws
   * INVALID_PEER and nothing is sent; NOT_OPEN until the multiplayer peer is
   * CONNECTED (local runs included).
   */
  rpcId<N extends keyof M & string>(peer: number, name: N, ...args: M[N]['args']): void {
    checkInt(peer, -MAX_PEER_ID, MAX_PEER_ID, 'rpcId target peer');
    this.send(peer, name, args, 'rpcId');
  }

  /**
   * Call `name` on one peer and get its handler's return value. Rejects with
   * TIMEOUT after the RPC's `timeoutMs` (checked on {@link poll}), with
   * PEER_DISCONNECTED when the peer leaves, and with an {@link RpcRemoteError}
   * (code REMOTE_ERROR) when the remote handler throws or refuses the call.
   */
  request<N extends keyof M & string>(peer: number, name: N, ...args: M[N]['args']): Promise<M[N]['result']> {
    try {
      checkInt(peer, 1, MAX_PEER_ID, 'request target peer');
      const entry = this.callableEntry(name, args);
      this.checkConnected();
      const me = this.mesh.getUniqueId();
      if (peer === me) {
        if (!entry.callLocal) {
          throw new RtcmeshError(ErrorCode.INVALID_ARGUMENT, `request("${name}") targets this peer (${me}) but the RPC has no callLocal; register it with { callLocal: true } to allow local requests`);
        }
        return this.dispatcher.runLocalRequest(entry, args);
      }
      this.checkTarget(peer);
      const timeout = entry.timeoutMs ?? this.requestTimeoutMs;
      const { id, promise } = this.requests.open(peer, name, this.clock.now() + timeout);
      try {
        this.outbox.emitCall(peer, entry, args, id);
      } catch (err) {
        this.requests.forget(id);
        throw err;
      }
      return promise as Promise<M[N]['result']>;
    } catch (err) {
      return Promise.reject(err);
    }
  }

  // ---------------------------------------------------------------- loop

  /**
   * Poll the mesh, dispatch every inbound message in arrival order, and expire
   * timed-out requests (at the endpoint clock's time). Once per tick, before
   * the game update. Calls still batched from before (no {@link flush} since)
   * are sent first, so a loop that only polls, as Godot's does, still sends.
   * @param tick the tick being run (a {@link Ticker} passes its own); default: the previous {@link RpcEndpoint.tick} + 1.
   */
  poll(tick?: number): void {
    if (this.state.closed) return;
    this.pollAt(this.clock.now(), tick);
  }

  /**
   * {@link poll} at a time the caller gives (sans-IO drivers and simulations):
   * requests whose deadline is at or before `now` time out.
   * @param now time on the endpoint's clock.
   * @param tick as for {@link RpcEndpoint.poll}.
   */
  pollAt(now: number, tick?: number): void {
    const state = this.state;
    if (state.closed) return;
    if (typeof now !== 'number' || Number.isNaN(now)) invalid('pollAt() now', 'a number (a time on the endpoint clock)', now);
    state.tick = tick === undefined ? state.tick + 1 : checkInt(tick, 0, Number.MAX_SAFE_INTEGER, 'poll() tick');
    state.refreshTopology();
    // A loop that only polls, as Godot's does, still sends: what was batched since the last flush() leaves now.
    this.flush();
    this.mesh.poll();
    this.dispatchInbound();
    this.requests.poll(now);
  }

  /**
   * The soonest time (endpoint clock) at which a pending request times out,
   * or `Infinity` when none is pending. Poll at or after it.
   */
  nextDeadline(): number {
    return this.state.closed ? Infinity : this.requests.nextDeadline();
  }

  /**
   * This endpoint as a {@link Pollable} for a driver: `poll(now)` is
   * {@link pollAt}, `nextDeadline()` is {@link nextDeadline}.
   */
  asPollable(): Pollable {
    return { poll: (now) => this.pollAt(now), nextDeadline: () => this.nextDeadline() };
  }

  /** Dispatch whatever the mesh holds now, without polling it. */
  dispatchInbound(): void {
    const mesh = this.mesh;
    const p = this.packet;
    // Counting once is enough: takePacket says when the mesh has nothing more (counting per packet visits every link).
    if (mesh.getAvailablePacketCount() === 0) return;
    while (takePacket(mesh, p)) {
      const data = p.data!;
      p.data = undefined;
      this.receive(data, p.peer, p.channel, p.mode);
    }
  }

  /** Send every batched message. Once per tick, after the game update. */
  flush(): void {
    this.handshake.queueHellos((link, frame) => this.outbox.queueSystem(link, frame));
    this.outbox.flush();
  }

  /** Stop: reject pending requests, detach from the mesh (the mesh stays open). */
  close(): void {
    if (this.state.closed) return;
    this.state.closed = true;
    this.mesh.off('peer_connected', this.onPeerConnected);
    this.mesh.off('peer_disconnected', this.onPeerDisconnected);
    this.requests.rejectAll((p) => new RtcmeshError(ErrorCode.CLOSED, `request("${p.name}") to peer ${p.peer} was cancelled because the RPC endpoint was closed`));
    this.handshake.clear();
    this.relay.clear();
  }

  /** Peers reachable by RPC: the mesh's peers, plus (client mode) the other clients. */
  getPeerIds(): number[] {
    const ids = this.state.peerIds();
    for (const c of this.relay.remoteClientIds()) if (!ids.includes(c)) ids.push(c);
    return ids.sort((a, b) => a - b);
  }

  /** Counters (a copy). */
  getStats(): RpcStats {
    const stats = this.state.stats;
    return { ...stats, errors: { ...stats.errors }, pendingRequests: this.requests.size };
  }

  /** Whether integer method ids are in use towards `peer` (handshake done and tables equal). */
  usesMethodIds(peer: number): boolean {
    checkPeerId(peer, 'usesMethodIds() peer');
    return this.handshake.usesMethodIds(peer);
  }

  /**
   * Feed one received message as if the mesh delivered it (used by
   * {@link dispatchInbound}; public for simulators and fuzzing). Never throws.
   */
  receive(data: Uint8Array, fromPeer: number, channel: number, mode: TransferMode): void {
    receiveMessage(this.state, this.dispatcher, this.outbox.batcher.maxMessageSize, data, fromPeer, channel, mode);
  }

  // ---------------------------------------------------------------- internals

  private send(target: number, name: string, args: unknown[], what: string): void {
    const entry = this.callableEntry(name, args);
    // As Godot's rpcp: no call at all, local or remote, unless the peer is CONNECTED.
    this.checkConnected();
    const me = this.mesh.getUniqueId();
    const runsLocal = target === 0 || target === me || (target < 0 && -target !== me);
    if (target === me && !entry.callLocal) {
      throw new RtcmeshError(ErrorCode.INVALID_ARGUMENT, `${what}("${name}") targets this peer (${me}) but the RPC has no callLocal; register it with { callLocal: true } or target another peer`);
    }
    if (target !== me) {
      // As Godot's _send_rpc: the peer named (or excluded, when negative) must be a connected peer.
      if (target === -me) {
        throw new RtcmeshError(ErrorCode.INVALID_PEER, `${what}(${target}, "${name}") excludes this peer itself, which is not a remote peer; use rpc("${name}") to call every other peer`);
      }
      if (target !== 0) this.checkTarget(target > 0 ? target : -target);
      this.outbox.emitCall(target, entry, args);
    }
    if (runsLocal && entry.callLocal) this.dispatcher.dispatchCall(entry, args, this.state.localArrival(me, entry), undefined);
  }

  /** A registered RPC by name, or INVALID_ARGUMENT naming `what` called for it. */
  private registeredEntry(name: string, what: string): RpcEntry {
    checkString(name, `${what}() RPC name`, MAX_NAME_LENGTH);
    const entry = this.state.table.get(name);
    if (!entry) throw new RtcmeshError(ErrorCode.INVALID_ARGUMENT, `${what}(): RPC "${name}" is not registered on this endpoint; register it first`);
    return entry;
  }

  /** Look up an RPC for an outgoing call, with call-site errors. */
  private callableEntry(name: string, args: unknown): RpcEntry {
    this.checkOpen();
    checkString(name, 'RPC name', MAX_NAME_LENGTH);
    const entry = this.state.table.get(name);
    if (!entry) {
      throw new RtcmeshError(ErrorCode.INVALID_ARGUMENT, `RPC "${name}" is not registered on this endpoint; register it with register("${name}", handler, config) on every peer`);
    }
    if (entry.mode === 'disabled') {
      throw new RtcmeshError(ErrorCode.INVALID_STATE, `RPC "${name}" is registered with mode "disabled"; re-register it with mode "authority" or "any_peer" to call it`);
    }
    if (!Array.isArray(args)) invalid(`arguments of RPC "${name}"`, 'an array', args);
    return entry;
  }

  private checkOpen(): void {
    if (this.state.closed) throw new RtcmeshError(ErrorCode.CLOSED, 'the RPC endpoint is closed; create a new RpcEndpoint');
  }

  private checkConnected(): void {
    const status = this.mesh.getConnectionStatus();
    if (status !== ConnectionStatus.CONNECTED) {
      throw new RtcmeshError(ErrorCode.NOT_OPEN, `the multiplayer peer is not connected (status ${status}); wait for it to connect before calling RPCs on remote peers`);
    }
  }

  private checkTarget(peer: number): void {
    if (!this.handshake.has(peer) && !this.relay.isRemoteClient(peer)) {
      throw new RtcmeshError(ErrorCode.INVALID_PEER, `peer ${peer} is not connected; known peers: ${this.getPeerIds().join(', ') || 'none'}`);
    }
  }

  private effectiveMaxMessageSize(): number {
    let meshMax = 0;
    try {
      meshMax = this.mesh.getMaxPacketSize();
    } catch {
      meshMax = 0;
    }
    return meshMax > 0 ? Math.min(meshMax, this.maxMessageSizeOption) : this.maxMessageSizeOption;
  }

  private linkOpened(id: number): void {
    if (this.state.closed || !this.handshake.open(id)) return;
    this.state.refreshTopology();
    this.outbox.batcher.maxMessageSize = this.effectiveMaxMessageSize();
    this.relay.linkOpened(id);
    this.emit('peer_connected', id);
  }

  private linkClosed(id: number): void {
    if (this.state.closed || !this.handshake.close(id)) return;
    this.outbox.dropPeer(id);
    for (const g of this.relay.linkClosed(id)) this.peerGone(g);
  }

  /** A peer is unreachable: cancel its requests and tell the user. */
  private peerGone(id: number): void {
    this.requests.rejectPeer(id, (p) => new RtcmeshError(ErrorCode.PEER_DISCONNECTED, `request("${p.name}") was cancelled because peer ${id} disconnected`));
    this.emit('peer_disconnected', id);
  }

  private report(event: RpcErrorEvent): void {
    try {
      this.emit('rpc_error', event);
    } catch (err) {
      // A throwing rpc_error listener must not break dispatch; surface it outside our stack.
      queueMicrotask(() => {
        throw err;
      });
    }
  }
}
