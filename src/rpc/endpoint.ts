/**
 * RpcEndpoint: typed remote procedure calls over a {@link MultiplayerPeer}
 * (Godot's SceneMultiplayer RPC without the scene tree), with request/response,
 * receive-side validation, a method-table handshake, relay through peer 1 and
 * per-tick batching. Poll-driven: call {@link RpcEndpoint.poll} then
 * {@link RpcEndpoint.flush} once per tick (the {@link Ticker} does).
 * @module
 */
import { EventEmitter } from 'eventemitter3';
import { ErrorCode, RtcmeshError, describeError, isRtcmeshError } from '../errors.js';
import { ConnectionStatus, MAX_PEER_ID, TransferMode, type MultiplayerPeer } from '../mesh/types.js';
import { realClock, type Clock } from '../util/clock.js';
import { checkBool, checkInt, checkOneOf, checkOptions, checkString, invalid } from '../util/validate.js';
import { Batcher } from './batcher.js';
import { FrameKind, PeersOp, decodeMessage, encode, encodeHeader } from './codec.js';
import { fastEncodeCall } from './fast-encode.js';
import { MethodTable, makeEntry, type RpcEntry } from './registry.js';
import {
  RpcErrorCode,
  RpcRemoteError,
  type RpcConfig,
  type RpcContext,
  type RpcEndpointEvents,
  type RpcErrorEvent,
  type RpcMethods,
} from './types.js';

/**
 * A received value in an error message. Never throws: decoded records may carry
 * a `toString` key (String() would throw) and bigints defeat JSON.stringify.
 */
function show(v: unknown): string {
  switch (typeof v) {
    case 'string':
      return JSON.stringify(v.length > 64 ? `${v.slice(0, 64)}…` : v);
    case 'bigint':
      return `${v}n`;
    case 'number':
    case 'boolean':
    case 'undefined':
      return String(v);
    default:
      return v === null ? 'null' : Array.isArray(v) ? 'an array' : v instanceof Uint8Array ? 'binary data' : 'an object';
  }
}

/** Options of an {@link RpcEndpoint}. */
export interface RpcEndpointOptions {
  /** Time source for request timeouts. Default: the real clock. */
  clock?: Clock;
  /** Peer allowed to call `'authority'` RPCs. Default 1. */
  authority?: number;
  /** Default `request()` timeout in ms. Default 5000. */
  requestTimeoutMs?: number;
  /** Largest message sent or accepted, in bytes (capped by the mesh's max packet size). Default 65536. */
  maxMessageSize?: number;
}

// Frame kinds as module constants: the dispatch switch runs once per frame.
const CALL = FrameKind.CALL;
const REQUEST = FrameKind.REQUEST;
const RESULT = FrameKind.RESULT;
const FAILURE = FrameKind.FAILURE;
const RELAY = FrameKind.RELAY;
const RELAYED = FrameKind.RELAYED;
const HELLO = FrameKind.HELLO;
const PEERS = FrameKind.PEERS;

/** `[CALL, method, args]`, or `[REQUEST, method, args, requestId]` with a request id. */
function callFrame(method: number | string, args: unknown[], requestId: number | undefined): unknown[] {
  return requestId === undefined ? [CALL, method, args] : [REQUEST, method, args, requestId];
}

const OPTION_KEYS = ['clock', 'authority', 'requestTimeoutMs', 'maxMessageSize'] as const;
const CONFIG_KEYS = ['mode', 'callLocal', 'transferMode', 'channel', 'immediate', 'timeoutMs', 'validate'] as const;
const MODES = ['authority', 'any_peer', 'disabled'] as const;
const TRANSFER_MODES = [TransferMode.UNRELIABLE, TransferMode.UNRELIABLE_ORDERED, TransferMode.RELIABLE];
const MAX_NAME_LENGTH = 255;

/** Counters of an endpoint, by {@link RpcEndpoint.getStats}. */
export interface RpcStats {
  /** Calls and requests sent (each target counted once per link). */
  framesSent: number;
  /** Messages handed to the mesh. */
  messagesSent: number;
  messagesReceived: number;
  framesReceived: number;
  /** Handlers run (remote and local). */
  callsDispatched: number;
  /** Frames relayed by this endpoint (peer 1 in server mode). */
  framesRelayed: number;
  /** Inbound problems by {@link RpcErrorCode}. */
  errors: Record<string, number>;
  /** Requests waiting for an answer. */
  pendingRequests: number;
}

interface Pending {
  id: number;
  peer: number;
  name: string;
  deadline: number;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

interface LinkState {
  /** Checksum the peer announced in its HELLO, once received. */
  remoteChecksum: number | undefined;
  /** A mismatch was already reported for this link. */
  mismatchReported: boolean;
}

/** How a frame reached us. */
interface Arrival {
  /** Peer whose link it came on. */
  link: number;
  /** Effective sender (the origin for relayed frames). */
  sender: number;
  channel: number;
  mode: TransferMode;
  /** The message header matched our checksum: integer method ids are valid. */
  idsValid: boolean;
}

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
  private readonly table = new MethodTable();
  private readonly clock: Clock;
  private authority: number;
  private readonly requestTimeoutMs: number;
  private readonly maxMessageSizeOption: number;
  private readonly batcher: Batcher;
  private readonly links = new Map<number, LinkState>();
  /** Client mode: other clients the server told us about. */
  private readonly remoteClients = new Set<number>();
  private readonly pending = new Map<number, Pending>();
  /** Links that must hear our table checksum at the next flush. */
  private readonly helloDue = new Set<number>();
  private nextRequestId = 1;
  private headerCache: { checksum: number; bytes: Uint8Array } | undefined;
  private closed = false;
  private readonly stats: RpcStats = {
    framesSent: 0,
    messagesSent: 0,
    messagesReceived: 0,
    framesReceived: 0,
    callsDispatched: 0,
    framesRelayed: 0,
    errors: {},
    pendingRequests: 0,
  };
  private readonly onPeerConnected = (id: number) => this.linkOpened(id);
  private readonly onPeerDisconnected = (id: number) => this.linkClosed(id);

