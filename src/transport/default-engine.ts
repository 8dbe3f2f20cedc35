/**
 * The engine used when a connection is created without one. The Node.js entry
 * point sets node-datachannel; the browser entry point sets the browser engine.
 * @module
 */
import { ErrorCode, RtcmeshError } from '../errors.js';
import { invalid } from '../util/validate.js';
import type { Engine } from './engine.js';

let defaultEngine: Engine | undefined;

/** Set the engine that new connections use by default. */
export function setDefaultEngine(engine: Engine): void {
  defaultEngine = checkEngine(engine, 'setDefaultEngine() engine');
}

/** @internal `engine` must be an {@link Engine} (an object with `createConnection`); `what` names the argument. */
export function checkEngine(engine: unknown, what: string): Engine {
  if (engine === null || typeof engine !== 'object' || typeof (engine as Engine).createConnection !== 'function') {
    invalid(what, 'an Engine (an object with createConnection(), e.g. net.createHost().engine)', engine);
  }
  return engine as Engine;
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
