/**
 * The project's msgpack codec (msgpackr), configured for plain interoperable
 * msgpack: no record extension, so any msgpack implementation can read it.
 * @module
 */
import { C1, Packr } from 'msgpackr';

/** Shared encoder/decoder: objects encode as msgpack maps, Uint8Array as bin. */
export const msgpack = new Packr({ useRecords: false, moreTypes: false });

/**
 * Decode one msgpack value from untrusted bytes. Throws on anything that is
 * not exactly one valid value, including the reserved byte 0xc1 (which
 * msgpackr would otherwise return as a sentinel object).
 */
export function unpackStrict(data: Uint8Array, codec: Packr = msgpack): unknown {
  const value = codec.unpack(data);
  if (value === C1) throw new Error('reserved msgpack byte 0xc1');
  return value;
}
