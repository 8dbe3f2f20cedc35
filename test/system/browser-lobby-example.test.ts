/**
 * examples/browser-lobby in real Chromium: the page bundle joins the mesh
 * lobby, greets the Node.js peer over RPC, and the example exits by itself
 * (`--once`).
 */
import { spawn } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { expect, it } from 'vitest';
import { waitUntil } from '../helpers.js';
import { CHROMIUM_ARGS, WRAPPER } from './chromium-page.js';
import { describeSystem, systemBinary } from './require-binary.js';

const server = fileURLToPath(new URL('../../examples/browser-lobby/server.ts', import.meta.url));

describeSystem('examples/browser-lobby in Chromium', systemBinary('chromium', '/usr/bin/chromium'), (chromiumPath) => {
  it('the page joins the lobby and greets the Node.js peer; both sides see the greeting', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', server, '--once'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const dir = await mkdtemp(join(tmpdir(), 'rtcmesh-browser-lobby-'));
    let browser: Browser | undefined;
    try {
      await waitUntil(() => /open http:\/\/127\.0\.0\.1:\d+\//.test(stdout), 'example ready', 60_000, 50);
      const url = /open (http:\/\/127\.0\.0\.1:\d+\/)/.exec(stdout)![1]!;
      const wrapper = join(dir, 'chromium');
      await writeFile(wrapper, WRAPPER);
      await chmod(wrapper, 0o755);
      browser = await chromium.launch({ executablePath: wrapper, headless: true, args: CHROMIUM_ARGS, env: { ...process.env, RTCMESH_CHROMIUM: chromiumPath } });
      const page = await browser.newPage();
      await page.goto(url);
      await page.getByText('peer 1: hello from Node.js').waitFor({ timeout: 60_000 });
      expect(await page.locator('body').innerText()).toMatch(/joined lobby "browser-lobby" as peer \d+/);
      expect(await exited).toBe(0);
    } finally {
      await browser?.close().catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
      child.kill('SIGKILL');
    }
    expect(stdout).toMatch(/browser peer \d+ says "hello from the browser"/);
    expect(stdout.trimEnd().split('\n').at(-1)).toBe('closed');
    expect(stderr).toBe('');
  }, 180_000);
});
