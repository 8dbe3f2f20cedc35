/**
 * Reused views for sending small messages: for each length `n` up to
 * {@link SEND_VIEW_MAX}, one view of the first `n` bytes of one process-wide
 * buffer kept off V8's heap. Engines copy what they send before returning, so
 * a message can be written into {@link sendView} and handed to an engine at
 * once; the bytes are valid only until the next write into any of these views.
 * node-datachannel's native send costs about half as much for a view it was
 * given before, and arrays of up to 64 bytes made fresh live on V8's heap,
 * which native code must first move off it (see the node-datachannel engine).
 * @module
 */

/** Longest message a reused send view is kept for. */
export const SEND_VIEW_MAX = 1024;

const sendBuffer = new ArrayBuffer(SEND_VIEW_MAX);
/** Views of `sendBuffer[0, n)` by length `n`, made on first use (at most SEND_VIEW_MAX small objects). */
const views: (Uint8Array | undefined)[] = [];

/** The reused view of length `n` (0 ≤ n ≤ {@link SEND_VIEW_MAX}). */
export function sendView(n: number): Uint8Array {
  let v = views[n];
  if (v === undefined) v = views[n] = new Uint8Array(sendBuffer, 0, n);
  return v;
}
