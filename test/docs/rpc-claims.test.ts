/**
 * Claims of docs/rpc.md and the SceneMultiplayer table of docs/godot.md that
 * no other test asserted, checked with RpcEndpoints over real node-datachannel
 * meshes on 127.0.0.1 (a manual clock for request deadlines). Each `it()`
 * quotes the claim it checks.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode, RpcEndpoint, Ticker, TransferMode, type AnyRpcMethods, type RpcContext, type RpcErrorEvent, type WebRTCMultiplayerPeer } from '../api.js';
import { fullMesh, pollUntil, star } from '../mesh/mesh-helpers.js';

const live: { close(): void }[] = [];
afterEach(() => {
  for (const x of live.splice(0).reverse()) x.close();
});

function endpoints(meshes: WebRTCMultiplayerPeer[], clock?: { now(): number }): RpcEndpoint<AnyRpcMethods>[] {
  live.push(...meshes);
  return meshes.map((m) => {
    const ep = new RpcEndpoint<AnyRpcMethods>(m, clock && { clock });
    live.push(ep);
    return ep;
  });
}

/** Poll and flush every endpoint until `check()` holds. */
async function until(eps: RpcEndpoint<AnyRpcMethods>[], check: () => boolean, what: string): Promise<void> {
  const pollable = eps.map((ep) => ({ poll: () => (ep.poll(), ep.flush()) }));
  await pollUntil(pollable, check, what);
}

describe('docs/rpc.md: declaring and calling', () => {
  it('"ctx has senderId, channel and mode …, tick, name and isRequest"; "A handler may return a promise; request() gets the awaited value"', async () => {
    const eps = endpoints(await fullMesh([1, 2]));
    const seen: RpcContext[] = [];
    for (const ep of eps) {
      ep.register('slow_double', async (ctx, n: number) => (seen.push(ctx), await Promise.resolve(), n * 2), { mode: 'any_peer' });
      ep.register('note', (ctx) => void seen.push(ctx), { mode: 'any_peer', transferMode: TransferMode.UNRELIABLE_ORDERED });
    }
    await until(eps, () => true, 'one round'); // handshake
    const [e1, e2] = eps as [RpcEndpoint<AnyRpcMethods>, RpcEndpoint<AnyRpcMethods>];
    let result: unknown;
    void e2.request(1, 'slow_double', 21).then((v) => (result = v));
    e2.rpcId(1, 'note');
    await until(eps, () => result !== undefined && seen.length === 2, 'the request and the call');
    expect(result).toBe(42);
    const byName = Object.fromEntries(seen.map((c) => [c.name, c]));
    expect(byName.slow_double).toMatchObject({ senderId: 2, channel: 0, mode: TransferMode.RELIABLE, name: 'slow_double', isRequest: true });
    expect(byName.note).toMatchObject({ senderId: 2, channel: 0, mode: TransferMode.UNRELIABLE_ORDERED, name: 'note', isRequest: false });
    expect(typeof byName.note!.tick).toBe('number');
    expect(e1.getPeerIds()).toEqual([2]);
  });

  it('"timeoutMs: default endpoint\'s requestTimeoutMs (5000)"; a per-RPC timeoutMs wins; "Rejects with TIMEOUT (checked on poll() against the endpoint\'s clock)"', async () => {
    let now = 0;
    const clock = { now: () => now };
    const [e1, e2] = endpoints(await fullMesh([1, 2]), clock) as [RpcEndpoint<AnyRpcMethods>, RpcEndpoint<AnyRpcMethods>];
    e1.register('never', () => new Promise(() => {}), { mode: 'any_peer' }).register('quick', () => new Promise(() => {}), { mode: 'any_peer', timeoutMs: 100 });
    e2.register('never', () => 0, { mode: 'any_peer' }).register('quick', () => 0, { mode: 'any_peer', timeoutMs: 100 });
    await until([e1, e2], () => true, 'the handshake');
    const outcome: Record<string, string> = {};
    e2.request(1, 'never').catch((e: { code: string }) => (outcome.never = e.code));
    e2.request(1, 'quick').catch((e: { code: string }) => (outcome.quick = e.code));
    e2.flush();
    now = 99;
    e2.poll();
    await Promise.resolve();
    expect(outcome).toEqual({});
    now = 100;
    e2.poll();
    await until([e2], () => outcome.quick !== undefined, 'the quick request to time out');
    expect(outcome).toEqual({ quick: ErrorCode.TIMEOUT });
    now = 4999;
    e2.poll();
    await Promise.resolve();
    expect(outcome.never).toBeUndefined();
    now = 5000;
    e2.poll();
    await until([e2], () => outcome.never !== undefined, 'the default timeout');
    expect(outcome.never).toBe(ErrorCode.TIMEOUT);
  });

  it('request() "Rejects with … CLOSED when the endpoint closes"; calls on a closed endpoint throw CLOSED', async () => {
    const [, e2] = endpoints(await fullMesh([1, 2])) as [RpcEndpoint<AnyRpcMethods>, RpcEndpoint<AnyRpcMethods>];
    e2.register('never', () => 0, { mode: 'any_peer' });
    const pending = e2.request(1, 'never');
    e2.close();
    await expect(pending).rejects.toMatchObject({ code: ErrorCode.CLOSED });
    expect(() => e2.rpcId(1, 'never')).toThrow(expect.objectContaining({ code: ErrorCode.CLOSED }));
    await expect(e2.request(1, 'never')).rejects.toMatchObject({ code: ErrorCode.CLOSED });
  });

  it('call-site errors: "disabled RPC (INVALID_STATE)", "unknown RPC (INVALID_ARGUMENT)", "unknown target (INVALID_PEER)"', async () => {
    const [e1] = endpoints(await fullMesh([1, 2]));
    e1!.register('off', () => 0, { mode: 'disabled' });
    expect(() => e1!.rpc('off')).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_STATE }));
    expect(() => e1!.rpc('missing')).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }));
    e1!.register('on', () => 0, { mode: 'any_peer' });
    expect(() => e1!.rpcId(9, 'on')).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_PEER }));
  });

  it('"The sender does not check \'authority\': receivers do" — a non-authority\'s call leaves and is refused by each receiver; with callLocal its own run is refused and reported too', async () => {
    const eps = endpoints(await fullMesh([1, 2, 3]));
    const ran: number[] = [];
    const refused: string[] = [];
    eps.forEach((ep, i) => {
      ep.register('boss', () => void ran.push(i + 1), { callLocal: true }); // 'authority' by default
      ep.on('rpc_error', (e: RpcErrorEvent) => refused.push(`${i + 1}:${e.code}:${e.senderId}`));
    });
    await until(eps, () => true, 'the handshake');
    expect(() => eps[1]!.rpc('boss')).not.toThrow();
    await until(eps, () => refused.length === 3, 'every peer to refuse');
    expect(ran).toEqual([]);
    expect(refused.sort()).toEqual(['1:UNAUTHORIZED_SENDER:2', '2:UNAUTHORIZED_SENDER:2', '3:UNAUTHORIZED_SENDER:2']);
    // the authority's call runs everywhere, itself included
    eps[0]!.rpc('boss');
    await until(eps, () => ran.length === 3, 'the authority call');
    expect(ran.sort()).toEqual([1, 2, 3]);
  });
});