  private topology: 'mesh' | 'server' | 'client' = 'mesh';

  /**
   * The current tick, which handlers see as `ctx.tick`. A {@link Ticker}
   * driving this endpoint sets it to its own tick number (the `tick` its update
   * gets); otherwise every {@link poll} advances it by one.
   */
  tick = 0;

  constructor(
    readonly mesh: MultiplayerPeer,
    options?: RpcEndpointOptions,
  ) {
    super();
    if (mesh === null || typeof mesh !== 'object' || typeof (mesh as MultiplayerPeer).putPacket !== 'function') {
      invalid('RpcEndpoint mesh', 'a MultiplayerPeer (e.g. a WebRTCMultiplayerPeer)', mesh);
    }
    const o = checkOptions<RpcEndpointOptions>(options, OPTION_KEYS, 'RpcEndpoint options');
    if (o.clock !== undefined && (o.clock === null || typeof o.clock.now !== 'function')) {
      invalid('RpcEndpoint options.clock', 'an object with a now() method', o.clock);
    }
    this.clock = o.clock ?? realClock;
    this.authority = o.authority === undefined ? 1 : checkInt(o.authority, 1, MAX_PEER_ID, 'RpcEndpoint options.authority');
    this.requestTimeoutMs =
      o.requestTimeoutMs === undefined ? 5000 : checkInt(o.requestTimeoutMs, 1, 2 ** 31 - 1, 'RpcEndpoint options.requestTimeoutMs');
    this.maxMessageSizeOption =
      o.maxMessageSize === undefined ? 65536 : checkInt(o.maxMessageSize, 64, 2 ** 30, 'RpcEndpoint options.maxMessageSize');
    this.batcher = new Batcher(this.effectiveMaxMessageSize(), () => this.header());
    this.refreshTopology();
    mesh.on('peer_connected', this.onPeerConnected);
    mesh.on('peer_disconnected', this.onPeerDisconnected);
    for (const id of this.safePeerIds()) this.linkOpened(id);
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
    checkString(name, 'RPC name', MAX_NAME_LENGTH);
    if (name.length === 0) invalid('RPC name', 'a non-empty string', name);
    if (typeof handler !== 'function') invalid(`handler of RPC "${name}"`, 'a function', handler);
    const c = checkOptions<RpcConfig<A>>(config, CONFIG_KEYS, `config of RPC "${name}"`);
    if (c.mode !== undefined) checkOneOf(c.mode, MODES, `config.mode of RPC "${name}"`);
    if (c.callLocal !== undefined) checkBool(c.callLocal, `config.callLocal of RPC "${name}"`);
    if (c.transferMode !== undefined) checkOneOf(c.transferMode, TRANSFER_MODES, `config.transferMode of RPC "${name}"`);
    if (c.channel !== undefined) checkInt(c.channel, 0, 255, `config.channel of RPC "${name}"`);
    if (c.immediate !== undefined) checkBool(c.immediate, `config.immediate of RPC "${name}"`);
    if (c.timeoutMs !== undefined) checkInt(c.timeoutMs, 1, 2 ** 31 - 1, `config.timeoutMs of RPC "${name}"`);
    if (c.validate !== undefined && typeof c.validate !== 'function') invalid(`config.validate of RPC "${name}"`, 'a function', c.validate);
    if (this.table.has(name)) {
      throw new RtcmeshError(ErrorCode.INVALID_STATE, `RPC "${name}" is already registered; call unregister("${name}") first to replace it`);
    }
    this.table.set(makeEntry(name, handler as RpcEntry['handler'], c));
    this.tableChanged();
    return this as unknown as RpcEndpoint<M & { [K in N]: { args: A; result: Awaited<R> } }>;
  }

  /** Remove an RPC; returns whether it was registered. */
  unregister(name: keyof M & string): boolean {
    checkString(name, 'RPC name');
    const had = this.table.delete(name);
    if (had) this.tableChanged();
    return had;
  }

  /** Registered names, in wire-id order (sorted). */
  getRegisteredNames(): string[] {
    return this.table.names();
  }

  /** Checksum of this endpoint's method table (what HELLO announces). */
  getTableChecksum(): number {
    return this.table.checksum;
  }

  /** Change the peer allowed to call `'authority'` RPCs. */
  setAuthority(peerId: number): void {
    this.authority = checkInt(peerId, 1, MAX_PEER_ID, 'authority peer id');
  }

  getAuthority(): number {
    return this.authority;
  }

  /** True when this peer is the authority. */
  isAuthority(): boolean {
    return this.mesh.getUniqueId() === this.authority;
  }

  // ---------------------------------------------------------------- calling

  /** Call `name` on every peer (target 0); also locally when `callLocal`. */
  rpc<N extends keyof M & string>(name: N, ...args: M[N]['args']): void {
    this.send(0, name, args, 'rpc');
  }

