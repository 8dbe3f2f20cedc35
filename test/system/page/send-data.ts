/**
 * Send test data on a channel: a string as a TEXT message, a byte array as a
 * BINARY one. Shared by the Node side and the page (engine-free core only).
 */
import { WriteMode, type WebRTCDataChannel } from '../../../src/core.js';

export function sendData(ch: WebRTCDataChannel, data: number[] | string): void {
  if (typeof data === 'string') {
    ch.writeMode = WriteMode.TEXT;
    ch.putPacket(new TextEncoder().encode(data));
  } else {
    ch.writeMode = WriteMode.BINARY;
    ch.putPacket(new Uint8Array(data));
  }
}
