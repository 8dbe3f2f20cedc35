/**
 * The one `a=x-rtcmesh-dc:` codec every engine writes and reads: versioned
 * lines, the two older grammars still read, malformed lines dropped.
 */
import { describe, expect, it } from 'vitest';
import { WebRTCPeerConnection } from '../api.js';
import { ANNOTATION_PREFIX, annotateSdp, encodeAnnotation, extractAnnotations, parseAnnotation } from '../../src/transport/sdp-annotation.js';
import { VirtualNetwork } from '../../src/transport/virtual/index.js';
import { parseSdp } from '../../src/transport/virtual/sdp.js';

describe('sdp-annotation codec', () => {
  it('writes a versioned line and reads every field back', () => {
    const line = encodeAnnotation({ label: 'héllo 🎮', protocol: 'game/1', negotiated: false, id: 7, ordered: false, maxRetransmits: 3 });
    expect(line.startsWith(`${ANNOTATION_PREFIX}v2 7 `)).toBe(true);
    expect(parseAnnotation(line)).toEqual({ label: 'héllo 🎮', protocol: 'game/1', id: 7, ordered: false, maxRetransmits: 3 });
    const bare = encodeAnnotation({ label: '', protocol: '', negotiated: false, ordered: true, maxPacketLifeTime: 250 });
    expect(bare).toBe(`${ANNOTATION_PREFIX}v2 - = = 1 250 -`);
    expect(parseAnnotation(bare)).toEqual({ label: '', ordered: true, maxPacketLifeTime: 250 });
  });

  it('still reads the 4-field line of older node-datachannel/browser peers and the 6-field line of older virtual peers', () => {
    // label "chat" in base64url, unordered, no lifetime, 0 retransmits
    expect(parseAnnotation(`${ANNOTATION_PREFIX}Y2hhdA 0 - 0`)).toEqual({ label: 'chat', ordered: false, maxRetransmits: 0 });
    // id 3, label "chat" and protocol "p" in hex, ordered, lifetime 100
    expect(parseAnnotation(`${ANNOTATION_PREFIX}3 63686174 70 1 100 -`)).toEqual({ label: 'chat', protocol: 'p', id: 3, ordered: true, maxPacketLifeTime: 100 });
    expect(parseAnnotation(`${ANNOTATION_PREFIX}-1 - - 1 - -`)).toEqual({ label: '', ordered: true });
  });

  it('strips the lines from a remote SDP, keeps the order, and drops and counts malformed ones', () => {
    const sdp = 'v=0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n';
    const annotated = annotateSdp(sdp, [
      { label: 'a', protocol: '', negotiated: false, ordered: true },
      { label: 'neg', protocol: '', negotiated: true, id: 3, ordered: true },
      { label: 'b', protocol: '', negotiated: false, ordered: false, maxRetransmits: 0 },
    ]);
    const bad = [`${ANNOTATION_PREFIX}!!! 1 - -`, `${ANNOTATION_PREFIX}v2 x = = 1 - -`, `${ANNOTATION_PREFIX}v2 1 = = 2 - -`, `${ANNOTATION_PREFIX}v9 1 = = 1 - -`, `${ANNOTATION_PREFIX}v2 1 = = 1 -5 -`];
    const { sdp: clean, channels, malformed } = extractAnnotations(annotated + bad.join('\r\n') + '\r\n');
    expect(clean).not.toContain('x-rtcmesh-dc');
    expect(clean).toContain('m=application');
    expect(channels.map((c) => c.label)).toEqual(['a', 'b']);
    expect(malformed).toBe(bad.length);
  });

  it('the virtual engine announces in-band channels with the same codec, and rejects a malformed line', () => {
    const net = new VirtualNetwork();
    const pc = new WebRTCPeerConnection({}, { engine: net.createHost().engine });
    const offers: string[] = [];
    pc.on('session_description_created', (_t, sdp) => offers.push(sdp));
    pc.createDataChannel('chat', { ordered: false, maxRetransmits: 2, protocol: 'p' });
    pc.createDataChannel('neg', { negotiated: true, id: 9 });
    pc.createOffer();
    net.runUntil(() => (pc.poll(), offers.length === 1), { maxMs: 100 });
    const sdp = offers[0]!;
    expect(sdp).toMatch(/^a=x-rtcmesh-dc:v2 - /m);
    expect(extractAnnotations(sdp).channels).toEqual([{ label: 'chat', protocol: 'p', ordered: false, maxRetransmits: 2 }]);
    expect(parseSdp(sdp).channels).toEqual([{ label: 'chat', protocol: 'p', negotiated: false, ordered: false, maxRetransmits: 2 }]);
    expect(() => parseSdp(sdp + 'a=x-rtcmesh-dc:v2 1 = = 7 - -\r\n')).toThrow(/malformed channel line/);
    pc.close();
    net.close();
  });
});
