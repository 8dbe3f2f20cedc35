/**
 * The root export, the same in Node.js and in the browser: what a game
 * developer uses — connections and channels, the multiplayer peer and lobby,
 * RPC and the ticker, errors and enums. The entry points (`index.ts`,
 * `browser.ts`) re-export this and set their default engine. Engines,
 * signaling and the virtual network live behind subpaths
 * (`rtcmesh/engine`, `rtcmesh/signaling`, `rtcmesh/virtual`).
 * @module
 */
export { RtcmeshError, ErrorCode, isRtcmeshError } from './errors.js';
export * from './peer/index.js';
export * from './mesh/index.js';
export * from './rpc/index.js';
export { setDefaultEngine, getDefaultEngine } from './transport/default-engine.js';
export { realClock } from './util/clock.js';
export type { Clock } from './util/clock.js';
export type { Pollable, RandomSource } from './util/sans-io.js';
export type { LobbyMode } from './signaling/protocol.js';
export * from './sync/index.js';
