/**
 * The whole arena in one process, on loopback: a signaling server (what
 * `rtcmesh serve` runs), the host and 3 bots. It runs until every bot has
 * seen every player move and the chat, prints what the bots see, and exits.
 *
 *   npm run build && npx tsx examples/game-server/run.ts
 */
import { SignalingServer } from 'rtcmesh/signaling';
import { startBot } from './bot.js';
import { startHost } from './host.js';

const LOOPBACK = { bindAddress: '127.0.0.1' };
const server = new SignalingServer({ hostKey: 'arena-host-secret' }); // lets only our host take id 1
const { url } = await server.listen({ port: 0, host: '127.0.0.1' });

// Bots may start first: their join waits (waitForHostMs) until the host is there.
const joining = [1, 2, 3].map(() => startBot(url, 'arena', LOOPBACK));
const host = await startHost({ signaling: url, lobby: 'arena', hostKey: 'arena-host-secret', connection: LOOPBACK });
const bots = await Promise.all(joining);
bots[0]!.say('hello arena');

const done = () => bots.every((b) => b.chat.length > 0 && b.players().length === 3 && b.players().every((p) => p.moved));
await new Promise<void>((resolve) => {
  const check = setInterval(() => done() && (clearInterval(check), resolve()), 50);
});

console.log(`host sees ${host.players.size} clients`);
for (const bot of bots) {
  const seen = bot.players().map((p) => `${p.name} (${p.x.toFixed(2)}, ${p.y.toFixed(2)})`);
  console.log(`bot ${bot.mesh.getUniqueId()} sees ${seen.join(', ')}; chat: ${bot.chat.join(' | ')}`);
}
for (const bot of bots) bot.close();
host.close();
await server.close();
