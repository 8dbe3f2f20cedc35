import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, client, raw, startServer, waitForEvent, waitUntil, type Raw } from './helpers.js';
import { DEFAULT_CORE_OPTIONS, type WebSocketSignalingClient } from '../api.js';

afterEach(cleanup);

/** Two honest clients in their own lobby; `roundTrip()` proves they still talk. */
async function honestPair(url: string) {
  const a = client(url);
  const b = client(url);
  await a.join({ lobby: 'honest' });
  const { id: bid } = await b.join({ lobby: 'honest' });
  let n = 0;
  const roundTrip = async () => {
    const tag = `sdp-${++n}`;
    const atB = waitForEvent<[number, string, string]>(b, 'description', (_f, _t, sdp) => sdp === tag);
    a.sendDescription(bid, 'offer', tag);
    expect((await atB)[0]).toBe(1);
    const atA = waitForEvent<[number, string, number, string]>(a, 'candidate', (_f, _m, _i, c) => c === tag);
    b.sendCandidate(1, '0', 0, tag);
    expect((await atA)[0]).toBe(bid);
  };
  return { a, b, bid, roundTrip };
}

async function joinedRaw(url: string, lobby: string): Promise<{ r: Raw; id: number }> {
  const r = await raw(url);
  r.send({ type: 'join', lobby });
  const joined = await r.next((m) => m.type === 'joined');
  return { r, id: joined.id as number };
}

