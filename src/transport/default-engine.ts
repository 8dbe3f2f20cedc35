/**
 * The engine used when a connection is created without one. The Node.js entry
 * point sets node-datachannel; the browser entry point sets the browser engine.
 * @module
 */
import { ErrorCode, RtcmeshError } from '../errors.js';
import type { Engine } from './engine.js';

let defaultEngine: Engine | undefined;

/** Set the engine that new connections use by default. */
export function setDefaultEngine(engine: Engine): void {
  if (!engine || typeof engine.createConnection !== 'function') {
    throw new RtcmeshError(ErrorCode.INVALID_ARGUMENT, 'setDefaultEngine() needs an Engine (an object with createConnection)');
  }
  defaultEngine = engine;
}

/** The default engine; throws when none was set. */
export function getDefaultEngine(): Engine {
  if (!defaultEngine) {
    throw new RtcmeshError(
      ErrorCode.INVALID_STATE,
      'no default WebRTC engine: import from "rtcmesh" (Node.js) or "rtcmesh/browser", or pass { engine } explicitly',
    );
  }
  return defaultEngine;
}
