/**
 * The demo's game page in real Chromium: a person opens the printed URL,
 * joins the lobby with the browser's RTCPeerConnection, gets the arena
 * replicated by the host's sync layer (every player and the orbs near it),
 * sees the host and the bots move on the canvas, moves its own player through
 * the sync input stream, and the bots see the person. Takes a screenshot:
 * into the temp dir, or over the one the docs use (docs/media/demo.png) with
 * RTCMESH_UPDATE_SCREENSHOT=1, so a test run leaves the checkout clean.
 */
import { spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { expect, it } from 'vitest';
import { waitUntil } from '../helpers.js';
import { CHROMIUM_ARGS, WRAPPER } from './chromium-page.js';
import { describeSystem, systemBinary } from './require-binary.js';

const main = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const screenshot = process.env.RTCMESH_UPDATE_SCREENSHOT === '1' ? fileURLToPath(new URL('../../docs/media/demo.png', import.meta.url)) : join(tmpdir(), `rtcmesh-demo-${process.pid}.png`);

describeSystem('rtcmesh demo page in Chromium', systemBinary('chromium', '/usr/bin/chromium'), (chromiumPath) => {
  it('a person on the page plays with the bots: each side sees the other', async () => {
    const demo = spawn(process.execPath, ['--import', 'tsx', main, 'demo', '--peers', '3', '--lobby', 'page-test'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    demo.stdout.on('data', (d) => (stdout += d));
    demo.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => demo.once('exit', (code) => resolve(code)));
    const dir = await mkdtemp(join(tmpdir(), 'rtcmesh-demo-page-'));
    let browser: Browser | undefined;
    try {
      await waitUntil(() => /full mesh formed: 3 peers/.test(stdout), 'demo mesh formed', 90_000, 50);
      const url = /play in the browser: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(stdout)![1]!;
      const wrapper = join(dir, 'chromium');
      await writeFile(wrapper, WRAPPER);
      await chmod(wrapper, 0o755);
      browser = await chromium.launch({ executablePath: wrapper, headless: true, args: CHROMIUM_ARGS, env: { ...process.env, RTCMESH_CHROMIUM: chromiumPath } });
      const page = await browser.newPage({ viewport: { width: 1240, height: 620 } });
      const errors: string[] = [];
      page.on('pageerror', (err) => errors.push(err.message));
      await page.goto(`${url}?name=you`);
      await page.waitForFunction(() => 'arena' in window, undefined, { timeout: 60_000 });
      // The page sees the host and both bots (their positions replicated by the host).
      await page.waitForFunction(
        () => {
          const names = (window as unknown as { arena: { players(): { name: string }[] } }).arena.players().map((p) => p.name);
          return ['host', 'bot1', 'bot2', 'you'].every((n) => names.includes(n));
        },
        undefined,
        { timeout: 60_000 },
      );
      // And the bots see the person: the demo prints it from their reports.
      await waitUntil(() => /host sees player "you"/.test(stdout) && /bot1 sees player "you"/.test(stdout) && /bot2 sees player "you"/.test(stdout), 'bots see the page player', 30_000, 50);
      // The bots move on the page.
      const at = async () => page.evaluate(() => (window as unknown as { arena: { players(): { name: string; x: number }[] } }).arena.players().find((p) => p.name === 'bot1')!.x);
      const x0 = await at();
      await page.waitForFunction((x) => (window as unknown as { arena: { players(): { name: string; x: number }[] } }).arena.players().find((p) => p.name === 'bot1')!.x !== x, x0, { timeout: 10_000 });
      // The person moves: its stick goes to the host as sync inputs, the host moves its player.
      type Arena = { arena: { id(): number; players(): { id: number; x: number; y: number }[]; sync(): { objects: number; players: number; bytes: number; acks: number; inputs: number; errors: number } } };
      const mine = async () => page.evaluate(() => { const a = (window as unknown as Arena).arena; return a.players().find((p) => p.id === a.id())!.x; });
      const before = await mine();
      await page.keyboard.down(before > 320 ? 'ArrowLeft' : 'ArrowRight');
      await page.waitForFunction((x) => { const a = (window as unknown as Arena).arena; return Math.abs(a.players().find((p) => p.id === a.id())!.x - x) > 20; }, before, { timeout: 10_000 });
      await page.keyboard.up(before > 320 ? 'ArrowLeft' : 'ArrowRight');
      // Sync figures: every player and some orbs in view, snapshots applied and acknowledged, inputs sent, nothing dropped.
      const sync = await page.evaluate(() => (window as unknown as Arena).arena.sync());
      expect(sync.players).toBe(4);
      expect(sync.objects).toBeGreaterThanOrEqual(4);
      expect(sync.bytes).toBeGreaterThan(0);
      expect(sync.acks).toBeGreaterThan(0);
      expect(sync.inputs).toBeGreaterThan(0);
      expect(sync.errors).toBe(0);
      await page.waitForFunction(() => /objects in view/.test(document.querySelector('#sync')!.textContent ?? ''), undefined, { timeout: 10_000 });
      // The link panel lists a connected link to every other player.
      await page.waitForFunction(() => document.querySelectorAll('#links tbody tr').length === 3, undefined, { timeout: 10_000 });
      expect(await page.locator('#links tbody').innerText()).toMatch(/host\s+connected/);
      expect(errors).toEqual([]);
      await mkdir(join(screenshot, '..'), { recursive: true });
      await page.screenshot({ path: screenshot });
      if (process.env.RTCMESH_UPDATE_SCREENSHOT !== '1') await rm(screenshot, { force: true });
    } finally {
      await browser?.close().catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
      demo.kill('SIGINT');
    }
    expect(await exited).toBe(0);
    expect(stderr).toBe('');
  }, 240_000);
});
