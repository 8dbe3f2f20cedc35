/**
 * Everything the tests reach in one module: every public entry point
 * (`rtcmesh`, `rtcmesh/signaling`, `rtcmesh/virtual`, `rtcmesh/engine`), plus
 * the internals some tests inspect directly.
 */
export * from '../src/index.js';
export * from '../src/entries/signaling.js';
export * from '../src/entries/virtual.js';
export * from '../src/entries/engine.js';