  /**
   * Call `name` on one peer (`peer` > 0) or on all but one (`peer` < 0).
   * Calling your own id needs `callLocal`.
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
      const me = this.mesh.getUniqueId();
      if (peer === me) {
        if (!entry.callLocal) {
          throw new RtcmeshError(ErrorCode.INVALID_ARGUMENT, `request("${name}") targets this peer (${me}) but the RPC has no callLocal; register it with { callLocal: true } to allow local requests`);
        }
        return this.runLocalRequest(entry, args);
      }
      this.checkConnected();
      this.checkTarget(peer);
      const id = this.nextRequestId;
      this.nextRequestId = this.nextRequestId >= 0x7fffffff ? 1 : this.nextRequestId + 1;
      const timeout = entry.timeoutMs ?? this.requestTimeoutMs;
      const promise = new Promise<unknown>((resolve, reject) => {
        this.pending.set(id, { id, peer, name, deadline: this.clock.now() + timeout, resolve, reject });
      });
      try {
        this.emitFrame(peer, entry, args, id);
      } catch (err) {
        this.pending.delete(id);
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
   * timed-out requests. Once per tick, before the game update.
   * @param tick the tick being run (a {@link Ticker} passes its own); default: the previous {@link tick} + 1.
   */
  poll(tick?: number): void {
    if (this.closed) return;
    this.tick = tick === undefined ? this.tick + 1 : checkInt(tick, 0, Number.MAX_SAFE_INTEGER, 'poll() tick');
    this.refreshTopology();
    this.mesh.poll();
    this.dispatchInbound();
    this.expireRequests();
  }

  /** Dispatch whatever the mesh holds now, without polling it. */
  dispatchInbound(): void {
    const mesh = this.mesh;
    while (mesh.getAvailablePacketCount() > 0) {
      // As in Godot, getPacketPeer/Channel/Mode describe the packet getPacket() returns next.
      const peer = mesh.getPacketPeer();
      const channel = mesh.getPacketChannel();
      const mode = mesh.getPacketMode();
      const data = mesh.getPacket();
      if (data === undefined) break;
      this.receive(data, peer, channel, mode);
    }
  }

  /** Send every batched message. Once per tick, after the game update. */
  flush(): void {
    this.queueHellos();
    this.sendMessages(this.batcher.drain());
  }

  /** Stop: reject pending requests, detach from the mesh (the mesh stays open). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.mesh.off('peer_connected', this.onPeerConnected);
    this.mesh.off('peer_disconnected', this.onPeerDisconnected);
    for (const p of [...this.pending.values()]) {
      this.pending.delete(p.id);
      p.reject(new RtcmeshError(ErrorCode.CLOSED, `request("${p.name}") to peer ${p.peer} was cancelled because the RPC endpoint was closed`));
    }
    this.links.clear();
    this.remoteClients.clear();
  }

  /** Peers reachable by RPC: the mesh's peers, plus (client mode) the other clients. */
  getPeerIds(): number[] {
    const ids = this.safePeerIds();
    if (this.isClientMode()) for (const c of this.remoteClients) if (!ids.includes(c)) ids.push(c);
    return ids.sort((a, b) => a - b);
  }

  /** Counters (a copy). */
  getStats(): RpcStats {
    return { ...this.stats, errors: { ...this.stats.errors }, pendingRequests: this.pending.size };
  }

  /** Whether integer method ids are in use towards `peer` (handshake done and tables equal). */
  usesMethodIds(peer: number): boolean {
    return this.links.get(peer)?.remoteChecksum === this.table.checksum;
  }

  /**
   * Feed one received message as if the mesh delivered it (used by
   * {@link dispatchInbound}; public for simulators and fuzzing). Never throws.
   */
  receive(data: Uint8Array, fromPeer: number, channel: number, mode: TransferMode): void {
    if (this.closed) return;
    this.stats.messagesReceived++;
    if (!(data instanceof Uint8Array)) {
      this.report({ code: RpcErrorCode.MALFORMED_FRAME, senderId: fromPeer, message: 'message is not bytes' });
      return;
    }
    if (data.length > this.batcher.maxMessageSize) {
      this.report({
        code: RpcErrorCode.FRAME_TOO_LARGE,
        senderId: fromPeer,
        message: `message of ${data.length} bytes exceeds maxMessageSize ${this.batcher.maxMessageSize}`,
      });
      return;
    }
    let decoded: { checksum: unknown; frames: unknown[] };
    try {
      decoded = decodeMessage(data);
    } catch (err) {
      this.report({ code: RpcErrorCode.MALFORMED_FRAME, senderId: fromPeer, message: `undecodable msgpack: ${describeError(err)}`, error: err });
      return;
    }
    if (typeof decoded.checksum !== 'number' || !Number.isInteger(decoded.checksum) || decoded.checksum < 0) {
      this.report({ code: RpcErrorCode.MALFORMED_FRAME, senderId: fromPeer, message: 'message header is not a table checksum' });
      return;
    }
    const arrival: Arrival = {
      link: fromPeer,
      sender: fromPeer,
      channel,
      mode,
      idsValid: decoded.checksum === this.table.checksum,
    };
    for (const frame of decoded.frames) {
      if (this.closed) return;
      this.stats.framesReceived++;
      try {
        this.handleFrame(frame, arrival, true);
      } catch (err) {
        // Defensive: nothing above should throw; a bug here must not reach the mesh loop.
        this.report({ code: RpcErrorCode.MALFORMED_FRAME, senderId: fromPeer, message: `frame handling failed: ${describeError(err)}`, error: err });
      }
    }
  }

