/**
 * `rtcmesh/engine`: the engine interface the peer layer talks to, for engine
 * authors, and the way to choose the default engine. Engines shipped:
 * node-datachannel (Node.js default, here), the browser's RTCPeerConnection
 * (`rtcmesh/browser`), and the virtual network (`rtcmesh/virtual`).
 * @module rtcmesh/engine
 */
export type * from '../transport/engine.js';
export { setDefaultEngine, getDefaultEngine } from '../transport/default-engine.js';
export { DatachannelEngine, datachannelEngine } from '../transport/datachannel/datachannel-engine.js';
