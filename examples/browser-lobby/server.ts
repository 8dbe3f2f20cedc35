/**
 * A browser lobby: a signaling server, a page bundle and a Node.js peer in
 * one lobby. Open the printed URL: the page joins the lobby over WebRTC, the
 * Node.js peer greets the page over RPC and the page answers.
 *
 *   npx tsx examples/browser-lobby/server.ts          # until Ctrl-C
 *   npx tsx examples/browser-lobby/server.ts --once   # exit after the first answer from a browser
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { Mesh, RpcEndpoint, Ticker, type AnyRpcMethods } from 'rtcmesh';
import { SignalingServer } from 'rtcmesh/signaling';

const once = process.argv.includes('--once');
const lobby = 'browser-lobby';
const signaling = new SignalingServer();
const { url } = await signaling.listen({ port: 0, host: '127.0.0.1' });

// The page's script, bundled for the browser.
const bundle = await build({ entryPoints: [fileURLToPath(new URL('./page.ts', import.meta.url))], bundle: true, format: 'esm', platform: 'browser', write: false, logLevel: 'silent' });
const script = bundle.outputFiles[0]!.text;
const html = '<!doctype html><meta charset="utf-8"><title>browser lobby</title><h1>browser lobby</h1><script type="module" src="/page.js"></script>';
const http = createServer((req, res) => {
  if (req.url === '/') res.writeHead(200, { 'content-type': 'text/html' }).end(html);
  else if (req.url === '/page.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(script);
  else if (req.url === '/config.json') res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ signaling: url, lobby }));
  else res.writeHead(404).end();
});
await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));

// A Node.js peer in the same lobby (it creates it, so it is the host, id 1).
const mesh = await Mesh.join({ signaling: url, lobby, connection: { bindAddress: '127.0.0.1' } });
const net = new RpcEndpoint<AnyRpcMethods>(mesh);
const ticker = new Ticker(net, { rate: 20 });
let stop!: () => void;
const stopped = new Promise<void>((resolve) => (stop = resolve));
net.register(
  'hello',
  (ctx, text: string) => {
    console.log(`browser peer ${ctx.senderId} says "${text}"`);
    if (once) stop();
  },
  { mode: 'any_peer' },
);
mesh.on('peer_connected', (id) => net.rpcId(id, 'hello', 'hello from Node.js'));
ticker.start();
console.log(`open http://127.0.0.1:${(http.address() as AddressInfo).port}/ (lobby "${lobby}" on ${url})`);
process.once('SIGINT', stop);
await stopped;
ticker.stop();
net.close();
mesh.close();
http.closeAllConnections();
http.close();
await signaling.close();
console.log('closed');
