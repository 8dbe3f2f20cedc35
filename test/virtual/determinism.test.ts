/**
 * One seed fixes a whole run (issue #11): a 16-peer lobby mesh on the virtual
 * network — signaling over a manually driven memory bus, links with latency,
 * jitter and 2 % loss, RPC traffic from a Ticker, one link cut long enough to
 * be lost and reconnected — driven deadline to deadline by the network gives a
 * byte-identical event trace for the same seed, and a different one for
 * another seed.
 */
import { createHash } from 'node:crypto';
import { expect, it } from 'vitest';
import { Mesh, MemorySignalingBus, RpcEndpoint, Ticker, VirtualNetwork, type LobbyMultiplayerPeer } from '../../src/index.js';

const PEERS = 16;

/** Let promise callbacks run (a join's answer settles on the microtask queue). */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

async function run(seed: number, cut = true): Promise<{ trace: string; reconnected: number; fullMesh: boolean }> {
  const net = new VirtualNetwork({ seed, defaultLink: { latencyMs: 30, jitter: 5, loss: 0.02 }, trace: { enabled: true, limit: 2_000_000 } });
  const bus = new MemorySignalingBus({ driver: 'manual', random: net.random('signaling') });
  net.register(bus);
  const log: string[] = [];
  const at = () => net.clock.now().toFixed(3);
  const meshes: LobbyMultiplayerPeer[] = [];
  const hosts: ReturnType<VirtualNetwork["createHost"]>[] = [];
  let reconnected = 0;

  for (let i = 0; i < PEERS; i++) {
    const name = `p${i}`;
    const host = net.createHost(name);
    hosts.push(host);
    let mesh: LobbyMultiplayerPeer | undefined;
    let failed: unknown;
    Mesh.join({
      signaling: bus,
      ...(meshes[0] && { lobby: meshes[0].lobby }),
      mode: 'mesh',
      engine: host.engine,
      clock: net.clock,
      random: net.random(`mesh-${i}`),
    }).then(
      (m) => (mesh = m),
      (err) => (failed = err),
    );
    for (let steps = 0; mesh === undefined && failed === undefined && steps < 1000; steps++) {
      net.runFor(5);
      await turn();
    }
    if (failed !== undefined) throw failed;
    if (mesh === undefined) throw new Error(`${name} did not join`);
    const m = mesh;
    const me = m.getUniqueId();
    m.on('peer_connected', (id) => log.push(`${at()} ${me} connected ${id}`));
    m.on('peer_disconnected', (id, reason) => log.push(`${at()} ${me} disconnected ${id} ${reason ?? ''}`));
    m.on('link_lost', (id, reason) => log.push(`${at()} ${me} lost ${id} ${reason}`));
    m.on('reconnected', (id, downtime) => {
      reconnected++;
      log.push(`${at()} ${me} reconnected ${id} after ${downtime.toFixed(3)}`);
    });
    const endpoint = new RpcEndpoint(m, { clock: net.clock }).register(
      'hello',
      (ctx, tick: number) => {
        log.push(`${at()} ${me} hello ${tick} from ${ctx.senderId}`);
      },
      { mode: 'any_peer' },
    );
    const ticker = new Ticker(endpoint, {
      rate: 20,
      clock: net.clock,
      update: (tick) => {
        if (tick % 20 === i % 20 && m.getPeerIds().length > 0) endpoint.rpc('hello', tick);
      },
    });
    net.register(m);
    net.register(ticker);
    meshes.push(m);
  }

  net.runFor(8_000);
  if (cut) {
    // Cut one link long enough for the heartbeat to declare it lost; it comes back and reconnects.
    net.link(hosts[3]!, hosts[11]!, { outages: [{ atMs: net.clock.now() + 100, durationMs: 6000 }] });
    net.runFor(12_000);
  }

  const fullMesh = meshes.every((m) => m.getPeerIds().length === PEERS - 1);
  const digest = createHash('sha256').update(net.exportTrace()).digest('hex');
  for (const m of meshes) m.close();
  net.runFor(100);
  net.close();
  return { trace: `${log.join('\n')}\nnetwork ${digest}`, reconnected, fullMesh };
}

it('the same seed gives a byte-identical trace of a 16-peer lobby mesh with RPC, loss and a reconnection; another seed does not', async () => {
  const a = await run(7);
  const b = await run(7);
  const c = await run(8, false);
  expect(a.fullMesh).toBe(true);
  expect(a.reconnected).toBeGreaterThan(0);
  expect(a.trace.split('\n').filter((l) => l.includes(' hello ')).length).toBeGreaterThan(100);
  expect(b.trace).toBe(a.trace);
  expect(c.trace).not.toBe(a.trace);
}, 240_000);
