/**
 * A Node bot: joins the arena and walks in a square.
 *
 *   npx tsx examples/game-server/bot.ts ws://127.0.0.1:8080 [lobby]
 */
import type { PeerConnectionConfig } from 'rtcmesh';
import { joinArena } from './client.js';

/** Walk one side of a square per second (30 ticks). */
export const square = (tick: number) => [{ mx: 1, my: 0 }, { mx: 0, my: 1 }, { mx: -1, my: 0 }, { mx: 0, my: -1 }][Math.floor(tick / 30) % 4]!;

export function startBot(signaling: string, lobby: string, connection?: PeerConnectionConfig) {
  return joinArena({ signaling, lobby, steer: square, ...(connection !== undefined && { connection }) });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [url, lobby = 'arena'] = process.argv.slice(2);
  if (!url) throw new Error('usage: bot.ts ws://HOST:PORT [lobby]');
  const bot = await startBot(url, lobby);
  console.log(`joined as peer ${bot.mesh.getUniqueId()}`);
  bot.say('hello');
  process.once('SIGINT', () => bot.close());
}
