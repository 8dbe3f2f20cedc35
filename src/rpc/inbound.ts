/**
 * Reading messages: taking packets from the mesh, decoding a message into its
 * header and frames, and handing each frame to the dispatcher. Bad input is
 * reported, never thrown.
 * @module
 */
import { describeError } from '../errors.js';
import type { MultiplayerPeer, TakenPacket, TransferMode } from '../mesh/types.js';
import { decodeMessage } from './codec.js';
import { decodedCall, fastDecodeCall, fastDecodeMessage } from './fast-decode.js';
import type { Dispatcher } from './dispatch.js';
import type { Arrival, EndpointState } from './state.js';
import { RpcErrorCode } from './types.js';

/**
 * Take the mesh's next packet into `into`; false when there is none. As in
 * Godot, `getPacketPeer/Channel/Mode` describe the packet `getPacket()`
 * returns next, so they are read first.
 */
export function takePacket(mesh: MultiplayerPeer, into: TakenPacket): boolean {
  if (mesh.takePacket !== undefined) return mesh.takePacket(into);
  const peer = mesh.getPacketPeer();
  const channel = mesh.getPacketChannel();
  const mode = mesh.getPacketMode();
  const data = mesh.getPacket();
  if (data === undefined) return false;
  into.data = data;
  into.peer = peer;
  into.channel = channel;
  into.mode = mode;
  return true;
}

/** Decode one message from `fromPeer` and dispatch its frames in order. Never throws. */
export function receiveMessage(state: EndpointState, dispatcher: Dispatcher, maxMessageSize: number, data: Uint8Array, fromPeer: number, channel: number, mode: TransferMode): void {
  if (state.closed) return;
  state.stats.messagesReceived++;
  if (!(data instanceof Uint8Array)) {
    state.report({ code: RpcErrorCode.MALFORMED_FRAME, senderId: fromPeer, message: 'message is not bytes' });
    return;
  }
  if (data.length > maxMessageSize) {
    state.report({
      code: RpcErrorCode.FRAME_TOO_LARGE,
      senderId: fromPeer,
      message: `message of ${data.length} bytes exceeds maxMessageSize ${maxMessageSize}`,
    });
    return;
  }
  // An immediate call's message (one call by method id, plain arguments): no frame arrays built.
  const args = fastDecodeCall(data);
  if (args !== undefined) {
    const method = decodedCall.method;
    const arrival: Arrival = { link: fromPeer, sender: fromPeer, channel, mode, idsValid: decodedCall.checksum === state.table.checksum };
    state.stats.framesReceived++;
    try {
      dispatcher.handleCallById(method, args, arrival);
    } catch (err) {
      // Defensive, as for every frame below.
      state.report({ code: RpcErrorCode.MALFORMED_FRAME, senderId: fromPeer, message: `frame handling failed: ${describeError(err)}`, error: err });
    }
    return;
  }
  // The hand-written reader takes the common message; anything else goes to msgpackr.
  let decoded: { checksum: unknown; frames: unknown[] } | undefined = fastDecodeMessage(data);
  if (decoded === undefined) {
    try {
      decoded = decodeMessage(data);
    } catch (err) {
      state.report({ code: RpcErrorCode.MALFORMED_FRAME, senderId: fromPeer, message: `undecodable msgpack: ${describeError(err)}`, error: err });
      return;
    }
  }
  if (typeof decoded.checksum !== 'number' || !Number.isInteger(decoded.checksum) || decoded.checksum < 0) {
    state.report({ code: RpcErrorCode.MALFORMED_FRAME, senderId: fromPeer, message: 'message header is not a table checksum' });
    return;
  }
  const arrival: Arrival = { link: fromPeer, sender: fromPeer, channel, mode, idsValid: decoded.checksum === state.table.checksum };
  for (const frame of decoded.frames) {
    if (state.closed) return;
    state.stats.framesReceived++;
    try {
      dispatcher.handleFrame(frame, arrival, true);
    } catch (err) {
      // Defensive: nothing above should throw; a bug here must not reach the mesh loop.
      state.report({ code: RpcErrorCode.MALFORMED_FRAME, senderId: fromPeer, message: `frame handling failed: ${describeError(err)}`, error: err });
    }
  }
}
