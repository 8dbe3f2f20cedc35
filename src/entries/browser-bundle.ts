/**
 * What `dist/rtcmesh.browser.js` holds: the browser entry (`rtcmesh/browser`)
 * and the browser side of `rtcmesh/signaling` (the WebSocket client, the
 * in-memory bus, the protocol), in one ES module a page can load directly.
 * @module
 */
export * from '../browser.js';
export * from '../signaling/index.js';
