/**
 * Sync test harness: a server and clients as real WebRTCMultiplayerPeers with
 * RPC endpoints on the virtual network (deterministic for a seed), and a
 * fixed-rate loop on the virtual clock.
 */
import { SyncClient, SyncHost, VirtualNetwork, WebRTCMultiplayerPeer, WebRTCPeerConnection, type LinkOptions, type SyncClientOptions, type SyncErrorEvent, type SyncHostOptions } from '../api.js';
import { RpcEndpoint, type AnyRpcMethods } from '../../src/rpc/index.js';
import { wire } from '../helpers.js';

export interface VirtualStar {
  net: VirtualNetwork;
  server: RpcEndpoint<AnyRpcMethods>;
  clients: RpcEndpoint<AnyRpcMethods>[];
  all: RpcEndpoint<AnyRpcMethods>[];
}

/** Build a star of `n` clients (ids 2…n+1) around server 1; links are `link` both ways. Endpoints are created before links open. */
export function virtualStar(n: number, link: LinkOptions, seed = 1, register?: (ep: RpcEndpoint<AnyRpcMethods>) => void): VirtualStar {
  const net = new VirtualNetwork({ seed });
  const sHost = net.createHost('server');
  const serverMesh = new WebRTCMultiplayerPeer({ clock: net.clock });
  serverMesh.createServer();
  const server = new RpcEndpoint<AnyRpcMethods>(serverMesh, { clock: net.clock });
  register?.(server);
  const clients: RpcEndpoint<AnyRpcMethods>[] = [];
  for (let i = 0; i < n; i++) {
    const id = i + 2;
    const host = net.createHost(`client${id}`);
    net.link(sHost, host, link);
    const mesh = new WebRTCMultiplayerPeer({ clock: net.clock });
    mesh.createClient(id);
    const a = new WebRTCPeerConnection({}, { engine: sHost.engine, autoPoll: true });
    const b = new WebRTCPeerConnection({}, { engine: host.engine, autoPoll: true });
    wire(a, b);
    serverMesh.addPeer(a, id);
    mesh.addPeer(b, 1);
    b.createOffer();
    const ep = new RpcEndpoint<AnyRpcMethods>(mesh, { clock: net.clock });
    register?.(ep);
    clients.push(ep);
  }
  const all = [server, ...clients];
  const ok = net.runUntil(
    () => {
      for (const ep of all) {
        ep.poll();
        ep.flush();
      }
      return server.getPeerIds().length === n && clients.every((c) => c.getPeerIds().includes(1) && c.usesMethodIds(1)) && clients.every((c) => server.usesMethodIds(c.mesh.getUniqueId()));
    },
    { maxMs: 60_000, stepMs: 10 },
  );
  if (!ok) throw new Error('the virtual star did not connect');
  return { net, server, clients, all };
}

/** Close every endpoint, mesh and the network. */
export function closeStar(s: VirtualStar): void {
  for (const ep of s.all) {
    ep.close();
    ep.mesh.close();
  }
  s.net.close();
}

/**
 * In-memory transports for a host (id 1) and clients — or, with `mesh`, for
 * peers that each talk to all the others: messages queue until {@link MemoryLinks.deliver}.
 */
export class MemoryLinks {
  readonly queue: { from: number; to: number; data: Uint8Array }[] = [];
  private readonly handlers = new Map<number, (peer: number, data: unknown) => void>();
  private readonly restartHandlers = new Map<number, (peer: number) => void>();
  /** `ids`: the clients (a star around host 1), or with `mesh` every peer. */
  constructor(
    readonly clientIds: number[],
    private readonly options: { mesh?: boolean } = {},
  ) {}

  /** `id`'s process restarted under the same id: the others are told (as the mesh's peer_restarted does). */
  restarted(id: number): void {
    for (const [at, h] of this.restartHandlers) if (at !== id) h(id);
  }

