/**
 * The relay scan (src/signaling/fast-relay.ts) against the regular path
 * (`JSON.parse` + `validateClientMessage`, and `parseBatch` for array
 * frames): whatever the scan accepts, the regular path accepts with the same
 * type, target and element texts — checked on valid messages at and over
 * every limit and on tens of thousands of randomly damaged ones — and the
 * scan does take the compact messages clients send.
 */
import { describe, expect, it } from 'vitest';
import { scanRelayBatch, scanRelayMessage, scannedBatch, scannedMessage } from '../../src/signaling/fast-relay.js';
import { MAX_CANDIDATE_LENGTH, MAX_MID_LENGTH, MAX_SDP_LENGTH, parseClientMessage } from '../../src/signaling/protocol.js';
import { MAX_BATCH_MESSAGES, parseBatch } from '../../src/signaling/batch.js';
import { validateClientMessage } from '../../src/signaling/protocol.js';

/** Deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const CANDIDATE = 'candidate:842163049 1 udp 1677729535 203.0.113.7 61234 typ srflx raddr 192.168.1.20 rport 61234 generation 0';
const SDP = 'v=0\r\no=rtc 123 0 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n';

const valid: string[] = [
  JSON.stringify({ type: 'candidate', to: 2, mid: '0', index: 0, candidate: CANDIDATE }),
  JSON.stringify({ type: 'offer', to: 1, sdp: SDP }),
  JSON.stringify({ type: 'answer', to: 2147483647, sdp: SDP }),
  JSON.stringify({ to: 7, candidate: 'x\u0001"\\/é€😀', index: 65535, type: 'candidate', mid: 'data' }),
  JSON.stringify({ type: 'candidate', to: 3, mid: 'm'.repeat(MAX_MID_LENGTH), index: 1, candidate: 'c'.repeat(MAX_CANDIDATE_LENGTH) }),
  JSON.stringify({ type: 'offer', to: 5, sdp: 's'.repeat(MAX_SDP_LENGTH) }),
  JSON.stringify({ type: 'offer', to: 5, sdp: '\n'.repeat(MAX_SDP_LENGTH) }), // escapes count as one character each
  // The client's own layout (matched in one run) at the edges of `to` and `index`, and with an escape (the general scan).
  JSON.stringify({ type: 'candidate', to: 2147483647, mid: '0', index: 65535, candidate: 'c' }),
  JSON.stringify({ type: 'candidate', to: 1, mid: '', index: 12345, candidate: '' }),
  JSON.stringify({ type: 'candidate', to: 9, mid: '0', index: 0, candidate: 'a\tb' }),
];

/** The valid messages of a few hundred characters at most (damaging the 4–64 KiB ones is slow and adds nothing). */
const SHORT = valid.filter((t) => t.length < 1000);

/** What the regular path makes of one message text: its type and target, or undefined when refused. */
function regular(text: string): { type: string; to: number } | undefined {
  const r = parseClientMessage(text);
  if (!r.ok) return undefined;
  const m = r.message as { type: string; to?: number };
  return { type: m.type, to: m.to ?? -1 };
}

function fast(text: string): { type: string; to: number } | undefined {
  return scanRelayMessage(text, 0) === text.length ? { type: scannedMessage.type, to: scannedMessage.to } : undefined;
}

const ALPHABET = ['{', '}', '[', ']', '"', ':', ',', '\\', 'u', '0', '1', '9', '-', '.', 'e', ' ', '\n', '\u0000', '\u001f', 'a', 'é', 'type', 'to', 'from', 'sdp', 'mid', 'index', 'candidate', 'offer', '"to":1,', '"index":0,'];

function damage(text: string, r: () => number): string {
  let t = text;
  const edits = 1 + Math.floor(r() * 3);
  for (let e = 0; e < edits; e++) {
    const at = Math.floor(r() * (t.length + 1));
    const op = r();
    const piece = ALPHABET[Math.floor(r() * ALPHABET.length)]!;
    if (op < 0.4) t = t.slice(0, at) + piece + t.slice(at);
    else if (op < 0.7) t = t.slice(0, at) + t.slice(at + 1 + Math.floor(r() * 3));
    else t = t.slice(0, at) + piece + t.slice(at + piece.length);
  }
  return t;
}

