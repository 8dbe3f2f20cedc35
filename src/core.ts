/**
 * Everything that is the same in Node.js and in the browser. The entry points
 * (`index.ts`, `browser.ts`) re-export this and set their default engine.
 * @module
 */
export * from './errors.js';
export * from './peer/index.js';
export type * from './transport/engine.js';
export { setDefaultEngine, getDefaultEngine } from './transport/default-engine.js';
export * from './signaling/index.js';
export * from './mesh/index.js';
export { realClock } from './util/clock.js';
export type { Clock } from './util/clock.js';
export type { Pollable, RandomSource } from './util/sans-io.js';
export * from './transport/virtual/index.js';
export * from './rpc/index.js';
