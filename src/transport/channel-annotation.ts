/**
 * Carries the options of in-band data channels across the offer/answer.
 *
 * node-datachannel does not expose a received channel's reliability settings
 * (libdatachannel parses them from the DCEP open message but the binding has no
 * getter). The side that creates in-band channels lists them in its session
 * description as `a=x-rtcmesh-dc:` lines; the other side strips those lines
 * before handing the SDP to the engine and matches received channels by label
 * in creation order. Browsers ignore unknown attributes, so the SDP stays valid
 * for any peer.
 *
 * Both engines write these lines (node-datachannel and the browser engine), so
 * a Node peer learns the options of channels a browser opens. This module runs
 * in browsers too: it uses no Node.js API.
 * @module
 */
import type { EngineChannelInit } from './engine.js';
import { base64urlDecode, base64urlEncode } from './base64url.js';

const PREFIX = 'a=x-rtcmesh-dc:';

/** The options a remote in-band channel was created with. */
export interface AnnotatedChannel {
  label: string;
  ordered: boolean;
  maxPacketLifeTime?: number;
  maxRetransmits?: number;
}

function encodeOne(init: EngineChannelInit): string {
  const label = base64urlEncode(init.label);
  const plt = init.maxPacketLifeTime === undefined ? '-' : String(init.maxPacketLifeTime);
  const rtx = init.maxRetransmits === undefined ? '-' : String(init.maxRetransmits);
  return `${PREFIX}${label || '='} ${init.ordered ? 1 : 0} ${plt} ${rtx}`;
}

/** Append one annotation line per in-band channel to `sdp`. */
export function annotateSdp(sdp: string, channels: readonly EngineChannelInit[]): string {
  const inBand = channels.filter((c) => !c.negotiated);
  if (inBand.length === 0) return sdp;
  const eol = sdp.includes('\r\n') ? '\r\n' : '\n';
  const body = sdp.endsWith(eol) ? sdp : sdp + eol;
  return body + inBand.map(encodeOne).join(eol) + eol;
}

function parseCount(field: string | undefined): number | undefined {
  if (field === undefined || field === '-') return undefined;
  const n = Number(field);
  return Number.isInteger(n) && n >= 0 && n <= 0xffffffff ? n : undefined;
}

/** Split annotation lines out of a remote SDP. Malformed lines are dropped. */
export function extractAnnotations(sdp: string): { sdp: string; channels: AnnotatedChannel[] } {
  if (!sdp.includes(PREFIX)) return { sdp, channels: [] };
  const channels: AnnotatedChannel[] = [];
  const kept: string[] = [];
  for (const line of sdp.split(/\r?\n/)) {
    if (!line.startsWith(PREFIX)) {
      kept.push(line);
      continue;
    }
    const [label, ordered, plt, rtx] = line.slice(PREFIX.length).trim().split(' ');
    if (label === undefined || (ordered !== '0' && ordered !== '1')) continue;
    const decoded = label === '=' ? '' : base64urlDecode(label);
    if (decoded === undefined) continue;
    const entry: AnnotatedChannel = {
      label: decoded,
      ordered: ordered === '1',
    };
    const lifetime = parseCount(plt);
    const retransmits = parseCount(rtx);
    if (lifetime !== undefined) entry.maxPacketLifeTime = lifetime;
    if (retransmits !== undefined) entry.maxRetransmits = retransmits;
    channels.push(entry);
  }
  const eol = sdp.includes('\r\n') ? '\r\n' : '\n';
  return { sdp: kept.join(eol), channels };
}
