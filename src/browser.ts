/**
 * rtcmesh for browsers. Never imports node-datachannel.
 * @module rtcmesh/browser
 */
export * from './core.js';
