/**
 * Claims about lobbies in docs/getting-started.md, docs/game-server.md and
 * docs/mesh.md (Lobbies, A host that owns id 1), checked against a real
 * signaling server and real node-datachannel on 127.0.0.1. Each `it()` quotes
 * the claim it checks.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ConnectionStatus, ErrorCode, Mesh, RpcEndpoint, SignalingServer, Ticker, TransferMode, WebSocketSignalingClient, type LobbyMultiplayerPeer } from '../api.js';
import { waitUntil } from '../helpers.js';
import { pollUntil } from '../mesh/mesh-helpers.js';

const connection = { bindAddress: '127.0.0.1' };
const servers: SignalingServer[] = [];
const meshes: LobbyMultiplayerPeer[] = [];
afterEach(async () => {
  for (const m of meshes.splice(0)) m.close();
  for (const s of servers.splice(0)) await s.close();
});

async function serve(options: ConstructorParameters<typeof SignalingServer>[0] = {}): Promise<string> {
  const server = new SignalingServer({ pingIntervalMs: 0, ...options });
  servers.push(server);
  return (await server.listen({ port: 0, host: '127.0.0.1' })).url;
}
const keep = (m: LobbyMultiplayerPeer) => (meshes.push(m), m);

/** Poll `all` until `promise` settles, and return its outcome. */
async function settle<T>(all: LobbyMultiplayerPeer[], promise: Promise<T>): Promise<T> {
  let done = false;
  let value: T | undefined;
  let error: unknown;
  promise.then(
    (v) => ((value = v), (done = true)),
    (e: unknown) => ((error = e), (done = true)),
  );
  await pollUntil(all, () => done, 'the promise to settle', 20_000);
  if (error !== undefined) throw error;
  return value as T;
}

describe('docs/getting-started.md: two peers in your own code', () => {
  it('"The first peer to join a lobby is its host (id 1); every other peer gets a random id"; peer_connected fires on both sides', async () => {
    const signaling = await serve();
    const first = keep(await Mesh.join({ signaling, lobby: 'my-game', connection }));
    const second = keep(await Mesh.join({ signaling, lobby: 'my-game', connection }));
    expect(first.getUniqueId()).toBe(1);
    expect(second.getUniqueId()).toBeGreaterThan(1);
    expect(second.getUniqueId()).toBeLessThanOrEqual(2 ** 31 - 1);
    const seen: string[] = [];
    first.on('peer_connected', (id) => seen.push(`1 sees ${id === second.getUniqueId() ? 'second' : id}`));
    second.on('peer_connected', (id) => seen.push(`second sees ${id}`));
    await settle([first, second], second.ready(15_000));
    await pollUntil([first, second], () => seen.length === 2, 'peer_connected on both sides');
    expect(seen.sort()).toEqual(['1 sees second', 'second sees 1']);
  });
  it('the example of "Two peers in your own code" prints "peer <id> says hi!" on both sides, and the moves arrive', async () => {
    const signaling = await serve();
    const printed: string[] = [];
    const console = { log: (...args: unknown[]) => printed.push(args.join(' ')) };
    const tickers: Ticker[] = [];
    const peer = async () => {
      // --- as in docs/getting-started.md ---
      const mesh = await Mesh.join({ signaling, lobby: 'my-game', connection });
      const net = new RpcEndpoint(mesh)
        .register('hello', (ctx, text: string) => console.log(`peer ${ctx.senderId} says ${text}`), { mode: 'any_peer' })
        .register('move', (ctx, x: number, y: number) => console.log(ctx.senderId, x, y), {
          mode: 'any_peer',
          transferMode: TransferMode.UNRELIABLE_ORDERED,
        });
      mesh.on('peer_connected', (id) => net.rpcId(id, 'hello', 'hi!'));
      const ticker = new Ticker(net, { rate: 20, update: () => net.rpc('move', Math.random(), Math.random()) });
      ticker.start();
      // ---
      tickers.push(ticker);
      keep(mesh);
      return mesh;
    };
    try {
      const a = await peer();
      const b = await peer();
      const [ida, idb] = [a.getUniqueId(), b.getUniqueId()];
      await waitUntil(
        () => printed.some((l) => l.startsWith(`${ida} 0.`)) && printed.some((l) => l.startsWith(`${idb} 0.`)),
        'moves from both peers',
        15_000,
      );
      expect(printed.filter((l) => l.includes('says')).sort()).toEqual([`peer ${ida} says hi!`, `peer ${idb} says hi!`].sort());
    } finally {
      for (const t of tickers) t.stop();
    }
  });
});

