/**
 * Protocol 4: array frames (several messages in one WebSocket frame), over
 * the real server. Clients that announce 4 (`?rtcmesh=4`) get arrays and may
 * send them; older clients keep one message per frame.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  ErrorCode,
  MAX_BATCH_MESSAGES,
  PROTOCOL_VERSION,
  announceProtocol,
  announcedVersion,
  parseServerFrame,
  type SignalingServerOptions,
} from '../api.js';
import { MAX_BATCH_CHARS, splitArrayText } from '../../src/signaling/batch.js';
import { utf8Length } from '../../src/util/utf8.js';
import { encodeArrayFrames, encodeTextFrames } from '../../src/signaling/drivers/outbox.js';
import { T, cleanup, client, raw, startServer, waitUntil, type Raw } from './helpers.js';

/** One frame holding `texts` (JSON messages): the text itself when there is one, else `[a,b,…]`. */
function joinBatch(texts: readonly string[]): string {
  return texts.length === 1 ? texts[0]! : `[${texts.join(',')}]`;
}

/**
 * The reference for encodeArrayFrames: `texts` (JSON messages) as array frames of at most `maxChars` characters
 * each (a longer message alone), spliced: `[a,b,…]`; a lone message stays as it is.
 */
function batchFrames(texts: readonly string[], maxChars: number = MAX_BATCH_CHARS): string[] {
  const frames: string[] = [];
  let from = 0;
  let chars = 1; // `[` and `]`, and a comma before each element but the first
  for (let i = 0; i < texts.length; i++) {
    const n = texts[i]!.length + 1;
    if (i > from && chars + n > maxChars) {
      frames.push(joinBatch(texts.slice(from, i)));
      from = i;
      chars = 1;
    }
    chars += n;
  }
  frames.push(joinBatch(from === 0 ? texts : texts.slice(from)));
  return frames;
}

afterEach(cleanup);

const v4 = (url: string) => `${url}?rtcmesh=4`;
const cand = (to: number, i: number) => ({ type: 'candidate', to, mid: '0', index: 0, candidate: `candidate:${i} 1 udp 1 10.0.0.1 ${1000 + i} typ host` });

/** A lobby with a protocol 4 sender (id 1) and a receiver speaking `receiverV4 ? 4 : 3`. */
async function pair(receiverV4: boolean, options: SignalingServerOptions = {}): Promise<{ s: Raw; r: Raw; rid: number; server: Awaited<ReturnType<typeof startServer>>['server'] }> {
  const { url, server } = await startServer(options);
  const s = await raw(v4(url));
  s.send({ type: 'join', lobby: 'batch' });
  expect(await s.next((m) => m.type === 'joined')).toMatchObject({ id: 1, version: PROTOCOL_VERSION });
  const r = await raw(receiverV4 ? v4(url) : url);
  r.send({ type: 'join', lobby: 'batch' });
  const rid = (await r.next((m) => m.type === 'joined')).id as number;
  await s.next((m) => m.type === 'peer_joined' && m.id === rid);
  return { s, r, rid, server };
}

const candidatesOf = (r: Raw) => r.messages.filter((m) => m.type === 'candidate');

