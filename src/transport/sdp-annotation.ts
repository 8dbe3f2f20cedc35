/**
 * The one codec of the `a=x-rtcmesh-dc:` SDP attribute, used by every engine
 * (node-datachannel, browser, virtual).
 *
 * node-datachannel does not expose a received channel's reliability settings
 * (libdatachannel parses them from the DCEP open message but the binding has no
 * getter). The side that creates in-band channels lists them in its session
 * description, one line per channel; the other side strips those lines before
 * handing the SDP to its engine and matches received channels by label in
 * creation order. Browsers ignore unknown attributes, so the SDP stays valid
 * for any peer.
 *
 * Grammar (version 2, written by every engine):
 *
 * ```text
 * a=x-rtcmesh-dc:v2 <id> <label> <protocol> <ordered> <maxPacketLifeTime> <maxRetransmits>
 * ```
 *
 * `id` is the stream id or `-` (not assigned yet); `label` and `protocol` are
 * unpadded base64url of their UTF-8 text, `=` for the empty string;
 * `ordered` is `0` or `1`; the two counts are decimal or `-` (not set).
 *
 * Reading also accepts the two grammars written before the version field:
 * the 4-field line of the node-datachannel and browser engines
 * (`<label b64url|=> <ordered> <plt|-> <rtx|->`) and the 6-field line of the
 * virtual engine (`<id|-1> <label hex|-> <protocol hex|-> <ordered> <plt|-> <rtx|->`).
 *
 * This module runs in browsers too: it uses no Node.js API.
 * @module
 */
import type { EngineChannelInit } from './engine.js';
import { base64urlDecode, base64urlEncode } from './base64url.js';

/** The attribute prefix, `a=` included. */
export const ANNOTATION_PREFIX = 'a=x-rtcmesh-dc:';
/** The version this codec writes. */
export const ANNOTATION_VERSION = 2;
const VERSION_TAG = `v${ANNOTATION_VERSION}`;

/** The options a remote in-band channel was created with. */
export interface AnnotatedChannel {
  label: string;
  ordered: boolean;
  /** Sub-protocol; present only when not empty. */
  protocol?: string;
  /** Stream id; present only when the writer knew it. */
  id?: number;
  maxPacketLifeTime?: number;
  maxRetransmits?: number;
}

function textField(text: string): string {
  return base64urlEncode(text) || '=';
}

function countField(n: number | undefined): string {
  return n === undefined ? '-' : String(n);
}

/** The annotation line (without end of line) for one channel. */
export function encodeAnnotation(init: EngineChannelInit): string {
  const id = init.id === undefined || init.id < 0 ? '-' : String(init.id);
  return `${ANNOTATION_PREFIX}${VERSION_TAG} ${id} ${textField(init.label)} ${textField(init.protocol ?? '')} ${init.ordered ? 1 : 0} ${countField(init.maxPacketLifeTime)} ${countField(init.maxRetransmits)}`;
}

/** Append one annotation line per in-band (not negotiated) channel to `sdp`. */
export function annotateSdp(sdp: string, channels: readonly EngineChannelInit[]): string {
  const inBand = channels.filter((c) => !c.negotiated);
  if (inBand.length === 0) return sdp;
  const eol = sdp.includes('\r\n') ? '\r\n' : '\n';
  const body = sdp.endsWith(eol) ? sdp : sdp + eol;
  return body + inBand.map(encodeAnnotation).join(eol) + eol;
}

/** A count field: a number, undefined for `-`, null when malformed. */
function parseCount(field: string | undefined): number | undefined | null {
  if (field === '-') return undefined;
  if (field === undefined || !/^\d{1,10}$/.test(field)) return null;
  const n = Number(field);
  return n <= 0xffffffff ? n : null;
}

const hexDecoder = new TextDecoder();

function fromHex(hex: string): string | undefined {
  if (hex === '-') return '';
  if (!/^(?:[0-9a-f]{2})*$/.test(hex)) return undefined;
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return hexDecoder.decode(bytes);
}

function fromBase64url(field: string): string | undefined {
  return field === '=' ? '' : base64urlDecode(field);
}

function build(
  label: string | undefined,
  protocol: string | undefined,
  id: number | undefined | null,
  ordered: string | undefined,
  plt: string | undefined,
  rtx: string | undefined,
): AnnotatedChannel | undefined {
  const lifetime = parseCount(plt);
  const retransmits = parseCount(rtx);
  if (label === undefined || protocol === undefined || id === null || (ordered !== '0' && ordered !== '1') || lifetime === null || retransmits === null) return undefined;
  const entry: AnnotatedChannel = { label, ordered: ordered === '1' };
  if (protocol !== '') entry.protocol = protocol;
  if (id !== undefined) entry.id = id;
  if (lifetime !== undefined) entry.maxPacketLifeTime = lifetime;
  if (retransmits !== undefined) entry.maxRetransmits = retransmits;
  return entry;
}

function parseId(field: string | undefined, unset: string): number | undefined | null {
  if (field === unset) return undefined;
  if (field === undefined || !/^\d{1,5}$/.test(field)) return null;
  const n = Number(field);
  return n <= 65535 ? n : null;
}

/**
 * Parse one annotation line (any of the three grammars, with or without the
 * `a=x-rtcmesh-dc:` prefix). Returns undefined when it is malformed.
 */
export function parseAnnotation(line: string): AnnotatedChannel | undefined {
  const body = line.startsWith(ANNOTATION_PREFIX) ? line.slice(ANNOTATION_PREFIX.length) : line;
  const f = body.trim().split(' ');
  if (f.length === 7 && f[0] === VERSION_TAG) {
    return build(fromBase64url(f[2]!), fromBase64url(f[3]!), parseId(f[1], '-'), f[4], f[5], f[6]);
  }
  if (f.length === 6) return build(fromHex(f[1]!), fromHex(f[2]!), parseId(f[0], '-1'), f[3], f[4], f[5]);
  if (f.length === 4) return build(fromBase64url(f[0]!), '', undefined, f[1], f[2], f[3]);
  return undefined;
}

/**
 * Split annotation lines out of a remote SDP: the SDP without them, the
 * channels they describe in order, and how many lines were malformed (dropped).
 */
export function extractAnnotations(sdp: string): { sdp: string; channels: AnnotatedChannel[]; malformed: number } {
  if (!sdp.includes(ANNOTATION_PREFIX)) return { sdp, channels: [], malformed: 0 };
  const channels: AnnotatedChannel[] = [];
  const kept: string[] = [];
  let malformed = 0;
  for (const line of sdp.split(/\r?\n/)) {
    if (!line.startsWith(ANNOTATION_PREFIX)) {
      kept.push(line);
      continue;
    }
    const entry = parseAnnotation(line);
    if (entry === undefined) malformed++;
    else channels.push(entry);
  }
  const eol = sdp.includes('\r\n') ? '\r\n' : '\n';
  return { sdp: kept.join(eol), channels, malformed };
}
