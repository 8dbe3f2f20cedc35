/**
 * The demo's game page (bundled for the browser by web.ts): joins the demo's
 * lobby with the browser's RTCPeerConnection, plays as "you" (arrow keys,
 * WASD or click), draws every player and a per-link stats panel.
 * `window.arena` exposes the state for tests.
 * @module
 */
import { Mesh, RpcEndpoint, Ticker, type AnyRpcMethods } from '../../browser.js';
import { cryptoRandom } from '../../util/sans-io.js';
import { ARENA_HEIGHT, ARENA_WIDTH, ArenaPeer } from './arena.js';
import { linkRows } from './link-report.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const status = $('status');
const chatBox = $('chat');
const canvas = $<HTMLCanvasElement>('field');
const ctx = canvas.getContext('2d')!;

async function main(): Promise<void> {
  const config = (await (await fetch('/config.json')).json()) as { signaling: string; lobby: string };
  const name = new URLSearchParams(location.search).get('name') ?? 'you';
  status.textContent = `joining lobby "${config.lobby}" at ${config.signaling}…`;
  const mesh = await Mesh.join({ signaling: config.signaling, lobby: config.lobby, mode: 'mesh', heartbeatIntervalMs: 250 });
  const net = new RpcEndpoint<AnyRpcMethods>(mesh);
  const chat = (from: string, text: string) => {
    const line = document.createElement('div');
    line.textContent = `${from}: ${text}`;
    chatBox.append(line);
    while (chatBox.childElementCount > 50) chatBox.firstElementChild?.remove();
    chatBox.scrollTop = chatBox.scrollHeight;
  };
  const game = new ArenaPeer(net, { name, bot: false, random: cryptoRandom, onChat: chat });
  mesh.on('peer_disconnected', (id) => game.remove(id));
  status.textContent = `in lobby "${config.lobby}" as ${name} (peer ${mesh.getUniqueId()})`;

  const keys = new Set<string>();
  addEventListener('keydown', (e) => keys.add(e.key.toLowerCase()));
  addEventListener('keyup', (e) => keys.delete(e.key.toLowerCase()));
  let target: { x: number; y: number } | undefined;
  canvas.addEventListener('click', (e) => {
    const r = canvas.getBoundingClientRect();
    target = { x: e.clientX - r.left, y: e.clientY - r.top };
  });
  const speed = 160;
  const ticker = new Ticker(net, {
    rate: 20,
    update: (tick, dt) => {
      const s = (speed * dt) / 1000;
      const me = game.me;
      const dx = (keys.has('arrowright') || keys.has('d') ? 1 : 0) - (keys.has('arrowleft') || keys.has('a') ? 1 : 0);
      const dy = (keys.has('arrowdown') || keys.has('s') ? 1 : 0) - (keys.has('arrowup') || keys.has('w') ? 1 : 0);
      if (dx || dy) target = undefined;
      if (target) {
        const d = Math.hypot(target.x - me.x, target.y - me.y);
        if (d < s) target = undefined;
        else {
          me.x += ((target.x - me.x) / d) * s;
          me.y += ((target.y - me.y) / d) * s;
        }
      }
      me.x = Math.max(0, Math.min(ARENA_WIDTH, me.x + dx * s));
      me.y = Math.max(0, Math.min(ARENA_HEIGHT, me.y + dy * s));
      game.update(tick, dt);
    },
  });
  ticker.start();
  // Poll the mesh between ticks too, so heartbeats are answered promptly and
  // the rtt column measures the link rather than the 20 Hz tick.
  setInterval(() => mesh.poll(), 4);

  const draw = () => {
    ctx.clearRect(0, 0, ARENA_WIDTH, ARENA_HEIGHT);
    for (const p of game.players.values()) {
      const mine = p.id === mesh.getUniqueId();
      ctx.fillStyle = mine ? '#ffcc33' : p.name === 'host' ? '#66ddaa' : '#5aa0ff';
      ctx.beginPath();
      ctx.arc(p.x, p.y, mine ? 10 : 8, 0, Math.PI * 2);
      ctx.fill();
      ctx.fillStyle = '#ddd';
      ctx.fillText(p.name, p.x + 12, p.y + 4);
    }
    requestAnimationFrame(draw);
  };
  requestAnimationFrame(draw);

  const body = document.querySelector('#links tbody')!;
  setInterval(() => {
    body.replaceChildren(
      ...linkRows(mesh).map((l) => {
        const tr = document.createElement('tr');
        for (const cell of [game.nameOf(l.peer), l.state, l.rttMs >= 0 ? l.rttMs.toFixed(2) : '-', `${(l.loss * 100).toFixed(0)}%`, String(l.packets), l.candidate, String(l.reconnects)]) {
          const td = document.createElement('td');
          td.textContent = cell;
          tr.append(td);
        }
        return tr;
      }),
    );
  }, 500);

  Object.assign(window, {
    arena: {
      id: () => mesh.getUniqueId(),
      players: () => [...game.players.values()].map((p) => ({ ...p })),
      links: () => linkRows(mesh),
      say: (text: string) => game.say(text),
    },
  });
}

main().catch((err: unknown) => {
  status.textContent = `error: ${err instanceof Error ? err.message : String(err)}`;
});
