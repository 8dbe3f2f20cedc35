/**
 * Time source for poll-driven layers. The mesh and RPC layers read time only
 * through a Clock, so a simulation can substitute a virtual one.
 * @module
 */

/** A monotonic millisecond clock. */
export interface Clock {
  /** Milliseconds since an arbitrary origin; never goes backwards. */
  now(): number;
}

/** Wall-independent monotonic time from `performance.now()`. */
export const realClock: Clock = { now: () => performance.now() };
