/**
 * The host role (protocol 3) over the real WebSocket server on loopback: a
 * host join takes id 1, a second one gets HOST_TAKEN; join-only joiners fail
 * or wait for the host and never become 1; a host whose process died (socket
 * dropped, resume token lost) reclaims id 1 with its key within the grace,
 * and its clients see it attached again, as restarted, keeping their ids.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { runServe } from '../../src/cli/serve.js';
import { ErrorCode, PROTOCOL_VERSION, isRtcmeshError } from '../api.js';
import { cleanup, client, raw, startServer, waitForEvent, waitUntil } from './helpers.js';

afterEach(cleanup);

const KEY = 'host-key-0123456789';

/** The error code a rejected promise carries. */
async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return isRtcmeshError(err) ? err.code : `not an RtcmeshError: ${String(err)}`;
  }
  return 'resolved';
}

describe('host role', () => {
  it('a host join takes id 1; a second host join gets HOST_TAKEN; a client gets another id', async () => {
    const { url } = await startServer();
    const host = client(url);
    const r = await host.join({ lobby: 'h1', mode: 'client_server', host: true, hostKey: KEY });
    expect(r).toMatchObject({ id: 1, mode: 'client_server', peers: [] });
    expect(r.reclaimed).toBeUndefined();
    const joined = waitForEvent<[number]>(host, 'peer_joined');
    const c = await client(url).join({ lobby: 'h1', create: false });
    expect(c.id).not.toBe(1);
    expect(c.peers).toEqual([1]);
    expect(await joined).toEqual([c.id]);
    expect(await codeOf(client(url).join({ lobby: 'h1', host: true, hostKey: KEY }))).toBe(ErrorCode.HOST_TAKEN);
    expect(await codeOf(client(url).join({ lobby: 'h1', host: true }))).toBe(ErrorCode.HOST_TAKEN); // live host: taken, whatever the key
  });

  it('a joiner before the host: join-only fails with LOBBY_NOT_FOUND, or waits and is admitted when the host comes, never as 1', async () => {
    const { url, server } = await startServer();
    expect(await codeOf(client(url).join({ lobby: 'h2', create: false }))).toBe(ErrorCode.LOBBY_NOT_FOUND);
    expect(await codeOf(client(url).join({ lobby: 'h2', mode: 'client_server', waitForHostMs: 50 }))).toBe(ErrorCode.LOBBY_NOT_FOUND);
    expect(server.getStats().lobbies).toBe(0);

    const waiter = client(url);
    const waiting = waiter.join({ lobby: 'h2', mode: 'client_server', waitForHostMs: 20_000 });
    await waitUntil(() => server.getStats().waitingForHost === 1, 'the join is held');
    expect(server.getStats().lobbies).toBe(0);
    const host = client(url);
    const arrived = waitForEvent<[number]>(host, 'peer_joined');
    expect((await host.join({ lobby: 'h2', mode: 'client_server', host: true })).id).toBe(1);
    const w = await waiting;
    expect(w.id).not.toBe(1);
    expect(w).toMatchObject({ mode: 'client_server', peers: [1] });
    expect(await arrived).toEqual([w.id]);
    expect(server.getStats().waitingForHost).toBe(0);
  });

  it('clientServerJoinOnly: a plain join never creates a client_server lobby; mesh lobbies are still created by their first joiner', async () => {
    const { url } = await startServer({ clientServerJoinOnly: true });
    expect(await codeOf(client(url).join({ lobby: 'h3', mode: 'client_server' }))).toBe(ErrorCode.LOBBY_NOT_FOUND);
    expect((await client(url).join({ lobby: 'h3m' })).id).toBe(1);
    expect((await client(url).join({ lobby: 'h3', mode: 'client_server', host: true })).id).toBe(1);
    expect((await client(url).join({ lobby: 'h3', mode: 'client_server' })).id).not.toBe(1);
  });

  it('a host whose socket died (token lost) reclaims id 1 with its key within the grace; clients see it detached, then attached as restarted, and keep their ids', async () => {
    const { url, server } = await startServer({ resumeGraceMs: 10_000 });
    // The first host process: a raw socket, so it can die without a goodbye and without resuming.
    const first = await raw(url);
    first.send({ type: 'join', lobby: 'h4', mode: 'client_server', host: true, hostKey: KEY });
    expect((await first.next((m) => m.type === 'joined')).id).toBe(1);
    const c = client(url);
    const { id } = await c.join({ lobby: 'h4' });
    const seen: string[] = [];
    for (const e of ['peer_detached', 'peer_attached', 'peer_restarted', 'peer_left'] as const) c.on(e, (p: number) => seen.push(`${e}:${p}`));

    const detached = waitForEvent(c, 'peer_detached');
    first.ws.terminate();
    await detached;
    // Sent while the host is away: queued for the dead process, dropped at the reclaim.
    c.sendDescription(1, 'offer', 'stale-offer');
    await waitUntil(() => server.getStats().relayed === 1, 'the stale offer is queued');

    // Wrong or missing key: refused; the lobby still waits for its host.
    expect(await codeOf(client(url).join({ lobby: 'h4', host: true, hostKey: 'not-the-key' }))).toBe(ErrorCode.UNAUTHORIZED);
    expect(await codeOf(client(url).join({ lobby: 'h4', host: true }))).toBe(ErrorCode.UNAUTHORIZED);

    const second = client(url);
    const descriptions: string[] = [];
    second.on('description', (from, _type, sdp) => descriptions.push(`${from}:${sdp}`));
    const restarted = waitForEvent(c, 'peer_restarted');
    const r = await second.join({ lobby: 'h4', mode: 'client_server', host: true, hostKey: KEY });
    expect(r).toMatchObject({ id: 1, reclaimed: true, peers: [id] });
    await restarted;
    expect(seen).toEqual(['peer_detached:1', 'peer_attached:1', 'peer_restarted:1']);
    expect(c.id).toBe(id);
    // The client signals the new host process; only what it sent after the reclaim arrives.
    const got = waitForEvent(second, 'description');
    c.sendDescription(1, 'offer', 'fresh-offer');
    await got;
    expect(descriptions).toEqual([`${id}:fresh-offer`]);
    expect(server.getStats().relayDropped).toBe(1);
    expect(server.getStats().lobbies).toBe(1);
  });

  it('a host without a key that drops cannot be replaced within its grace (HOST_TAKEN); the lobby closes when the grace ends', async () => {
    const { url } = await startServer({ resumeGraceMs: 1500 });
    const first = await raw(url);
    first.send({ type: 'join', lobby: 'h5', mode: 'client_server', host: true });
    await first.next((m) => m.type === 'joined');
    const c = client(url);
    await c.join({ lobby: 'h5' });
    const detached = waitForEvent(c, 'peer_detached');
    first.ws.terminate();
    await detached;
    const closed = waitForEvent<[string]>(c, 'closed');
    expect(await codeOf(client(url).join({ lobby: 'h5', host: true }))).toBe(ErrorCode.HOST_TAKEN);
    expect((await closed)[0]).toMatch(/host left/);
  });

  it('the server host key: host joins must carry it; the authorize hook sees host and hostKey', async () => {
    const requests: { host: boolean; hostKey?: string }[] = [];
    const { url } = await startServer({
      hostKey: KEY,
      authorize: (req) => {
        requests.push({ host: req.host, ...(req.hostKey !== undefined ? { hostKey: req.hostKey } : {}) });
        return true;
      },
    });
    expect(await codeOf(client(url).join({ lobby: 'h6', host: true }))).toBe(ErrorCode.UNAUTHORIZED);
    expect(await codeOf(client(url).join({ lobby: 'h6', host: true, hostKey: 'wrong-key-123' }))).toBe(ErrorCode.UNAUTHORIZED);
    expect((await client(url).join({ lobby: 'h6', host: true, hostKey: KEY })).id).toBe(1);
    expect((await client(url).join({ lobby: 'h6' })).id).not.toBe(1);
    expect(requests).toEqual([{ host: true, hostKey: KEY }, { host: false }]);
  });

  it('protocol fields are validated: by the client before sending, by the server on the wire', async () => {
    const { url } = await startServer();
    const c = client(url);
    expect(await codeOf(c.join({ lobby: 'h7', host: true, create: false }))).toBe(ErrorCode.INVALID_ARGUMENT);
    expect(await codeOf(c.join({ lobby: 'h7', waitForHostMs: -1 }))).toBe(ErrorCode.INVALID_ARGUMENT);
    expect(await codeOf(c.join({ lobby: 'h7', hostKey: '' }))).toBe(ErrorCode.INVALID_ARGUMENT);
    const r = await raw(url);
    r.send({ type: 'join', lobby: 'h7', host: 'yes' });
    expect(await r.next((m) => m.type === 'error')).toMatchObject({ code: ErrorCode.PROTOCOL_ERROR });
    r.send({ type: 'join', lobby: 'h7', waitForHostMs: 1.5 });
    expect(await r.next((m) => m.type === 'error', 1)).toMatchObject({ code: ErrorCode.PROTOCOL_ERROR });
    r.send({ type: 'join', lobby: 'h7', host: true, waitForHostMs: 10 });
    expect(await r.next((m) => m.type === 'error', 2)).toMatchObject({ code: ErrorCode.PROTOCOL_ERROR });
    r.send({ type: 'join', lobby: 'h7', host: true });
    expect(await r.next((m) => m.type === 'joined')).toMatchObject({ id: 1, version: PROTOCOL_VERSION });
  });

  it('rtcmesh serve --host-key and --client-server-join-only', async () => {
    const lines: string[] = [];
    let stop!: (why: string) => void;
    const done = runServe(['--port', '0', '--host', '127.0.0.1', '--host-key', KEY, '--client-server-join-only'], {
      out: (l) => lines.push(l),
      stop: new Promise<string>((r) => (stop = r)),
    });
    await waitUntil(() => lines.some((l) => l.includes('listening on')), 'listening line');
    const url = /listening on (ws:\/\/\S+)/.exec(lines.join('\n'))![1]!;
    expect(await codeOf(client(url).join({ lobby: 'cli', mode: 'client_server' }))).toBe(ErrorCode.LOBBY_NOT_FOUND);
    expect(await codeOf(client(url).join({ lobby: 'cli', mode: 'client_server', host: true, hostKey: 'wrong-key-123' }))).toBe(ErrorCode.UNAUTHORIZED);
    expect((await client(url).join({ lobby: 'cli', mode: 'client_server', host: true, hostKey: KEY })).id).toBe(1);
    expect((await client(url).join({ lobby: 'cli' })).id).not.toBe(1);
    await cleanup();
    stop('test');
    await done;
    expect(lines.some((l) => / client_error .*code=LOBBY_NOT_FOUND/.test(l))).toBe(true);
  });
});
