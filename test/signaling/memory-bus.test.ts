import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode, MemorySignalingBus, isRtcmeshError, type RtcmeshError } from '../api.js';
import { waitForEvent } from './helpers.js';

let bus: MemorySignalingBus | undefined;
afterEach(() => bus?.close());

describe('MemorySignalingBus', () => {
  it('has the same join, relay and leave behaviour as the WebSocket server', async () => {
    bus = new MemorySignalingBus();
    const a = bus.createClient();
    const b = bus.createClient();
    expect(await a.join({ lobby: 'mem' })).toEqual({ lobby: 'mem', id: 1, mode: 'mesh', peers: [] });
    const seen = waitForEvent<[number]>(a, 'peer_joined');
    const rb = await b.join({ lobby: 'mem' });
    expect(rb.id).toBeGreaterThanOrEqual(2);
    expect(rb.peers).toEqual([1]);
    expect((await seen)[0]).toBe(rb.id);

    const got = waitForEvent<[number, string, string]>(b, 'description');
    a.sendDescription(rb.id, 'offer', 'v=0');
    expect(await got).toEqual([1, 'offer', 'v=0']);
    const cand = waitForEvent<[number, string, number, string]>(a, 'candidate');
    b.sendCandidate(1, 'data', 3, 'candidate:x');
    expect(await cand).toEqual([rb.id, 'data', 3, 'candidate:x']);

    const left = waitForEvent<[number]>(a, 'peer_left');
    b.leave();
    expect((await left)[0]).toBe(rb.id);
    expect(bus.getStats()).toMatchObject({ lobbies: 1, peers: 1, relayed: 2 });
  });

  it('client_server visibility and errors as on the server', async () => {
    bus = new MemorySignalingBus({ maxPeersPerLobby: 3 });
    const host = bus.createClient();
    await host.join({ lobby: 'cs', mode: 'client_server' });
    const c1 = bus.createClient();
    const c2 = bus.createClient();
    const r1 = await c1.join({ lobby: 'cs' });
    const r2 = await c2.join({ lobby: 'cs' });
    expect(r2.peers).toEqual([1]);
    const err = waitForEvent<[RtcmeshError]>(c2, 'error');
    c2.sendDescription(r1.id, 'offer', 'x');
    expect((await err)[0].code).toBe(ErrorCode.INVALID_PEER);
    const full = await bus.createClient().join({ lobby: 'cs' }).catch((e: unknown) => e);
    expect(isRtcmeshError(full, ErrorCode.LOBBY_FULL)).toBe(true);
  });

  it('interrupt(): the client resumes with its id and nobody sees it leave', async () => {
    bus = new MemorySignalingBus();
    const a = bus.createClient();
    const b = bus.createClient();
    await a.join({ lobby: 'blip' });
    const { id } = await b.join({ lobby: 'blip' });
    let left = false;
    a.on('peer_left', () => (left = true));
    const resumed = waitForEvent(b, 'resumed');
    bus.interrupt(b);
    await resumed;
    expect(b.id).toBe(id);
    const got = waitForEvent<[number, string, string]>(a, 'description');
    b.sendDescription(1, 'answer', 'still here');
    expect(await got).toEqual([id, 'answer', 'still here']);
    expect(left).toBe(false);
  });

  it('close() tells clients and releases everything', async () => {
    bus = new MemorySignalingBus();
    const a = bus.createClient();
    await a.join();
    const closed = waitForEvent<[string]>(a, 'closed');
    bus.close('done');
    expect((await closed)[0]).toBe('server shut down: done');
    expect(bus.getStats()).toMatchObject({ connections: 0, lobbies: 0 });
    await expect(bus.createClient().join()).rejects.toMatchObject({ code: ErrorCode.CLOSED });
  });

  it('the authorize hook is asked again on resume, with the id and the same auth', async () => {
    const calls: { resume: boolean; id?: number; auth: unknown }[] = [];
    bus = new MemorySignalingBus({
      authorize: (req) => {
        calls.push({ resume: req.resume, ...(req.id !== undefined ? { id: req.id } : {}), auth: req.auth });
        return true;
      },
    });
    const a = bus.createClient();
    const { id } = await a.join({ lobby: 'auth', auth: { token: 't' } });
    const resumed = waitForEvent(a, 'resumed');
    bus.interrupt(a);
    await resumed;
    expect(calls).toEqual([
      { resume: false, auth: { token: 't' } },
      { resume: true, id, auth: { token: 't' } },
    ]);
  });

  it('client_server: only the host hears a client leave', async () => {
    bus = new MemorySignalingBus();
    const host = bus.createClient();
    await host.join({ lobby: 'cs-left', mode: 'client_server' });
    const c1 = bus.createClient();
    const c2 = bus.createClient();
    await c1.join({ lobby: 'cs-left' });
    const { id: id2 } = await c2.join({ lobby: 'cs-left' });
    const heard: number[] = [];
    c1.on('peer_left', (id) => heard.push(id));
    const hostHeard = waitForEvent<[number]>(host, 'peer_left');
    c2.leave();
    expect((await hostHeard)[0]).toBe(id2);
    // c1 is told nothing; prove the lobby is still live for it by a round trip through the host.
    const got = waitForEvent<[number, string, string]>(c1, 'description');
    host.sendDescription(c1.id!, 'offer', 'ping');
    await got;
    expect(heard).toEqual([]);
  });
});

