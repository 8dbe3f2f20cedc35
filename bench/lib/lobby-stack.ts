/**
 * A whole rtcmesh stack on the virtual network: N peers join one mesh lobby
 * through a manually driven memory bus, each with an RPC endpoint driven by a
 * Ticker that says hello to everyone every second, all registered with the
 * network so `net.runFor()` drives them deadline to deadline. Used by the
 * `lobby16` scenario of bench/virtual and by the determinism test.
 */
import { Mesh, MemorySignalingBus, RpcEndpoint, Ticker, type LobbyMultiplayerPeer } from '../../src/index.js';
import type { VirtualHost, VirtualNetwork } from '../../src/transport/virtual/index.js';

/** What the stack reports as it runs (all optional). */
export interface LobbyStackHooks {
  /** A line for the event trace: mesh events and RPCs received, stamped with the virtual time. */
  log?: (line: string) => void;
}

/** The running stack. */
export interface LobbyStack {
  meshes: LobbyMultiplayerPeer[];
  hosts: VirtualHost[];
  /** RPC calls received so far, all peers together. */
  readonly received: number;
  /** `reconnected` events so far. */
  readonly reconnected: number;
  close(): void;
}

/** Let promise callbacks run (a join's answer settles on the microtask queue). */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Join `peers` peers to one lobby on `net`, one after another, and register everything with the network. */
export async function buildLobbyStack(net: VirtualNetwork, peers: number, hooks: LobbyStackHooks = {}): Promise<LobbyStack> {
  const bus = new MemorySignalingBus({ driver: 'manual', random: net.random('signaling') });
  net.register(bus);
  const log = hooks.log ?? (() => {});
  const at = () => net.clock.now().toFixed(3);
  const meshes: LobbyMultiplayerPeer[] = [];
  const hosts: VirtualHost[] = [];
  let received = 0;
  let reconnected = 0;
  for (let i = 0; i < peers; i++) {
    const host = net.createHost(`p${i}`);
    hosts.push(host);
    let mesh: LobbyMultiplayerPeer | undefined;
    let failed: unknown;
    Mesh.join({ signaling: bus, ...(meshes[0] && { lobby: meshes[0].lobby }), mode: 'mesh', engine: host.engine, clock: net.clock, random: net.random(`mesh-${i}`) }).then(
      (m) => (mesh = m),
      (err) => (failed = err),
    );
    for (let steps = 0; mesh === undefined && failed === undefined && steps < 1000; steps++) {
      net.runFor(5);
      await turn();
    }
    if (failed !== undefined) throw failed;
    if (mesh === undefined) throw new Error(`peer ${i} did not join`);
    const m = mesh;
    const me = m.getUniqueId();
    m.on('peer_connected', (id) => log(`${at()} ${me} connected ${id}`));
    m.on('peer_disconnected', (id, reason) => log(`${at()} ${me} disconnected ${id} ${reason ?? ''}`));
    m.on('link_lost', (id, reason) => log(`${at()} ${me} lost ${id} ${reason}`));
    m.on('reconnected', (id, downtime) => {
      reconnected++;
      log(`${at()} ${me} reconnected ${id} after ${downtime.toFixed(3)}`);
    });
    const endpoint = new RpcEndpoint(m, { clock: net.clock }).register(
      'hello',
      (ctx, tick: number) => {
        received++;
        log(`${at()} ${me} hello ${tick} from ${ctx.senderId}`);
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
  return {
    meshes,
    hosts,
    get received() {
      return received;
    },
    get reconnected() {
      return reconnected;
    },
    close() {
      for (const m of meshes) m.close();
      net.runFor(100);
    },
  };
}
