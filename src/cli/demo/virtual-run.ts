/**
 * `rtcmesh demo --virtual`: the same arena game (the same ArenaHost on
 * `Mesh.host`, ArenaClients on `Mesh.join`, the sync layer, RPCs and
 * Tickers) with every peer on one VirtualNetwork in this process, with the
 * latency, jitter and loss asked for, run deadline to deadline as fast as the
 * CPU allows (`net.register` + `net.runFor`).
 * @module
 */
import { Mesh } from '../../mesh/index.js';
import type { LobbyMultiplayerPeer } from '../../mesh/lobby.js';
import { RpcEndpoint, Ticker, type AnyRpcMethods } from '../../rpc/index.js';
import { MemorySignalingBus } from '../../signaling/memory-bus.js';
import { VirtualNetwork } from '../../transport/virtual/index.js';
import { CliError, ExitCode } from '../exit-codes.js';
import { ArenaClient } from './game-client.js';
import { ArenaHost } from './game-host.js';
import { linkRows } from './link-report.js';
import type { Screen } from './screen.js';
import { StatsBoard, type DemoSummary } from './stats-board.js';
import { syncLine } from './sync-board.js';

/** Options of {@link runVirtualDemo}. */
export interface VirtualDemoOptions {
  peers: number;
  /** Simulated seconds. */
  seconds: number;
  lobby: string;
  latencyMs: number;
  jitterMs: number;
  loss: number;
  seed: number;
}

/** Run the game on a virtual network and return the summary. */
export async function runVirtualDemo(o: VirtualDemoOptions, screen: Screen): Promise<DemoSummary> {
  const wall0 = performance.now();
  const net = new VirtualNetwork({ seed: o.seed, defaultLink: { latencyMs: o.latencyMs, jitter: o.jitterMs, loss: o.loss } });
  const bus = new MemorySignalingBus({ random: net.random('signaling') });
  screen.line(`rtcmesh demo --virtual: ${o.peers} peers on a virtual network (latency ${o.latencyMs} ms, jitter ${o.jitterMs} ms, loss ${(o.loss * 100).toFixed(1)}%, seed ${o.seed}), lobby "${o.lobby}"`);
  const names = ['host', ...Array.from({ length: o.peers - 1 }, (_, i) => `bot${i + 1}`)];
  const board = new StatsBoard();
  board.order = names;
  const players: { name: string; mesh: LobbyMultiplayerPeer; net: RpcEndpoint<AnyRpcMethods>; game: ArenaHost | ArenaClient; ticker: Ticker }[] = [];
  try {
    for (const name of names) {
      const options = { signaling: bus, lobby: o.lobby, mode: 'mesh', engine: net.createHost(name).engine, clock: net.clock, random: net.random(name), heartbeatIntervalMs: 250 } as const;
      const mesh = name === 'host' ? await Mesh.host({ ...options, hostKey: 'virtual-host' }) : await Mesh.join({ ...options, create: false });
      const rpc = new RpcEndpoint<AnyRpcMethods>(mesh, { clock: net.clock });
      const random = net.random(`${name}-game`);
      const game = name === 'host' ? new ArenaHost(rpc, { name, random }) : new ArenaClient(rpc, { name, kind: 'bot', random, clock: net.clock });
      const ticker = new Ticker(rpc, { rate: 20, clock: net.clock, update: (tick, dt) => game.update(tick, dt) });
      board.name(mesh.getUniqueId(), name);
      players.push({ name, mesh, net: rpc, game, ticker });
    }
    const links = o.peers - 1;
    const formed = await net.runUntilAsync(
      () => {
        for (const p of players) p.ticker.poll(net.clock.now());
        return players.every((p) => p.mesh.getPeerIds().length === links);
      },
      { maxMs: 60_000 },
    );
    if (!formed) throw new CliError(`the virtual mesh did not form within 60 simulated seconds at loss ${o.loss}`, ExitCode.CHECK_FAILED, 'try a lower --loss');
    screen.line(`full mesh formed: ${o.peers} peers, ${(o.peers * links) / 2} links at t=${(net.clock.now() / 1000).toFixed(2)} s (virtual)`);
    // Meshes are polled on every network event (heartbeats answered at once:
    // the RTT column measures the links, not the 20 Hz tick), tickers at their ticks.
    for (const p of players) net.register(p.mesh);
    for (const p of players) net.register(p.ticker);
    const t0 = net.clock.now();
    for (let s = 1; s <= Math.ceil(o.seconds); s++) {
      net.runFor(Math.min(1000, o.seconds * 1000 - (s - 1) * 1000));
      const now = net.clock.now();
      for (const p of players) {
        board.report(p.name, p.mesh.getUniqueId(), linkRows(p.mesh), p.game.rpc.counters, p.game.players(), now, p.game.syncRow());
      }
      if (!screen.live && s % 5 === 0) screen.line(`t=${((now - t0) / 1000).toFixed(0)} s (virtual)`);
    }
    screen.line(board.table().trimEnd());
    const seen = players.map((p) => p.game.players().length);
    screen.line(`every peer sees ${Math.min(...seen)}..${Math.max(...seen)} of ${o.peers} players; simulated ${o.seconds} s in ${((performance.now() - wall0) / 1000).toFixed(2)} s of wall time`);
    const summary = board.summary(o.seconds);
    screen.line(syncLine(summary));
    return summary;
  } finally {
    for (const p of players) {
      net.unregister(p.ticker);
      net.unregister(p.mesh);
      p.game.close();
      p.net.close();
      p.mesh.close();
    }
    bus.close();
    net.close();
  }
}
