import { describe, expect, it } from 'vitest';
import { base64urlDecode, base64urlEncode } from '../../src/transport/base64url.js';
import { annotateSdp, extractAnnotations } from '../../src/transport/sdp-annotation.js';

describe('browser-safe base64url and channel annotations', () => {
  const samples = ['', 'a', 'ab', 'abc', 'abcd', 'chat', 'héllo wörld ✓ 🎮', '\u0000\uffff', 'x'.repeat(1000)];

  it('matches Buffer base64url both ways', () => {
    for (const s of samples) {
      const encoded = base64urlEncode(s);
      expect(encoded).toBe(Buffer.from(s, 'utf8').toString('base64url'));
      expect(base64urlDecode(encoded)).toBe(s);
    }
    expect(base64urlDecode('a')).toBeUndefined();
    expect(base64urlDecode('a+b/')).toBeUndefined();
  });

  it('round-trips in-band channel options through SDP and drops malformed lines', () => {
    const sdp = 'v=0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n';
    const annotated = annotateSdp(sdp, [
      { label: 'héllo 🎮', protocol: '', negotiated: false, ordered: false, maxRetransmits: 0 },
      { label: '', protocol: '', negotiated: false, ordered: true, maxPacketLifeTime: 250 },
      { label: 'neg', protocol: '', negotiated: true, id: 3, ordered: true },
    ]);
    const { sdp: clean, channels } = extractAnnotations(annotated + 'a=x-rtcmesh-dc:!!! 1 - -\r\n');
    expect(clean).not.toContain('x-rtcmesh-dc');
    expect(channels).toEqual([
      { label: 'héllo 🎮', ordered: false, maxRetransmits: 0 },
      { label: '', ordered: true, maxPacketLifeTime: 250 },
    ]);
  });
});
