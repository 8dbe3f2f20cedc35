/** The RPC layer: typed msgpack RPC, request/response, batching, and the per-tick loop. @module */
export { RpcEndpoint, RpcHandlerError } from './endpoint.js';
export type { RpcEndpointOptions, RpcStats, TurnScheduler } from './endpoint.js';
export { Ticker } from './ticker.js';
export type { TickerEvents, TickerOptions } from './ticker.js';
export { RpcErrorCode, RpcRemoteError } from './types.js';
export type {
  AnyRpcMethods,
  RpcConfig,
  RpcContext,
  RpcEndpointEvents,
  RpcErrorEvent,
  RpcMethods,
  RpcMode,
  RpcSignature,
} from './types.js';