  // ---------------------------------------------------------------- sending internals

  private send(target: number, name: string, args: unknown[], what: string): void {
    const entry = this.callableEntry(name, args);
    const me = this.mesh.getUniqueId();
    const runsLocal = target === 0 || target === me || (target < 0 && -target !== me);
    if (target === me && !entry.callLocal) {
      throw new RtcmeshError(ErrorCode.INVALID_ARGUMENT, `${what}("${name}") targets this peer (${me}) but the RPC has no callLocal; register it with { callLocal: true } or target another peer`);
    }
    if (target !== me) {
      this.checkConnected();
      if (target > 0) this.checkTarget(target);
      this.emitFrame(target, entry, args);
    }
    if (runsLocal && entry.callLocal) this.dispatchCall(entry, args, this.localArrival(me, entry), undefined);
  }

  /** How a call of `entry` from this peer (`me`) to itself arrives. */
  private localArrival(me: number, entry: RpcEntry): Arrival {
    return { link: me, sender: me, channel: entry.channel, mode: this.deliveryMode(entry), idsValid: true };
  }

  /**
   * The transfer mode receivers see for `entry`: its `transferMode` on the
   * default channels; on a custom channel, that channel's own mode when the
   * mesh tells (a WebRTCMultiplayerPeer does), so a local run's `ctx.mode`
   * matches the remote runs'.
   */
  private deliveryMode(entry: RpcEntry): TransferMode {
    if (entry.channel === 0) return entry.transferMode;
    const mesh = this.mesh as MultiplayerPeer & { getCustomChannels?: () => readonly TransferMode[] };
    if (typeof mesh.getCustomChannels !== 'function') return entry.transferMode;
    try {
      return mesh.getCustomChannels()[entry.channel - 1] ?? entry.transferMode;
    } catch {
      return entry.transferMode;
    }
  }

  /** Look up an RPC for an outgoing call, with call-site errors. */
  private callableEntry(name: string, args: unknown): RpcEntry {
    this.checkOpen();
    checkString(name, 'RPC name', MAX_NAME_LENGTH);
    const entry = this.table.get(name);
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
    if (this.closed) throw new RtcmeshError(ErrorCode.CLOSED, 'the RPC endpoint is closed; create a new RpcEndpoint');
  }

  private checkConnected(): void {
    const status = this.mesh.getConnectionStatus();
    if (status !== ConnectionStatus.CONNECTED) {
      throw new RtcmeshError(ErrorCode.NOT_OPEN, `the multiplayer peer is not connected (status ${status}); wait for it to connect before calling RPCs on remote peers`);
    }
  }

  private checkTarget(peer: number): void {
    if (!this.links.has(peer) && !(this.remoteClients.has(peer) && this.isClientMode())) {
      throw new RtcmeshError(ErrorCode.INVALID_PEER, `peer ${peer} is not connected; known peers: ${this.getPeerIds().join(', ') || 'none'}`);
    }
  }

  /**
   * Encode a call/request frame for `target` (0, > 0, < 0) and batch it on
   * every link it must cross. In client mode everything not for peer 1 goes to
   * peer 1 inside a RELAY frame.
   */
  private emitFrame(target: number, entry: RpcEntry, args: unknown[], requestId?: number): void {
    const relay = target !== 1 && this.isClientMode();
    if (relay || target > 0) {
      // One link: the target itself, or (client mode) the server, which relays.
      const link = relay ? 1 : target;
      const method = this.usesMethodIds(link) ? entry.id : entry.name;
      const bytes = relay
        ? this.encodeFrame([RELAY, target, this.mesh.getUniqueId(), callFrame(method, args, requestId)], entry.name)
        : this.encodeCall(method, entry.name, args, requestId);
      this.appendFrame(link, entry, bytes);
    } else {
      // Broadcast / all-but-one: encode at most twice (ids and names), copy into each link's batch.
      let byId: Uint8Array | undefined;
      let byName: Uint8Array | undefined;
      for (const link of this.links.keys()) {
        if (link === -target) continue;
        const bytes = this.usesMethodIds(link)
          ? (byId ??= this.encodeCall(entry.id, entry.name, args))
          : (byName ??= this.encodeCall(entry.name, entry.name, args));
        this.appendFrame(link, entry, bytes);
      }
    }
    if (entry.immediate) this.sendMessages(this.batcher.takeSealed());
  }

  private appendFrame(link: number, entry: RpcEntry, bytes: Uint8Array): void {
    this.batcher.append(link, entry.channel, entry.transferMode, bytes);
    this.stats.framesSent++;
    if (entry.immediate) this.batcher.sealOne(link, entry.channel, entry.transferMode);
  }

  /** A call (or, with `requestId`, request) frame: hand-written fast path, msgpackr otherwise. */
  private encodeCall(method: number | string, name: string, args: unknown[], requestId?: number): Uint8Array {
    const fast = fastEncodeCall(requestId === undefined ? CALL : REQUEST, method, args, requestId);
    if (fast && fast.length <= this.batcher.maxFrameSize) return fast;
    return this.encodeFrame(callFrame(method, args, requestId), name);
  }

