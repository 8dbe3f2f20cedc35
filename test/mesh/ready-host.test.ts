/**
 * `ready()` over a real signaling server and real node-datachannel on
 * loopback (resolve and reject), and what `Mesh.host` / `Mesh.join` pass to
 * the signaling client's join.
 */
import { EventEmitter } from 'eventemitter3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ErrorCode,
  Mesh,
  RtcmeshError,
  SignalingServer,
  WebSocketSignalingClient,
  type LobbyJoinRequest,
  type LobbyJoinResult,
  type LobbyMultiplayerPeer,
  type LobbySignaling,
  type LobbySignalingEvents,
} from '../api.js';
import { settle } from './mesh-helpers.js';

const connection = { bindAddress: '127.0.0.1' };
let server: SignalingServer;
let url: string;
const meshes: LobbyMultiplayerPeer[] = [];

beforeEach(async () => {
  server = new SignalingServer({ resumeGraceMs: 200, pingIntervalMs: 0 });
  url = (await server.listen({ port: 0, host: '127.0.0.1' })).url;
});
afterEach(async () => {
  for (const m of meshes.splice(0)) m.close();
  await server.close();
});


/** A ws client that silently drops descriptions and candidates to the peers in `blocked`. */
function lossyClient(blocked: Set<number>): WebSocketSignalingClient {
  const client = new WebSocketSignalingClient(url);
  const sd = client.sendDescription.bind(client);
  const sc = client.sendCandidate.bind(client);
  client.sendDescription = (to, type, sdp) => (blocked.has(to) ? undefined : sd(to, type, sdp));
  client.sendCandidate = (to, mid, index, c) => (blocked.has(to) ? undefined : sc(to, mid, index, c));
  return client;
}

describe('ready()', () => {
  it('mesh lobby: resolves once the links to every member present at join are open', async () => {
    const a = await Mesh.join({ signaling: url, connection, mode: 'mesh' });
    const b = await Mesh.join({ signaling: url, connection, lobby: a.lobby });
    const c = await Mesh.join({ signaling: url, connection, lobby: a.lobby });
    meshes.push(a, b, c);
    const all = [a, b, c];
    const result = await settle(all, c.ready(15_000), 20_000);
    expect(result.ok).toBe(true);
    expect(c.getPeer(a.getUniqueId())!.state).toBe('connected');
    expect(c.getPeer(b.getUniqueId())!.state).toBe('connected');
    // ready again at once while usable; the first member had nobody to wait for
    expect((await settle(all, c.ready(), 20_000)).ok).toBe(true);
    expect((await settle(all, a.ready(0), 20_000)).ok).toBe(true);
  });

  it('mesh lobby: rejects at its deadline with TIMEOUT naming exactly the peers that did not connect', async () => {
    const blockedFromA = new Set<number>();
    const a = await Mesh.join({ signaling: lossyClient(blockedFromA), closeSignaling: true, connection, mode: 'mesh' });
    const b = await Mesh.join({ signaling: url, connection, lobby: a.lobby });
    const blockedFromC = new Set<number>([a.getUniqueId()]);
    const c = await Mesh.join({ signaling: lossyClient(blockedFromC), closeSignaling: true, connection, lobby: a.lobby, reconnect: false });
    blockedFromA.add(c.getUniqueId());
    meshes.push(a, b, c);
    const result = await settle([a, b, c], c.ready(1500), 20_000);
    expect(result.ok).toBe(false);
    const error = (result as { error: unknown }).error as RtcmeshError;
    expect(error).toBeInstanceOf(RtcmeshError);
    expect(error.code).toBe(ErrorCode.TIMEOUT);
    expect(/peer\(s\) ([\d, ]+);/.exec(error.message)?.[1]).toBe(String(a.getUniqueId())); // b connected, so only a is named
    expect(c.getPeer(b.getUniqueId())!.state).toBe('connected');
  });

  it('client_server lobby: a client is ready when its link to the host is open; the host at once; close() rejects a pending ready() with CLOSED', async () => {
    const host = await Mesh.host({ signaling: url, connection });
    const client = await Mesh.join({ signaling: url, connection, lobby: host.lobby });
    meshes.push(host, client);
    expect(host.getUniqueId()).toBe(1);
    expect((await settle([host, client], host.ready(0), 20_000)).ok).toBe(true);
    expect((await settle([host, client], client.ready(15_000))).ok).toBe(true);
    expect(client.getPeerIds()).toEqual([1]);
    const lonely = await Mesh.join({ signaling: lossyClient(new Set([1])), closeSignaling: true, connection, lobby: host.lobby });
    meshes.push(lonely);
    const pending = lonely.ready();
    lonely.close();
    await expect(pending).rejects.toMatchObject({ code: ErrorCode.CLOSED });
    expect(() => client.ready(-1)).toThrow(RtcmeshError);
  });
});

