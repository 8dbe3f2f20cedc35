/**
 * `refuse` (protocol 5): a peer tells another member it sees that it refused
 * their link. The server relays it like offers and candidates — only within
 * a lobby, only to a peer the sender sees, sender stamped, counted and
 * rate-limited — and drops malformed ones with an error and a strike. The
 * client sends it only to servers announcing 5, and swallows the error an
 * answered refusal may get (the refused peer left meanwhile).
 */
import { WebSocketServer } from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, client, raw, startServer, waitForEvent, type Raw } from './helpers.js';
import {
  ErrorCode,
  MemorySignalingBus,
  PROTOCOL_VERSION,
  REFUSE_PROTOCOL_VERSION,
  parseServerMessage,
  validateClientMessage,
  type MemorySignalingClient,
  type RtcmeshError,
} from '../api.js';

afterEach(cleanup);

async function joinedRaw(url: string, lobby: string, mode?: string): Promise<{ r: Raw; id: number; version: number }> {
  const r = await raw(url);
  r.send(mode ? { type: 'join', lobby, mode } : { type: 'join', lobby });
  const joined = await r.next((m) => m.type === 'joined');
  return { r, id: joined.id as number, version: joined.version as number };
}

describe('refuse: the wire shape', () => {
  it('client → server: to (a peer id) and an optional code of UNAUTHORIZED / INVALID_PEER; nothing else', () => {
    expect(validateClientMessage({ type: 'refuse', to: 5 })).toMatchObject({ ok: true });
    expect(validateClientMessage({ type: 'refuse', to: 5, code: 'UNAUTHORIZED' })).toMatchObject({ ok: true });
    expect(validateClientMessage({ type: 'refuse', to: 5, code: 'INVALID_PEER' })).toMatchObject({ ok: true });
    for (const bad of [
      { type: 'refuse' },
      { type: 'refuse', to: 0 },
      { type: 'refuse', to: '5' },
      { type: 'refuse', to: 5, code: 'TIMEOUT' },
      { type: 'refuse', to: 5, code: 'X'.repeat(10_000) },
      { type: 'refuse', to: 5, from: 2 },
      { type: 'refuse', to: 5, reason: 'x' },
    ]) {
      expect(validateClientMessage(bad), JSON.stringify(bad).slice(0, 80)).toMatchObject({ ok: false, code: ErrorCode.PROTOCOL_ERROR });
    }
  });

  it('server → client: from is a peer id; extra fields and unknown codes are tolerated (a newer server or peer)', () => {
    expect(parseServerMessage(JSON.stringify({ type: 'refuse', from: 3, code: 'UNAUTHORIZED', to: 4 }))).toMatchObject({ ok: true });
    expect(parseServerMessage(JSON.stringify({ type: 'refuse', from: 3, code: 'SOMETHING_NEW' }))).toMatchObject({ ok: true });
    expect(parseServerMessage(JSON.stringify({ type: 'refuse', from: 0 }))).toMatchObject({ ok: false });
    expect(parseServerMessage(JSON.stringify({ type: 'refuse', from: 3, code: 7 }))).toMatchObject({ ok: false });
    expect(PROTOCOL_VERSION).toBeGreaterThanOrEqual(REFUSE_PROTOCOL_VERSION);
  });
});

describe('refuse: the server relays it within a lobby, to a visible peer', () => {
  it('mesh lobby: relayed with the sender stamped and counted; never to another lobby, an unknown id or oneself; a malformed one is dropped with an error and a strike', async () => {
    const { url, server } = await startServer({ maxStrikes: 20 });
    const a = await joinedRaw(url, 'room');
    const b = await joinedRaw(url, 'room');
    const other = await joinedRaw(url, 'elsewhere');
    expect(a.version).toBe(PROTOCOL_VERSION);

    const before = server.getStats().relayed;
    a.r.send({ type: 'refuse', to: b.id, code: 'UNAUTHORIZED' });
    const got = await b.r.next((m) => m.type === 'refuse');
    expect(got).toMatchObject({ type: 'refuse', from: a.id, code: 'UNAUTHORIZED' });
    expect(server.getStats().relayed).toBe(before + 1);

    // The other lobby's peer, an id never seen, oneself: INVALID_PEER answered to the sender (ref refuse), nothing relayed.
    for (const to of [other.id, 2_000_000_000, a.id]) {
      const mark = a.r.messages.length;
      a.r.send({ type: 'refuse', to });
      const err = await a.r.next((m) => m.type === 'error', mark);
      expect(err).toMatchObject({ code: ErrorCode.INVALID_PEER, ref: 'refuse' });
    }
    // Malformed: an unknown code, a smuggled from, an oversized field.
    const errorsBefore = server.getStats().errors[ErrorCode.PROTOCOL_ERROR] ?? 0;
    for (const bad of [
      { type: 'refuse', to: b.id, code: 'NOPE' },
      { type: 'refuse', to: b.id, from: 9 },
      { type: 'refuse', to: b.id, note: 'x'.repeat(5000) },
    ]) {
      const mark = a.r.messages.length;
      a.r.send(bad);
      expect(await a.r.next((m) => m.type === 'error', mark)).toMatchObject({ code: ErrorCode.PROTOCOL_ERROR });
    }
    expect(server.getStats().errors[ErrorCode.PROTOCOL_ERROR]).toBe(errorsBefore + 3);
    // b got the one good refusal, and the peer in the other lobby none.
    a.r.send({ type: 'refuse', to: b.id });
    await b.r.next((m) => m.type === 'refuse' && m.code === undefined);
    expect(b.r.messages.filter((m) => m.type === 'refuse')).toHaveLength(2);
    expect(other.r.messages.filter((m) => m.type === 'refuse')).toEqual([]);
    expect(server.getStats().relayed).toBe(before + 2);
  });

  it('client_server lobby: the host and a client refuse each other; a client cannot refuse another client (it does not see it)', async () => {
    const { url } = await startServer();
    const host = await joinedRaw(url, 'cs', 'client_server');
    const c1 = await joinedRaw(url, 'cs');
    const c2 = await joinedRaw(url, 'cs');
    host.r.send({ type: 'refuse', to: c1.id });
    expect(await c1.r.next((m) => m.type === 'refuse')).toMatchObject({ from: 1 });
    c2.r.send({ type: 'refuse', to: 1 });
    expect(await host.r.next((m) => m.type === 'refuse')).toMatchObject({ from: c2.id });
    c2.r.send({ type: 'refuse', to: c1.id });
    expect(await c2.r.next((m) => m.type === 'error')).toMatchObject({ code: ErrorCode.INVALID_PEER, ref: 'refuse' });
    // c1's next message is the host's ping-pong marker, not a refusal from c2.
    host.r.send({ type: 'offer', to: c1.id, sdp: 'marker' });
    await c1.r.next((m) => m.type === 'offer');
    expect(c1.r.messages.filter((m) => m.type === 'refuse')).toHaveLength(1);
  });

  it('is rate-limited like any message: past the limit it is dropped and reported', async () => {
    const { url, server } = await startServer({ rateLimit: { messages: 5, windowMs: 60_000 } });
    const a = await joinedRaw(url, 'rl');
    const b = await joinedRaw(url, 'rl');
    // The join counted as one message of a's window: four refusals pass, the fifth and sixth are dropped.
    for (let i = 0; i < 6; i++) a.r.send({ type: 'refuse', to: b.id });
    expect(await a.r.next((m) => m.type === 'error')).toMatchObject({ code: ErrorCode.RATE_LIMITED });
    await b.r.next((m) => m.type === 'refuse' && b.r.messages.filter((x) => x.type === 'refuse').length === 4);
    expect(server.getStats().relayed).toBe(4);
  });
});

