/**
 * The RPC parts of Godot's high-level multiplayer (@rpc annotation,
 * SceneMultiplayer / MultiplayerAPI: rpc, rpc_id, get_remote_sender_id,
 * server_relay) against RpcEndpoint, over a real server and two clients on
 * loopback (node-datachannel).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ConnectionStatus, ErrorCode, RpcEndpoint, TransferMode, WebRTCMultiplayerPeer, type AnyRpcMethods, type RpcContext, type RpcErrorEvent } from '../api.js';
import { star } from '../mesh/mesh-helpers.js';
import { codeOf } from './godot-helpers.js';

const live: { close(): void }[] = [];
afterEach(() => {
  for (const m of live.splice(0)) m.close();
});

type Call = { at: number; name: string; sender: number; mode: TransferMode; channel: number; args: unknown[] };

async function world() {
  const [server, clients] = await star([2, 3]);
  const meshes: WebRTCMultiplayerPeer[] = [server, ...clients];
  live.push(...meshes);
  const calls: Call[] = [];
  const errors: (RpcErrorEvent & { at: number })[] = [];
  const eps = new Map<number, RpcEndpoint<AnyRpcMethods>>();
  const peerEvents: string[] = [];
  for (const m of meshes) {
    const at = m.getUniqueId();
    const ep = new RpcEndpoint<AnyRpcMethods>(m);
    ep.on('peer_connected', (id) => peerEvents.push(`${at}+${id}`));
    ep.on('peer_disconnected', (id) => peerEvents.push(`${at}-${id}`));
    const record = (name: string) => (ctx: RpcContext, ...args: unknown[]) => void calls.push({ at, name, sender: ctx.senderId, mode: ctx.mode, channel: ctx.channel, args });
    // @rpc with no arguments: "authority", "call_remote", "reliable", channel 0
    ep.register('plain', record('plain'));
    ep.register('chat', record('chat'), { mode: 'any_peer', callLocal: true });
    ep.register('ping', () => 'pong', { mode: 'any_peer' });
    ep.on('rpc_error', (e) => errors.push({ ...e, at }));
    eps.set(at, ep);
  }
  const pump = async (check: () => boolean, what: string) => {
    const start = Date.now();
    for (;;) {
      for (const ep of eps.values()) ep.poll();
      for (const ep of eps.values()) ep.flush();
      if (check()) return;
      if (Date.now() - start > 15_000) throw new Error(`timed out waiting until ${what}`);
      await new Promise((r) => setImmediate(r));
    }
  };
  await pump(() => [...eps.values()].every((ep) => ep.getPeerIds().length === 2), 'every endpoint to know both other peers');
  return { eps, calls, errors, pump, meshes, peerEvents };
}

describe('Godot RPC semantics', () => {
  it('@rpc defaults: "authority" mode, call_remote, reliable, channel 0; the authority (1 by default) reaches every peer but not itself', async () => {
    const { eps, calls, errors, pump } = await world();
    eps.get(1)!.rpc('plain', 'from server');
    await pump(() => calls.length === 2, 'both clients to run it');
    expect(calls.map((c) => c.at).sort()).toEqual([2, 3]);
    for (const c of calls) expect(c).toMatchObject({ name: 'plain', sender: 1, mode: TransferMode.RELIABLE, channel: 0, args: ['from server'] });
    expect(errors).toEqual([]);
  });

  it('an "authority" RPC from a non-authority peer is refused by the receiver (reported as rpc_error UNAUTHORIZED_SENDER)', async () => {
    const { eps, calls, errors, pump } = await world();
    eps.get(2)!.rpcId(1, 'plain', 'sneaky');
    await pump(() => errors.length > 0, 'the refusal');
    expect(calls).toEqual([]);
    expect(errors[0]).toMatchObject({ at: 1, code: 'UNAUTHORIZED_SENDER', senderId: 2, name: 'plain' });
  });

  it('"any_peer" + "call_local": runs everywhere including the caller; server_relay reports the original sender (get_remote_sender_id)', async () => {
    const { eps, calls, errors, pump } = await world();
    eps.get(2)!.rpc('chat', 'hi');
    // call_local runs at once on the caller, with its own id as the sender
    expect(calls).toEqual([{ at: 2, name: 'chat', sender: 2, mode: TransferMode.RELIABLE, channel: 0, args: ['hi'] }]);
    await pump(() => calls.length === 3, 'the server and the other client');
    expect(calls.map((c) => [c.at, c.sender]).sort()).toEqual([
      [1, 2],
      [2, 2],
      [3, 2],
    ]);
    expect(errors).toEqual([]);
  });

  it('rpc_id: one peer, or a negative id for all but that one; "RPC on yourself is not allowed" without call_local', async () => {
    const { eps, calls, pump } = await world();
    eps.get(1)!.rpcId(-2, 'plain', 'not for 2');
    eps.get(1)!.rpcId(2, 'plain', 'only 2');
    await pump(() => calls.length === 2, 'both calls');
    expect(calls.map((c) => [c.at, c.args[0]]).sort()).toEqual([
      [2, 'only 2'],
      [3, 'not for 2'],
    ]);
    expect(codeOf(() => eps.get(1)!.rpcId(1, 'plain'))).toBe(ErrorCode.INVALID_ARGUMENT);
    // with call_local, calling yourself runs locally
    eps.get(1)!.rpcId(1, 'chat', 'me');
    expect(calls.at(-1)).toMatchObject({ at: 1, sender: 1, args: ['me'] });
  });

  it('rpc_id with an unknown peer id, or -(own id): "Attempt to call RPC with unknown peer ID", nothing sent or run anywhere', async () => {
    const { eps, calls, errors, pump } = await world();
    const server = eps.get(1)!;
    // 9 is no peer of this mesh: Godot refuses -9 as well as 9 (it does not fall back to "everyone").
    expect(codeOf(() => server.rpcId(9, 'chat', 'lost'))).toBe(ErrorCode.INVALID_PEER);
    expect(codeOf(() => server.rpcId(-9, 'chat', 'lost'))).toBe(ErrorCode.INVALID_PEER);
    // -1 from peer 1: its own id is not a connected peer either, even with call_local.
    expect(codeOf(() => server.rpcId(-1, 'chat', 'lost'))).toBe(ErrorCode.INVALID_PEER);
    // A marker sent after them on the same reliable channel arrives: nothing was sent before it.
    server.rpcId(2, 'chat', 'marker');
    await pump(() => calls.some((c) => c.args[0] === 'marker'), 'the marker');
    expect(calls.map((c) => [c.at, c.args[0]])).toEqual([[2, 'marker']]);
    expect(errors).toEqual([]);
  });

  it('no RPC, not even a call_local one on yourself, while the multiplayer peer is CONNECTING', () => {
    const client = new WebRTCMultiplayerPeer();
    live.push(client);
    client.createClient(7);
    expect(client.getConnectionStatus()).toBe(ConnectionStatus.CONNECTING);
    const ep = new RpcEndpoint<AnyRpcMethods>(client);
    const ran: unknown[] = [];
    ep.register('chat', (_ctx, ...args) => void ran.push(args), { mode: 'any_peer', callLocal: true });
    expect(codeOf(() => ep.rpcId(7, 'chat', 'me'))).toBe(ErrorCode.NOT_OPEN);
    expect(codeOf(() => ep.rpc('chat', 'all'))).toBe(ErrorCode.NOT_OPEN);
    expect(ran).toEqual([]);
    ep.close();
  });

  it('MultiplayerAPI get_peers / peer_connected with server_relay: clients learn of each other through the server, and of their leaving', async () => {
    const { eps, pump, meshes, peerEvents } = await world();
    expect([...eps.get(2)!.getPeerIds()].sort()).toEqual([1, 3]);
    expect([...eps.get(1)!.getPeerIds()].sort()).toEqual([2, 3]);
    // (the endpoints were made after the links to the server opened, so only the relayed peers are announced here)
    expect(peerEvents).toEqual(expect.arrayContaining(['2+3', '3+2']));
    meshes[2]!.close(); // client 3 leaves
    await pump(() => peerEvents.includes('2-3') && peerEvents.includes('1-3'), 'the others to learn that 3 left');
    expect(eps.get(2)!.getPeerIds()).toEqual([1]);
  });
});
