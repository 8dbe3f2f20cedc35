/**
 * Claims of docs/simulation-tests.md and of docs/virtual-network.md not
 * covered by test/virtual (in-band channel ids and DCEP timing, seeded
 * reproducibility of a whole lobby run). Each `it()` quotes the claim it checks.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ChannelState, ConnectionState, ErrorCode, Mesh, MemorySignalingBus, RpcEndpoint, Ticker, TransferMode, VirtualNetwork, type AnyRpcMethods, type WebRTCDataChannel } from '../api.js';
import { virtualPair } from '../virtual/util.js';

const read = (path: string) => readFileSync(fileURLToPath(new URL(`../../${path}`, import.meta.url)), 'utf8');

describe('docs/simulation-tests.md', () => {
  it('"This is examples/netcode-test/netcode.test.ts": the page shows the file as it is (after its header comment)', () => {
    const doc = read('docs/simulation-tests.md');
    const block = /```ts\n(import \{ afterEach[\s\S]*?)```/.exec(doc)![1]!;
    const file = read('examples/netcode-test/netcode.test.ts');
    expect(block.trim()).toBe(file.slice(file.indexOf('import { afterEach')).trim());
  });

  it('"gives the same result on every run because one seed fixes every random choice": two runs of a lobby game with one seed are identical', async () => {
    async function run(seed: number) {
      const net = new VirtualNetwork({ seed, defaultLink: { latencyMs: 60, jitter: 10, loss: 0.05 } });
      const bus = new MemorySignalingBus({ random: net.random('signaling') });
      const seen: string[] = [];
      const players: { mesh: Awaited<ReturnType<typeof Mesh.join>>; ticker: Ticker }[] = [];
      try {
        for (let i = 0; i < 3; i++) {
          const mesh = await Mesh.join({ signaling: bus, lobby: 'test', engine: net.createHost().engine, clock: net.clock, random: net.random(`p${i}`) });
          const rpc = new RpcEndpoint<AnyRpcMethods>(mesh, { clock: net.clock });
          rpc.register('pos', (ctx, x: number) => seen.push(`${mesh.getUniqueId()}<${ctx.senderId}:${x}@${net.clock.now()}`), { mode: 'any_peer', transferMode: TransferMode.UNRELIABLE_ORDERED });
          let x = 0;
          const ticker = new Ticker(rpc, { rate: 20, clock: net.clock, update: () => mesh.getPeerIds().length > 0 && rpc.rpc('pos', ++x) });
          players.push({ mesh, ticker });
        }
        await net.runUntilAsync(() => {
          for (const p of players) p.ticker.poll(net.clock.now());
          return players.every((p) => p.mesh.getPeerIds().length === 2);
        });
        for (const p of players) net.register(p.mesh);
        for (const p of players) net.register(p.ticker);
        seen.length = 0;
        net.runFor(3000);
        return { ids: players.map((p) => p.mesh.getUniqueId()), seen, at: net.clock.now() };
      } finally {
        for (const p of players) p.mesh.close();
        bus.close();
        net.close();
      }
    }
    const first = await run(7);
    const second = await run(7);
    expect(first.seen.length).toBeGreaterThan(100);
    expect(second.ids).toEqual(first.ids);
    expect(second.seen).toEqual(first.seen);
    const other = await run(8);
    expect(other.ids).not.toEqual(first.ids);
  });
});

describe('docs/virtual-network.md: what connections do on top of the link', () => {
  it('"In-band ids are even for the answerer (DTLS client), odd for the offerer"; "the remote side gets data_channel_received ½ RTT later … the creator\'s open after 1 RTT"', () => {
    const net = new VirtualNetwork({ seed: 3, defaultLink: { latencyMs: 50 } });
    try {
      const [a, b] = [net.createHost(), net.createHost()];
      const [pa, pb] = virtualPair(a, b);
      const fromOfferer = [pa.createDataChannel('o1'), pa.createDataChannel('o2')];
      const fromAnswerer = [pb.createDataChannel('a1'), pb.createDataChannel('a2')];
      const at: Record<string, number> = {};
      pa.on('connection_state_changed', (s) => s === ConnectionState.CONNECTED && (at.aConnected = net.clock.now()));
      pb.on('connection_state_changed', (s) => s === ConnectionState.CONNECTED && (at.bConnected = net.clock.now()));
      const received: WebRTCDataChannel[] = [];
      pb.on('data_channel_received', (ch) => (received.push(ch), (at[`received:${ch.getLabel()}`] ??= net.clock.now())));
      pa.on('data_channel_received', (ch) => received.push(ch));
      fromOfferer[0]!.on('open', () => (at.o1Open = net.clock.now()));
      pa.createOffer();
      expect(net.runUntil(() => [...fromOfferer, ...fromAnswerer, ...received].every((c) => c.getReadyState() === ChannelState.OPEN) && received.length === 4, { maxMs: 10_000, stepMs: 1 })).toBe(true);
      for (const c of fromOfferer) expect(c.getId() % 2).toBe(1);
      for (const c of fromAnswerer) expect(c.getId() % 2).toBe(0);
      expect(pa.getStats().rttMs).toBe(100);
      const connected = Math.max(at.aConnected!, at.bConnected!);
      expect(at['received:o1']! - at.aConnected!).toBe(50);
      expect(at.o1Open! - at.aConnected!).toBe(100);
      expect(connected).toBeGreaterThan(0);
      pa.close();
      pb.close();
    } finally {
      net.close();
    }
  });
});

describe('docs/virtual-network.md: options reference', () => {
  it('"Calls that change or run a closed network (createHost, link, setDefaultLink, outage, partition, register, advance, runFor, runUntil, runUntilIdle; the async ones reject) throw CLOSED; reading it (getHosts, conditions, directionStats, exportTrace) still works"', async () => {
    const net = new VirtualNetwork({ seed: 5, trace: { enabled: true } });
    const [a, b] = [net.createHost('a'), net.createHost('b')];
    net.link(a, b, { latencyMs: 5 });
    net.close();
    const calls: [string, () => unknown][] = [
      ['createHost', () => net.createHost()],
      ['link', () => net.link(a, b, { latencyMs: 1 })],
      ['setDefaultLink', () => net.setDefaultLink({ latencyMs: 1 })],
      ['outage', () => net.outage(a, b, { atMs: 0, durationMs: 10 })],
      ['partition', () => net.partition([a], [b])],
      ['register', () => net.register({ poll: () => {}, nextDeadline: () => Infinity })],
      ['advance', () => net.advance(1)],
      ['runFor', () => net.runFor(1)],
      ['runUntil', () => net.runUntil(() => true)],
      ['runUntilIdle', () => net.runUntilIdle()],
    ];
    for (const [name, call] of calls) expect(call, name).toThrow(expect.objectContaining({ code: ErrorCode.CLOSED }));
    await expect(net.runUntilAsync(() => true)).rejects.toMatchObject({ code: ErrorCode.CLOSED });
    await expect(net.advanceAsync(1)).rejects.toMatchObject({ code: ErrorCode.CLOSED });
    expect(net.getHosts().map((h) => h.name)).toEqual(['a', 'b']);
    expect(net.conditions(a, b).latencyMs).toBe(5);
    expect(net.directionStats(a, b).packetsSent).toBe(0);
    expect(typeof net.exportTrace()).toBe('string');
  });
});