  private encodeFrame(value: unknown, name: string): Uint8Array {
    let bytes: Uint8Array;
    try {
      bytes = encode(value);
    } catch (err) {
      throw new RtcmeshError(ErrorCode.INVALID_ARGUMENT, `arguments of RPC "${name}" cannot be encoded as msgpack (${describeError(err)}); pass numbers, strings, booleans, null, arrays, plain objects, Maps, Uint8Arrays or 64-bit bigints`, { cause: err });
    }
    if (bytes.length > this.batcher.maxFrameSize) {
      throw new RtcmeshError(
        ErrorCode.PACKET_TOO_LARGE,
        `RPC "${name}" encodes to ${bytes.length} bytes, more than the ${this.batcher.maxFrameSize} that fit in one message; send smaller arguments or raise maxMessageSize`,
      );
    }
    return bytes;
  }

  /** Batch a system or response frame on one link (reliable channel unless given). */
  private queueSystem(link: number, value: unknown[], channel = 0, mode: TransferMode = TransferMode.RELIABLE): boolean {
    const bytes = encode(value);
    if (bytes.length > this.batcher.maxFrameSize) return false;
    this.batcher.append(link, channel, mode, bytes);
    return true;
  }

  private sendMessages(messages: { peer: number; channel: number; mode: TransferMode; data: Uint8Array }[]): void {
    const mesh = this.mesh;
    for (const m of messages) {
      try {
        mesh.targetPeer = m.peer;
        mesh.transferChannel = m.channel;
        mesh.transferMode = m.mode;
        mesh.putPacket(m.data);
        this.stats.messagesSent++;
      } catch (err) {
        this.report({ code: RpcErrorCode.SEND_FAILED, senderId: mesh.getUniqueId(), message: `could not send to peer ${m.peer}: ${describeError(err)}`, error: err });
      }
    }
  }