describe('docs/godot.md: SceneMultiplayer', () => {
  it('"signals peer_connected, peer_disconnected → endpoint events"; get_peers() → endpoint.getPeerIds(); a client learns the other clients through peer 1', async () => {
    const [server, clients] = await star([2, 3]);
    const eps = endpoints([server, ...clients]);
    const [, e2, e3] = eps as [RpcEndpoint<AnyRpcMethods>, RpcEndpoint<AnyRpcMethods>, RpcEndpoint<AnyRpcMethods>];
    await until(eps, () => e2.getPeerIds().length === 2 && e3.getPeerIds().length === 2, 'clients to learn of each other');
    expect(e2.getPeerIds().sort()).toEqual([1, 3]);
    const gone: number[] = [];
    e2.on('peer_disconnected', (id) => gone.push(id));
    clients[1]!.close();
    await until([eps[0]!, e2], () => gone.includes(3), 'peer 3 to leave');
    expect(e2.getPeerIds()).toEqual([1]);
  });
});

describe('docs/rpc.md: Ticker', () => {
  it('"new Ticker(endpoints, { rate = 60, clock, maxCatchUp = 5, update })"', async () => {
    const [e1] = endpoints(await fullMesh([1, 2]));
    let now = 0;
    const ticks: number[] = [];
    const ticker = new Ticker(e1!, { clock: { now: () => now }, update: (tick, dt) => (ticks.push(tick), expect(dt).toBeCloseTo(1000 / 60)) });
    expect([ticker.rate, ticker.maxCatchUp]).toEqual([60, 5]);
    expect(ticker.advance()).toBe(1);
    now = 1000; // 60 ticks late: 5 run, the rest skipped
    expect(ticker.advance()).toBe(5);
    expect(ticker.skippedTicks).toBe(55);
    expect(ticks).toEqual([1, 2, 3, 4, 5, 6]);
  });
});
