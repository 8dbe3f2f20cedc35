/**
 * What the links of a multiplayer peer report ({@link LinkObserver}), turned
 * into the peer's events.
 * @module
 */
import type { EventEmitter } from 'eventemitter3';
import type { LinkObserver } from './link.js';
import type { MeshEvents } from './types.js';

/**
 * An observer for every link of `events` (the multiplayer peer).
 * @param opened runs before `peer_connected` is emitted for a link that opened.
 * @param failed removes a link that must go (`peer_disconnected` if it was connected).
 */
export function linkEvents(events: EventEmitter<MeshEvents>, opened: () => void, failed: (peerId: number, reason: string) => void): LinkObserver {
  return {
    opened: (link) => {
      opened();
      events.emit('peer_connected', link.id);
    },
    failed: (link, reason) => failed(link.id, reason),
    lost: (link, reason) => events.emit('link_lost', link.id, reason),
    reconnecting: (link, attempt) => events.emit('reconnecting', link.id, attempt),
    reconnected: (link, downtime) => events.emit('reconnected', link.id, downtime),
    replayOverflow: (link, channel) => events.emit('replay_overflow', link.id, channel),
    restarted: (link) => events.emit('peer_restarted', link.id),
  };
}