/** A signaling client that records join requests and answers with `answer`. */
class FakeSignaling extends EventEmitter<LobbySignalingEvents> implements LobbySignaling {
  readonly requests: LobbyJoinRequest[] = [];
  lobby: string | undefined;
  constructor(private readonly answer: (r: LobbyJoinRequest) => LobbyJoinResult) {
    super();
  }
  async join(request: LobbyJoinRequest = {}): Promise<LobbyJoinResult> {
    this.requests.push(request);
    const result = this.answer(request);
    this.lobby = result.lobby;
    return result;
  }
  sendDescription(): void {}
  sendCandidate(): void {}
  seal(): void {}
  leave(): void {
    this.lobby = undefined;
  }
  close(): void {}
}

describe('Mesh.host and the join options', () => {
  it('Mesh.host asks to host (create, host key, client_server by default) and becomes id 1, the server', async () => {
    const signaling = new FakeSignaling((r) => ({ lobby: r.lobby ?? 'L', id: 1, mode: r.mode ?? 'mesh', peers: [] }));
    const host = await Mesh.host({ signaling, lobby: 'arena', hostKey: 'k3y' });
    meshes.push(host);
    expect(signaling.requests).toEqual([{ lobby: 'arena', mode: 'client_server', host: true, create: true, hostKey: 'k3y' }]);
    expect(host.getUniqueId()).toBe(1);
    expect(host.isServer()).toBe(true);
    expect(host.getMode()).toBe('server');
    const meshHost = await Mesh.host({ signaling: new FakeSignaling((r) => ({ lobby: 'M', id: 1, mode: r.mode!, peers: [] })), mode: 'mesh' });
    meshes.push(meshHost);
    expect([meshHost.getMode(), meshHost.isServer()]).toEqual(['mesh', true]);
  });

  it('Mesh.host passes HOST_TAKEN through, and refuses a server that does not make it id 1', async () => {
    const taken = new FakeSignaling(() => {
      throw new RtcmeshError(ErrorCode.HOST_TAKEN, 'lobby "arena" has a live host');
    });
    await expect(Mesh.host({ signaling: taken, lobby: 'arena' })).rejects.toMatchObject({ code: ErrorCode.HOST_TAKEN });
    const old = new FakeSignaling(() => ({ lobby: 'arena', id: 7, mode: 'client_server', peers: [1] }));
    await expect(Mesh.host({ signaling: old, lobby: 'arena' })).rejects.toMatchObject({ code: ErrorCode.PROTOCOL_ERROR });
    await expect(Mesh.host({ signaling: old, hostKey: '' })).rejects.toMatchObject({ code: ErrorCode.INVALID_ARGUMENT });
  });

  it('Mesh.join passes create and waitForHostMs through, and LOBBY_NOT_FOUND back', async () => {
    const signaling = new FakeSignaling((r) => {
      if (r.create === false && r.lobby === 'nowhere') throw new RtcmeshError(ErrorCode.LOBBY_NOT_FOUND, 'no lobby "nowhere"');
      return { lobby: r.lobby!, id: 4, mode: 'client_server', peers: [1] };
    });
    await expect(Mesh.join({ signaling, lobby: 'nowhere', create: false })).rejects.toMatchObject({ code: ErrorCode.LOBBY_NOT_FOUND });
    const client = await Mesh.join({ signaling, lobby: 'arena', create: false, waitForHostMs: 5000 });
    meshes.push(client);
    expect(signaling.requests[1]).toEqual({ lobby: 'arena', create: false, waitForHostMs: 5000 });
    expect([client.getUniqueId(), client.getMode(), client.isServer()]).toEqual([4, 'client', false]);
    await expect(Mesh.join({ signaling, lobby: 'x', waitForHostMs: -5 })).rejects.toMatchObject({ code: ErrorCode.INVALID_ARGUMENT });
    await expect(Mesh.join({ signaling, lobby: 'x', create: 'yes' as never })).rejects.toMatchObject({ code: ErrorCode.INVALID_ARGUMENT });
  });
});
