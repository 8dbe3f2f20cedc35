/**
 * rtcmesh for Node.js: multiplayer networking on WebRTC data channels.
 * The default engine is node-datachannel (libdatachannel).
 * @module rtcmesh
 */
import { setDefaultEngine } from './transport/default-engine.js';
import { datachannelEngine } from './transport/datachannel/datachannel-engine.js';

setDefaultEngine(datachannelEngine);

export * from './core.js';
export { DatachannelEngine, datachannelEngine } from './transport/datachannel/datachannel-engine.js';
export {
  SignalingServer,
  type SignalingServerOptions,
  type SignalingServerAllEvents,
  type ListenOptions,
  type ListenAddress,
  type ServerCloseOptions,
} from './signaling/drivers/server.js';
export {
  RedisSignalingBackend,
  type RedisBackendOptions,
  type RedisHealthEvents,
  type RedisSignalingStats,
} from './signaling/redis/backend.js';
export type { RedisStoreStats } from './signaling/redis/store.js';
export * from './metrics/index.js';
