/**
 * The WebSocket client in a real browser (Chromium via playwright-core), with
 * the browser's own WebSocket, talking to the Node server and a Node client.
 * Skipped when Chromium is not installed (fails with RTCMESH_REQUIRE_SYSTEM=1).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanup, client, startServer, waitForEvent } from './helpers.js';

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find((p) => existsSync(p));
const required = process.env.RTCMESH_REQUIRE_SYSTEM === '1';
const entry = fileURLToPath(new URL('../../src/entries/browser-bundle.ts', import.meta.url));

let browser: Browser | undefined;
afterAll(async () => {
  await browser?.close();
  await cleanup();
});

describe.skipIf(!CHROMIUM && !required)('WebSocketSignalingClient in Chromium', () => {
  it('joins, and exchanges descriptions and candidates with a Node client', async () => {
    if (!CHROMIUM) throw new Error('Chromium is required (RTCMESH_REQUIRE_SYSTEM=1) but not installed');
    const bundle = await build({ entryPoints: [entry], bundle: true, platform: 'browser', format: 'iife', globalName: 'rtcmesh', write: false, logLevel: 'silent' });
    const { url } = await startServer();
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--headless=new'] });
    const page = await browser.newPage();
    await page.addScriptTag({ content: bundle.outputFiles[0]!.text });

    const node = client(url);
    await node.join({ lobby: 'browser' });
    const nodeSeesBrowser = waitForEvent<[number]>(node, 'peer_joined');
    const browserResult = await page.evaluate(async (u) => {
      const { WebSocketSignalingClient } = (globalThis as any).rtcmesh;
      const c = new WebSocketSignalingClient(u);
      (globalThis as any).client = c;
      (globalThis as any).got = new Promise((resolve) => c.on('description', (from: number, type: string, sdp: string) => resolve({ from, type, sdp })));
      return c.join({ lobby: 'browser' });
    }, url);
    expect(browserResult).toMatchObject({ lobby: 'browser', mode: 'mesh', peers: [1] });
    const [browserId] = await nodeSeesBrowser;
    expect(browserId).toBe(browserResult.id);

    node.sendDescription(browserId, 'offer', 'v=0 from node');
    expect(await page.evaluate(() => (globalThis as any).got)).toEqual({ from: 1, type: 'offer', sdp: 'v=0 from node' });
    const cand = waitForEvent<[number, string, number, string]>(node, 'candidate');
    await page.evaluate(() => (globalThis as any).client.sendCandidate(1, '0', 0, 'candidate:from browser'));
    expect(await cand).toEqual([browserId, '0', 0, 'candidate:from browser']);
    await page.evaluate(() => (globalThis as any).client.close());
  });
});
