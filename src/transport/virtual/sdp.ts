/**
 * Session descriptions and ICE candidates of the virtual engine. They look
 * like libdatachannel's (a data-channel-only BUNDLE with one `application`
 * section), so code that inspects or forwards SDP treats them like real ones.
 * In-band channel options travel in `a=x-rtcmesh-dc:` lines written and read
 * by the codec every engine shares (../sdp-annotation.ts).
 * @module
 */
import type { EngineChannelInit } from '../engine.js';
import { ANNOTATION_PREFIX, encodeAnnotation, parseAnnotation } from '../sdp-annotation.js';

/** What a virtual description carries. */
export interface VirtualSdp {
  sessionId: string;
  ufrag: string;
  pwd: string;
  fingerprint: string;
  setup: 'actpass' | 'active' | 'passive';
  maxMessageSize: number;
  /** In-band channels announced by the offerer (label, options). */
  channels: EngineChannelInit[];
}

/** Write a description. */
export function writeSdp(d: VirtualSdp, address: string): string {
  const lines = [
    'v=0',
    `o=rtcmesh-virtual ${d.sessionId} 0 IN IP4 ${address}`,
    's=-',
    't=0 0',
    'a=group:BUNDLE 0',
    'a=msid-semantic:WMS *',
    `a=fingerprint:sha-256 ${d.fingerprint}`,
    'm=application 9 UDP/DTLS/SCTP webrtc-datachannel',
    'c=IN IP4 0.0.0.0',
    'a=mid:0',
    'a=sendrecv',
    `a=ice-ufrag:${d.ufrag}`,
    `a=ice-pwd:${d.pwd}`,
    'a=ice-options:ice2,trickle',
    `a=setup:${d.setup}`,
    'a=sctp-port:5000',
    `a=max-message-size:${d.maxMessageSize}`,
  ];
  for (const c of d.channels) lines.push(encodeAnnotation(c));
  return lines.join('\r\n') + '\r\n';
}

/** Parse a description. @throws Error saying what is missing or malformed. */
export function parseSdp(sdp: string): VirtualSdp {
  const lines = sdp.split(/\r?\n/);
  if (lines[0] !== 'v=0') throw new Error('session description must start with "v=0"');
  const attr = (name: string): string | undefined => {
    const prefix = `a=${name}:`;
    const line = lines.find((l) => l.startsWith(prefix));
    return line?.slice(prefix.length).trim();
  };
  const origin = lines.find((l) => l.startsWith('o='));
  const ufrag = attr('ice-ufrag');
  const pwd = attr('ice-pwd');
  const fingerprint = attr('fingerprint');
  if (!ufrag) throw new Error('Remote description has no ICE user fragment');
  if (!pwd) throw new Error('Remote description has no ICE password');
  if (!fingerprint || !/^sha-256 [0-9A-F]{2}(?::[0-9A-F]{2}){31}$/i.test(fingerprint)) {
    throw new Error('Remote description has no valid DTLS fingerprint');
  }
  if (!lines.some((l) => l.startsWith('m=application '))) throw new Error('Remote description has no data channel (m=application) section');
  const setup = attr('setup') ?? 'actpass';
  if (setup !== 'actpass' && setup !== 'active' && setup !== 'passive') throw new Error(`Remote description has an invalid a=setup value "${setup}"`);
  const mmsText = attr('max-message-size');
  const maxMessageSize = mmsText === undefined ? 65536 : Number(mmsText);
  if (!Number.isInteger(maxMessageSize) || maxMessageSize < 0) throw new Error(`Remote description has an invalid a=max-message-size "${mmsText}"`);
  const channels: EngineChannelInit[] = [];
  for (const line of lines) {
    if (!line.startsWith(ANNOTATION_PREFIX)) continue;
    const c = parseAnnotation(line);
    if (c === undefined) throw new Error(`Remote description has a malformed channel line "${line.slice(0, 80)}"`);
    const init: EngineChannelInit = { label: c.label, protocol: c.protocol ?? '', negotiated: false, ordered: c.ordered };
    if (c.id !== undefined) init.id = c.id;
    if (c.maxPacketLifeTime !== undefined) init.maxPacketLifeTime = c.maxPacketLifeTime;
    if (c.maxRetransmits !== undefined) init.maxRetransmits = c.maxRetransmits;
    channels.push(init);
  }
  return {
    sessionId: origin?.split(' ')[1] ?? '0',
    ufrag,
    pwd,
    fingerprint: fingerprint.slice('sha-256 '.length),
    setup,
    maxMessageSize,
    channels,
  };
}

/** A host candidate line (without the `a=` prefix), as libdatachannel writes one. */
export function writeCandidate(foundation: number, address: string, port: number): string {
  return `candidate:${foundation} 1 udp 2122317823 ${address} ${port} typ host`;
}

/** Address and port of a candidate. @throws Error on malformed input. */
export function parseCandidate(candidate: string): { address: string; port: number; type: string; transport: string } {
  const m = /^(?:a=)?candidate:(\S+) (\d+) (udp|tcp) (\d+) (\S+) (\d+) typ (host|srflx|prflx|relay)(?: .*)?$/i.exec(candidate.trim());
  if (!m) throw new Error('Invalid candidate format');
  const port = Number(m[6]);
  if (port < 1 || port > 65535) throw new Error('Invalid candidate port');
  return { address: m[5]!, port, type: m[7]!.toLowerCase(), transport: m[3]!.toLowerCase() };
}
