/**
 * The browser side: join the lobby with the browser's RTCPeerConnection,
 * answer every greeting over RPC and show it. Bundled by server.ts
 * (esbuild), as an app's bundler would.
 */
import { Mesh, RpcEndpoint, Ticker, type AnyRpcMethods } from 'rtcmesh/browser';

const log = (text: string) => {
  const p = document.createElement('p');
  p.textContent = text;
  document.body.append(p);
};

const { signaling, lobby } = (await (await fetch('/config.json')).json()) as { signaling: string; lobby: string };
const mesh = await Mesh.join({ signaling, lobby });
log(`joined lobby "${lobby}" as peer ${mesh.getUniqueId()}`);
// Answer each greeting (so the Node.js side knows the page got its message).
const net = new RpcEndpoint<AnyRpcMethods>(mesh).register(
  'hello',
  (ctx, text: string) => {
    log(`peer ${ctx.senderId}: ${text}`);
    net.rpcId(ctx.senderId, 'hello', 'hello from the browser');
  },
  { mode: 'any_peer' },
);
new Ticker(net, { rate: 20 }).start();
