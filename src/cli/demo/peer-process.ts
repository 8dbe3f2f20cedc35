/**
 * One demo player (the host or a bot) in its own process, so `kill -9` on it
 * shows the others detecting the loss and the demo recovering. Started by
 * demo-mesh.ts with `fork(file, [signalingUrl, lobby, name, role, hostKey])`:
 * the host takes id 1 with `Mesh.host` (a restarted host reclaims it with the
 * key), a bot joins with `Mesh.join`. Reports to the parent over IPC; exits
 * when told to stop or when the parent goes away.
 * @module
 */
import { Mesh, realClock, RpcEndpoint, Ticker, type AnyRpcMethods, type LobbyMultiplayerPeer } from '../../index.js'; // the Node entry: node-datachannel
import { cryptoRandom } from '../../util/sans-io.js';
import { ArenaClient } from './game-client.js';
import { ArenaHost } from './game-host.js';
import { linkRows } from './link-report.js';
import type { ParentMessage, PeerMessage } from './messages.js';

const [url, lobby, name, role, hostKey] = process.argv.slice(2) as [string, string, string, 'host' | 'bot', string];
const send = (m: PeerMessage) => process.send?.(m);
const common = { signaling: url, lobby, mode: 'mesh', connection: { bindAddress: '127.0.0.1' }, heartbeatIntervalMs: 250 } as const;

// The host creates the lobby as id 1 (or reclaims id 1 after a restart);
// bots never create it: they wait for the host.
const mesh: LobbyMultiplayerPeer = role === 'host' ? await Mesh.host({ ...common, hostKey }) : await Mesh.join({ ...common, create: false, waitForHostMs: 30_000 });
const net = new RpcEndpoint<AnyRpcMethods>(mesh);
const game = role === 'host' ? new ArenaHost(net, { name, random: cryptoRandom }) : new ArenaClient(net, { name, kind: 'bot', random: cryptoRandom, clock: realClock });
send({ type: 'joined', name, id: mesh.getUniqueId(), lobby: mesh.lobby });

// Names of the players seen lately: a player is despawned when its peer
// leaves, possibly before this listener runs.
const known = new Map<number, string>();
const remember = () => {
  for (const p of game.players()) known.set(p.id, p.name);
};
mesh.on('peer_disconnected', (id) => {
  send({ type: 'event', name, text: `lost ${game.nameOf(id) ?? known.get(id) ?? `peer ${id}`}` });
  known.delete(id);
});
mesh.on('peer_restarted', (id) => send({ type: 'event', name, text: `peer ${id} came back as a new process (${id === 1 ? 'host restarted: replica rebuilt' : 'restarted'})` }));

const ticker = new Ticker(net, { rate: 20, update: (tick, dt) => game.update(tick, dt) });
ticker.start();
// The game ticks at 20 Hz, but the mesh is polled every millisecond so its
// heartbeat ping is answered and read promptly: the RTT column measures the
// link, not the game's tick.
const fastPoll = setInterval(() => mesh.poll(), 1);
const report = setInterval(() => {
  remember();
  send({
    type: 'stats',
    name,
    id: mesh.getUniqueId(),
    links: linkRows(mesh),
    players: game.players().map((p) => ({ id: p.id, name: p.name })),
    counters: { ...game.rpc.counters },
    sync: game.syncRow(),
  });
}, 500);

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  clearInterval(report);
  clearInterval(fastPoll);
  ticker.stop();
  game.close();
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
