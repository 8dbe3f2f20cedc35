/**
 * The outgoing side of an endpoint: encodes call and system frames, batches
 * them per link and channel ({@link Batcher}), and hands finished messages to
 * the mesh. In client mode every call not for peer 1 travels to peer 1 inside
 * a RELAY frame.
 *
 * Three ways a call leaves (its RPC's `immediate`): at the tick's flush
 * (batched); at once (`true`: when nothing is batched before it on that link
 * and channel, its whole message is encoded and handed to the mesh: one send
 * per call, from the encoder's buffer when rtcmesh's own mesh takes it, else
 * copied once into an array of exactly its size); or at the end of the
 * synchronous turn (`'turn'`: batched, and the batches it touched are flushed
 * by a {@link TurnScheduler} callback).
 * @module
 */
import { ErrorCode, RtcmeshError, describeError } from '../errors.js';
import { TransferMode } from '../mesh/types.js';
import { Batcher, channelKey, type OutMessage } from './batcher.js';
import { encode, encodeHeader } from './codec.js';
import type { TurnScheduler } from './drivers/turn.js';
import { fastEncodeCall, fastEncodeMessage, fastEncodeMessageView } from './fast-encode.js';
import type { Handshake } from './handshake.js';
import type { RpcEntry } from './registry.js';
import { CALL, RELAY, REQUEST, type EndpointState } from './state.js';
import { RpcErrorCode } from './types.js';

/** `[CALL, method, args]`, or `[REQUEST, method, args, requestId]` with a request id. */
export function callFrame(method: number | string, args: unknown[], requestId: number | undefined): unknown[] {
  return requestId === undefined ? [CALL, method, args] : [REQUEST, method, args, requestId];
}

/** Encodes, batches and sends. */
export class Outbox {
  readonly batcher: Batcher;
  private headerCache: { checksum: number; bytes: Uint8Array } | undefined;
  /** Batches holding `'turn'` calls, flushed at the end of the turn. */
  private turnDue: { peer: number; channel: number; mode: TransferMode }[] = [];
  private readonly turnKeys = new Set<number>();
  private turnScheduled = false;
  private readonly runTurn = () => {
    this.turnScheduled = false;
    this.flushTurn();
  };

  constructor(
    private readonly state: EndpointState,
    private readonly handshake: Handshake,
    maxMessageSize: number,
    private readonly scheduleTurn: TurnScheduler,
    /**
     * The mesh keeps no packet after `putPacket` returns (rtcmesh's own: it
     * copies into its replay buffer or the engine copies): an immediate call
     * to one peer is then sent from the encoder's scratch buffer, uncopied.
     */
    private readonly meshCopies = false,
  ) {
    this.batcher = new Batcher(maxMessageSize, () => this.header());
  }

  /** Largest frame that fits in one message. */
  get maxFrameSize(): number {
    return this.batcher.maxFrameSize;
  }

  /**
   * Encode a call/request frame for `target` (0, > 0, < 0) and batch it on
   * every link it must cross; `immediate` RPCs leave at once.
   */
  emitCall(target: number, entry: RpcEntry, args: unknown[], requestId?: number): void {
    const state = this.state;
    const handshake = this.handshake;
    const direct = entry.immediate === true;
    const relay = target !== 1 && state.isClientMode();
    if (relay || target > 0) {
      // One link: the target itself, or (client mode) the server, which relays.
      const link = relay ? 1 : target;
      const method = handshake.usesMethodIds(link) ? entry.id : entry.name;
      if (direct && !relay && this.sendDirect(link, entry, method, args, requestId)) return;
      const bytes = relay
        ? this.encodeFrame([RELAY, target, state.mesh.getUniqueId(), callFrame(method, args, requestId)], entry.name)
        : this.encodeCall(method, entry.name, args, requestId);
      this.appendCall(link, entry, bytes);
    } else {
      // Broadcast / all-but-one: encode at most twice (ids and names), copy into each link's batch.
      let byId: Uint8Array | undefined;
      let byName: Uint8Array | undefined;
      let messageById: Uint8Array | undefined;
      let messageByName: Uint8Array | undefined;
      let links = 0;
      for (const link of handshake.ids()) {
        if (link === -target) continue;
        links++;
        const ids = handshake.usesMethodIds(link);
        if (direct && this.batcher.isEmpty(link, entry.channel, entry.transferMode)) {
          // One message shared by every link that has nothing batched before it (receivers never modify it).
          const message = ids ? (messageById ??= this.directMessage(entry.id, args, undefined, false)) : (messageByName ??= this.directMessage(entry.name, args, undefined, false));
          if (message !== undefined) {
            this.state.stats.framesSent++;
            this.sendOne(link, entry.channel, entry.transferMode, message);
            continue;
          }
        }
        const bytes = ids ? (byId ??= this.encodeCall(entry.id, entry.name, args)) : (byName ??= this.encodeCall(entry.name, entry.name, args));
        this.appendCall(link, entry, bytes);
      }
      // Nobody to send to: encode anyway, so bad arguments fail the same with or without peers.
      if (links === 0) this.encodeCall(entry.name, entry.name, args, requestId);
    }
    if (direct && this.batcher.hasSealed()) this.send(this.batcher.takeSealed());
  }

