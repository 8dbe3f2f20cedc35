/**
 * The events an engine channel reports, as values: engines hold them while a
 * channel has no handlers yet (a received channel's first message can arrive
 * before the peer layer attaches) and deliver them in order afterwards.
 * @module
 */
import type { EngineChannelHandlers } from './engine.js';

/** One channel event, held until handlers are set. */
export type ChannelEvent =
  | { kind: 'open' }
  | { kind: 'closed' }
  | { kind: 'error'; message: string }
  | { kind: 'message'; data: Uint8Array; isText: boolean }
  | { kind: 'low' };

/** Call the handler that matches `e`. */
export function deliverChannelEvent(h: EngineChannelHandlers, e: ChannelEvent): void {
  switch (e.kind) {
    case 'open':
      return h.open();
    case 'closed':
      return h.closed();
    case 'error':
      return h.error(e.message);
    case 'message':
      return h.message(e.data, e.isText);
    case 'low':
      return h.bufferedAmountLow();
  }
}

/**
 * The handler half of an engine channel: holds events until
 * {@link setHandlers} and then delivers them in order.
 */
export abstract class EventHoldingChannel {
  protected handlers: EngineChannelHandlers | null = null;
  private pending: ChannelEvent[] = [];

  setHandlers(handlers: EngineChannelHandlers): void {
    this.handlers = handlers;
    const queued = this.pending;
    this.pending = [];
    for (const event of queued) this.deliver(handlers, event);
  }

  /** @internal Deliver `event` now, or hold it while no handlers are set. */
  protected emit(event: ChannelEvent): void {
    const h = this.handlers;
    if (h) this.deliver(h, event);
    else this.pending.push(event);
  }

  /** @internal Hold `event` for {@link setHandlers} (the caller found no handlers). */
  protected hold(event: ChannelEvent): void {
    this.pending.push(event);
  }

  /** @internal Call the handler for one event; an engine may guard it. */
  protected deliver(h: EngineChannelHandlers, event: ChannelEvent): void {
    deliverChannelEvent(h, event);
  }
}
