/**
 * Wire format of the RPC layer (see docs/rpc.md): a message is a msgpack
 * header (the sender's method-table checksum) followed by msgpack frames,
 * concatenated. Frames are arrays whose first element is a {@link FrameKind}.
 * @module
 */
import { Packr } from 'msgpackr';

/**
 * msgpackr options of the RPC codec. Records are on so that plain objects
 * (records) and `Map`s (msgpack maps, decoded with `mapsAsObjects: false`) stay
 * distinct; record definitions travel inline in every frame, so frames are
 * self-contained. Numbers are written as integers or float64 (never float32), so
 * every number, float32-representable ones included, comes back exactly; float32
 * from other encoders is read exactly. int64 / uint64 decode as `bigint`
 * (`int64AsType: 'bigint'`, pinned here so a msgpackr default cannot change it),
 * so a bigint in −2^63 … 2^64−1 round-trips as a bigint; larger ones are refused
 * when encoding (no `useBigIntExtension`). `Date` is the msgpack timestamp
 * extension (−1).
 */
const OPTIONS = { useRecords: true, mapsAsObjects: false, moreTypes: false, int64AsType: 'bigint' } as const;

/** Encoder for RPC messages. */
export const rpcCodec = new Packr(OPTIONS);

/**
 * Separate decoder instance, so a decode never disturbs an encode in progress.
 * Untrusted input: msgpackr's structured-clone extensions (which can build
 * cyclic values) are refused, so a received value is always a tree.
 */
const decoder = new Packr({ ...OPTIONS, structuredClone: false });

/** First element of every frame. */
export const FrameKind = {
  /** `[0, method, args]`: a call, no reply. */
  CALL: 0,
  /** `[1, method, args, requestId]`: a call whose result goes back. */
  REQUEST: 1,
  /** `[2, requestId, value]`: a request's result. */
  RESULT: 2,
  /** `[3, requestId, code, message]`: a request failed remotely. */
  FAILURE: 3,
  /** `[4, target, origin, frame]`: client → peer 1, please forward. */
  RELAY: 4,
  /** `[5, origin, frame]`: peer 1 → client, forwarded from `origin`. */
  RELAYED: 5,
  /** `[6, checksum, count]`: method-table handshake. */
  HELLO: 6,
  /** `[7, op, ids]`: peer 1 → client peer list; op 0 = set, 1 = add, 2 = remove. */
  PEERS: 7,
} as const;
export type FrameKind = (typeof FrameKind)[keyof typeof FrameKind];

/** Peer-list operations of a PEERS frame. */
export const PeersOp = { SET: 0, ADD: 1, REMOVE: 2 } as const;

/** Encode one value; the result is a view that stays valid (msgpackr never reuses returned bytes). */
export function encode(value: unknown): Uint8Array {
  return rpcCodec.pack(value);
}

/** Encode the message header for `checksum`. */
export function encodeHeader(checksum: number): Uint8Array {
  return Uint8Array.from(rpcCodec.pack(checksum));
}

/**
 * Decode a whole message into its header and frames. Throws on malformed
 * msgpack (the caller catches and reports).
 */
export function decodeMessage(data: Uint8Array): { checksum: unknown; frames: unknown[] } {
  // Decode from a plain Uint8Array view so binary values come out as Uint8Array (not Buffer) everywhere.
  const view = Object.getPrototypeOf(data) === Uint8Array.prototype ? data : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  // Record definitions must not outlive a message (they would let one peer's message shape
  // the decoding of the next): msgpackr keeps them across unpackMultiple calls, so drop them.
  const structures = (decoder as unknown as { structures?: unknown[] }).structures;
  if (structures) structures.length = 0;
  // Every value must move the read position forward. msgpackr's bundled-strings extension (0x62)
  // can send the top-level reader back to an earlier byte, so a crafted 9-byte message would
  // otherwise be read forever (an endless array of values): refuse it as malformed instead.
  const values: unknown[] = [];
  let last = 0;
  decoder.unpackMultiple(view as Buffer, (value: unknown, _start?: number, end?: number) => {
    if (end === undefined || end <= last) throw new Error('msgpack value does not advance the read position');
    last = end;
    values.push(value);
  });
  return { checksum: values[0], frames: values.length > 1 ? values.slice(1) : [] };
}

/**
 * 32-bit FNV-1a checksum of the sorted method names, each followed by a NUL
 * byte (`"chat\0move\0"`; Godot's
 * path-cache checksum, adapted). Stable across platforms.
 */
export function tableChecksum(sortedNames: readonly string[]): number {
  let h = 0x811c9dc5;
  const enc = new TextEncoder();
  for (let i = 0; i < sortedNames.length; i++) {
    const bytes = enc.encode(sortedNames[i]!);
    for (let j = 0; j < bytes.length; j++) {
      h ^= bytes[j]!;
      h = Math.imul(h, 0x01000193);
    }
    h ^= 0;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
