/**
 * Frames of the control channel (negotiated id 1000, label `rtcmesh-control`,
 * unordered, maxRetransmits 0). Tiny binary frames:
 *
 * | type | name | body                                                            |
 * |------|------|-----------------------------------------------------------------|
 * | 1    | PING | epochs, u32 seq, f64 send time (sender's clock), acks            |
 * | 2    | PONG | epochs, u32 seq, f64 echoed send time, acks                      |
 * | 3    | ACK  | epochs, acks                                                     |
 *
 * `epochs` is the sender's session epoch (u32, drawn once per multiplayer
 * peer, so a restarted process has a new one) followed by the epoch the acks
 * refer to (the receiver's epoch as the sender last heard it, 0 when
 * unknown). A receiver that sees a new epoch knows the remote restarted and
 * starts its receiving sessions afresh; acks for another epoch are ignored.
 *
 * `acks` is a varint count followed by (varint channel index, varint
 * cumulative sequence) pairs: "I hold every reliable packet of this channel up
 * to this sequence". Big-endian fixed fields. A frame that does not decode
 * exactly is rejected (`undefined`); the caller counts and drops it.
 * @module
 */
import { float64At, putFloat64, putUint32, uint32At } from '../../util/big-endian.js';
import { readVarint, varintLength, writeVarint } from './varint.js';

/** Stream id of the control channel (first id of the reserved range 1000–1023). */
export const CONTROL_CHANNEL_ID = 1000;
/** Label of the control channel. */
export const CONTROL_CHANNEL_LABEL = 'rtcmesh-control';

export const FrameType = { PING: 1, PONG: 2, ACK: 3 } as const;
export type FrameType = (typeof FrameType)[keyof typeof FrameType];

/** One cumulative acknowledgement: channel index → highest sequence held. */
export type Ack = readonly [index: number, seq: number];

/** A decoded control frame. */
export type ControlFrame =
  | { type: typeof FrameType.PING | typeof FrameType.PONG; epoch: number; ackEpoch: number; seq: number; time: number; acks: Ack[] }
  | { type: typeof FrameType.ACK; epoch: number; ackEpoch: number; acks: Ack[] };

/** Bytes before the type-specific fields: type, epoch, ackEpoch. */
const HEAD = 9;

/** Most acks one frame may carry (the layout has at most 259 channels). */
const MAX_ACKS = 259;

/** Encode a control frame. */
export function encodeFrame(frame: ControlFrame): Uint8Array {
  const fixed = frame.type === FrameType.ACK ? HEAD : HEAD + 12;
  let size = fixed + varintLength(frame.acks.length);
  for (const [i, s] of frame.acks) size += varintLength(i) + varintLength(s);
  const out = new Uint8Array(size);
  out[0] = frame.type;
  putUint32(out, 1, frame.epoch >>> 0);
  putUint32(out, 5, frame.ackEpoch >>> 0);
  if (frame.type !== FrameType.ACK) {
    putUint32(out, HEAD, frame.seq >>> 0);
    putFloat64(out, HEAD + 4, frame.time);
  }
  let at = writeVarint(out, fixed, frame.acks.length);
  for (const [i, s] of frame.acks) {
    at = writeVarint(out, at, i);
    at = writeVarint(out, at, s);
  }
  return out;
}

/** Decode a control frame; undefined when it is not exactly one valid frame. */
export function decodeFrame(data: Uint8Array): ControlFrame | undefined {
  if (data.length < HEAD + 1) return undefined;
  const type = data[0];
  const epoch = uint32At(data, 1);
  const ackEpoch = uint32At(data, 5);
  let at = HEAD;
  let seq = 0;
  let time = 0;
  if (type === FrameType.PING || type === FrameType.PONG) {
    if (data.length < HEAD + 13) return undefined;
    seq = uint32At(data, HEAD);
    time = float64At(data, HEAD + 4);
    if (!Number.isFinite(time)) return undefined;
    at = HEAD + 12;
  } else if (type !== FrameType.ACK) {
    return undefined;
  }
  const count = readVarint(data, at);
  if (!count || count[0] > MAX_ACKS) return undefined;
  at = count[1];
  const acks: Ack[] = [];
  for (let k = 0; k < count[0]; k++) {
    const i = readVarint(data, at);
    if (!i) return undefined;
    const s = readVarint(data, i[1]);
    if (!s) return undefined;
    acks.push([i[0], s[0]]);
    at = s[1];
  }
  if (at !== data.length) return undefined;
  return type === FrameType.ACK ? { type, epoch, ackEpoch, acks } : { type, epoch, ackEpoch, seq, time, acks };
}
