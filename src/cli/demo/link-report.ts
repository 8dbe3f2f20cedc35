/**
 * A small, serialisable view of a peer's links for the demo's stats table and
 * the page's stats panel (no Node.js imports here).
 * @module
 */
import type { MultiplayerPeerFacade } from '../../mesh/facade.js';

/** One link seen from one side, cumulative counters. */
export interface LinkRow {
  peer: number;
  state: string;
  /** Heartbeat round trip (a real ping on the link), ms; -1 before the first. */
  rttMs: number;
  /** Heartbeat loss over the recent window, 0..1. */
  loss: number;
  packets: number;
  bytes: number;
  /** Selected local candidate type: host, srflx, prflx, relay (or "-"). */
  candidate: string;
  reconnects: number;
}

/** A snapshot of every link of `mesh`. */
export function linkRows(mesh: MultiplayerPeerFacade): LinkRow[] {
  const rows: LinkRow[] = [];
  for (const l of mesh.getStats().links) {
    rows.push({
      peer: l.peerId,
      state: l.state,
      rttMs: l.heartbeatRttMs >= 0 ? l.heartbeatRttMs : l.rttMs,
      loss: Number.isFinite(l.loss) ? l.loss : 0,
      packets: l.packetsSent + l.packetsReceived,
      bytes: l.bytesSent + l.bytesReceived,
      candidate: l.candidatePair ? `${l.candidatePair.local.type}/${l.candidatePair.remote.type}` : '-',
      reconnects: l.reconnects,
    });
  }
  return rows;
}
