/**
 * `rtcmesh/signaling`: the lobby signaling server, its clients (WebSocket,
 * in-memory bus) and the protocol types. In a browser this subpath resolves to
 * the same module without the server.
 * @module rtcmesh/signaling
 */
export * from '../signaling/index.js';
export {
  SignalingServer,
  type SignalingServerOptions,
  type SignalingServerAllEvents,
  type ListenOptions,
  type ListenAddress,
  type ServerCloseOptions,
} from '../signaling/drivers/server.js';
export { HmacTokenIssuer } from '../signaling/drivers/hmac-tokens.js';
export { turnCredential, TurnIssuer, type TurnOptions, type TurnCredential, type ResolvedTurnOptions } from '../signaling/drivers/turn-credentials.js';
export {
  RedisSignalingBackend,
  type RedisBackendOptions,
  type RedisHealthEvents,
  type RedisSignalingStats,
} from '../signaling/redis/backend.js';
export type { RedisStoreStats } from '../signaling/redis/store.js';
