/**
 * Star relay (server/client mode): a client's call to another client, or its
 * broadcast, goes to peer 1 inside a RELAY frame; peer 1 checks that the
 * claimed origin is the link the frame came on and forwards it as a RELAYED
 * frame carrying the original sender. Peer 1 also tells each client which
 * other clients exist (PEERS frames), so clients can address them.
 * @module
 */
import { describeError } from '../errors.js';
import { MAX_PEER_ID } from '../mesh/types.js';
import { PeersOp, encode } from './codec.js';
import type { Handshake } from './handshake.js';
import type { Outbox } from './outbox.js';
import { CALL, FAILURE, PEERS, RELAYED, REQUEST, RESULT, show, type Arrival, type EndpointState } from './state.js';
import { RpcErrorCode } from './types.js';

/** Relay logic of both sides, and the client's view of the other clients. */
export class StarRelay {
  /** Client mode: other clients the server told us about. */
  private readonly remoteClients = new Set<number>();

  /**
   * @param deliver runs a frame here as if it came from `arrival.sender` (never a top-level frame).
   */
  constructor(
    private readonly state: EndpointState,
    private readonly handshake: Handshake,
    private readonly outbox: Outbox,
    private readonly deliver: (frame: unknown, arrival: Arrival) => void,
  ) {}

  /** Client mode: whether `peer` is another client the server announced. */
  isRemoteClient(peer: number): boolean {
    return this.state.isClientMode() && this.remoteClients.has(peer);
  }

  /** Client mode: the other clients (empty otherwise). */
  remoteClientIds(): Iterable<number> {
    return this.state.isClientMode() ? this.remoteClients : [];
  }

  /** Server mode: tell the new client who is there, and the others about it. */
  linkOpened(id: number): void {
    if (!this.state.isServerMode()) return;
    const others = this.state.peerIds().filter((p) => p !== id && p !== 1);
    this.outbox.queueSystem(id, [PEERS, PeersOp.SET, others]);
    for (const o of others) this.outbox.queueSystem(o, [PEERS, PeersOp.ADD, [id]]);
  }

  /**
   * A link closed. Server mode: tell the other clients. Returns the peers now
   * unreachable: the link's peer, plus (client mode, the server left) every other client.
   */
  linkClosed(id: number): number[] {
    const state = this.state;
    if (state.isServerMode()) {
      for (const o of state.peerIds()) if (o !== id && o !== 1) this.outbox.queueSystem(o, [PEERS, PeersOp.REMOVE, [id]]);
    }
    const gone = [id];
    if (id === 1 && state.isClientMode()) {
      gone.push(...this.remoteClients);
      this.remoteClients.clear();
    }
    return gone;
  }

  clear(): void {
    this.remoteClients.clear();
  }

  /** Peer 1: a client asks to forward `inner` to `target`. */
  handleRelay(frame: unknown[], arrival: Arrival): void {
    const state = this.state;
    if (!state.isServerMode()) {
      state.report({ code: RpcErrorCode.FORGED_SENDER, senderId: arrival.link, message: 'relay frame sent to a peer that is not a relaying server' });
      return;
    }
    const [, target, origin, inner] = frame;
    if (typeof target !== 'number' || !Number.isInteger(target) || !Array.isArray(inner)) {
      state.malformed(arrival, 'relay frame needs [4, target, origin, frame]');
      return;
    }
    if (origin !== arrival.link) {
      state.report({ code: RpcErrorCode.FORGED_SENDER, senderId: arrival.link, message: `relay frame from peer ${arrival.link} claims origin ${show(origin)}; dropped` });
      return;
    }
    const kind = inner[0];
    if (kind !== CALL && kind !== REQUEST && kind !== RESULT && kind !== FAILURE) {
      state.malformed(arrival, 'relay frame carries a frame that cannot be relayed');
      return;
    }
    if (target === arrival.link) {
      // A client handles calls to itself locally: nothing legitimate relays back to its own origin.
      state.report({ code: RpcErrorCode.UNKNOWN_TARGET, senderId: arrival.link, message: `relay frame from peer ${arrival.link} targets its own origin; dropped (relays never go back to the origin)` });
      return;
    }
    const me = state.mesh.getUniqueId();
    const peers = state.peerIds();
    if (target > 0 && target !== me && !peers.includes(target)) {
      state.report({ code: RpcErrorCode.UNKNOWN_TARGET, senderId: arrival.link, message: `relay to unknown peer ${target}` });
      if (kind === REQUEST) this.failRelayedRequest(arrival, target, inner[3], RpcErrorCode.UNKNOWN_TARGET, `peer ${target} is not connected to the server`);
      return;
    }
    const dests = target > 0 ? (target === me ? [] : [target]) : peers.filter((p) => p !== arrival.link && p !== -target && p !== me);
    const local = target === me || target === 0 || (target < 0 && -target !== me);
    if (dests.length > 0 && !this.forward(dests, origin, inner, arrival, target)) return;
    if (local) this.deliver(inner, { ...arrival, sender: origin });
  }

