/**
 * Test engines that wrap a real one: a connection that delegates every call
 * to the inner connection except how it creates channels.
 */
import type { EngineChannel, EngineChannelInit, EngineConnection } from './api.js';

/** `conn`, except that channels are created by `createDataChannel`. */
export function withCreateDataChannel(conn: EngineConnection, createDataChannel: (init: EngineChannelInit) => EngineChannel): EngineConnection {
  return {
    createDataChannel,
    createOffer: () => conn.createOffer(),
    setRemoteDescription: (type, sdp) => conn.setRemoteDescription(type, sdp),
    addRemoteCandidate: (mid, candidate) => conn.addRemoteCandidate(mid, candidate),
    maxMessageSize: () => conn.maxMessageSize(),
    stats: () => conn.stats(),
    close: () => conn.close(),
  };
}
