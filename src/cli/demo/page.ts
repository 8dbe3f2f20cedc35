/**
 * The demo's game page (bundled for the browser by web.ts from the browser
 * entry only): joins the demo's lobby with `Mesh.join` over the browser's
 * RTCPeerConnection, plays as "you" (arrow keys, WASD or click) through the
 * sync input stream, draws what the host replicates (players and the orbs
 * near you, interpolated; your own player predicted) and panels of link and
 * sync figures. `window.arena` exposes the state for tests.
 * @module
 */
import { Mesh, RpcEndpoint, Ticker, realClock, type AnyRpcMethods } from '../../browser.js';
import { ARENA_HEIGHT, ARENA_WIDTH, stickToward, STICK, TICK_RATE, VIEW_RADIUS, type StickInput } from './arena.js';
import { ArenaClient } from './game-client.js';
import { linkRows } from './link-report.js';
import type { SyncRow } from './sync-report.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const status = $('status');
const chatBox = $('chat');
const canvas = $<HTMLCanvasElement>('field');
const ctx = canvas.getContext('2d')!;

function cells(row: HTMLTableRowElement, values: string[]): HTMLTableRowElement {
  for (const v of values) {
    const td = document.createElement('td');
    td.textContent = v;
    row.append(td);
  }
  return row;
}

async function main(): Promise<void> {
  const config = (await (await fetch('/config.json')).json()) as { signaling: string; lobby: string };
  const name = new URLSearchParams(location.search).get('name') ?? 'you';
  status.textContent = `joining lobby "${config.lobby}" at ${config.signaling}…`;
  const mesh = await Mesh.join({ signaling: config.signaling, lobby: config.lobby, mode: 'mesh', create: false, waitForHostMs: 30_000, heartbeatIntervalMs: 250 });
  const net = new RpcEndpoint<AnyRpcMethods>(mesh);
  const chat = (from: string, text: string) => {
    const line = document.createElement('div');
    line.textContent = `${from}: ${text}`;
    chatBox.append(line);
    while (chatBox.childElementCount > 50) chatBox.firstElementChild?.remove();
    chatBox.scrollTop = chatBox.scrollHeight;
  };

  const keys = new Set<string>();
  addEventListener('keydown', (e) => keys.add(e.key.toLowerCase()));
  addEventListener('keyup', (e) => keys.delete(e.key.toLowerCase()));
  let target: { x: number; y: number } | undefined;
  canvas.addEventListener('click', (e) => {
    const r = canvas.getBoundingClientRect();
    target = { x: e.clientX - r.left, y: e.clientY - r.top };
  });
  const steer = (pos: { x: number; y: number }): StickInput => {
    const dx = (keys.has('arrowright') || keys.has('d') ? 1 : 0) - (keys.has('arrowleft') || keys.has('a') ? 1 : 0);
    const dy = (keys.has('arrowdown') || keys.has('s') ? 1 : 0) - (keys.has('arrowup') || keys.has('w') ? 1 : 0);
    if (dx || dy) {
      target = undefined;
      return { mx: dx * STICK, my: dy * STICK };
    }
    if (!target) return { mx: 0, my: 0 };
    const stick = stickToward(pos, target);
    if (stick.mx === 0 && stick.my === 0) target = undefined;
    return stick;
  };
  const game = new ArenaClient(net, { name, kind: 'person', clock: realClock, steer, chatEvery: 0, onChat: chat });
  status.textContent = `in lobby "${config.lobby}" as ${name} (peer ${mesh.getUniqueId()}); the host (peer 1) replicates the arena to you with the sync layer`;

  const ticker = new Ticker(net, { rate: TICK_RATE, update: (tick) => game.update(tick) });
  ticker.start();
  // Poll the mesh between ticks too, so heartbeats are answered promptly and
  // the rtt column measures the link rather than the 20 Hz tick.
  setInterval(() => mesh.poll(), 4);

  const draw = () => {
    ctx.clearRect(0, 0, ARENA_WIDTH, ARENA_HEIGHT);
    const { players, orbs } = game.render();
    const me = game.predicted();
    if (me) {
      ctx.strokeStyle = '#2a3a4c';
      ctx.beginPath();
      ctx.arc(me.x, me.y, VIEW_RADIUS, 0, Math.PI * 2);
      ctx.stroke();
    }
    ctx.fillStyle = '#c9a0ff';
    for (const o of orbs) {
      ctx.beginPath();
      ctx.arc(o.x, o.y, o.size, 0, Math.PI * 2);
      ctx.fill();
    }
    for (const p of players) {
      const mine = p.id === mesh.getUniqueId();
      const at = mine && me ? me : p;
      ctx.fillStyle = mine ? '#ffcc33' : p.kind === 'host' ? '#66ddaa' : p.kind === 'person' ? '#ff8866' : '#5aa0ff';
      ctx.beginPath();
      ctx.arc(at.x, at.y, mine ? 10 : 8, 0, Math.PI * 2);
      ctx.fill();
      ctx.fillStyle = '#ddd';
      ctx.fillText(p.name, at.x + 12, at.y + 4);
    }
    requestAnimationFrame(draw);
  };
  requestAnimationFrame(draw);

  const linkBody = document.querySelector('#links tbody')!;
  const syncBody = document.querySelector('#sync tbody')!;
  let last: { row: SyncRow; at: number } | undefined;
  setInterval(() => {
    linkBody.replaceChildren(
      ...linkRows(mesh).map((l) =>
        cells(document.createElement('tr'), [game.nameOf(l.peer) ?? `#${l.peer}`, l.state, l.rttMs >= 0 ? l.rttMs.toFixed(2) : '-', `${(l.loss * 100).toFixed(0)}%`, String(l.packets), l.candidate, String(l.reconnects)]),
      ),
    );
    const row = game.syncRow();
    const now = performance.now();
    const d = last && row.snapshots > last.row.snapshots ? { bpt: (row.bytes - last.row.bytes) / (row.snapshots - last.row.snapshots), kBps: (row.bytes - last.row.bytes) / 1024 / ((now - last.at) / 1000) } : undefined;
    last = { row, at: now };
    const figures: [string, string][] = [
      ['objects in view', String(row.objects)],
      ['players', String(row.players)],
      ['snapshot B/tick', d ? d.bpt.toFixed(1) : '-'],
      ['snapshot kB/s', d ? d.kBps.toFixed(1) : '-'],
      ['ticks applied (acked)', String(row.acks)],
      ['inputs sent', String(row.inputs)],
      ['input lag ms', String((row.inputLag * 1000) / TICK_RATE)],
      ['dropped', String(row.errors)],
    ];
    syncBody.replaceChildren(...figures.map((f) => cells(document.createElement('tr'), f)));
  }, 500);

  Object.assign(window, {
    arena: {
      id: () => mesh.getUniqueId(),
      players: () => game.players(),
      links: () => linkRows(mesh),
      sync: () => game.syncRow(),
      say: (text: string) => game.rpc.say(text),
    },
  });
}

main().catch((err: unknown) => {
  status.textContent = `error: ${err instanceof Error ? err.message : String(err)}`;
});
