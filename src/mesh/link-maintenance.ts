/**
 * What a {@link Reconnector} (the lobby) may do to the links of a multiplayer
 * peer, beyond the Godot API: put a fresh connection under a link, restart a
 * link the remote restarted, see how long a link has been silent, and remove
 * a peer with a reason of its own. Reached through
 * `WebRTCMultiplayerPeer.maintenance`.
 * @module
 */
import { ErrorCode, RtcmeshError } from '../errors.js';
import type { WebRTCPeerConnection } from '../peer/peer-connection.js';
import type { Clock } from '../util/clock.js';
import { checkInt } from '../util/validate.js';
import { MAX_PEER_ID } from './constants.js';
import type { MeshLink } from './link.js';
import { checkConnection } from './peer-checks.js';

/** Link maintenance of one multiplayer peer. */
export class LinkMaintenance {
  /** @internal the multiplayer peer creates it. */
  constructor(
    private readonly links: ReadonlyMap<number, MeshLink>,
    private readonly clock: Clock,
    /** Silence (ms) after which a link is lost by heartbeat timeout; 0 when detection is off. */
    readonly silenceMs: number,
    private readonly remove: (peerId: number, reason: string) => void,
  ) {}

  /**
   * Put a fresh connection (state NEW) under an existing peer, keeping its
   * id, session state, replay buffers and counters. The old connection is
   * closed; packets already received on it stay readable. For a
   * Reconnector's `startAttempt`; the link opens as channels open.
   * @throws RtcmeshError INVALID_PEER for an unknown peer, INVALID_STATE for a used connection.
   */
  replaceConnection(peerId: number, connection: WebRTCPeerConnection): void {
    const link = this.links.get(peerId);
    if (!link) throw new RtcmeshError(ErrorCode.INVALID_PEER, `replaceConnection(): no peer ${peerId}`);
    checkConnection(connection, 'replaceConnection()');
    link.replaceConnection(connection);
  }

  /**
   * The remote started a new connection for the link to `peerId` (e.g. a
   * fresh offer arrived while the link looked alive): treat the link as lost
   * now and open a reconnection attempt. True when the peer is (now)
   * reconnecting and the caller should put a fresh connection under it with
   * {@link replaceConnection}; false when the peer is gone (or was dropped
   * because it may not reconnect).
   */
  restartLink(peerId: number, reason: string): boolean {
    const link = this.links.get(peerId);
    return link !== undefined && link.restart(reason, this.clock.now()) && this.links.get(peerId) === link;
  }

  /**
   * Start a reconnection attempt for `peerId` now (its peer came back through
   * signaling, e.g. a restarted host): the attempt under way is abandoned, a
   * link that looks up is treated as lost. False when the peer is not present
   * or was dropped instead (it may not reconnect).
   */
  retryNow(peerId: number, reason: string): boolean {
    const link = this.links.get(peerId);
    return link !== undefined && link.retryNow(reason, this.clock.now()) && this.links.get(peerId) === link;
  }

  /** When the link to `peerId` was last heard from (clock ms), or undefined while it is not up. */
  lastHeard(peerId: number): number | undefined {
    const link = this.links.get(peerId);
    return link?.linkUp ? link.health.lastHeard : undefined;
  }

  /**
   * Close and forget a peer, `peer_disconnected(id, reason)` if it was
   * connected (e.g. "left the lobby"). Unknown ids are ignored.
   */
  removePeer(peerId: number, reason: string): void {
    checkInt(peerId, 1, MAX_PEER_ID, 'removePeer() peerId');
    this.remove(peerId, String(reason));
  }
}
