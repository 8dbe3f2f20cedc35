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

/**
 * Send `data` on channel `index` to `target` (>0 that peer, 0 every connected
 * peer, <0 all but that one). A single target's errors are thrown; a
 * broadcast counts and reports each failure through `failed` instead.
 */
export function sendPacket(
  links: ReadonlyMap<number, MeshLink>,
  target: number,
  index: number,
  data: Uint8Array,
  counters: SendCounters,
  failed: (peerId: number, error: Error) => void,
): void {
  if (target > 0) {
    const link = links.get(target);
    if (!link) throw new RtcmeshError(ErrorCode.INVALID_PEER, `putPacket(): target peer ${target} is not connected to this peer`);
    link.send(index, data);
    counters.packetsSent++;
    return;
  }
  const exclude = -target;
  for (const link of links.values()) {
    if (!link.connected || link.id === exclude) continue;
    try {
      link.send(index, data);
      counters.packetsSent++;
    } catch (err) {
      counters.broadcastFailures++;
      failed(link.id, err as Error);
    }
  }
}
