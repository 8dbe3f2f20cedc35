/**
 * Sync test harness: a server and clients as real WebRTCMultiplayerPeers with
 * RPC endpoints on the virtual network (deterministic for a seed), and a
 * fixed-rate loop on the virtual clock.
 */
import { VirtualNetwork, WebRTCMultiplayerPeer, WebRTCPeerConnection, type LinkOptions } from '../../src/index.js';
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
