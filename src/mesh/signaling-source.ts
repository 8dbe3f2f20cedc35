/**
 * Turn what a user passes as `signaling` into a client: a `ws://` / `wss://`
 * URL, an in-memory bus, or a client they built themselves.
 * @module
 */
import { MemorySignalingBus } from '../signaling/memory-bus.js';
import { WebSocketSignalingClient } from '../signaling/drivers/websocket-client.js';
import { invalid } from '../util/validate.js';
import type { LobbySignaling, SignalingSource } from './lobby-signaling.js';

export type { SignalingSource };

/** The client for `source`, and whether the mesh created (and so owns) it. */
export function resolveSignaling(source: SignalingSource): { client: LobbySignaling; owned: boolean } {
  if (typeof source === 'string') {
    if (!/^wss?:\/\//.test(source)) invalid('signaling', 'a ws:// or wss:// URL, a MemorySignalingBus or a signaling client', source);
    return { client: new WebSocketSignalingClient(source), owned: true };
  }
  if (Array.isArray(source)) {
    if (source.length === 0 || source.some((u) => typeof u !== 'string' || !/^wss?:\/\//.test(u))) {
      invalid('signaling', 'a non-empty array of ws:// or wss:// URLs', source);
    }
    return { client: new WebSocketSignalingClient(source as readonly string[]), owned: true };
  }
  if (source instanceof MemorySignalingBus) return { client: source.createClient(), owned: true };
  if (source && typeof source === 'object' && typeof (source as LobbySignaling).join === 'function') return { client: source as LobbySignaling, owned: false };
  return invalid('signaling', 'a ws:// or wss:// URL, a MemorySignalingBus or a signaling client', source);
}
