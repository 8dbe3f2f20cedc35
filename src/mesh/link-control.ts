/**
 * The control channel of one mesh link: heartbeats (PING/PONG), the
 * cumulative acknowledgements of its reliable sessions, and the session
 * epochs that tell when the remote's process restarted. Frames are encoded
 * by `health/control.ts`; RTT, jitter and loss are kept in the link's
 * {@link LinkHealth}.
 * @module
 */
import { FrameType, decodeFrame, encodeFrame, type Ack, type ControlFrame } from './health/control.js';
import type { LinkHealth } from './health/link-health.js';
import type { LinkChannels } from './link-channels.js';

/**
 * Least time between two ACK frames of a link (ms). Acks only release the
 * sender's replay buffer (which holds about rate × this interval), and every
 * ACK is a message of its own on each busy link: in a mesh where every link
 * carries data, a short interval costs more native sends than the data.
 */
const ACK_INTERVAL_MS = 20;

/** What the control channel reads of the link's settings. */
export interface ControlSettings {
  /** This multiplayer peer's session epoch (u32, not 0). */
  epoch: number;
  /** Heartbeat period (ms). */
  heartbeatMs: number;
}

/** Heartbeats, acknowledgements and epochs on the control channel of one link. */
export class LinkControl {
  heartbeatsSent = 0;
  heartbeatsReceived = 0;
  /** Control frames counted as malformed (LinkStats `controlMalformed`). */
  malformed = 0;
  /** The remote's session epoch (0 until heard). */
  remoteEpoch = 0;
  /** Times the remote restarted (a new epoch on a fresh connection). */
  restarts = 0;
  /** A control frame arrived on the current connection (its epoch is known). */
  private heardOnConnection = false;
  private ackSent: number[];
  private lastAckAt = -Infinity;

  /**
   * @param restarted called when the remote restarted, after the receiving
   *   sessions were started afresh.
   */
  constructor(
    private readonly io: LinkChannels,
    private readonly health: LinkHealth,
    private readonly settings: ControlSettings,
    private readonly restarted: () => void,
  ) {
    this.ackSent = io.specs.map(() => 0);
  }

  /** A fresh connection went under the link: its first frame tells the remote's epoch again. */
  newConnection(): void {
    this.heardOnConnection = false;
  }

  /** Acknowledge everything again (a reconnected link, or a restarted remote). */
  resetAcks(): void {
    this.ackSent = this.ackSent.map(() => 0);
    this.lastAckAt = -Infinity;
  }

  /** When a frame is due by the clock alone: -Infinity while frames wait to be read. */
  nextDeadline(): number {
    if (this.io.control.getAvailablePacketCount() > 0) return -Infinity;
    return this.unacked() ? this.lastAckAt + ACK_INTERVAL_MS : Infinity;
  }

  /**
   * The remote restarted: what our receiving sessions hold belongs to its
   * previous instance, so they start afresh (its new sessions number from 1).
   * Our sending sessions are kept: their unacknowledged packets were (or
   * will be) resent on this connection and the remote's fresh sessions take
   * the first as their base, so nothing we sent is lost or delivered twice
   * to the new instance.
   */
  private remoteRestarted(epoch: number): void {
    for (const r of this.io.recvSessions) r?.reset();
    this.resetAcks();
    this.restarts++;
    this.remoteEpoch = epoch;
    this.restarted();
  }

  private unacked(): boolean {
    return this.io.recvSessions.some((r, i) => r !== undefined && r.seq > this.ackSent[i]!);
  }

  /** Frame fields every control frame carries: our epoch and the remote's as we know it. */
  private epochs(): { epoch: number; ackEpoch: number } {
    return { epoch: this.settings.epoch, ackEpoch: this.remoteEpoch };
  }

  private acks(): Ack[] {
    const acks: Ack[] = [];
    this.io.recvSessions.forEach((r, i) => {
      if (r && r.seq > 0) acks.push([i, r.seq]);
    });
    return acks;
  }

  private sendFrame(frame: ControlFrame, now: number): void {
    try {
      this.io.control.putPacket(encodeFrame(frame));
    } catch {
      return; // closing: the next poll notices
    }
    for (const [i, s] of frame.acks) this.ackSent[i] = s;
    this.lastAckAt = now;
  }

  /** Read every waiting control frame: epochs, acks, heartbeats (answering each PING). */
  read(now: number): void {
    let raw;
    while ((raw = this.io.control.getPacket()) !== undefined) {
      const frame = decodeFrame(raw);
      if (!frame) {
        this.malformed++;
        continue;
      }
      if (!this.heardOnConnection) {
        // the first frame on this connection tells the remote's epoch: a new one means its process restarted
        this.heardOnConnection = true;
        this.io.gated = false;
        if (this.remoteEpoch !== 0 && frame.epoch !== this.remoteEpoch) this.remoteRestarted(frame.epoch);
        this.remoteEpoch = frame.epoch;
      } else if (frame.epoch !== this.remoteEpoch) {
        this.malformed++; // an epoch changes only with a fresh connection
        continue;
      }
      if (frame.ackEpoch === this.settings.epoch) {
        for (const [i, s] of frame.acks) {
          const session = this.io.sendSessions[i];
          if (!session || !session.ack(s)) this.malformed++; // no such reliable channel, or acks what was never sent
        }
      }
      this.health.heard(now);
      if (frame.type === FrameType.PING) {
        this.health.onPing(frame.seq, frame.time, now);
        this.heartbeatsReceived++;
        this.sendFrame({ type: FrameType.PONG, ...this.epochs(), seq: frame.seq, time: frame.time, acks: this.acks() }, now);
      } else if (frame.type === FrameType.PONG) {
        if (!this.health.onPong(frame.time, now)) this.malformed++;
      }
    }
  }

  /** Send what is due: a PING every heartbeat period, otherwise an ACK at most every {@link ACK_INTERVAL_MS} while something is unacknowledged. */
  send(now: number): void {
    const h = this.health;
    if (now >= h.nextPingAt) {
      h.nextPingAt = now + this.settings.heartbeatMs;
      this.heartbeatsSent++;
      this.sendFrame({ type: FrameType.PING, ...this.epochs(), seq: ++h.pingSeq >>> 0, time: now, acks: this.acks() }, now);
      return;
    }
    if (now - this.lastAckAt < ACK_INTERVAL_MS) return;
    if (this.unacked()) this.sendFrame({ type: FrameType.ACK, ...this.epochs(), acks: this.acks() }, now);
  }
}
