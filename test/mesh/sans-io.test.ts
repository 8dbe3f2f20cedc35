/**
 * The mesh and the lobby as sans-IO state machines: `poll(now)`,
 * `nextDeadline()`, injected randomness, signaling acted on inside poll.
 */
import { expect, it } from 'vitest';
import { MemorySignalingBus, Mesh, VirtualNetwork, WebRTCMultiplayerPeer, type LobbyMultiplayerPeer } from '../api.js';
import { RpcEndpoint, type AnyRpcMethods } from '../../src/rpc/index.js';
import { seededRandom } from '../../src/util/sans-io.js';

function counterRng(seed: number): { nextUint32(): number } {
  let x = seed >>> 0 || 1;
  return {
    nextUint32() {
      x ^= x << 13;
      x >>>= 0;
      x ^= x >>> 17;
      x ^= x << 5;
      return (x >>>= 0);
    },
  };
}

it('generateUniqueId() draws from the injected random source: same seed, same ids; always in 2..2^31-1', () => {
  const a = new WebRTCMultiplayerPeer({ random: seededRandom(counterRng(7)) });
  const b = new WebRTCMultiplayerPeer({ random: seededRandom(counterRng(7)) });
  const c = new WebRTCMultiplayerPeer({ random: seededRandom(counterRng(8)) });
  const ia = Array.from({ length: 50 }, () => a.generateUniqueId());
  const ib = Array.from({ length: 50 }, () => b.generateUniqueId());
  const ic = Array.from({ length: 50 }, () => c.generateUniqueId());
  expect(ia).toEqual(ib);
  expect(ia).not.toEqual(ic);
  for (const id of ia) expect(id >= 2 && id <= 2147483647 && Number.isInteger(id)).toBe(true);
  expect(() => new WebRTCMultiplayerPeer({ random: {} as never })).toThrow(/random/);
});

it('a mesh with no peers has no deadline; poll(now) and poll() both work', () => {
  const m = new WebRTCMultiplayerPeer({ clock: { now: () => 5 } });
  expect(m.nextDeadline()).toBe(Infinity);
  m.createMesh(2);
  m.poll(10);
  m.poll();
  expect(m.nextDeadline()).toBe(Infinity);
  m.close();
});

it('the lobby acts on signaling only inside poll(), with connections it polls itself, and its deadlines drive it to a connected mesh', async () => {
  const net = new VirtualNetwork({ seed: 3, defaultLink: { latencyMs: 10 } });
  const bus = new MemorySignalingBus();
  const opts = { signaling: bus, clock: net.clock, heartbeatIntervalMs: 200, heartbeatTimeoutMs: 2000 };
  const a = await Mesh.join({ ...opts, engine: net.createHost().engine });
  const b = await Mesh.join({ ...opts, lobby: a.lobby, engine: net.createHost().engine });
  const all: LobbyMultiplayerPeer[] = [a, b];
  const ib = b.getUniqueId();
  // a heard of b's join through signaling, but nothing happened yet: it waits for poll
  expect(a.hasPeer(ib)).toBe(false);
  expect(a.nextDeadline()).toBeLessThanOrEqual(net.clock.now());
  a.poll(net.clock.now());
  expect(a.hasPeer(ib)).toBe(true);
  expect(a.getPeer(ib)!.connection.autoPoll).toBe(false);
  expect(a.mesh).toBeInstanceOf(WebRTCMultiplayerPeer);
  const ok = await net.runUntilAsync(() => {
    for (const m of all) m.poll(net.clock.now());
    return all.every((m) => m.getPeerIds().length === 1);
  }, { maxMs: 10_000 });
  expect(ok).toBe(true);
  // connected and idle: the next thing to do is a heartbeat (or an ack) within the interval, never in the past
  for (let i = 0; i < 5; i++) {
    for (const m of all) m.poll(net.clock.now());
    await net.advanceAsync(1);
  }
  const now = net.clock.now();
  for (const m of all) m.poll(now);
  for (const m of all) {
    const d = m.nextDeadline();
    expect(d).toBeGreaterThanOrEqual(now);
    expect(d).toBeLessThanOrEqual(now + 200);
  }
  // jumping from deadline to deadline keeps the link alive (heartbeats are sent at their deadlines)
  const sentBefore = a.getLinkStats(b.getUniqueId())!.heartbeatsSent;
  for (let k = 0; k < 20; k++) {
    const next = Math.min(...all.map((m) => m.nextDeadline()));
    const step = Math.max(1, Math.min(next - net.clock.now(), 100));
    await net.advanceAsync(step);
    for (const m of all) m.poll(net.clock.now());
  }
  expect(a.getLinkStats(ib)!.heartbeatsSent).toBeGreaterThan(sentBefore);
  expect(a.getPeerIds()).toEqual([ib]);
  for (const m of all) m.close();
  net.close();
});

it('an RpcEndpoint binds to a lobby mesh (new RpcEndpoint(lobby)) and round-trips a request over it', async () => {
  const net = new VirtualNetwork({ seed: 5, defaultLink: { latencyMs: 5 } });
  const bus = new MemorySignalingBus();
  const opts = { signaling: bus, clock: net.clock };
  const a = await Mesh.join({ ...opts, engine: net.createHost().engine });
  const b = await Mesh.join({ ...opts, lobby: a.lobby, engine: net.createHost().engine });
  const ea = new RpcEndpoint<AnyRpcMethods>(a);
  const eb = new RpcEndpoint<AnyRpcMethods>(b);
  eb.register('add', (_ctx, x: number, y: number) => x + y, { mode: 'any_peer' });
  ea.register('add', (_ctx, x: number, y: number) => x + y, { mode: 'any_peer' });
  const eps = [ea, eb];
  const pump = () => {
    for (const e of eps) {
      e.poll();
      e.flush();
    }
    return true;
  };
  expect(await net.runUntilAsync(() => pump() && a.getPeerIds().length === 1 && b.getPeerIds().length === 1, { maxMs: 10_000 })).toBe(true);
  let answer: unknown;
  ea.request(b.getUniqueId(), 'add', 2, 40).then((v) => (answer = v));
  expect(await net.runUntilAsync(() => pump() && answer !== undefined, { maxMs: 10_000 })).toBe(true);
  expect(answer).toBe(42);
  for (const e of eps) e.close();
  a.close();
  b.close();
  net.close();
});