describe('protocol 4: array frames', () => {
  it('a client of protocol 3 still gets one message per frame', async () => {
    const { s, r, rid } = await pair(false);
    s.send(Array.from({ length: 10 }, (_, i) => cand(rid, i)));
    await waitUntil(() => candidatesOf(r).length === 10, 'candidatesOf(r).length === 10', T);
    expect(candidatesOf(r).map((m) => m.candidate)).toEqual(Array.from({ length: 10 }, (_, i) => cand(rid, i).candidate));
    expect(candidatesOf(r).every((m) => m.from === 1)).toBe(true);
    expect(r.frames.every((f) => f.startsWith('{'))).toBe(true);
  });

  it('a client of protocol 4 gets what waits for it as one array frame, in order', async () => {
    const { s, r, rid, server } = await pair(true);
    const sent = Array.from({ length: 10 }, (_, i) => cand(rid, i));
    const before = r.frames.length;
    s.send(sent);
    await waitUntil(() => candidatesOf(r).length === 10, 'candidatesOf(r).length === 10', T);
    expect(candidatesOf(r).map((m) => m.candidate)).toEqual(sent.map((m) => m.candidate));
    expect(candidatesOf(r).every((m) => m.from === 1 && m.mid === '0')).toBe(true);
    // The ten relayed messages were handled in one slice: one array frame.
    const after = r.frames.slice(before);
    expect(after).toHaveLength(1);
    expect(after[0]!.startsWith('[')).toBe(true);
    expect(server.getStats().relayed).toBe(10);
  });

  it('each message of an array frame counts against the rate limit as if sent alone', async () => {
    // 8 messages per window: the join and 7 of the 10 candidates pass.
    const { s, r, rid, server } = await pair(true, { rateLimit: { messages: 8, windowMs: 60_000 } });
    s.send(Array.from({ length: 10 }, (_, i) => cand(rid, i)));
    expect(await s.next((m) => m.type === 'error')).toMatchObject({ code: ErrorCode.RATE_LIMITED });
    await waitUntil(() => candidatesOf(r).length === 7, 'candidatesOf(r).length === 7', T);
    expect(candidatesOf(r).map((m) => m.candidate)).toEqual(Array.from({ length: 7 }, (_, i) => cand(rid, i).candidate));
    expect(server.getStats().relayed).toBe(7);
    expect(s.isClosed()).toBe(false);
  });

  it('bytes of each message count against the byte rate limit', async () => {
    const big = (to: number, i: number) => ({ ...cand(to, i), candidate: `candidate:${i} ${'x'.repeat(3000)}` });
    const { s, r, rid, server } = await pair(true, { rateLimit: { messages: 100, windowMs: 60_000, bytes: 8000 } });
    s.send(Array.from({ length: 5 }, (_, i) => big(rid, i)));
    expect(await s.next((m) => m.type === 'error')).toMatchObject({ code: ErrorCode.RATE_LIMITED });
    await waitUntil(() => server.getStats().relayed === 2, 'server.getStats().relayed === 2', T);
    await waitUntil(() => candidatesOf(r).length === 2, 'candidatesOf(r).length === 2', T);
  });

  it('a malformed element is dropped and reported; the others are handled', async () => {
    const { s, r, rid, server } = await pair(true);
    const errorsBefore = server.getStats().errors;
    s.send(JSON.stringify([cand(rid, 0), 42, { type: 'candidate', to: 'x', mid: '0', index: 0, candidate: 'c' }, { type: 'nope' }, cand(rid, 1)]));
    await waitUntil(() => candidatesOf(r).length === 2, 'candidatesOf(r).length === 2', T);
    expect(candidatesOf(r).map((m) => m.candidate)).toEqual([cand(rid, 0).candidate, cand(rid, 1).candidate]);
    await waitUntil(() => s.messages.filter((m) => m.type === 'error').length === 3, 's.messages.filter((m) => m.type === error).length === 3', T);
    const errors = s.messages.filter((m) => m.type === 'error');
    expect(errors.map((m) => m.code)).toEqual([ErrorCode.MALFORMED_DATA, ErrorCode.PROTOCOL_ERROR, ErrorCode.PROTOCOL_ERROR]);
    expect(errors[0]!.message).toContain('message 1 of the array frame');
    const stats = server.getStats();
    expect(stats.relayed).toBe(2);
    expect((stats.errors[ErrorCode.MALFORMED_DATA] ?? 0) - (errorsBefore[ErrorCode.MALFORMED_DATA] ?? 0)).toBe(1);
    expect((stats.errors[ErrorCode.PROTOCOL_ERROR] ?? 0) - (errorsBefore[ErrorCode.PROTOCOL_ERROR] ?? 0)).toBe(2);
  });

  it(`an array of more than ${MAX_BATCH_MESSAGES} messages is refused whole`, async () => {
    const { s, r, rid, server } = await pair(true, { rateLimit: { messages: 1000, windowMs: 60_000 } });
    s.send(Array.from({ length: MAX_BATCH_MESSAGES + 1 }, (_, i) => cand(rid, i)));
    expect(await s.next((m) => m.type === 'error')).toMatchObject({ code: ErrorCode.PROTOCOL_ERROR });
    expect(server.getStats().relayed).toBe(0);
    s.send([cand(rid, 1)]); // the socket still works
    await waitUntil(() => candidatesOf(r).length === 1, 'candidatesOf(r).length === 1', T);
  });

  it('a client that did not announce 4 cannot send an array frame (as before)', async () => {
    const { url, server } = await startServer();
    const s = await raw(url);
    s.send({ type: 'join', lobby: 'old' });
    await s.next((m) => m.type === 'joined');
    s.send([{ type: 'seal' }]);
    expect(await s.next((m) => m.type === 'error')).toMatchObject({ code: ErrorCode.MALFORMED_DATA });
    expect(server.getStats().lobbies).toBe(1);
    expect(s.messages.some((m) => m.type === 'sealed')).toBe(false);
  });

  it('the WebSocket client announces 4 and takes array frames message by message', async () => {
    const { url } = await startServer();
    const s = await raw(v4(url));
    s.send({ type: 'join', lobby: 'real' });
    await s.next((m) => m.type === 'joined');
    const c = client(url);
    const { id } = await c.join({ lobby: 'real' });
    const got: string[] = [];
    c.on('candidate', (from, _mid, _index, candidate) => {
      if (from === 1) got.push(candidate);
    });
    const sent = Array.from({ length: 6 }, (_, i) => cand(id, i));
    s.send(sent);
    await waitUntil(() => got.length === 6, 'got.length === 6', T);
    expect(got).toEqual(sent.map((m) => m.candidate));
    // And it still speaks to the sender: its own frames are single messages.
    c.sendCandidate(1, '0', 0, 'candidate:back');
    expect(await s.next((m) => m.type === 'candidate')).toMatchObject({ from: id, candidate: 'candidate:back' });
  });
});

