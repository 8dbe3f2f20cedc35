/**
 * `rtcmesh/engine` in a browser: the engine interface, the default-engine
 * switch and the browser's RTCPeerConnection engine.
 * @module rtcmesh/engine
 */
export type * from '../transport/engine.js';
export { setDefaultEngine, getDefaultEngine } from '../transport/default-engine.js';
export { BrowserEngine, browserEngine, type RTCPeerConnectionConstructor } from '../transport/browser/browser-engine.js';