  /** Batch a system or response frame on one link (reliable channel unless given); false when it does not fit. */
  queueSystem(link: number, value: unknown[], channel = 0, mode: TransferMode = TransferMode.RELIABLE): boolean {
    const bytes = encode(value);
    if (bytes.length > this.batcher.maxFrameSize) return false;
    this.batcher.append(link, channel, mode, bytes);
    return true;
  }

  /** Batch already-encoded frame bytes on one link (relayed frames). */
  queueEncoded(link: number, channel: number, mode: TransferMode, bytes: Uint8Array): void {
    this.batcher.append(link, channel, mode, bytes);
  }

  /** Send every batched message. */
  flush(): void {
    this.clearTurn();
    this.send(this.batcher.drain());
  }

  /** End of a turn: send the batches that hold `'turn'` calls. */
  flushTurn(): void {
    if (this.turnDue.length === 0) return;
    const due = this.turnDue;
    this.clearTurn();
    for (const d of due) this.batcher.sealOne(d.peer, d.channel, d.mode);
    if (this.batcher.hasSealed()) this.send(this.batcher.takeSealed());
  }

  /** Forget everything queued for `peer`. */
  dropPeer(peer: number): void {
    this.batcher.dropPeer(peer);
  }

  /** Encode a frame with msgpackr, with call-site errors. */
  encodeFrame(value: unknown, name: string): Uint8Array {
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

  private appendCall(link: number, entry: RpcEntry, bytes: Uint8Array): void {
    const channel = entry.channel;
    const mode = entry.transferMode;
    this.batcher.append(link, channel, mode, bytes);
    this.state.stats.framesSent++;
    const immediate = entry.immediate;
    if (immediate === true) this.batcher.sealOne(link, channel, mode);
    else if (immediate === 'turn') this.dueAtTurnEnd(link, channel, mode);
  }

  /**
   * The whole message of an immediate call (header + frame), or undefined when
   * it does not take the fast encoder. `view`: the encoder's scratch buffer,
   * uncopied, valid until the next encode (for one send when the mesh copies,
   * see {@link meshCopies}); else a copy of exactly its size.
   */
  private directMessage(method: number | string, args: unknown[], requestId: number | undefined, view: boolean): Uint8Array | undefined {
    const header = this.header();
    const encodeMessage = view ? fastEncodeMessageView : fastEncodeMessage;
    return encodeMessage(header, header.length + this.batcher.maxFrameSize, requestId === undefined ? CALL : REQUEST, method, args, requestId);
  }

  /**
   * Send an immediate call to `link` as its own message with one mesh send,
   * when nothing is batched before it there (order) and it takes the fast
   * encoder; false otherwise (the caller batches it).
   */
  private sendDirect(link: number, entry: RpcEntry, method: number | string, args: unknown[], requestId: number | undefined): boolean {
    if (!this.batcher.isEmpty(link, entry.channel, entry.transferMode)) return false;
    // Sent to one peer before anything else can encode (a broadcast shares one message over several sends: copied).
    const message = this.directMessage(method, args, requestId, this.meshCopies);
    if (message === undefined) return false;
    this.state.stats.framesSent++;
    this.sendOne(link, entry.channel, entry.transferMode, message);
    return true;
  }

  private dueAtTurnEnd(peer: number, channel: number, mode: TransferMode): void {
    const key = peer * 512 + channelKey(channel, mode);
    if (!this.turnKeys.has(key)) {
      this.turnKeys.add(key);
      this.turnDue.push({ peer, channel, mode });
    }
    if (!this.turnScheduled) {
      this.turnScheduled = true;
      this.scheduleTurn(this.runTurn);
    }
  }

  private clearTurn(): void {
    if (this.turnDue.length === 0) return;
    this.turnDue = [];
    this.turnKeys.clear();
  }

  /** A call (or, with `requestId`, request) frame: hand-written fast path, msgpackr otherwise. */
  private encodeCall(method: number | string, name: string, args: unknown[], requestId?: number): Uint8Array {
    const fast = fastEncodeCall(requestId === undefined ? CALL : REQUEST, method, args, requestId);
    if (fast && fast.length <= this.batcher.maxFrameSize) return fast;
    return this.encodeFrame(callFrame(method, args, requestId), name);
  }

  private send(messages: readonly OutMessage[]): void {
    for (const m of messages) this.sendOne(m.peer, m.channel, m.mode, m.data);
  }

  private sendOne(peer: number, channel: number, mode: TransferMode, data: Uint8Array): void {
    const state = this.state;
    const mesh = state.mesh;
    try {
      // Set only what changed: the mesh validates every assignment.
      if (mesh.targetPeer !== peer) mesh.targetPeer = peer;
      if (mesh.transferChannel !== channel) mesh.transferChannel = channel;
      if (mesh.transferMode !== mode) mesh.transferMode = mode;
      mesh.putPacket(data);
      state.stats.messagesSent++;
    } catch (err) {
      state.report({ code: RpcErrorCode.SEND_FAILED, senderId: mesh.getUniqueId(), message: `could not send to peer ${peer}: ${describeError(err)}`, error: err });
    }
  }

  private header(): Uint8Array {
    const c = this.state.table.checksum;
    if (this.headerCache?.checksum !== c) this.headerCache = { checksum: c, bytes: encodeHeader(c) };
    return this.headerCache.bytes;
  }
}