describe('refuse: the client', () => {
  it('emits refused(from, code) (an unknown code reads as UNAUTHORIZED); swallows the error a refusal of a departed peer gets', async () => {
    const { url } = await startServer();
    const a = client(url);
    const b = client(url);
    const ja = await a.join({ lobby: 'cl' });
    const jb = await b.join({ lobby: 'cl' });
    const got = waitForEvent<[number, string]>(b, 'refused');
    expect(a.refuse(jb.id)).toBe(true);
    expect(await got).toEqual([ja.id, 'UNAUTHORIZED']);
    const got2 = waitForEvent<[number, string]>(b, 'refused');
    expect(a.refuse(jb.id, 'INVALID_PEER')).toBe(true);
    expect(await got2).toEqual([ja.id, 'INVALID_PEER']);
    expect(() => a.refuse(jb.id, 'NOPE' as never)).toThrow(/refuse code/);
    expect(() => a.refuse(0)).toThrow(/refuse to/);

    // b leaves; a refuses it again (a race the mesh can meet): the server answers INVALID_PEER (ref refuse), not emitted.
    const left = waitForEvent<[number]>(a, 'peer_left');
    b.leave();
    await left;
    const errors: RtcmeshError[] = [];
    a.on('error', (e) => errors.push(e));
    expect(a.refuse(jb.id)).toBe(true);
    // An offer to the departed peer afterwards gets the same answer, emitted: the refusal's answer came first and was swallowed.
    const offerError = waitForEvent<[RtcmeshError]>(a, 'error');
    a.sendDescription(jb.id, 'offer', 'late');
    expect((await offerError)[0].code).toBe(ErrorCode.INVALID_PEER);
    expect(errors).toHaveLength(1);
  });

  it('sends nothing to a server older than protocol 5 (it would answer an unknown type with an error and a strike)', async () => {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
    const frames: string[] = [];
    wss.on('connection', (ws) => {
      ws.on('message', (data) => {
        const text = data.toString();
        frames.push(text);
        const m = JSON.parse(text) as { type: string };
        if (m.type === 'join') {
          ws.send(JSON.stringify({ type: 'joined', lobby: 'old', id: 2, mode: 'mesh', peers: [3], token: 't', resumed: false, sealed: false, version: 4 }));
        }
      });
    });
    try {
      const port = (wss.address() as { port: number }).port;
      const c = client(`ws://127.0.0.1:${port}`);
      await c.join({ lobby: 'old' });
      expect(c.refuse(3)).toBe(false);
      // A probe (protocol 2) does go out: the link works, and nothing was sent before it but the join.
      expect(c.probe(3)).toBe(true);
      await new Promise<void>((resolve) => {
        const check = () => (frames.length >= 2 ? resolve() : setImmediate(check));
        check();
      });
      expect(frames.map((f) => (JSON.parse(f) as { type: string }).type)).toEqual(['join', 'probe']);
      c.close();
    } finally {
      for (const ws of wss.clients) ws.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    }
  });

  it('the in-memory bus relays it too', async () => {
    const bus = new MemorySignalingBus();
    try {
      const a: MemorySignalingClient = bus.createClient();
      const b: MemorySignalingClient = bus.createClient();
      const ja = await a.join({ lobby: 'mem' });
      const jb = await b.join({ lobby: 'mem' });
      const got = waitForEvent<[number, string]>(b, 'refused');
      expect(a.refuse(jb.id)).toBe(true);
      expect(await got).toEqual([ja.id, 'UNAUTHORIZED']);
      expect(bus.getStats().relayed).toBe(1);
    } finally {
      bus.close();
    }
  });
});
