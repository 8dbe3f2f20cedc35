/**
 * rtcmesh for Node.js: multiplayer networking on WebRTC data channels.
 * The default engine is node-datachannel (libdatachannel).
 * @module rtcmesh
 */
import { setDefaultEngine } from './transport/default-engine.js';
import { datachannelEngine } from './transport/datachannel/datachannel-engine.js';

setDefaultEngine(datachannelEngine);

export * from './core.js';
export * from './metrics/index.js';
