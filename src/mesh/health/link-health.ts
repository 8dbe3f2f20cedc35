/**
 * Heartbeat bookkeeping of one link: when the remote was last heard, RTT and
 * jitter from PING/PONG echoes, loss estimated from gaps in the remote's PING
 * sequence numbers (pings travel unreliably, so the gaps are real loss).
 * @module
 */

/** Heartbeat settings. */
export interface HeartbeatSettings {
  intervalMs: number;
  timeoutMs: number;
}

/** Heartbeat state of the current connection of one link. */
export class LinkHealth {
  lastHeard = 0;
  nextPingAt = 0;
  pingSeq = 0;
  pingsSent = 0;
  pongsReceived = 0;
  pingsReceived = 0;
  /** Smoothed heartbeat RTT (ms), -1 before the first sample. */
  rttMs = -1;
  /** Last heartbeat RTT sample (ms), -1 before the first. */
  lastRttMs = -1;
  /** RFC 3550-style jitter of the RTT samples (ms). */
  jitterMs = 0;
  private firstRemoteSeq = -1;
  private lastRemoteSeq = -1;

  /** Start over on a fresh connection at `now`. */
  reset(now: number): void {
    this.lastHeard = now;
    this.nextPingAt = now;
    this.firstRemoteSeq = -1;
    this.lastRemoteSeq = -1;
    this.pingsReceived = 0;
  }

  /** A valid control frame arrived. */
  heard(now: number): void {
    if (now > this.lastHeard) this.lastHeard = now;
  }

  /** The remote's PING `seq` arrived. */
  onPing(seq: number): void {
    this.pingsReceived++;
    if (this.firstRemoteSeq < 0 || seq < this.firstRemoteSeq) this.firstRemoteSeq = seq;
    if (seq > this.lastRemoteSeq) this.lastRemoteSeq = seq;
  }

  /** Our PING sent at `sentAt` came back at `now`. False for an echo from the future (forged; ignored). */
  onPong(sentAt: number, now: number): boolean {
    const rtt = now - sentAt;
    if (!(rtt >= 0) || rtt > 3_600_000) return false;
    this.pongsReceived++;
    if (this.lastRttMs >= 0) this.jitterMs += (Math.abs(rtt - this.lastRttMs) - this.jitterMs) / 16;
    this.lastRttMs = rtt;
    this.rttMs = this.rttMs < 0 ? rtt : this.rttMs + (rtt - this.rttMs) / 8;
    return true;
  }

  /** Fraction of the remote's pings that never arrived on this connection (0..1). */
  loss(): number {
    if (this.firstRemoteSeq < 0) return 0;
    const expected = this.lastRemoteSeq - this.firstRemoteSeq + 1;
    return expected > 0 ? Math.max(0, 1 - this.pingsReceived / expected) : 0;
  }
}
