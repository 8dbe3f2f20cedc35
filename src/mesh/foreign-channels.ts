/**
 * In-band data channels a remote opens on a mesh link. The mesh negotiates
 * its own channels out of band (same ids on both sides), so a channel the
 * remote announces in band is foreign: without a reader its packets would
 * queue unread (each channel up to its queue limit). It is closed and
 * forgotten as soon as the link sees it, and counted in the link's stats —
 * unless the opt-in `acceptChannel` hook takes it, at most
 * `maxForeignChannels` open at once per link (issue #13).
 * @module
 */
import { ChannelState } from '../peer/enums.js';
import type { WebRTCDataChannel } from '../peer/data-channel.js';
import type { WebRTCPeerConnection } from '../peer/peer-connection.js';

/**
 * Decides whether the mesh hands a remote's in-band channel to the
 * application (which then reads it and closes it). `true` keeps it open;
 * anything else, or a throw, closes it.
 */
export type AcceptChannelHook = (peerId: number, channel: WebRTCDataChannel) => boolean;

/** How a link treats foreign channels. */
export interface ForeignChannelSettings {
  /** The opt-in hook; undefined closes every foreign channel. */
  accept: AcceptChannelHook | undefined;
  /** Most foreign channels open at once on one link when the hook accepts them. */
  max: number;
}

/** Watches the connections of one link for foreign channels. */
export class ForeignChannelGuard {
  /** Foreign channels closed on sight (refused, over the cap, or no hook). */
  closed = 0;
  /** Foreign channels the hook accepted, cumulative. */
  accepted = 0;
  private readonly open = new Set<WebRTCDataChannel>();
  private unwatch: (() => void) | undefined;

  constructor(
    private readonly peerId: number,
    private readonly settings: ForeignChannelSettings,
  ) {}

  /** Foreign channels accepted and still open. */
  get openCount(): number {
    for (const ch of this.open) if (ch.getReadyState() === ChannelState.CLOSED) this.open.delete(ch);
    return this.open.size;
  }

  /** Watch `connection` (the link's current one) instead of the previous one. */
  watch(connection: WebRTCPeerConnection): void {
    this.stop();
    const onChannel = (channel: WebRTCDataChannel) => this.received(connection, channel);
    connection.on('data_channel_received', onChannel);
    this.unwatch = () => connection.off('data_channel_received', onChannel);
  }

  /** Stop watching (the link closed). */
  stop(): void {
    this.unwatch?.();
    this.unwatch = undefined;
  }

  private received(connection: WebRTCPeerConnection, channel: WebRTCDataChannel): void {
    const { accept, max } = this.settings;
    let keep = false;
    if (accept && this.openCount < max) {
      try {
        keep = accept(this.peerId, channel) === true;
      } catch {
        keep = false;
      }
    }
    if (keep) {
      this.accepted++;
      this.open.add(channel);
      return;
    }
    this.closed++;
    // Close it and drop the connection's reference: nothing it queued stays held.
    connection.discardDataChannel(channel);
  }
}
