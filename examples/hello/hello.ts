/**
 * Hello, mesh: a signaling server and two peers in one process, real WebRTC
 * on loopback. They join the lobby "hello", connect, greet each other over
 * RPC and exit.
 *
 *   npx tsx examples/hello/hello.ts
 */
import { Mesh, RpcEndpoint, Ticker, type AnyRpcMethods } from 'rtcmesh';
import { SignalingServer } from 'rtcmesh/signaling';

const server = new SignalingServer();
const { url } = await server.listen({ port: 0, host: '127.0.0.1' });

async function player(name: string, onGreeting: (from: string) => void) {
  const mesh = await Mesh.join({ signaling: url, lobby: 'hello', connection: { bindAddress: '127.0.0.1' } });
  const net = new RpcEndpoint<AnyRpcMethods>(mesh).register('greet', (_ctx, from: string) => onGreeting(from), { mode: 'any_peer' });
  mesh.on('peer_connected', (id) => net.rpcId(id, 'greet', name));
  const ticker = new Ticker(net, { rate: 30 });
  ticker.start();
  return { close: () => (ticker.stop(), net.close(), mesh.close()) };
}

let greetings = 0;
let allGreeted!: () => void;
const greeted = new Promise<void>((resolve) => (allGreeted = resolve));
const got = (who: string) => (from: string) => {
  console.log(`${who} got a greeting from ${from}`);
  if (++greetings === 2) allGreeted();
};

const ann = await player('ann', got('ann'));
const bob = await player('bob', got('bob'));
await greeted;
ann.close();
bob.close();
await server.close();
console.log('done');
