/**
 * Set-up shared by the WebRTCMultiplayerPeer tests (multiplayer-peer.test.ts
 * and multiplayer-peer-lifecycle.test.ts): meshes closed after each test, and
 * the typed error a call throws.
 */
import { afterEach, expect } from 'vitest';
import { RtcmeshError, type WebRTCMultiplayerPeer } from '../api.js';

/**
 * Call at the top level of a test file: returns `track()`, which hands back
 * the meshes it is given and closes them after the test that made them.
 */
export function closeMeshesAfterEach(): (ms: WebRTCMultiplayerPeer[]) => WebRTCMultiplayerPeer[] {
  const live: WebRTCMultiplayerPeer[] = [];
  afterEach(() => {
    for (const m of live.splice(0)) m.close();
  });
  return (ms) => {
    live.push(...ms);
    return ms;
  };
}

/** The RtcmeshError `fn` throws (fails the test if it throws anything else or nothing). */
export function errorOf(fn: () => unknown): RtcmeshError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(RtcmeshError);
    return e as RtcmeshError;
  }
  throw new Error('expected an error');
}
