/**
 * Mesh mode plumbing: splits one {@link SyncTransport} into the transports of
 * a {@link SyncPeer}'s parts. Its sender (a SyncHost of the objects this peer
 * owns) gets every acknowledgement; the receiver of each remote owner (a
 * SyncClient whose authority is that owner) gets the snapshots that owner
 * sent. Messages are routed by the sender the transport reports and by their
 * 2-bit kind, so the wire format is the one of server mode.
 * @module
 */
import type { SyncTransport } from './types.js';
import { KIND_SNAPSHOT } from './wire.js';

type Handler = (peer: number, data: unknown) => void;

/** One transport shared by a sender and one receiver per remote owner. */
export class OwnerTransports {
  private sender: Handler = () => {};
  private readonly receivers = new Map<number, Handler>();
  private readonly left: ((peer: number) => void)[] = [];

  /**
   * @param base the peer's transport (e.g. `rpcTransport(endpoint)` on a mesh)
   * @param onSnapshot called for a snapshot from `peer` that no receiver takes yet (create one, or drop it)
   */
  constructor(
    private readonly base: SyncTransport,
    private readonly onSnapshot: (peer: number, data: Uint8Array) => void,
  ) {
    base.onMessage((peer, data) => this.route(peer, data));
    const gone = (peer: number) => {
      for (const h of this.left) h(peer);
    };
    base.onPeerLeft(gone);
    // A restarted peer holds nothing of ours and starts its ticks again: forget it as if it had left; it rejoins at once.
    base.onPeerRestarted?.(gone);
  }

  private route(peer: number, data: unknown): void {
    if (data instanceof Uint8Array && data.length > 0 && data[0]! >>> 6 === KIND_SNAPSHOT) {
      const receiver = this.receivers.get(peer);
      if (receiver !== undefined) receiver(peer, data);
      else this.onSnapshot(peer, data);
      return;
    }
    this.sender(peer, data); // acknowledgements; anything else is reported there as malformed
  }

  /** The transport of the sender: this peer is the authority of what it sends, to every connected peer. */
  sending(): SyncTransport {
    const base = this.base;
    return {
      ownId: () => base.ownId(),
      authority: () => base.ownId(),
      peers: () => base.peers(),
      send: (peer, data) => base.send(peer, data),
      maxMessageSize: () => base.maxMessageSize(),
      onMessage: (handler) => void (this.sender = handler),
      onPeerLeft: (handler) => void this.left.push(handler),
      close: () => void (this.sender = () => {}),
    };
  }

  /** The transport of the receiver of `owner`'s objects: `owner` is its authority, acknowledgements go to it. */
  receiving(owner: number): SyncTransport {
    const base = this.base;
    return {
      ownId: () => base.ownId(),
      authority: () => owner,
      peers: () => [owner],
      send: (peer, data) => base.send(peer, data),
      maxMessageSize: () => base.maxMessageSize(),
      onMessage: (handler) => void this.receivers.set(owner, handler),
      onPeerLeft: () => {},
      close: () => void this.receivers.delete(owner),
    };
  }

  /** Register a listener for peers that leave (or restart). */
  onPeerLeft(handler: (peer: number) => void): void {
    this.left.push(handler);
  }

  /** Detach from the base transport. */
  close(): void {
    this.sender = () => {};
    this.receivers.clear();
    this.left.length = 0;
    this.base.close();
  }
}
