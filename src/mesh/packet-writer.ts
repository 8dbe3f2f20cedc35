/**
 * The send side of a multiplayer peer: one packet to a target (one peer,
 * every connected peer, or all but one).
 * @module
 */
import { ErrorCode, RtcmeshError } from '../errors.js';
import type { MeshLink } from './link.js';

/** Counters the multiplayer peer keeps. */
export interface SendCounters {
  packetsSent: number;
  broadcastFailures: number;
}

/** Sends packets over a table of links, remembering the link of the last single target. */
export class PacketWriter {
  /** Link of the last single target (valid while not closed: a link leaves its table only closed). */
  private last: MeshLink | undefined = undefined;

  /**
   * @param failed reports a broadcast's failure for one peer (a single
   *   target's errors are thrown instead).
   */
  constructor(
    private readonly links: ReadonlyMap<number, MeshLink>,
    private readonly counters: SendCounters,
    private readonly failed: (peerId: number, error: Error) => void,
  ) {}

  /**
   * Send `data` on channel `index` to `target` (>0 that peer, 0 every
   * connected peer, <0 all but that one). A single target's errors are
   * thrown; a broadcast counts and reports each failure instead.
   */
  send(target: number, index: number, data: Uint8Array): void {
    if (target > 0) {
      let link = this.last;
      if (link === undefined || link.id !== target || link.closed) {
        link = this.links.get(target);
        if (!link) throw new RtcmeshError(ErrorCode.INVALID_PEER, `putPacket(): target peer ${target} is not connected to this peer`);
        this.last = link;
      }
      link.send(index, data);
      this.counters.packetsSent++;
      return;
    }
    const exclude = -target;
    for (const link of this.links.values()) {
      if (!link.connected || link.id === exclude) continue;
      try {
        link.send(index, data);
        this.counters.packetsSent++;
      } catch (err) {
        this.counters.broadcastFailures++;
        this.failed(link.id, err as Error);
      }
    }
  }

  /** Forget the remembered link (the table was cleared). */
  reset(): void {
    this.last = undefined;
  }
}