describe('a hostile client', () => {
  it('gets typed errors for each kind of bad input, then is closed for repeated abuse, while honest clients keep talking', async () => {
    const { url, server } = await startServer({ maxStrikes: 8 });
    const honest = await honestPair(url);
    await honest.roundTrip();
    const { r } = await joinedRaw(url, 'evil');

    const cases: [unknown, string][] = [
      ['{not json', 'MALFORMED_DATA'],
      [Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x00, 0xff]), 'MALFORMED_DATA'],
      ['[1,2,3]', 'MALFORMED_DATA'],
      [{ type: 'explode' }, 'PROTOCOL_ERROR'],
      [{ type: 'offer', to: 1 }, 'PROTOCOL_ERROR'],
      [{ type: 'candidate', to: 1, mid: '0', index: 'x', candidate: 'c' }, 'PROTOCOL_ERROR'],
      [{ type: 'offer', to: honest.bid, sdp: 'x' }, 'INVALID_PEER'],
    ];
    for (const [frame, code] of cases) {
      const from = r.messages.length;
      r.send(frame);
      expect(await r.next((m) => m.type === 'error', from)).toMatchObject({ code });
      await honest.roundTrip();
    }
    // Eighth strike closes the socket with a policy violation.
    r.send('{still not json');
    expect((await r.closed).code).toBe(1008);
    expect(server.getStats().abuseClosed).toBe(1);
    await honest.roundTrip();
    expect(server.getStats().errors).toMatchObject({ MALFORMED_DATA: 4, PROTOCOL_ERROR: 3, INVALID_PEER: 1 });
  });

  it('cannot spoof the sender: a "from" field is refused, and relays are stamped with its real id', async () => {
    const { url } = await startServer();
    const honest = await honestPair(url);
    // The attacker joins the honest lobby (it is not sealed) and tries to pose as the host.
    const { r, id } = await joinedRaw(url, 'honest');
    r.send({ type: 'offer', to: honest.bid, from: 1, sdp: 'spoof' });
    const err = await r.next((m) => m.type === 'error');
    expect(err.code).toBe('PROTOCOL_ERROR');
    expect(err.message).toMatch(/from/);
    const got = waitForEvent<[number, string, string]>(honest.b, 'description', (_f, _t, sdp) => sdp === 'real');
    r.send({ type: 'offer', to: honest.bid, sdp: 'real' });
    expect((await got)[0]).toBe(id);
    await honest.roundTrip();
  });

  it('cannot reach a peer in another lobby', async () => {
    const { url } = await startServer();
    const honest = await honestPair(url);
    let leaked = false;
    honest.b.on('description', (_f, _t, sdp) => (sdp === 'cross' ? (leaked = true) : undefined));
    const { r } = await joinedRaw(url, 'elsewhere');
    r.send({ type: 'offer', to: honest.bid, sdp: 'cross' });
    expect(await r.next((m) => m.type === 'error')).toMatchObject({ code: 'INVALID_PEER' });
    await honest.roundTrip();
    expect(leaked).toBe(false);
  });

  it('cannot relay before joining', async () => {
    const { url } = await startServer();
    const r = await raw(url);
    r.send({ type: 'candidate', to: 1, mid: '0', index: 0, candidate: 'c' });
    expect(await r.next((m) => m.type === 'error')).toMatchObject({ code: 'INVALID_STATE' });
  });

  it('a frame just over the limit gets PACKET_TOO_LARGE; a 1 MiB frame closes the socket', async () => {
    const { url, server } = await startServer({ maxMessageBytes: 1024 });
    const honest = await honestPair(url);
    const { r } = await joinedRaw(url, 'big');
    r.send({ type: 'offer', to: 1, sdp: 'x'.repeat(1500) });
    expect(await r.next((m) => m.type === 'error')).toMatchObject({ code: 'PACKET_TOO_LARGE' });
    const abuse = waitForEvent<[string, string]>(server, 'abuse_closed');
    r.send('x'.repeat(1024 * 1024));
    expect((await r.closed).code).toBe(1009);
    expect((await abuse)[1]).toMatch(/hard size limit/);
    await honest.roundTrip();
    expect(server.getStats()).toMatchObject({ connections: 2, abuseClosed: 1, errors: { PACKET_TOO_LARGE: 1 } });
  });

  it('a 1 MiB frame with default limits closes the socket without disturbing others', async () => {
    const { url } = await startServer();
    const honest = await honestPair(url);
    const { r } = await joinedRaw(url, 'big2');
    r.send(JSON.stringify({ type: 'offer', to: 1, sdp: 'y'.repeat(1024 * 1024) }));
    expect((await r.closed).code).toBe(1009);
    await honest.roundTrip();
  });

  it('a burst of 10 000 messages is rate limited and the socket closed; others are unaffected', async () => {
    const { url, server } = await startServer({ rateLimit: { messages: 100, windowMs: 60_000 } });
    const honest = await honestPair(url);
    const host = client(url);
    await host.join({ lobby: 'flood' });
    let received = 0;
    host.on('candidate', () => received++);
    const relayedBefore = server.getStats().relayed;
    const { r } = await joinedRaw(url, 'flood');
    for (let i = 0; i < 10_000; i++) r.send({ type: 'candidate', to: 1, mid: '0', index: 0, candidate: `c${i}` });
    expect(await r.next((m) => m.type === 'error')).toMatchObject({ code: 'RATE_LIMITED' });
    expect((await r.closed).code).toBe(1008);
    expect(server.getStats().abuseClosed).toBe(1);
    await honest.roundTrip();
    // Only the 100 frames of the window (its join included) got through.
    expect(server.getStats().relayed - relayedBefore - 2).toBe(99);
    await waitUntil(() => received === 99, 'the host received the admitted candidates');
  });

  it('joining a sealed lobby gets LOBBY_SEALED; a forged resume token gets RESUME_FAILED', async () => {
    const { url } = await startServer();
    const honest = await honestPair(url);
    const sealed = waitForEvent(honest.b, 'sealed');
    honest.a.seal();
    await sealed;
    const r = await raw(url);
    r.send({ type: 'join', lobby: 'honest' });
    expect(await r.next((m) => m.type === 'error')).toMatchObject({ code: 'LOBBY_SEALED', ref: 'join' });
    const from = r.messages.length;
    r.send({ type: 'join', resume: 'eyJsIjoiaG9uZXN0IiwiaSI6MSwibSI6Im1lc2giLCJlIjo5OTk5OTk5OTk5OTk5fQ.forged' });
    expect(await r.next((m) => m.type === 'error', from)).toMatchObject({ code: 'RESUME_FAILED' });
    await honest.roundTrip();
  });

  it('repeated refused joins (double join, full, sealed, unauthorised, bad resume) close the socket after maxJoinRefusals; others are unaffected', async () => {
    const { url, server } = await startServer({
      maxJoinRefusals: 5,
      maxPeersPerLobby: 2,
      sealGraceMs: 60_000,
      authorize: ({ auth }) => auth !== 'wrong',
    });
    const honest = await honestPair(url); // lobby "honest" is now full
    const host = client(url);
    await host.join({ lobby: 'sealed-room' });
    const sealed = waitForEvent(host, 'sealed');
    host.seal();
    await sealed;
    const abuse = waitForEvent<[string, string]>(server, 'abuse_closed');

    const { r } = await joinedRaw(url, 'mine');
    const refused = async (frame: unknown, code: string) => {
      const from = r.messages.length;
      r.send(frame);
      expect(await r.next((m) => m.type === 'error', from)).toMatchObject({ code, ref: 'join' });
    };
    await refused({ type: 'join', lobby: 'other' }, 'INVALID_STATE');
    r.send({ type: 'leave' });
    await honest.roundTrip();
    await refused({ type: 'join', lobby: 'honest' }, 'LOBBY_FULL');
    await honest.roundTrip();
    await refused({ type: 'join', lobby: 'sealed-room' }, 'LOBBY_SEALED');
    await honest.roundTrip();
    await refused({ type: 'join', lobby: 'other', auth: 'wrong' }, 'UNAUTHORIZED');
    expect(r.isClosed()).toBe(false);
    // The fifth refusal is answered, then the socket is closed as abuse.
    await refused({ type: 'join', resume: 'eyJsIjoiaG9uZXN0IiwiaSI6MSwibSI6Im1lc2giLCJlIjo5OTk5OTk5OTk5OTk5fQ.forged' }, 'RESUME_FAILED');
    expect((await r.closed).code).toBe(1008);
    expect((await abuse)[1]).toBe('5 refused joins');
    expect(server.getStats().abuseClosed).toBe(1);
    await honest.roundTrip();
    // The refused peer can come back on a new socket (here: into a lobby that has room).
    const again = await raw(url);
    again.send({ type: 'join', lobby: 'other' });
    expect(await again.next((m) => m.type === 'joined')).toMatchObject({ lobby: 'other', id: 1 });
  });

  it('guessing auth is cut off: a burst of joins gets exactly maxJoinRefusals refusals, then the socket is closed', async () => {
    const secret = 'open-sesame';
    const { url, server } = await startServer({ authorize: async ({ auth }) => auth === secret });
    const a = client(url);
    const b = client(url);
    await a.join({ lobby: 'vault', auth: secret });
    const { id: bid } = await b.join({ lobby: 'vault', auth: secret });
    const r = await raw(url);
    // Pipelined guesses: while one is being authorised, the next ones are refused as double joins; all count.
    for (let i = 0; i < 50; i++) r.send({ type: 'join', lobby: 'vault', auth: `guess-${i}` });
    expect((await r.closed).code).toBe(1008);
    const errors = r.messages.filter((m) => m.type === 'error');
    expect(errors).toHaveLength(DEFAULT_CORE_OPTIONS.maxJoinRefusals);
    expect(errors.every((m) => m.ref === 'join' && (m.code === 'UNAUTHORIZED' || m.code === 'INVALID_STATE'))).toBe(true);
    expect(r.messages.some((m) => m.type === 'joined')).toBe(false);
    expect(server.getStats().peers).toBe(2);
    const got = waitForEvent<[number, string, string]>(b, 'description');
    a.sendDescription(bid, 'offer', 'still here');
    expect(await got).toEqual([1, 'offer', 'still here']);
  });

  it('many hostile sockets at once do not crash the server', async () => {
    const { url, server } = await startServer({ maxStrikes: 3 });
    const honest = await honestPair(url);
    const attackers = await Promise.all(Array.from({ length: 20 }, () => raw(url)));
    for (const [i, r] of attackers.entries()) {
      r.send({ type: 'join', lobby: `a${i % 3}` });
      r.send({ type: 'join', lobby: 'again' });
      r.send('\u0000\u0001');
      r.send({ type: 'candidate', to: 2147483647, mid: '0', index: 0, candidate: 'x' });
      r.send({ type: 'offer', to: 3, sdp: 5 });
      r.send({ type: 'leave' });
      r.send({ type: 'seal' });
    }
    await Promise.all(attackers.map((r) => r.closed));
    await honest.roundTrip();
    expect(server.getStats().connections).toBe(2);
    const extra: WebSocketSignalingClient = client(url);
    await extra.join({ lobby: 'a0' });
  });

  it('cannot resume into a lobby that was closed, nor into a new lobby of the same name', async () => {
    const { url } = await startServer();
    const { r: first } = await joinedRaw(url, 'epoch');
    const token = first.messages.find((m) => m.type === 'joined')!.token as string;
    first.send({ type: 'leave' }); // the lobby is now empty, hence closed
    const a = await raw(url);
    a.send({ type: 'join', resume: token });
    expect(await a.next((m) => m.type === 'error')).toMatchObject({ code: 'RESUME_FAILED', ref: 'join' });
    await joinedRaw(url, 'epoch'); // a new lobby with the same name
    const b = await raw(url);
    b.send({ type: 'join', resume: token });
    expect(await b.next((m) => m.type === 'error')).toMatchObject({ code: 'RESUME_FAILED' });
  });

  it('connections per address can be capped (HTTP 429)', async () => {
    const { url, server } = await startServer({ maxConnectionsPerAddress: 2 });
    await raw(url);
    const second = await raw(url);
    await expect(raw(url)).rejects.toThrow(/429/);
    second.ws.close();
    await second.closed;
    await waitUntil(() => server.getStats().connections === 1, 'the server saw the close');
    await raw(url);
    expect(server.getStats().upgradesRejected).toBe(1);
  });
});
