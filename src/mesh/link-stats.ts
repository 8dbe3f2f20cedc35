/**
 * Monitoring snapshots of mesh links ({@link LinkStats}) and of the whole mesh
 * ({@link MeshStats}), read from {@link MeshLink}s.
 * @module
 */
import { transferChannelOf } from './channel-layout.js';
import type { LinkChannelStats, LinkState, LinkStats, MeshStats } from './health/stats.js';
import type { MeshLink } from './link.js';

/** Snapshot of one link at `now`. */
export function linkStats(link: MeshLink, now: number): LinkStats {
  const io = link.io;
  const engine = link.connection.getStats();
  const channels: LinkChannelStats[] = io.specs.map((spec, i) => {
    const send = io.sendSessions[i];
    const recv = io.recvSessions[i];
    return {
      index: i,
      channel: transferChannelOf(i),
      label: spec.label,
      mode: spec.mode,
      session: send !== undefined,
      ...io.counters[i]!,
      bufferedAmount: io.channels[i]!.getBufferedAmount(),
      queued: io.inbox[i]!.length + io.channels[i]!.getAvailablePacketCount(),
      replayBuffered: send?.buffered ?? 0,
      replayBufferedBytes: send?.bufferedBytes ?? 0,
      replayed: send?.replayed ?? 0,
      replayOverflows: send?.overflows ?? 0,
      replayOverflowed: send?.overflowed ?? false,
      duplicatesDropped: recv?.duplicates ?? 0,
      gaps: recv?.gaps ?? 0,
      malformed: recv?.malformed ?? 0,
    };
  });
  const sum = (k: 'packetsSent' | 'bytesSent' | 'packetsReceived' | 'bytesReceived' | 'replayed' | 'malformed') => channels.reduce((n, c) => n + c[k], 0);
  const h = link.health;
  return {
    peerId: link.id,
    state: link.state,
    rttMs: h.rttMs,
    heartbeatRttMs: h.lastRttMs,
    engineRttMs: engine.rttMs,
    jitterMs: h.jitterMs,
    loss: h.loss(now),
    heartbeatsSent: link.control.heartbeatsSent,
    heartbeatsReceived: link.control.heartbeatsReceived,
    sinceHeardMs: link.silentFor(now),
    reconnects: link.reconnects,
    attempt: link.attempt,
    sessionEpoch: link.epoch,
    remoteEpoch: link.control.remoteEpoch,
    restarts: link.control.restarts,
    controlMalformed: link.control.malformed,
    sessionMalformed: sum('malformed'),
    foreignChannelsClosed: link.foreign.closed,
    foreignChannelsAccepted: link.foreign.accepted,
    candidatePair: engine.selectedCandidatePair,
    engineBytesSent: engine.bytesSent,
    engineBytesReceived: engine.bytesReceived,
    packetsSent: sum('packetsSent'),
    bytesSent: sum('bytesSent'),
    packetsReceived: sum('packetsReceived'),
    bytesReceived: sum('bytesReceived'),
    replayed: sum('replayed'),
    channels,
    history: link.history.map((c) => ({ ...c })),
  };
}

/** Snapshot of a mesh: its counters and every link. */
export function meshStats(
  id: number,
  counters: { packetsSent: number; packetsReceived: number; broadcastFailures: number },
  links: Iterable<MeshLink>,
  now: number,
): MeshStats {
  const all = [...links].map((l) => linkStats(l, now));
  const count = (s: LinkState) => all.filter((l) => l.state === s).length;
  return {
    at: now,
    id,
    ...counters,
    peersConnected: count('connected') + count('disconnected') + count('reconnecting'),
    peersConnecting: count('connecting'),
    peersReconnecting: count('reconnecting'),
    links: all,
  };
}

/** Final snapshots of removed links, the most recent `limit` kept (a peer removed again replaces its earlier one). */
export class ClosedLinks {
  private readonly snapshots = new Map<number, LinkStats>();

  constructor(private readonly limit: number) {}

  keep(stats: LinkStats): void {
    this.snapshots.delete(stats.peerId);
    this.snapshots.set(stats.peerId, stats);
    if (this.snapshots.size > this.limit) this.snapshots.delete(this.snapshots.keys().next().value!);
  }

  /** A copy of the snapshot of `peerId`, or undefined. */
  get(peerId: number): LinkStats | undefined {
    const s = this.snapshots.get(peerId);
    return s && { ...s, channels: s.channels.map((c) => ({ ...c })), history: s.history.map((h) => ({ ...h })) };
  }
}

/** When the `stats` event is due: every `periodMs` (0: never) while it is listened to. */
export class StatsSchedule {
  private nextAt = 0;

  constructor(private readonly periodMs: number) {}

  /** Whether to emit at `now` (then the next one is due a period later). */
  due(now: number, listened: boolean): boolean {
    if (!(this.periodMs > 0 && now >= this.nextAt && listened)) return false;
    this.nextAt = now + this.periodMs;
    return true;
  }

  /** When the next one is due; Infinity when off or not listened to. */
  nextDeadline(listened: boolean): number {
    return this.periodMs > 0 && listened ? this.nextAt : Infinity;
  }
}
