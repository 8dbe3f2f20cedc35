/**
 * The browser client: the same arena client as the bots, over rtcmesh's
 * browser build (dist/rtcmesh.browser.js, mapped to `rtcmesh` by page.html's
 * import map), drawing every player on a canvas. serve-page.ts bundles it and
 * serves it; open page.html?signaling=ws://…&lobby=arena.
 */
import { joinArena, type ArenaClient, type SeenPlayer } from './client.js';
import { ARENA } from './arena.js';

declare global {
  interface Window {
    /** For tests and the console: this client once joined, else the error. */
    arena?: { id: number; players(): SeenPlayer[]; chat: string[] } | { error: string };
  }
}

const params = new URLSearchParams(location.search);
const canvas = document.querySelector('canvas')!;
const log = document.querySelector('#log')!;

// Walk in circles: the stick turns a little every tick.
const circle = (tick: number) => ({ mx: Math.round(Math.cos(tick / 10)), my: Math.round(Math.sin(tick / 10)) });

function draw(me: number, players: SeenPlayer[]): void {
  const g = canvas.getContext('2d')!;
  const scale = canvas.width / (2 * ARENA);
  g.clearRect(0, 0, canvas.width, canvas.height);
  for (const p of players) {
    g.fillStyle = p.peer === me ? 'crimson' : 'steelblue';
    g.beginPath();
    g.arc((p.x + ARENA) * scale, (ARENA - p.y) * scale, 6, 0, 2 * Math.PI);
    g.fill();
  }
}

try {
  const client: ArenaClient = await joinArena({
    signaling: params.get('signaling') ?? `ws://${location.hostname}:8080`,
    lobby: params.get('lobby') ?? 'arena',
    steer: circle,
  });
  const me = client.mesh.getUniqueId();
  window.arena = { id: me, players: () => client.players(), chat: client.chat };
  client.say('hello from the browser');
  const frame = () => {
    draw(me, client.players());
    log.textContent = client.chat.join('\n');
    requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
} catch (err) {
  window.arena = { error: String(err) };
  log.textContent = `could not join: ${String(err)}`;
}
