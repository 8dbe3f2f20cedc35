/**
 * Real Chromium for system tests, with nothing leaving loopback:
 * - the page is served from 127.0.0.1 on an ephemeral port;
 * - Chromium may not resolve any name (`--host-resolver-rules`);
 * - mDNS host-candidate hiding is off, so candidates carry 127.0.0.1 that a
 *   Node peer can reach. Chromium honours only the last `--disable-features`
 *   switch and Playwright passes its own list, so Chromium is started through
 *   a tiny wrapper that merges every `--disable-features` into one.
 */
import { mkdtemp, readFile, rm, writeFile, chmod } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chromium, type Browser, type Page } from 'playwright-core';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Flags from the project's test hygiene notes. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--allow-loopback-in-peer-connection',
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost',
  '--disable-features=WebRtcHideLocalIpsWithMdns',
];

/** Bundle a module for the browser, as an app would. */
export async function bundleForBrowser(entry: string): Promise<{ code: string; inputs: string[] }> {
  const result = await build({
    entryPoints: [join(ROOT, entry)],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  return { code: result.outputFiles[0]!.text, inputs: Object.keys(result.metafile.inputs) };
}

export const WRAPPER = `#!/bin/bash
# Merge every --disable-features=… into one switch (Chromium keeps only the last).
features=""
args=()
for arg in "$@"; do
  case "$arg" in
    --disable-features=*) features="\${features:+$features,}\${arg#--disable-features=}" ;;
    *) args+=("$arg") ;;
  esac
done
[ -n "$features" ] && args+=("--disable-features=$features")
printf '%s\\n' "\${args[@]}" > "$(dirname "$0")/argv"
exec "$RTCMESH_CHROMIUM" "\${args[@]}"
`;

/** A browser with the harness page open. */
export interface HarnessPage {
  browser: Browser;
  page: Page;
  /** The switches Chromium was started with (after merging). */
  argv(): Promise<string[]>;
  close(): Promise<void>;
}

/** Called for each `window.toNode(name, kind, ...args)` in the page. */
export type PageMessageHandler = (name: string, kind: string, args: unknown[]) => void;

/** A headless Chromium started with {@link CHROMIUM_ARGS} (through the flag-merging wrapper). */
export interface LaunchedChromium {
  browser: Browser;
  /** The switches Chromium was started with (after merging). */
  argv(): Promise<string[]>;
  /** Close the browser and remove the wrapper's directory. */
  close(): Promise<void>;
}

/** Launch Chromium (headless, fresh temporary profile) with the project's flags. */
export async function launchChromium(chromiumPath: string): Promise<LaunchedChromium> {
  const dir = await mkdtemp(join(tmpdir(), 'rtcmesh-chromium-'));
  const wrapper = join(dir, 'chromium');
  let browser: Browser | undefined;
  const close = async () => {
    await browser?.close().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await writeFile(wrapper, WRAPPER);
    await chmod(wrapper, 0o755);
    // launch() gives Chromium a fresh temporary user-data-dir and removes it on close.
    browser = await chromium.launch({
      executablePath: wrapper,
      headless: true,
      args: CHROMIUM_ARGS,
      env: { ...process.env, RTCMESH_CHROMIUM: chromiumPath },
    });
    return { browser, argv: async () => (await readFile(join(dir, 'argv'), 'utf8')).trim().split('\n'), close };
  } catch (err) {
    await close();
    throw err;
  }
}

/**
 * Launch Chromium (headless, fresh profile) and open the harness page from
 * 127.0.0.1, with `window.toNode` forwarding to `onMessage`.
 */
export async function openHarnessPage(chromiumPath: string, onMessage: PageMessageHandler): Promise<HarnessPage> {
  const { code } = await bundleForBrowser('test/system/page/harness.ts');
  const html = '<!doctype html><meta charset="utf-8"><title>rtcmesh</title><script type="module" src="/harness.js"></script>';
  const server: Server = createServer((req, res) => {
    if (req.url === '/harness.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(code);
    else if (req.url === '/') res.writeHead(200, { 'content-type': 'text/html' }).end(html);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  let launched: LaunchedChromium | undefined;
  const close = async () => {
    await launched?.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
  };
  try {
    launched = await launchChromium(chromiumPath);
    const { browser } = launched;
    const page = await browser.newPage();
    page.on('pageerror', (err) => console.error('[chromium pageerror]', err));
    if (process.env['RTCMESH_DEBUG_PAGE']) page.on('console', (msg) => console.log('[page]', msg.text()));
    await page.exposeFunction('toNode', (name: string, kind: string, ...args: unknown[]) => onMessage(name, kind, args));
    const { port } = server.address() as AddressInfo;
    await page.goto(`http://127.0.0.1:${port}/`);
    await page.waitForFunction(() => 'harness' in window);
    return { browser, page, argv: launched.argv, close };
  } catch (err) {
    await close();
    throw err;
  }
}
