/**
 * The project's msgpack codec (msgpackr), configured for plain interoperable
 * msgpack: no record extension, so any msgpack implementation can read it.
 * @module
 */
import { Packr } from 'msgpackr';

/** Shared encoder/decoder: objects encode as msgpack maps, Uint8Array as bin. */
export const msgpack = new Packr({ useRecords: false, moreTypes: false });
