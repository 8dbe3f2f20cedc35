/**
 * Signaling that runs anywhere (Node.js and browsers): the protocol, the
 * client interface, the WebSocket client and the in-memory bus. The server is
 * exported from the Node entry only (see `drivers/server.ts`).
 * @module
 */
export * from './protocol.js';
export {
  BATCH_PROTOCOL_VERSION,
  MAX_BATCH_CHARS,
  MAX_BATCH_MESSAGES,
  PROTOCOL_QUERY_PARAM,
  announceProtocol,
  announcedVersion,
  parseServerFrame,
} from './batch.js';
export type { ResumeIdentity, TokenIssuer } from './tokens.js';
export {
  BaseSignalingClient,
  type BaseSignalingClientOptions,
  type JoinOptions,
  type JoinResult,
  type SignalingIceServer,
  type ReconnectOptions,
  type SignalingClient,
  type SignalingClientEvents,
  type SignalingLink,
  type SignalingLinkHandlers,
} from './client.js';
export {
  DEFAULT_CLIENT_PING,
  WebSocketSignalingClient,
  type WebSocketConstructor,
  type WebSocketLike,
  type WebSocketSignalingClientOptions,
} from './drivers/websocket-client.js';
export { MemorySignalingBus, MemorySignalingClient, type MemorySignalingBusOptions } from './memory-bus.js';
export type { Schedulable, SignalingBackend } from './transport.js';
export type { Pollable, RandomSource } from '../util/sans-io.js';
export {
  SignalingCore,
  DEFAULT_CORE_OPTIONS,
  type AuthorizeHook,
  type AuthorizeLobby,
  type AuthorizeRequest,
  type AuthorizeResult,
  type SessionTransport,
  type SignalingCoreOptions,
  type SignalingServerEvents,
  type SignalingSession,
  type SignalingStats,
} from './core.js';