describe('array frame helpers', () => {
  it('announceProtocol adds the query parameter once, keeping query and fragment', () => {
    expect(announceProtocol('ws://h:1')).toBe('ws://h:1?rtcmesh=4');
    expect(announceProtocol('ws://h:1/p?a=1#f')).toBe('ws://h:1/p?a=1&rtcmesh=4#f');
    expect(announceProtocol('ws://h:1/?rtcmesh=4')).toBe('ws://h:1/?rtcmesh=4');
    expect(announcedVersion('/p?a=1&rtcmesh=4')).toBe(4);
    expect(announcedVersion('/p?rtcmesh=x')).toBe(0);
    expect(announcedVersion('/p')).toBe(0);
  });

  it('splitArrayText returns each element as written', () => {
    // Escaped quotes inside strings, and strings ending in an escaped backslash (the quote after it closes the string).
    const elements = ['{"a":"x,]}\\"["}', ' [1,[2,3]] ', '"s"', '{"b":{"c":[{}]}}', '{"a":"x\\\\","b":"],\\\\\\"["}', '"\\\\"'];
    for (const e of elements) JSON.parse(e);
    expect(splitArrayText(`[${elements.join(',')}]`)).toEqual(elements);
    expect(splitArrayText('[ ]')).toEqual([]);
    expect(utf8Length('aé😀')).toBe(Buffer.byteLength('aé😀'));
  });

  it('the server splits what waits into array frames of at most MAX_BATCH_CHARS', () => {
    const big = (i: number) => JSON.stringify({ type: 'offer', from: i, sdp: 'x'.repeat(MAX_BATCH_CHARS / 2 - 100) });
    const texts = [big(1), big(2), big(3), '{"type":"sealed"}'];
    const frames = batchFrames(texts);
    expect(frames).toHaveLength(2);
    expect(frames.every((f) => f.length <= MAX_BATCH_CHARS)).toBe(true);
    expect(frames.flatMap((f) => JSON.parse(f) as unknown[])).toEqual(texts.map((t) => JSON.parse(t)));
    expect(batchFrames(['{"type":"sealed"}'])).toEqual(['{"type":"sealed"}']);
  });

  it('encodes array frames straight into WebSocket frames, byte for byte as the joined texts would be', () => {
    const big = (i: number, n: number) => JSON.stringify({ type: 'offer', from: i, sdp: 'é€'.repeat(n) });
    const cases: string[][] = [
      ['{"type":"sealed"}'],
      ['{"type":"sealed"}', '{"type":"peer_joined","id":2}'],
      [big(1, 10), big(2, 70), big(3, 40_000)], // 7-bit, 16-bit and 64-bit lengths, multi-byte text
      [big(1, MAX_BATCH_CHARS / 4), big(2, MAX_BATCH_CHARS / 4), big(3, MAX_BATCH_CHARS / 4), '{"type":"sealed"}'], // split in several array frames
      Array.from({ length: 300 }, (_, i) => big(i, i)),
    ];
    for (const texts of cases) expect(encodeArrayFrames(texts).equals(encodeTextFrames(batchFrames(texts)))).toBe(true);
  });

  it('parseServerFrame validates each message of an array frame', () => {
    const results = parseServerFrame('[{"type":"sealed"},{"type":"peer_joined","id":0},{"type":"future"}]');
    expect(results.map((r) => r.ok)).toEqual([true, false, false]);
    expect(results[2]).toMatchObject({ unknown: true });
  });
});
