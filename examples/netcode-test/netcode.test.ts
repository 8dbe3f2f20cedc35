/**
 * Testing game code on the virtual network: four players on a simulated
 * network with 60 ms latency, jitter and 5 % loss, the real mesh, RPC and
 * Ticker, and a virtual clock, so the test is fast and gives the same result
 * every run (one seed).
 *
 *   npx vitest run --config examples/netcode-test/vitest.config.ts
 */
import { afterEach, expect, it } from 'vitest';
import { Mesh, RpcEndpoint, Ticker, TransferMode, type AnyRpcMethods } from 'rtcmesh';
import { MemorySignalingBus } from 'rtcmesh/signaling';
import { VirtualNetwork } from 'rtcmesh/virtual';

/** The game code under test: each player walks right; the host keeps everyone's position. */
class Game {
  x = 0;
  readonly seenByHost = new Map<number, number>();
  chats = 0;
  constructor(readonly net: RpcEndpoint<AnyRpcMethods>) {
    net
      .register('pos', (ctx, x: number) => this.seenByHost.set(ctx.senderId, x), { mode: 'any_peer', transferMode: TransferMode.UNRELIABLE_ORDERED })
      .register('chat', () => this.chats++, { mode: 'any_peer' }); // reliable by default
  }
  update(dtMs: number): void {
    this.x += dtMs / 1000; // one unit per second
    if (this.net.mesh.getUniqueId() !== 1 && this.net.mesh.getPeerIds().includes(1)) this.net.rpcId(1, 'pos', this.x);
  }
}

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

it('the host tracks every player within a few ticks despite latency and 5 % loss; no chat is lost', async () => {
  const net = new VirtualNetwork({ seed: 7, defaultLink: { latencyMs: 60, jitter: 10, loss: 0.05 } });
  const bus = new MemorySignalingBus({ random: net.random('signaling') });
  cleanups.push(() => net.close(), () => bus.close());
  const players: { mesh: Awaited<ReturnType<typeof Mesh.join>>; game: Game; ticker: Ticker }[] = [];
  for (let i = 0; i < 4; i++) {
    const mesh = await Mesh.join({ signaling: bus, lobby: 'test', engine: net.createHost().engine, clock: net.clock, random: net.random(`p${i}`) });
    const rpc = new RpcEndpoint<AnyRpcMethods>(mesh, { clock: net.clock });
    const game = new Game(rpc);
    const ticker = new Ticker(rpc, { rate: 20, clock: net.clock, update: (_tick, dt) => game.update(dt) });
    players.push({ mesh, game, ticker });
    cleanups.push(() => mesh.close());
  }
  // Form the mesh (signaling is asynchronous), then run 10 simulated seconds deadline to deadline.
  const formed = await net.runUntilAsync(() => {
    for (const p of players) p.ticker.poll(net.clock.now());
    return players.every((p) => p.mesh.getPeerIds().length === 3);
  });
  expect(formed).toBe(true);
  for (const p of players) net.register(p.mesh);
  for (const p of players) net.register(p.ticker);
  for (const p of players.slice(1)) for (let i = 0; i < 20; i++) p.game.net.rpc('chat');
  net.runFor(10_000);

  const host = players[0]!.game;
  for (const p of players.slice(1)) {
    const seen = host.seenByHost.get(p.mesh.getUniqueId());
    // 60 ms ± 10 ms one way, 5 % loss: the host is at most a few ticks behind.
    expect(seen).toBeDefined();
    expect(p.game.x - seen!).toBeGreaterThan(0);
    expect(p.game.x - seen!).toBeLessThan(0.5);
  }
  // Reliable RPCs survive the loss: 3 senders × 20 chats reach the host.
  expect(host.chats).toBe(60);
});
