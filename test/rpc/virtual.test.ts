/**
 * The RPC layer and Ticker on the virtual network: a server and 12 clients with
 * latency and jitter, every peer driven by its own 60 Hz Ticker on the shared
 * virtual clock. Deterministic: no real time passes.
 */
import { expect, it } from 'vitest';
import { ConnectionStatus, ErrorCode, VirtualNetwork, WebRTCMultiplayerPeer, WebRTCPeerConnection } from '../api.js';
import { RpcEndpoint, Ticker, type AnyRpcMethods } from '../../src/rpc/index.js';
import { wire } from '../helpers.js';

it('a 13-peer star exchanges relayed RPCs tick by tick on the virtual clock; requests time out in virtual time', async () => {
  const net = new VirtualNetwork({ seed: 7, defaultLink: { latencyMs: 20, jitter: 5 } });
  const clientIds = Array.from({ length: 12 }, (_, i) => i + 2);
  const ids = [1, ...clientIds];
  const hosts = new Map(ids.map((id) => [id, net.createHost(`peer${id}`)]));
  const meshes = new Map(
    ids.map((id) => {
      const m = new WebRTCMultiplayerPeer({ clock: net.clock });
      if (id === 1) m.createServer();
      else m.createClient(id);
      return [id, m];
    }),
  );
  for (const c of clientIds) {
    const cs = new WebRTCPeerConnection({}, { engine: hosts.get(1)!.engine, autoPoll: true });
    const cc = new WebRTCPeerConnection({}, { engine: hosts.get(c)!.engine, autoPoll: true });
    wire(cs, cc);
    meshes.get(1)!.addPeer(cs, c);
    meshes.get(c)!.addPeer(cc, 1);
    cc.createOffer();
  }
  const heard = new Map<number, number[]>(ids.map((id) => [id, []]));
  const endpoints = new Map<number, RpcEndpoint<AnyRpcMethods>>();
  const tickers: Ticker[] = [];
  for (const id of ids) {
    const ep = new RpcEndpoint<AnyRpcMethods>(meshes.get(id)!, { clock: net.clock, requestTimeoutMs: 500 })
      .register('hello', (ctx, from: number) => {
        expect(ctx.senderId).toBe(from);
        heard.get(id)!.push(from);
      }, { mode: 'any_peer' })
      .register('stall', () => new Promise(() => {}), { mode: 'any_peer' });
    endpoints.set(id, ep);
    tickers.push(new Ticker(ep, { clock: net.clock, rate: 60 }));
  }
  const tickAll = () => {
    for (const t of tickers) t.advance();
  };
  const everyoneKnowsEveryone = () => ids.every((id) => endpoints.get(id)!.getPeerIds().length === ids.length - 1);
  expect(await net.runUntilAsync(() => (tickAll(), everyoneKnowsEveryone()), { maxMs: 20_000 })).toBe(true);
  expect(clientIds.every((c) => meshes.get(c)!.getConnectionStatus() === ConnectionStatus.CONNECTED)).toBe(true);

  // Every peer broadcasts once; clients' broadcasts fan out through peer 1.
  for (const id of ids) endpoints.get(id)!.rpc('hello', id);
  const complete = () => ids.every((id) => heard.get(id)!.length === ids.length - 1);
  const t0 = net.clock.now();
  expect(await net.runUntilAsync(() => (tickAll(), complete()), { maxMs: 5_000 })).toBe(true);
  for (const id of ids) expect([...heard.get(id)!].sort((a, b) => a - b)).toEqual(ids.filter((x) => x !== id));
  // Client → server → client: two link latencies (~40 ms) plus tick quantisation, in virtual time.
  expect(net.clock.now() - t0).toBeLessThan(500);
  expect(tickers.every((t) => t.overruns === 0)).toBe(true);

  // A request nobody answers times out after 500 virtual ms.
  let outcome = 'pending';
  endpoints.get(5)!.request(9, 'stall').catch((e: { code?: string }) => (outcome = e.code ?? 'other'));
  const t1 = net.clock.now();
  expect(await net.runUntilAsync(() => (tickAll(), outcome !== 'pending'), { maxMs: 5_000 })).toBe(true);
  expect(outcome).toBe(ErrorCode.TIMEOUT);
  expect(net.clock.now() - t1).toBeGreaterThanOrEqual(500);
  net.close();
});

it('immediate calls to one peer, sent from the encoder without a copy, arrive intact and in order: every length, with and without sessions, across encoder growth', async () => {
  for (const session of [true, false]) {
    const net = new VirtualNetwork({ seed: 3, defaultLink: { latencyMs: 5 } });
    const [ma, mb] = [1, 2].map((id) => {
      const m = new WebRTCMultiplayerPeer({ clock: net.clock, session });
      m.createMesh(id);
      return m;
    }) as [WebRTCMultiplayerPeer, WebRTCMultiplayerPeer];
    const ca = new WebRTCPeerConnection({}, { engine: net.createHost('a').engine, autoPoll: true });
    const cb = new WebRTCPeerConnection({}, { engine: net.createHost('b').engine, autoPoll: true });
    wire(ca, cb);
    ma.addPeer(ca, 2);
    mb.addPeer(cb, 1);
    cb.createOffer();
    const got: unknown[][] = [];
    const mk = (m: WebRTCMultiplayerPeer) =>
      new RpcEndpoint<AnyRpcMethods>(m, { clock: net.clock }).register('say', (_ctx, ...args: unknown[]) => void got.push(args), { mode: 'any_peer', immediate: true });
    const [ea, eb] = [mk(ma), mk(mb)];
    const both = () => (ea.poll(), eb.poll(), ea.flush(), eb.flush());
    expect(net.runUntil(() => (both(), ea.usesMethodIds(2) && eb.usesMethodIds(1)), { maxMs: 10_000 })).toBe(true);
    const sent: unknown[][] = [];
    // Strings of every length up to 40 (each message length once or more), then calls of ~2 KB (the encoder's buffer grows), then short ones again.
    for (let n = 0; n <= 40; n++) sent.push([n, 'x'.repeat(n), n * 1.5]);
    for (let k = 0; k < 3; k++) sent.push(Array.from({ length: 10 }, (_, i) => String.fromCharCode(97 + ((i + k) % 26)).repeat(200)));
    for (let n = 40; n >= 0; n--) sent.push([n, 'y'.repeat(n), true, null]);
    for (const args of sent) ea.rpcId(2, 'say', ...args);
    expect(ea.getStats().messagesSent).toBeGreaterThanOrEqual(sent.length);
    expect(net.runUntil(() => (both(), got.length === sent.length), { maxMs: 10_000 })).toBe(true);
    expect(got).toEqual(sent);
    ea.close();
    eb.close();
    ma.close();
    mb.close();
  }
});
