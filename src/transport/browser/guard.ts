/**
 * Wrap a browser event handler so an exception thrown by rtcmesh's handlers
 * never escapes into the browser's event dispatch; it is rethrown on its own.
 * @module
 */
import { rethrowAsync } from '../engine.js';

/** `fn`, with any exception rethrown asynchronously. */
export function guard<A extends unknown[]>(fn: (...args: A) => void): (...args: A) => void {
  return (...args: A) => {
    try {
      fn(...args);
    } catch (err) {
      rethrowAsync(err);
    }
  };
}