describe('docs/game-server.md and docs/mesh.md: hosts and clients of a client_server lobby', () => {
  it('"A client of a client_server lobby never creates it … without [waitForHostMs] the join fails at once with LOBBY_NOT_FOUND"', async () => {
    const signaling = await serve();
    await expect(Mesh.join({ signaling, lobby: 'arena', mode: 'client_server', connection })).rejects.toMatchObject({ code: ErrorCode.LOBBY_NOT_FOUND });
  });

  it('"waitForHostMs lets the signaling server hold the join until the host is there … A client never becomes id 1"; ready() resolves once its link to id 1 is open', async () => {
    const signaling = await serve();
    const joining = Mesh.join({ signaling, lobby: 'arena', mode: 'client_server', waitForHostMs: 10_000, connection });
    const host = keep(await Mesh.host({ signaling, lobby: 'arena', connection }));
    const client = keep(await joining);
    expect(host.getUniqueId()).toBe(1);
    expect(host.isServer()).toBe(true);
    expect(client.getUniqueId()).toBeGreaterThan(1);
    expect(client.getMode()).toBe('client');
    await settle([host, client], client.ready(15_000));
    expect(client.getConnectionStatus()).toBe(ConnectionStatus.CONNECTED);
    expect(client.getPeerIds()).toEqual([1]);
    // the host "is ready at once"
    await settle([host], host.ready());
  });

  it('"While another live host holds the lobby it fails with HOST_TAKEN"', async () => {
    const signaling = await serve();
    keep(await Mesh.host({ signaling, lobby: 'arena', connection }));
    await expect(Mesh.host({ signaling, lobby: 'arena', connection })).rejects.toMatchObject({ code: ErrorCode.HOST_TAKEN });
  });

  it('"with a server started with --host-key, a join without the key fails with UNAUTHORIZED"', async () => {
    const signaling = await serve({ hostKey: 'arena-host-secret' });
    await expect(Mesh.host({ signaling, lobby: 'arena', connection })).rejects.toMatchObject({ code: ErrorCode.UNAUTHORIZED });
    await expect(Mesh.host({ signaling, lobby: 'arena', hostKey: 'wrong-key!', connection })).rejects.toMatchObject({ code: ErrorCode.UNAUTHORIZED });
    const host = keep(await Mesh.host({ signaling, lobby: 'arena', hostKey: 'arena-host-secret', connection }));
    expect(host.getUniqueId()).toBe(1);
  });

  it('mesh.md: "Mesh.host … in a \'mesh\' lobby it is the member with id 1, and isServer() is true as well"', async () => {
    const signaling = await serve();
    const host = keep(await Mesh.host({ signaling, lobby: 'm', mode: 'mesh', connection }));
    const member = keep(await Mesh.join({ signaling, lobby: 'm', connection }));
    expect([host.getUniqueId(), host.getMode(), host.isServer()]).toEqual([1, 'mesh', true]);
    expect(member.getMode()).toBe('mesh');
    await settle([host, member], member.ready(15_000));
    expect(host.getPeerIds()).toEqual([member.getUniqueId()]);
  });

  it('mesh.md ready(): "a member of a mesh lobby: the links to every member present when it joined are open (members that leave meanwhile are not waited for …)"', async () => {
    const signaling = await serve();
    const a = keep(await Mesh.join({ signaling, lobby: 'm', connection }));
    const b = keep(await Mesh.join({ signaling, lobby: 'm', connection }));
    // c's descriptions and candidates to a are lost: that link can never open
    const client = new WebSocketSignalingClient(signaling);
    const send = client.sendDescription.bind(client);
    const sendCandidate = client.sendCandidate.bind(client);
    client.sendDescription = (to, type, sdp) => (to === a.getUniqueId() ? undefined : send(to, type, sdp));
    client.sendCandidate = (to, mid, index, c) => (to === a.getUniqueId() ? undefined : sendCandidate(to, mid, index, c));
    const c = keep(await Mesh.join({ signaling: client, closeSignaling: true, lobby: 'm', connection, reconnect: false }));
    let ready = false;
    void c.ready().then(() => (ready = true));
    await pollUntil([a, b, c], () => c.getPeer(b.getUniqueId())?.state === 'connected', 'c to connect to b');
    for (let i = 0; i < 20; i++) [a, b, c].forEach((m) => m.poll());
    expect(ready).toBe(false); // still waiting for a
    a.close(); // a leaves the lobby
    await pollUntil([b, c], () => ready, 'ready() once a left', 15_000);
    expect(c.hasPeer(a.getUniqueId())).toBe(false);
  });
});
