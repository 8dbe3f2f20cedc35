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
