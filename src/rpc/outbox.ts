/**
 * The outgoing side of an endpoint: encodes call and system frames, batches
 * them per link and channel ({@link Batcher}), and hands finished messages to
 * the mesh. In client mode every call not for peer 1 travels to peer 1 inside
 * a RELAY frame.
 * @module
 */
import { ErrorCode, RtcmeshError, describeError } from '../errors.js';
import { TransferMode } from '../mesh/types.js';
import { Batcher, type OutMessage } from './batcher.js';
import { encode, encodeHeader } from './codec.js';
import { fastEncodeCall } from './fast-encode.js';
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

  constructor(
    private readonly state: EndpointState,
    private readonly handshake: Handshake,
    maxMessageSize: number,
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
    const relay = target !== 1 && state.isClientMode();
    if (relay || target > 0) {
      // One link: the target itself, or (client mode) the server, which relays.
      const link = relay ? 1 : target;
      const method = this.handshake.usesMethodIds(link) ? entry.id : entry.name;
      const bytes = relay
        ? this.encodeFrame([RELAY, target, state.mesh.getUniqueId(), callFrame(method, args, requestId)], entry.name)
        : this.encodeCall(method, entry.name, args, requestId);
      this.appendCall(link, entry, bytes);
    } else {
      // Broadcast / all-but-one: encode at most twice (ids and names), copy into each link's batch.
      let byId: Uint8Array | undefined;
      let byName: Uint8Array | undefined;
      for (const link of this.handshake.ids()) {
        if (link === -target) continue;
        const bytes = this.handshake.usesMethodIds(link)
          ? (byId ??= this.encodeCall(entry.id, entry.name, args))
          : (byName ??= this.encodeCall(entry.name, entry.name, args));
        this.appendCall(link, entry, bytes);
      }
    }
    if (entry.immediate) this.send(this.batcher.takeSealed());
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
    this.send(this.batcher.drain());
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
    this.batcher.append(link, entry.channel, entry.transferMode, bytes);
    this.state.stats.framesSent++;
    if (entry.immediate) this.batcher.sealOne(link, entry.channel, entry.transferMode);
  }

  /** A call (or, with `requestId`, request) frame: hand-written fast path, msgpackr otherwise. */
  private encodeCall(method: number | string, name: string, args: unknown[], requestId?: number): Uint8Array {
    const fast = fastEncodeCall(requestId === undefined ? CALL : REQUEST, method, args, requestId);
    if (fast && fast.length <= this.batcher.maxFrameSize) return fast;
    return this.encodeFrame(callFrame(method, args, requestId), name);
  }

  private send(messages: OutMessage[]): void {
    const state = this.state;
    const mesh = state.mesh;
    for (const m of messages) {
      try {
        mesh.targetPeer = m.peer;
        mesh.transferChannel = m.channel;
        mesh.transferMode = m.mode;
        mesh.putPacket(m.data);
        state.stats.messagesSent++;
      } catch (err) {
        state.report({ code: RpcErrorCode.SEND_FAILED, senderId: mesh.getUniqueId(), message: `could not send to peer ${m.peer}: ${describeError(err)}`, error: err });
      }
    }
  }

  private header(): Uint8Array {
    const c = this.state.table.checksum;
    if (this.headerCache?.checksum !== c) this.headerCache = { checksum: c, bytes: encodeHeader(c) };
    return this.headerCache.bytes;
  }
}
