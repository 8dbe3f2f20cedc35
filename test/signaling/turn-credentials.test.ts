/**
 * TURN credentials from the lobby (issue #14), without a TURN server: the
 * coturn credential helper, the server's `turn` option, `iceServers` in every
 * `joined` answer and the `ice_servers` refresh, over a real SignalingServer.
 */
import { afterEach, expect, it } from 'vitest';
import { SignalingServer, WebSocketSignalingClient, isRtcmeshError, turnCredential, type SignalingIceServer } from '../api.js';
import { waitForEvent } from '../helpers.js';

const SECRET = 's3cret';
const closers: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

async function serve(ttlSeconds: number): Promise<string> {
  const server = new SignalingServer({ pingIntervalMs: 0, turn: { secret: SECRET, urls: ['turn:127.0.0.1:3478?transport=udp'], ttlSeconds } });
  closers.push(() => server.close());
  return (await server.listen({ port: 0, host: '127.0.0.1' })).url;
}

function client(url: string): WebSocketSignalingClient {
  const c = new WebSocketSignalingClient(url);
  closers.push(() => c.close());
  return c;
}

it('makes coturn use-auth-secret credentials: <expiry>:<user>, base64(HMAC-SHA1(secret, username))', () => {
  // Reference value from: echo -n "1700000000:lobby:2" | openssl dgst -sha1 -hmac s3cret -binary | base64
  const c = turnCredential(SECRET, 'lobby:2', 1000, 1_699_999_000_000);
  expect(c).toEqual({ username: '1700000000:lobby:2', credential: 'zkn37XS2RX711ZMiiirCR7AflsM=', expiresAt: 1_700_000_000 });
  expect(turnCredential(SECRET, undefined, -60, 1_700_000_000_000).username).toBe('1699999940');
  expect(() => turnCredential('', 'x', 10)).toThrow(/secret/);
});

it('refuses bad turn options with a message naming the field', () => {
  const bad = (turn: unknown) => {
    try {
      new SignalingServer({ turn } as never);
    } catch (err) {
      expect(isRtcmeshError(err)).toBe(true);
      return (err as Error).message;
    }
    return 'accepted';
  };
  expect(bad({ secret: '', urls: ['turn:h:1'] })).toMatch(/turn\.secret/);
  expect(bad({ secret: 'x', urls: [] })).toMatch(/turn\.urls/);
  expect(bad({ secret: 'x', urls: ['http://h'] })).toMatch(/turn\.urls\[0\]/);
  expect(bad({ secret: 'x', urls: ['turn:h:1'], ttlSeconds: 1 })).toMatch(/ttlSeconds/);
  expect(bad({ secret: 'x', urls: ['turn:h:1'], extra: 1 })).toMatch(/extra/);
});

it('every joined answer carries fresh credentials for <lobby>:<id>; resumes and the periodic ice_servers refresh do too', async () => {
  const url = await serve(2); // refresh every second
  const a = client(url);
  const joined = await a.join({});
  const ice = joined.iceServers!;
  expect(ice).toHaveLength(1);
  expect(ice[0]!.urls).toEqual(['turn:127.0.0.1:3478?transport=udp']);
  const [expiry, lobby, id] = ice[0]!.username!.split(':');
  expect(lobby).toBe(joined.lobby);
  expect(Number(id)).toBe(joined.id);
  const nowS = Math.floor(Date.now() / 1000);
  expect(Number(expiry)).toBeGreaterThan(nowS - 5);
  expect(Number(expiry)).toBeLessThanOrEqual(nowS + 2);
  expect(ice[0]!.credential).toBe(turnCredential(SECRET, `${joined.lobby}:${joined.id}`, 0, Number(expiry) * 1000).credential);

  const b = client(url);
  const jb = await b.join({ lobby: joined.lobby });
  expect(jb.iceServers![0]!.username).toMatch(new RegExp(`^\\d+:${joined.lobby}:${jb.id}$`));

  const [refreshed] = await waitForEvent<[SignalingIceServer[]]>(a, 'ice_servers', () => true, 10_000);
  expect(refreshed[0]!.username).toMatch(new RegExp(`^\\d+:${joined.lobby}:${joined.id}$`));
  expect(refreshed[0]!.credential).toBe(turnCredential(SECRET, `${joined.lobby}:${joined.id}`, 0, Number(refreshed[0]!.username!.split(':')[0]) * 1000).credential);
});

it('a server without turn sends no iceServers', async () => {
  const server = new SignalingServer({ pingIntervalMs: 0 });
  closers.push(() => server.close());
  const url = (await server.listen({ port: 0, host: '127.0.0.1' })).url;
  const joined = await client(url).join({});
  expect(joined.iceServers).toBeUndefined();
});
