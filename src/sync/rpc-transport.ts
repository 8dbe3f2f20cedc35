/**
 * The sync layer over an `RpcEndpoint`: one RPC (default name
 * `rtcmesh.sync`) carries every sync message as binary on the unreliable
 * channel, each part in a message of its own. Register it on every peer
 * before peers connect, like any RPC.
 * @module
 */
import { TransferMode } from '../mesh/index.js';
import { RpcEndpoint, type AnyRpcMethods } from '../rpc/index.js';
import { checkInt, checkOptions, checkString, invalid } from '../util/validate.js';
import type { SyncTransport } from './types.js';

/** Options of {@link rpcTransport}. */
export interface RpcTransportOptions {
  /** RPC name used for sync messages. Default `rtcmesh.sync`. */
  name?: string;
  /** Custom channel to send on (0 = the mesh's default unreliable channel). Default 0. */
  channel?: number;
}

/** Adapt an RPC endpoint into a {@link SyncTransport}; registers the sync RPC on it. */
export function rpcTransport(rpc: RpcEndpoint<any>, options?: RpcTransportOptions): SyncTransport {
  if (!(rpc instanceof RpcEndpoint)) invalid('rpcTransport() rpc', 'an RpcEndpoint', rpc);
  const o = checkOptions<RpcTransportOptions>(options, ['name', 'channel'], 'rpcTransport options');
  const channel = o.channel === undefined ? 0 : checkInt(o.channel, 0, 255, 'rpcTransport options.channel');
  const name = o.name === undefined ? 'rtcmesh.sync' : checkString(o.name, 'rpcTransport options.name', 255);
  const ep = rpc as RpcEndpoint<AnyRpcMethods>;
  let onMessage: (peer: number, data: unknown) => void = () => {};
  const left: ((peer: number) => void)[] = [];
  const onLeft = (id: number) => {
    for (const h of left) h(id);
  };
  ep.register(name, (ctx, data: unknown) => onMessage(ctx.senderId, data), {
    mode: 'any_peer',
    transferMode: TransferMode.UNRELIABLE,
    channel,
    immediate: true,
  });
  ep.on('peer_disconnected', onLeft);
  const restarted: ((peer: number) => void)[] = [];
  const onRestarted = (id: number) => {
    for (const h of restarted) h(id);
  };
  ep.mesh.on('peer_restarted', onRestarted);
  return {
    ownId: () => ep.mesh.getUniqueId(),
    authority: () => ep.getAuthority(),
    peers: () => ep.getPeerIds(),
    send(peer, data) {
      try {
        ep.rpcId(peer, name, data);
        return true;
      } catch {
        return false;
      }
    },
    maxMessageSize: () => {
      try {
        const m = ep.mesh.getMaxPacketSize();
        return m > 0 ? m : 65536;
      } catch {
        return 65536;
      }
    },
    onMessage(handler) {
      onMessage = handler;
    },
    onPeerLeft(handler) {
      left.push(handler);
    },
    onPeerRestarted(handler) {
      restarted.push(handler);
    },
    close() {
      ep.off('peer_disconnected', onLeft);
      ep.mesh.off('peer_restarted', onRestarted);
      restarted.length = 0;
      onMessage = () => {};
      left.length = 0;
      try {
        ep.unregister(name);
      } catch {
        // endpoint already closed
      }
    },
  };
}