describe('relay scan (fast path of the signaling server)', () => {
  it('takes the compact offer, answer and candidate messages clients send, as the regular path reads them', () => {
    for (const text of valid) {
      expect(fast(text), text.slice(0, 80)).toEqual(regular(text));
      expect(fast(text)).toBeDefined();
    }
  });

  it('leaves to the regular path what is over a limit, out of range, or of another shape', () => {
    const refused = [
      JSON.stringify({ type: 'candidate', to: 3, mid: 'm'.repeat(MAX_MID_LENGTH + 1), index: 1, candidate: 'c' }),
      JSON.stringify({ type: 'candidate', to: 3, mid: '0', index: 1, candidate: 'c'.repeat(MAX_CANDIDATE_LENGTH + 1) }),
      JSON.stringify({ type: 'offer', to: 5, sdp: '\n'.repeat(MAX_SDP_LENGTH + 1) }),
      JSON.stringify({ type: 'candidate', to: 0, mid: '0', index: 0, candidate: 'c' }),
      JSON.stringify({ type: 'candidate', to: 2147483648, mid: '0', index: 0, candidate: 'c' }),
      JSON.stringify({ type: 'candidate', to: 2, mid: '0', index: 65536, candidate: 'c' }),
      JSON.stringify({ type: 'candidate', to: 2, mid: '0', candidate: 'c' }),
      JSON.stringify({ type: 'offer', to: 2, sdp: 'x', from: 1 }),
      JSON.stringify({ type: 'offer', to: 2 }),
      JSON.stringify({ type: 'probe', to: 2 }),
      JSON.stringify({ type: 'refuse', to: 2 }),
      JSON.stringify({ type: 'join', lobby: '' }),
      '{"type":"offer","to":2,"sdp":"x","to":3}',
      '{"type":"offer","to":2.0,"sdp":"x"}',
      '{"type":"offer","to":02,"sdp":"x"}',
      '{"type":"offer", "to":2,"sdp":"x"}',
      '{"type":"of\\u0066er","to":2,"sdp":"x"}',
      '{"type":"offer","to":2,"sdp":"a\\x"}',
      '{"type":"offer","to":2,"sdp":"a\u0001"}',
      '{"type":"offer","to":2,"sdp":"x"} ',
    ];
    for (const text of refused) expect(fast(text), text.slice(0, 80)).toBeUndefined();
    // Those the regular path does accept, it accepts with what the scan would have said (it only gives up).
    expect(regular('{"type":"offer", "to":2,"sdp":"x"}')).toEqual({ type: 'offer', to: 2 });
  });

  it('never accepts what the regular path refuses or reads differently (30 000 damaged messages)', () => {
    const r = rng(20261203);
    let accepted = 0;
    const disagreements: string[] = [];
    for (let n = 0; n < 30_000; n++) {
      const text = damage(SHORT[n % SHORT.length]!, r);
      const f = fast(text);
      if (f === undefined) continue;
      accepted++;
      const g = regular(text);
      if (g === undefined || g.type !== f.type || g.to !== f.to) disagreements.push(text.slice(0, 120));
    }
    expect(disagreements).toEqual([]);
    expect(accepted).toBeGreaterThan(100); // damage inside strings leaves many valid: the comparison had material
  });

  it('array frames: accepted only when parseBatch and the validation accept every element with the same texts (10 000 frames)', () => {
    const r = rng(7);
    let accepted = 0;
    const disagreements: string[] = [];
    for (let n = 0; n < 10_000; n++) {
      const k = 1 + Math.floor(r() * 4);
      const parts = Array.from({ length: k }, (_, i) => valid[(n + i) % 4]!);
      let text = `[${parts.join(',')}]`;
      if (r() < 0.7) text = damage(text, r);
      if (!scanRelayBatch(text, MAX_BATCH_MESSAGES)) continue;
      accepted++;
      const batch = parseBatch(text);
      const agree =
        batch.ok &&
        batch.message.items.length === scannedBatch.count &&
        batch.message.items.every((item, i) => {
          const v = validateClientMessage(item);
          const m = v.ok ? (v.message as { type: string; to?: number }) : undefined;
          return m !== undefined && m.type === scannedBatch.types[i] && m.to === scannedBatch.tos[i] && batch.message.texts[i] === text.slice(scannedBatch.starts[i], scannedBatch.ends[i]);
        });
      if (!agree) disagreements.push(text.slice(0, 120));
    }
    expect(disagreements).toEqual([]);
    expect(accepted).toBeGreaterThan(3000);
  });

  it('array frames over the element limit are left to the regular path (which refuses them whole)', () => {
    const text = `[${Array.from({ length: MAX_BATCH_MESSAGES + 1 }, () => valid[0]).join(',')}]`;
    expect(scanRelayBatch(text, MAX_BATCH_MESSAGES)).toBe(false);
    expect(scanRelayBatch(`[${valid[0]},${valid[1]}]`, MAX_BATCH_MESSAGES)).toBe(true);
    expect(scannedBatch.count).toBe(2);
  });
});
