/**
 * The queues of messages the server holds for detached peers (their socket
 * dropped; they may resume within the grace period), under three budgets:
 * messages and characters per peer, characters per lobby, characters
 * server-wide. Past a peer's or its lobby's budget the peer's oldest queued
 * messages are dropped; a message that would take the server over its budget
 * (or is larger than a budget by itself) is not queued. Every drop is counted
 * in `relayDropped`; `queuedBytes` is the gauge of what is held.
 *
 * Characters are counted (`text.length`): for the ASCII JSON of the protocol,
 * the bytes held.
 * @module
 */
import type { SignalingCoreOptions } from './core-types.js';
import type { CoreCounters, Peer } from './core-model.js';

/** Queues for detached peers, bounded in messages and bytes. */
export class ResumeQueues {
  constructor(
    private readonly options: SignalingCoreOptions,
    private readonly stats: CoreCounters,
  ) {}

  /** Queue `text` for the detached `peer`, dropping within budgets. */
  push(peer: Peer, text: string): void {
    const o = this.options;
    const n = text.length;
    if (o.resumeQueueLimit === 0 || n > o.resumeQueueBytes || n > o.lobbyQueueBytes || this.stats.queuedBytes + n > o.totalQueueBytes) {
      this.stats.relayDropped++;
      return;
    }
    peer.queue.push(text);
    peer.queueBytes += n;
    peer.lobby.queuedBytes += n;
    this.stats.queuedBytes += n;
    while (
      peer.queue.length > 0 &&
      (peer.queue.length > o.resumeQueueLimit || peer.queueBytes > o.resumeQueueBytes || peer.lobby.queuedBytes > o.lobbyQueueBytes)
    ) {
      this.dropOldest(peer);
    }
  }

  /** Hand over (and forget) everything queued for `peer`: it resumed. */
  take(peer: Peer): string[] {
    const queued = peer.queue;
    this.clear(peer);
    return queued;
  }

  /** Forget everything queued for `peer` (it left, its lobby closed). */
  clear(peer: Peer): void {
    peer.lobby.queuedBytes -= peer.queueBytes;
    this.stats.queuedBytes -= peer.queueBytes;
    peer.queue = [];
    peer.queueBytes = 0;
  }

  private dropOldest(peer: Peer): void {
    const n = peer.queue.shift()!.length;
    peer.queueBytes -= n;
    peer.lobby.queuedBytes -= n;
    this.stats.queuedBytes -= n;
    this.stats.relayDropped++;
  }
}
