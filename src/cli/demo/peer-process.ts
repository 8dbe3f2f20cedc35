/**
 * One demo player (the host or a bot) in its own process, so `kill -9` on it
 * shows the others detecting the loss and the demo recovering. Started by
 * demo-mesh.ts with `fork(file, [signalingUrl, lobby, name, role])`; reports to
 * the parent over IPC; exits when told to stop or when the parent goes away.
 * @module
 */
import { Mesh } from '../../mesh/index.js';
import { RpcEndpoint, Ticker, type AnyRpcMethods } from '../../rpc/index.js';
import { cryptoRandom } from '../../util/sans-io.js';
import '../../index.js'; // sets node-datachannel as the default engine
import { ArenaPeer } from './arena.js';
import { linkRows } from './link-report.js';
import type { ParentMessage, PeerMessage } from './messages.js';

const [url, lobby, name, role] = process.argv.slice(2) as [string, string, string, string];
const send = (m: PeerMessage) => process.send?.(m);

const mesh = await Mesh.join({
  signaling: url,
  lobby,
  mode: 'mesh',
  connection: { bindAddress: '127.0.0.1' },
  heartbeatIntervalMs: 250,
});
const net = new RpcEndpoint<AnyRpcMethods>(mesh);
const game = new ArenaPeer(net, { name, bot: true, random: cryptoRandom });
send({ type: 'joined', name, id: mesh.getUniqueId(), lobby: mesh.lobby });
if (role === 'host' && mesh.getUniqueId() !== 1) send({ type: 'event', name, text: `expected to host the lobby but got id ${mesh.getUniqueId()}` });

const connectedAt = new Map<number, number>();
mesh.on('peer_connected', (id) => connectedAt.set(id, performance.now()));
mesh.on('peer_disconnected', (id) => {
  send({ type: 'event', name, text: `lost ${game.nameOf(id)}` });
  game.remove(id);
});

const ticker = new Ticker(net, { rate: 20, update: (tick, dt) => game.update(tick, dt) });
ticker.start();
// The game ticks at 20 Hz, but the mesh is polled every millisecond so its
// heartbeat ping is answered and read promptly: the RTT column measures the
// link, not the game's tick.
const fastPoll = setInterval(() => mesh.poll(), 1);
const report = setInterval(() => {
  send({
    type: 'stats',
    name,
    id: mesh.getUniqueId(),
    links: linkRows(mesh),
    players: [...game.players.values()].map((p) => ({ id: p.id, name: p.name })),
    counters: { ...game.counters },
  });
}, 500);

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  clearInterval(report);
  clearInterval(fastPoll);
  ticker.stop();
  net.close();
  mesh.close();
  process.disconnect?.();
};
process.on('message', (m: ParentMessage) => {
  if (m.type === 'stop') stop();
});
process.on('disconnect', stop);
process.on('SIGTERM', stop);
process.on('SIGINT', () => {}); // the parent decides when to stop (Ctrl-C reaches the whole group)