  /** Client: peer 1 forwards a frame from `origin`. */
  handleRelayed(frame: unknown[], arrival: Arrival): void {
    if (!this.state.isClientMode() || arrival.link !== 1) {
      this.state.report({ code: RpcErrorCode.FORGED_SENDER, senderId: arrival.link, message: 'relayed frame from a peer that is not the server' });
      return;
    }
    const [, origin, inner] = frame;
    if (typeof origin !== 'number' || !Number.isInteger(origin) || origin < 1 || origin > MAX_PEER_ID) {
      this.state.malformed(arrival, 'relayed frame without a valid origin');
      return;
    }
    this.deliver(inner, { ...arrival, sender: origin });
  }

  /** Client: peer 1's list of the other clients. */
  handlePeers(frame: unknown[], arrival: Arrival): void {
    const state = this.state;
    if (!state.isClientMode() || arrival.link !== 1) {
      state.report({ code: RpcErrorCode.FORGED_SENDER, senderId: arrival.link, message: 'peer list from a peer that is not the server' });
      return;
    }
    const [, op, ids] = frame;
    if (!Array.isArray(ids) || !ids.every((i) => typeof i === 'number' && Number.isInteger(i) && i >= 2 && i <= MAX_PEER_ID)) {
      state.malformed(arrival, 'peer list is not an array of peer ids');
      return;
    }
    const me = state.mesh.getUniqueId();
    if (op === PeersOp.SET) {
      for (const old of [...this.remoteClients]) {
        if (!ids.includes(old)) {
          this.remoteClients.delete(old);
          state.peerGone(old);
        }
      }
    }
    if (op === PeersOp.SET || op === PeersOp.ADD) {
      for (const id of ids as number[]) {
        if (id === me || this.remoteClients.has(id)) continue;
        this.remoteClients.add(id);
        state.peerConnected(id);
      }
    } else if (op === PeersOp.REMOVE) {
      for (const id of ids as number[]) if (this.remoteClients.delete(id)) state.peerGone(id);
    } else {
      state.malformed(arrival, `unknown peer list operation ${show(op)}`);
    }
  }

  /**
   * Peer 1: batch `inner` from `origin` for every destination, or for none
   * (reported) when it cannot be. Returns whether it was forwarded.
   */
  private forward(dests: number[], origin: number, inner: unknown[], arrival: Arrival, target: number): boolean {
    const state = this.state;
    const kind = inner[0];
    // Method ids were chosen for our table (the client checked its handshake with us).
    let name: string | undefined;
    let byId: Uint8Array | undefined;
    let byName: Uint8Array | undefined;
    const m = inner[1];
    const isCall = kind === CALL || kind === REQUEST;
    if (isCall && typeof m === 'number') {
      if (!arrival.idsValid) {
        state.report({ code: RpcErrorCode.METHOD_TABLE_MISMATCH, senderId: arrival.link, message: `relayed method id ${m} was sent under a different method table; dropped` });
        return false;
      }
      const e = state.table.getById(m);
      if (!e) {
        state.report({ code: RpcErrorCode.UNKNOWN_RPC, senderId: arrival.link, message: `relayed call to unknown RPC id ${m}` });
        return false;
      }
      name = e.name;
    }
    // Encode for every destination first: all of them get the frame, or none.
    const out: Uint8Array[] = [];
    try {
      for (const d of dests) {
        if (isCall && name !== undefined && !this.handshake.usesMethodIds(d)) {
          out.push((byName ??= encode([RELAYED, origin, [inner[0], name, ...inner.slice(2)]])));
        } else {
          out.push((byId ??= encode([RELAYED, origin, inner])));
        }
      }
    } catch (err) {
      // Decodable but not encodable by us (e.g. a bigint wider than 64 bits from msgpackr's extension).
      state.report({ code: RpcErrorCode.MALFORMED_FRAME, senderId: arrival.link, message: `relayed frame cannot be re-encoded: ${describeError(err)}`, error: err });
      if (kind === REQUEST) this.failRelayedRequest(arrival, target, inner[3], RpcErrorCode.MALFORMED_FRAME, 'the server could not re-encode the request to relay it');
      return false;
    }
    if (out.some((b) => b.length > this.outbox.maxFrameSize)) {
      state.report({ code: RpcErrorCode.FRAME_TOO_LARGE, senderId: arrival.link, message: 'relayed frame does not fit in one message' });
      return false;
    }
    for (let i = 0; i < dests.length; i++) {
      this.outbox.queueEncoded(dests[i]!, arrival.channel, arrival.mode, out[i]!);
      state.stats.framesRelayed++;
    }
    return true;
  }

  /**
   * Peer 1 could not relay a client's request to `target`: answer it in the
   * target's name (as a RELAYED failure), which is where the client expects the
   * answer from, so its request fails at once.
   */
  private failRelayedRequest(arrival: Arrival, target: number, requestId: unknown, code: string, message: string): void {
    if (target <= 0 || typeof requestId !== 'number' || !Number.isInteger(requestId)) return;
    this.outbox.queueSystem(arrival.link, [RELAYED, target, [FAILURE, requestId, code, message]], arrival.channel, arrival.mode);
  }
}
