/**
 * The table of a multiplayer peer's links, keyed by peer id: adding and
 * removing links (a removed link is closed and its final snapshot kept),
 * the peers `disconnectPeer` closed that the next poll removes, and the
 * loops over every link that `poll()` and `nextDeadline()` run.
 * @module
 */
import type { Clock } from '../util/clock.js';
import type { LinkStats } from './health/stats.js';
import type { MeshLink } from './link.js';
import { ClosedLinks, linkStats } from './link-stats.js';
import type { PeerInfo } from './types.js';

/** Final snapshots kept for `WebRTCMultiplayerPeer.getClosedLinkStats`. */
const CLOSED_LINKS_KEPT = 32;

/** Largest packet with no link up: what the engine accepts. */
const DEFAULT_MAX_MESSAGE_SIZE = 262144;

/** The links of one multiplayer peer. */
export class LinkTable {
  readonly links = new Map<number, MeshLink>();
  /** Peers `disconnectPeer(id)` closed, removed (with `peer_disconnected`) on the next poll. */
  readonly disconnecting = new Set<number>();
  /** Final snapshots of removed links. */
  readonly closedLinks = new ClosedLinks(CLOSED_LINKS_KEPT);

  /**
   * @param clock stamps the snapshot of a removed link.
   * @param changed peers were added or removed (the packet reader takes the new order).
   */
  constructor(
    private readonly clock: Clock,
    private readonly changed: () => void,
  ) {}

  /** Add the link of a peer not present. */
  add(link: MeshLink): void {
    this.changed();
    this.links.set(link.id, link);
  }

  /**
   * Remove a peer's link (and its pending disconnection): close it with
   * `reason` and keep its final snapshot. The link removed, or undefined
   * when the peer was not present.
   */
  remove(peerId: number, reason: string): MeshLink | undefined {
    const link = this.links.get(peerId);
    this.disconnecting.delete(peerId);
    if (!link) return undefined;
    this.links.delete(peerId);
    this.changed();
    const now = this.clock.now();
    link.close(reason, now);
    this.closedLinks.keep(linkStats(link, now));
    return link;
  }

  /** Forget every link and pending disconnection (`close()`); the links are returned for {@link closeLinks}. */
  clear(): MeshLink[] {
    this.disconnecting.clear();
    const links = [...this.links.values()];
    this.links.clear();
    return links;
  }

  /** Poll every connection (its events fire now), then advance its link to `now`; a link removed meanwhile is skipped. */
  update(now: number): void {
    for (const link of [...this.links.values()]) {
      link.connection.poll();
      if (this.links.get(link.id) !== link) continue; // removed by a listener
      link.update(now);
    }
  }

  /** The soonest deadline of any link; `due` as soon as a connection has events waiting. */
  nextDeadline(due: number): number {
    let at = Infinity;
    for (const link of this.links.values()) {
      if (link.connection.hasPendingEvents()) return due;
      at = Math.min(at, link.nextDeadline());
    }
    return at;
  }

  /** One peer's connection, channels and state, or undefined when not present. */
  info(peerId: number): PeerInfo | undefined {
    const l = this.links.get(peerId);
    return l && { id: l.id, connection: l.connection, channels: l.io.channels, connected: l.connected, state: l.state };
  }

  /** Snapshot of one link now, or undefined for a peer not present. */
  stats(peerId: number): LinkStats | undefined {
    const l = this.links.get(peerId);
    return l && linkStats(l, this.clock.now());
  }

  /** The smallest negotiated maximum message size over links that are up (262144 with none). */
  maxMessageSize(): number {
    let max = Infinity;
    for (const l of this.links.values()) if (l.linkUp) max = Math.min(max, l.io.channels[0]!.getMaxPacketSize() || max);
    return Number.isFinite(max) ? max : DEFAULT_MAX_MESSAGE_SIZE;
  }
}

/** Close the connections of links the table forgot ({@link LinkTable.clear}) and mark them closed. */
export function closeLinks(links: readonly MeshLink[]): void {
  for (const link of links) {
    link.connection.close();
    link.state = 'closed';
  }
}
