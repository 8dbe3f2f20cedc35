/**
 * rtcmesh for browsers: the same API as in Node.js, over the browser's own
 * RTCPeerConnection. Never imports node-datachannel.
 * @module rtcmesh/browser
 */
import { setDefaultEngine } from './transport/default-engine.js';
import { browserEngine } from './transport/browser/browser-engine.js';

setDefaultEngine(browserEngine);

export * from './core.js';
export { BrowserEngine, browserEngine, type RTCPeerConnectionConstructor } from './transport/browser/browser-engine.js';
