/**
 * The "Your first game server" example (examples/game-server, docs/game-server.md)
 * runs as the guide says: a signaling server, the authoritative host, 3 Node
 * bots and 1 Chromium page, all on loopback. Every client sees every player
 * move (positions replicated from the host), the host sees 4 clients, chat
 * goes through the host, and everything closes. The example code imports
 * `rtcmesh` (the package itself, i.e. dist/): run `npm run build` first.
 */
import { access } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { afterAll, expect, it } from 'vitest';
import type { SeenPlayer } from '../../examples/game-server/client.js';
import { startBot } from '../../examples/game-server/bot.js';
import { startHost } from '../../examples/game-server/host.js';
import { servePage } from '../../examples/game-server/serve-page.js';
import { SignalingServer } from '../api.js';
import { LOOPBACK, waitUntil } from '../helpers.js';
import { launchChromium, type LaunchedChromium } from '../system/chromium-page.js';
import { describeSystem, systemBinary } from '../system/require-binary.js';

const TIMEOUT = 30_000;
const everyoneMoves = (players: SeenPlayer[], ids: number[]) =>
  ids.every((id) => players.some((p) => p.peer === id && p.moved)) && players.length === ids.length;

describeSystem('examples/game-server: host + 3 bots + 1 Chromium page on loopback', systemBinary('chromium', '/usr/bin/chromium'), (chromiumPath) => {
  const cleanup: (() => unknown)[] = [];
  afterAll(async () => {
    for (const step of cleanup.reverse()) await step();
  });

  it('every client sees every player move, the host sees 4 clients, chat is relayed, all close', async () => {
    await access(fileURLToPath(new URL('../../dist/rtcmesh.browser.js', import.meta.url))).catch(() => {
      throw new Error('dist/rtcmesh.browser.js is missing: run `npm run build` first');
    });
    const signaling = new SignalingServer({ hostKey: 'arena-host-secret' });
    cleanup.push(() => signaling.close());
    const { url } = await signaling.listen({ port: 0, host: '127.0.0.1' });
    const web = await servePage();
    cleanup.push(() => web.close());
    const chromium: LaunchedChromium = await launchChromium(chromiumPath);
    cleanup.push(() => chromium.close());

    // Bots first: their joins wait (waitForHostMs) for the host.
    const joining = [0, 1, 2].map(() => startBot(url, 'arena', LOOPBACK));
    const host = await startHost({ signaling: url, lobby: 'arena', hostKey: 'arena-host-secret', connection: LOOPBACK });
    cleanup.push(() => host.close());
    expect(host.mesh.getUniqueId()).toBe(1);
    const bots = await Promise.all(joining);
    for (const bot of bots) cleanup.push(() => bot.close());

    const page: Page = await chromium.browser.newPage();
    page.on('pageerror', (err) => console.error('[chromium pageerror]', err));
    await page.goto(`${web.url}?signaling=${encodeURIComponent(url)}&lobby=arena`);
    await page.waitForFunction(() => window.arena !== undefined, undefined, { timeout: TIMEOUT });
    const joined = await page.evaluate(() => window.arena!);
    expect(joined).not.toHaveProperty('error');
    const pageId = (joined as { id: number }).id;

    const ids = [...bots.map((b) => b.mesh.getUniqueId()), pageId];
    expect(new Set(ids).size).toBe(4);
    expect(ids).not.toContain(1);

    await waitUntil(() => host.players.size === 4, 'the host has 4 players', TIMEOUT);
    expect([...host.players.keys()].sort()).toEqual([...ids].sort());

    for (const bot of bots) await waitUntil(() => everyoneMoves(bot.players(), ids), `bot ${bot.mesh.getUniqueId()} sees all 4 players move`, TIMEOUT);
    await page.waitForFunction(
      (want) => {
        const a = window.arena;
        if (!a || !('players' in a)) return false;
        const players = a.players();
        return players.length === want.length && want.every((id) => players.some((p) => p.peer === id && p.moved));
      },
      ids,
      { timeout: TIMEOUT },
    );
    // What the page shows came from the host: the players' names are the host's.
    const onPage = await page.evaluate(() => (window.arena as { players(): SeenPlayer[] }).players());
    expect(onPage.map((p) => p.name).sort()).toEqual([...host.players.values()].map((p) => p.get('name')).sort());

    // Chat: the page's hello reached every bot through the host's 'said'.
    for (const bot of bots) await waitUntil(() => bot.chat.includes(`${pageId}: hello from the browser`), 'the page chat relayed', TIMEOUT);

    // Closing: bots leave the lobby; the host despawns them; the page then sees only itself.
    for (const bot of bots) bot.close();
    await waitUntil(() => host.players.size === 1 && host.players.has(pageId), 'the host sees the bots leave', TIMEOUT);
    await page.waitForFunction(() => (window.arena as { players(): SeenPlayer[] }).players().length === 1, undefined, { timeout: TIMEOUT });
    host.close();
    expect(host.mesh.getPeerIds()).toEqual([]);
  });
});
