/**
 * End-of-turn scheduling for RPCs registered with `immediate: 'turn'`: the
 * endpoint asks a {@link TurnScheduler} to run its turn flush once the
 * current synchronous turn is over, so every such call made in one turn
 * leaves in one message per link and channel. The default runs it on a
 * microtask; a simulation can pass its own scheduler.
 * @module
 */

/** Runs `flush` after the current synchronous turn (exactly once per call). */
export type TurnScheduler = (flush: () => void) => void;

/** The default {@link TurnScheduler}: a microtask, i.e. as soon as the code that made the calls returns to the event loop. */
export const microtaskTurn: TurnScheduler = (flush) => queueMicrotask(flush);