  private header(): Uint8Array {
    const c = this.table.checksum;
    if (this.headerCache?.checksum !== c) this.headerCache = { checksum: c, bytes: encodeHeader(c) };
    return this.headerCache.bytes;
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

  // ---------------------------------------------------------------- links

  /** Re-read the mesh's role (server / client / mesh); cached because calls ask on every send. */
  private refreshTopology(): void {
    try {
      this.topology = !this.mesh.isServerRelaySupported() ? 'mesh' : this.mesh.isServer() ? 'server' : 'client';
    } catch {
      this.topology = 'mesh';
    }
  }

  private isClientMode(): boolean {
    return this.topology === 'client';
  }

  private isServerMode(): boolean {
    return this.topology === 'server';
  }

  private safePeerIds(): number[] {
    try {
      return [...this.mesh.getPeerIds()];
    } catch {
      return [];
    }
  }

  private linkOpened(id: number): void {
    if (this.closed || this.links.has(id)) return;
    this.links.set(id, { remoteChecksum: undefined, mismatchReported: false });
    this.refreshTopology();
    this.batcher.maxMessageSize = this.effectiveMaxMessageSize();
    this.helloDue.add(id);
    if (this.isServerMode()) {
      const others = this.safePeerIds().filter((p) => p !== id && p !== 1);
      this.queueSystem(id, [PEERS, PeersOp.SET, others]);
      for (const o of others) this.queueSystem(o, [PEERS, PeersOp.ADD, [id]]);
    }
    this.emit('peer_connected', id);
  }

  private linkClosed(id: number): void {
    if (this.closed || !this.links.has(id)) return;
    this.links.delete(id);
    this.helloDue.delete(id);
    this.batcher.dropPeer(id);
    if (this.isServerMode()) {
      for (const o of this.safePeerIds()) if (o !== id && o !== 1) this.queueSystem(o, [PEERS, PeersOp.REMOVE, [id]]);
    }
    const gone = [id];
    if (id === 1 && this.isClientMode()) {
      gone.push(...this.remoteClients);
      this.remoteClients.clear();
    }
    for (const g of gone) this.peerGone(g);
  }

  /** A peer is unreachable: cancel its requests and tell the user. */
  private peerGone(id: number): void {
    for (const p of [...this.pending.values()]) {
      if (p.peer !== id) continue;
      this.pending.delete(p.id);
      p.reject(new RtcmeshError(ErrorCode.PEER_DISCONNECTED, `request("${p.name}") was cancelled because peer ${id} disconnected`));
    }
    this.emit('peer_disconnected', id);
  }

  /** The table changed: announce it to every link at the next flush (one HELLO however many changes). */
  private tableChanged(): void {
    for (const [id, link] of this.links) {
      this.helloDue.add(id);
      link.mismatchReported = false;
    }
  }

  /** Batch the HELLOs that are due (the current table, sent once per flush). */
  private queueHellos(): void {
    if (this.helloDue.size === 0) return;
    for (const id of this.helloDue) {
      if (this.links.has(id)) this.queueSystem(id, [HELLO, this.table.checksum, this.table.size]);
    }
    this.helloDue.clear();
  }

  // ---------------------------------------------------------------- receiving internals

  private report(event: RpcErrorEvent): void {
    this.stats.errors[event.code] = (this.stats.errors[event.code] ?? 0) + 1;
    try {
      this.emit('rpc_error', event);
    } catch (err) {
      // A throwing rpc_error listener must not break dispatch; surface it outside our stack.
      queueMicrotask(() => {
        throw err;
      });
    }
  }

  private malformed(arrival: Arrival, what: string): void {
    this.report({ code: RpcErrorCode.MALFORMED_FRAME, senderId: arrival.sender, message: what });
  }

  private handleFrame(frame: unknown, arrival: Arrival, topLevel: boolean): void {
    if (!Array.isArray(frame) || frame.length < 2 || typeof frame[0] !== 'number') {
      this.malformed(arrival, 'frame is not an array starting with a frame kind');
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
        if (topLevel) this.handleRelay(frame, arrival);
        else this.malformed(arrival, 'nested relay frame');
        return;
      case RELAYED:
        if (topLevel) this.handleRelayed(frame, arrival);
        else this.malformed(arrival, 'nested relayed frame');
        return;
      case HELLO:
        if (topLevel) this.handleHello(frame, arrival);
        else this.malformed(arrival, 'relayed hello frame');
        return;
      case PEERS:
        if (topLevel) this.handlePeers(frame, arrival);
        else this.malformed(arrival, 'relayed peers frame');
        return;
      default:
        this.malformed(arrival, `unknown frame kind ${show(frame[0])}`);
    }
  }

  /** Resolve a method reference (id or name); reports and returns undefined on failure. */
  private resolveMethod(ref: unknown, arrival: Arrival): RpcEntry | undefined {
    if (typeof ref === 'number') {
      if (!Number.isInteger(ref) || ref < 0) {
        this.malformed(arrival, 'method id is not a non-negative integer');
        return undefined;
      }
      if (!arrival.idsValid) {
        this.report({ code: RpcErrorCode.METHOD_TABLE_MISMATCH, senderId: arrival.sender, message: `method id ${ref} was sent under a different method table; the call was dropped` });
        return undefined;
      }
      const e = this.table.getById(ref);
      if (!e) this.report({ code: RpcErrorCode.UNKNOWN_RPC, senderId: arrival.sender, message: `no RPC with id ${ref}` });
      return e;
    }
    if (typeof ref === 'string') {
      const e = this.table.get(ref);
      if (!e) this.report({ code: RpcErrorCode.UNKNOWN_RPC, senderId: arrival.sender, name: ref.slice(0, MAX_NAME_LENGTH), message: `no RPC named "${ref.slice(0, 64)}" is registered` });
      return e;
    }
    this.malformed(arrival, 'method reference is neither an id nor a name');
    return undefined;
  }

  private handleCall(frame: unknown[], arrival: Arrival): void {
    const isRequest = frame[0] === REQUEST;
    const requestId = frame[3];
    if (isRequest && (typeof requestId !== 'number' || !Number.isInteger(requestId))) {
      this.malformed(arrival, 'request frame without an integer request id');
      return;
    }
    const args = frame[2];
    if (!Array.isArray(args)) {
      this.malformed(arrival, 'call arguments are not an array');
      if (isRequest) this.respondFailure(arrival, requestId as number, RpcErrorCode.MALFORMED_FRAME, 'call arguments are not an array');
      return;
    }
    const entry = this.resolveMethod(frame[1], arrival);
    if (!entry) {
      if (isRequest) this.respondFailure(arrival, requestId as number, RpcErrorCode.UNKNOWN_RPC, `RPC ${show(frame[1])} is not registered on peer ${this.mesh.getUniqueId()}`);
      return;
    }
    this.dispatchCall(entry, args, arrival, isRequest ? (requestId as number) : undefined);
  }

  /** Authorise, validate and run a handler. Never throws. */
  private refuse(entry: RpcEntry, arrival: Arrival, requestId: number | undefined, code: RpcErrorCode, message: string): void {
    this.report({ code, senderId: arrival.sender, name: entry.name, message });
    if (requestId !== undefined) this.respondFailure(arrival, requestId, code, message);
  }

  private dispatchCall(entry: RpcEntry, args: unknown[], arrival: Arrival, requestId: number | undefined): void {
    if (entry.mode === 'disabled') return this.refuse(entry, arrival, requestId, RpcErrorCode.RPC_DISABLED, `RPC "${entry.name}" is disabled here`);
    if (entry.mode === 'authority' && arrival.sender !== this.authority) {
      return this.refuse(
        entry,
        arrival,
        requestId,
        RpcErrorCode.UNAUTHORIZED_SENDER,
        `RPC "${entry.name}" is authority-only (authority is peer ${this.authority}) and peer ${arrival.sender} called it`,
      );
    }
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
    const ctx: RpcContext = {
      senderId: arrival.sender,
      channel: arrival.channel,
      mode: arrival.mode,
      tick: this.tick,
      name: entry.name,
      isRequest: requestId !== undefined,
    };
    this.stats.callsDispatched++;
    let result: unknown;
    try {
      result = entry.handler(ctx, ...args);
    } catch (err) {
      this.handlerFailed(entry, arrival, requestId, err);
      return;
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

  private handlerFailed(entry: RpcEntry, arrival: Arrival, requestId: number | undefined, err: unknown): void {
    if (requestId !== undefined) {
      const code = isRtcmeshError(err) ? err.code : err instanceof RpcHandlerError ? err.code : RpcErrorCode.HANDLER_ERROR;
      this.respondFailure(arrival, requestId, code, describeError(err));
    } else {
      this.report({ code: RpcErrorCode.HANDLER_ERROR, senderId: arrival.sender, name: entry.name, message: `handler of RPC "${entry.name}" threw: ${describeError(err)}`, error: err });
    }
  }

  /** Send a response back to the original sender (through peer 1 when needed). */
  private respond(arrival: Arrival, frame: unknown[]): void {
    if (this.closed) return;
    const to = arrival.sender;
    if (to === arrival.link && to === this.mesh.getUniqueId()) return; // local request: resolved directly
    let link = to;
    let value = frame;
    if (this.isClientMode() && to !== 1) {
      link = 1;
      value = [RELAY, to, this.mesh.getUniqueId(), frame];
    }
    if (!this.links.has(link)) return; // the caller is gone; its side cancels the request
    if (!this.queueSystem(link, value, arrival.channel, arrival.mode)) {
      const fail = [FAILURE, frame[1], 'RESULT_TOO_LARGE', `the result does not fit in one message (max ${this.batcher.maxMessageSize} bytes)`];
      this.queueSystem(link, link === to ? fail : [RELAY, to, this.mesh.getUniqueId(), fail], arrival.channel, arrival.mode);
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

  private handleResponse(frame: unknown[], arrival: Arrival): void {
    const id = frame[1];
    const p = typeof id === 'number' ? this.pending.get(id) : undefined;
    if (!p || p.peer !== arrival.sender) {
      this.report({ code: RpcErrorCode.UNEXPECTED_RESPONSE, senderId: arrival.sender, message: `response to unknown request ${show(id)}` });
      return;
    }
    if (frame[0] === FAILURE && (typeof frame[2] !== 'string' || typeof frame[3] !== 'string')) {
      this.malformed(arrival, 'failure frame without code and message strings');
      return;
    }
    this.pending.delete(p.id);
    if (frame[0] === RESULT) p.resolve(frame[2]);
    else p.reject(new RpcRemoteError(p.peer, p.name, frame[2] as string, frame[3] as string));
  }

  /** Peer 1: a client asks to forward `inner` to `target`. */
  private handleRelay(frame: unknown[], arrival: Arrival): void {
    if (!this.isServerMode()) {
      this.report({ code: RpcErrorCode.FORGED_SENDER, senderId: arrival.link, message: 'relay frame sent to a peer that is not a relaying server' });
      return;
    }
    const [, target, origin, inner] = frame;
    if (typeof target !== 'number' || !Number.isInteger(target) || !Array.isArray(inner)) {
      this.malformed(arrival, 'relay frame needs [4, target, origin, frame]');
      return;
    }
    if (origin !== arrival.link) {
      this.report({ code: RpcErrorCode.FORGED_SENDER, senderId: arrival.link, message: `relay frame from peer ${arrival.link} claims origin ${show(origin)}; dropped` });
      return;
    }
    const kind = inner[0];
    if (kind !== CALL && kind !== REQUEST && kind !== RESULT && kind !== FAILURE) {
      this.malformed(arrival, 'relay frame carries a frame that cannot be relayed');
      return;
    }
    if (target === arrival.link) {
      // A client handles calls to itself locally: nothing legitimate relays back to its own origin.
      this.report({ code: RpcErrorCode.UNKNOWN_TARGET, senderId: arrival.link, message: `relay frame from peer ${arrival.link} targets its own origin; dropped (relays never go back to the origin)` });
      return;
    }
    const me = this.mesh.getUniqueId();
    const peers = this.safePeerIds();
    if (target > 0 && target !== me && !peers.includes(target)) {
      this.report({ code: RpcErrorCode.UNKNOWN_TARGET, senderId: arrival.link, message: `relay to unknown peer ${target}` });
      if (kind === REQUEST) this.failRelayedRequest(arrival, target, inner[3], RpcErrorCode.UNKNOWN_TARGET, `peer ${target} is not connected to the server`);
      return;
    }
    const dests = target > 0 ? (target === me ? [] : [target]) : peers.filter((p) => p !== arrival.link && p !== -target && p !== me);
    const local = target === me || target === 0 || (target < 0 && -target !== me);
    if (dests.length > 0) {
      // Method ids were chosen for our table (the client checked its handshake with us).
      let name: string | undefined;
      let byId: Uint8Array | undefined;
      let byName: Uint8Array | undefined;
      const m = inner[1];
      const isCall = kind === CALL || kind === REQUEST;
      if (isCall && typeof m === 'number') {
        if (!arrival.idsValid) {
          this.report({ code: RpcErrorCode.METHOD_TABLE_MISMATCH, senderId: arrival.link, message: `relayed method id ${m} was sent under a different method table; dropped` });
          return;
        }
        const e = this.table.getById(m);
        if (!e) {
          this.report({ code: RpcErrorCode.UNKNOWN_RPC, senderId: arrival.link, message: `relayed call to unknown RPC id ${m}` });
          return;
        }
        name = e.name;
      }
      // Encode for every destination first: all of them get the frame, or none.
      const out: Uint8Array[] = [];
      try {
        for (const d of dests) {
          if (isCall && name !== undefined && !this.usesMethodIds(d)) {
            out.push((byName ??= encode([RELAYED, origin, [inner[0], name, ...inner.slice(2)]])));
          } else {
            out.push((byId ??= encode([RELAYED, origin, inner])));
          }
        }
      } catch (err) {
        // Decodable but not encodable by us (e.g. a bigint wider than 64 bits from msgpackr's extension).
        this.report({ code: RpcErrorCode.MALFORMED_FRAME, senderId: arrival.link, message: `relayed frame cannot be re-encoded: ${describeError(err)}`, error: err });
        if (kind === REQUEST) this.failRelayedRequest(arrival, target, inner[3], RpcErrorCode.MALFORMED_FRAME, 'the server could not re-encode the request to relay it');
        return;
      }
      if (out.some((b) => b.length > this.batcher.maxFrameSize)) {
        this.report({ code: RpcErrorCode.FRAME_TOO_LARGE, senderId: arrival.link, message: 'relayed frame does not fit in one message' });
        return;
      }
      for (let i = 0; i < dests.length; i++) {
        this.batcher.append(dests[i]!, arrival.channel, arrival.mode, out[i]!);
        this.stats.framesRelayed++;
      }
    }
    if (local) this.handleFrame(inner, { ...arrival, sender: origin }, false);
  }

  /**
   * Peer 1 could not relay a client's request to `target`: answer it in the
   * target's name (as a RELAYED failure), which is where the client expects the
   * answer from, so its request fails at once.
   */
  private failRelayedRequest(arrival: Arrival, target: number, requestId: unknown, code: string, message: string): void {
    if (target <= 0 || typeof requestId !== 'number' || !Number.isInteger(requestId)) return;
    this.queueSystem(arrival.link, [RELAYED, target, [FAILURE, requestId, code, message]], arrival.channel, arrival.mode);
  }

  /** Client: peer 1 forwards a frame from `origin`. */
  private handleRelayed(frame: unknown[], arrival: Arrival): void {
    if (!this.isClientMode() || arrival.link !== 1) {
      this.report({ code: RpcErrorCode.FORGED_SENDER, senderId: arrival.link, message: 'relayed frame from a peer that is not the server' });
      return;
    }
    const [, origin, inner] = frame;
    if (typeof origin !== 'number' || !Number.isInteger(origin) || origin < 1 || origin > MAX_PEER_ID) {
      this.malformed(arrival, 'relayed frame without a valid origin');
      return;
    }
    this.handleFrame(inner, { ...arrival, sender: origin }, false);
  }

  private handleHello(frame: unknown[], arrival: Arrival): void {
    const checksum = frame[1];
    const link = this.links.get(arrival.link);
    if (typeof checksum !== 'number' || !Number.isInteger(checksum) || !link) {
      if (!link) return; // hello from a link we do not track (already closed)
      this.malformed(arrival, 'hello frame without a checksum');
      return;
    }
    link.remoteChecksum = checksum;
    if (checksum !== this.table.checksum && !link.mismatchReported) {
      link.mismatchReported = true;
      this.report({
        code: RpcErrorCode.METHOD_TABLE_MISMATCH,
        senderId: arrival.link,
        message: `peer ${arrival.link} has a different RPC table (${show(frame[2])} RPCs, checksum ${checksum} vs ours ${this.table.checksum}); RPC names are sent instead of ids`,
      });
    }
  }

  private handlePeers(frame: unknown[], arrival: Arrival): void {
    if (!this.isClientMode() || arrival.link !== 1) {
      this.report({ code: RpcErrorCode.FORGED_SENDER, senderId: arrival.link, message: 'peer list from a peer that is not the server' });
      return;
    }
    const [, op, ids] = frame;
    if (!Array.isArray(ids) || !ids.every((i) => typeof i === 'number' && Number.isInteger(i) && i >= 2 && i <= MAX_PEER_ID)) {
      this.malformed(arrival, 'peer list is not an array of peer ids');
      return;
    }
    const me = this.mesh.getUniqueId();
    if (op === PeersOp.SET) {
      for (const old of [...this.remoteClients]) {
        if (!ids.includes(old)) {
          this.remoteClients.delete(old);
          this.peerGone(old);
        }
      }
    }
    if (op === PeersOp.SET || op === PeersOp.ADD) {
      for (const id of ids as number[]) {
        if (id === me || this.remoteClients.has(id)) continue;
        this.remoteClients.add(id);
        this.emit('peer_connected', id);
      }
    } else if (op === PeersOp.REMOVE) {
      for (const id of ids as number[]) if (this.remoteClients.delete(id)) this.peerGone(id);
    } else {
      this.malformed(arrival, `unknown peer list operation ${show(op)}`);
    }
  }

  private runLocalRequest(entry: RpcEntry, args: unknown[]): Promise<any> {
    const me = this.mesh.getUniqueId();
    return new Promise((resolve, reject) => {
      const arrival = this.localArrival(me, entry);
      if (entry.mode === 'authority' && me !== this.authority) {
        reject(new RpcRemoteError(me, entry.name, RpcErrorCode.UNAUTHORIZED_SENDER, `RPC "${entry.name}" is authority-only (authority is peer ${this.authority})`));
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
      const ctx: RpcContext = { senderId: me, channel: arrival.channel, mode: arrival.mode, tick: this.tick, name: entry.name, isRequest: true };
      this.stats.callsDispatched++;
      try {
        Promise.resolve(entry.handler(ctx, ...args)).then(resolve, (err) =>
          reject(new RpcRemoteError(me, entry.name, isRtcmeshError(err) ? err.code : RpcErrorCode.HANDLER_ERROR, describeError(err))),
        );
      } catch (err) {
        reject(new RpcRemoteError(me, entry.name, isRtcmeshError(err) ? err.code : RpcErrorCode.HANDLER_ERROR, describeError(err)));
      }
    });
  }

  private expireRequests(): void {
    if (this.pending.size === 0) return;
    const now = this.clock.now();
    for (const p of [...this.pending.values()]) {
      if (now < p.deadline) continue;
      this.pending.delete(p.id);
      p.reject(new RtcmeshError(ErrorCode.TIMEOUT, `request("${p.name}") to peer ${p.peer} got no answer in time; raise timeoutMs or check that the peer polls its endpoint`));
    }
  }
}

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