  transport(id: number): import('../../src/sync/index.js').SyncTransport {
    return {
      ownId: () => id,
      authority: () => 1,
      peers: () => (this.options.mesh ? this.clientIds.filter((p) => p !== id) : id === 1 ? this.clientIds : [1]),
      send: (peer, data) => (this.queue.push({ from: id, to: peer, data: data.slice() }), true),
      maxMessageSize: () => 65536,
      onMessage: (h) => void this.handlers.set(id, h),
      onPeerLeft: () => {},
      onPeerRestarted: (h) => void this.restartHandlers.set(id, h),
      close: () => void this.handlers.delete(id),
    };
  }

  /** Inject a message as if `from` had sent it to `to`. */
  inject(from: number, to: number, data: unknown): void {
    this.handlers.get(to)?.(from, data);
  }

  /** Deliver every queued message (optionally filtered / altered). */
  deliver(filter: (m: { from: number; to: number; data: Uint8Array }) => boolean = () => true): number {
    const batch = this.queue.splice(0);
    let n = 0;
    for (const m of batch) {
      if (!filter(m)) continue;
      this.handlers.get(m.to)?.(m.from, m.data);
      n++;
    }
    return n;
  }
}

/** A full mesh of `n` peers (ids 1…n) on the virtual network, each with an RPC endpoint; every pair linked with `link`. */
export function virtualMesh(n: number, link: LinkOptions, seed = 1, register?: (ep: RpcEndpoint<AnyRpcMethods>) => void): { net: VirtualNetwork; all: RpcEndpoint<AnyRpcMethods>[] } {
  const net = new VirtualNetwork({ seed });
  const hosts = Array.from({ length: n }, (_, i) => net.createHost(`peer${i + 1}`));
  const meshes = hosts.map((_, i) => {
    const m = new WebRTCMultiplayerPeer({ clock: net.clock });
    m.createMesh(i + 1);
    return m;
  });
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      net.link(hosts[i]!, hosts[j]!, link);
      const a = new WebRTCPeerConnection({}, { engine: hosts[i]!.engine, autoPoll: true });
      const b = new WebRTCPeerConnection({}, { engine: hosts[j]!.engine, autoPoll: true });
      wire(a, b);
      meshes[i]!.addPeer(a, j + 1);
      meshes[j]!.addPeer(b, i + 1);
      b.createOffer();
    }
  }
  const all = meshes.map((m) => {
    const ep = new RpcEndpoint<AnyRpcMethods>(m, { clock: net.clock });
    register?.(ep);
    return ep;
  });
  const ok = net.runUntil(
    () => {
      for (const ep of all) {
        ep.poll();
        ep.flush();
      }
      return all.every((ep) => ep.getPeerIds().length === n - 1 && ep.getPeerIds().every((p) => ep.usesMethodIds(p)));
    },
    { maxMs: 60_000, stepMs: 10 },
  );
  if (!ok) throw new Error('the virtual mesh did not connect');
  return { net, all };
}

/**
 * A host (1) and one client (2) over {@link MemoryLinks}, their `sync_error`
 * events collected, and `round()`: a host tick, delivery, a client poll 33 ms
 * later (from `startMs`), delivery.
 */
export function memoryHostAndClient(hostOptions: SyncHostOptions, clientOptions: SyncClientOptions, startMs = 0) {
  const links = new MemoryLinks([2]);
  const host = new SyncHost(links.transport(1), hostOptions);
  const client = new SyncClient(links.transport(2), clientOptions);
  const hostErrors: SyncErrorEvent[] = [];
  const clientErrors: SyncErrorEvent[] = [];
  host.on('sync_error', (e) => hostErrors.push(e));
  client.on('sync_error', (e) => clientErrors.push(e));
  let now = startMs;
  const round = () => {
    host.tick();
    links.deliver();
    client.poll((now += 33));
    links.deliver();
  };
  return { links, host, client, hostErrors, clientErrors, round };
}

export { rng } from './rng.js';
