/**
 * The signaling client's outgoing queue: messages posted while its link is
 * down or resuming, sent in order once it has resumed. Bounded by the
 * client's `outboxLimit`: past it the oldest message is dropped; a limit of 0
 * keeps nothing.
 * @module
 */

/** @internal Messages waiting for the link, oldest first. */
export class ClientOutbox {
  private queue: string[] = [];

  constructor(private readonly limit: number) {}

  /** Queue `text`, dropping the oldest message past the limit. */
  push(text: string): void {
    if (this.limit === 0) return;
    this.queue.push(text);
    if (this.queue.length > this.limit) this.queue.shift();
  }

  /** Hand over (and forget) everything queued, oldest first. */
  take(): string[] {
    const queued = this.queue;
    this.queue = [];
    return queued;
  }

  /** Forget everything queued (the client left or closed). */
  clear(): void {
    this.queue = [];
  }
}
