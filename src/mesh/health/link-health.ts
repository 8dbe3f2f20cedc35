/**
 * Heartbeat bookkeeping of one link: when the remote was last heard, RTT and
 * jitter from PING/PONG echoes, loss estimated from the remote's PING
 * sequence numbers (pings travel unreliably, so a missing one is real loss)
 * over a sliding window of the last {@link LOSS_WINDOW} pings the remote
 * should have sent, counting pings that are overdue as lost (so a blackout
 * shows at once, not only once pings arrive again).
 * @module
 */

/** The loss estimate looks back over this many of the remote's pings. */
export const LOSS_WINDOW = 32;

/** Heartbeat state of the current connection of one link. */
export class LinkHealth {
  lastHeard = 0;
  nextPingAt = 0;
  pingSeq = 0;
  pongsReceived = 0;
  /** Smoothed heartbeat RTT (ms), -1 before the first sample. */
  rttMs = -1;
  /** Last heartbeat RTT sample (ms), -1 before the first. */
  lastRttMs = -1;
  /** RFC 3550-style jitter of the RTT samples (ms). */
  jitterMs = 0;
  private firstRemoteSeq = -1;
  private lastRemoteSeq = -1;
  /** Remote send time (its clock) of the first and newest pings of this connection. */
  private firstRemoteTime = 0;
  private lastRemoteTime = 0;
  /** Our clock time when the newest ping arrived. */
  private lastPingAt = 0;
  /** Sequences received, at `seq % LOSS_WINDOW` (-1: none). */
  private readonly window = new Float64Array(LOSS_WINDOW).fill(-1);

  /** Start over on a fresh connection at `now`. */
  reset(now: number): void {
    this.lastHeard = now;
    this.nextPingAt = now;
    this.firstRemoteSeq = -1;
    this.lastRemoteSeq = -1;
    this.window.fill(-1);
  }

  /** A valid control frame arrived. */
  heard(now: number): void {
    if (now > this.lastHeard) this.lastHeard = now;
  }

  /** The remote's PING `seq`, sent at `remoteTime` by its clock, arrived at `now`. */
  onPing(seq: number, remoteTime: number, now: number): void {
    if (this.firstRemoteSeq < 0) {
      this.firstRemoteSeq = this.lastRemoteSeq = seq;
      this.firstRemoteTime = this.lastRemoteTime = remoteTime;
      this.lastPingAt = now;
    } else if (seq > this.lastRemoteSeq) {
      this.lastRemoteSeq = seq;
      this.lastRemoteTime = remoteTime;
      this.lastPingAt = now;
    } else if (seq < this.firstRemoteSeq) {
      this.firstRemoteSeq = seq; // overtaken by a later one (the channel is unordered)
    }
    this.window[seq % LOSS_WINDOW] = seq;
  }

  /** The remote's ping period (ms), from its own send times; 0 until two pings arrived. */
  remoteIntervalMs(): number {
    const n = this.lastRemoteSeq - this.firstRemoteSeq;
    return n > 0 ? Math.max(0, (this.lastRemoteTime - this.firstRemoteTime) / n) : 0;
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

  /**
   * Fraction (0..1) of the last {@link LOSS_WINDOW} pings the remote should
   * have sent on this connection that did not arrive. A ping is expected
   * every remote interval after the newest one; one counts as overdue (lost)
   * once two intervals have passed without it, so the estimate rises during
   * a blackout and falls back as fresh pings push the gap out of the window.
   */
  loss(now: number): number {
    if (this.firstRemoteSeq < 0) return 0;
    const interval = this.remoteIntervalMs();
    const overdue = interval > 0 ? Math.max(0, Math.floor((now - this.lastPingAt) / interval) - 1) : 0;
    const top = this.lastRemoteSeq + overdue;
    const bottom = Math.max(this.firstRemoteSeq, top - LOSS_WINDOW + 1);
    let got = 0;
    for (const seq of this.window) if (seq >= bottom && seq <= this.lastRemoteSeq) got++;
    return Math.max(0, 1 - got / (top - bottom + 1));
  }
}
