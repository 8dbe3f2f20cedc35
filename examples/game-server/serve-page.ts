/**
 * Serve the browser client from 127.0.0.1: page.html, page.ts bundled by
 * esbuild (with `rtcmesh` left external) and the browser build that
 * `npm run build` puts in dist/.
 */
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));

export async function servePage(host = '127.0.0.1', port = 0) {
  const bundled = await build({ entryPoints: [here('page.ts')], bundle: true, format: 'esm', platform: 'browser', external: ['rtcmesh'], write: false, logLevel: 'silent' });
  const files: Record<string, [string, string]> = {
    '/page.html': ['text/html', await readFile(here('page.html'), 'utf8')],
    '/page.js': ['text/javascript', bundled.outputFiles[0]!.text],
    '/rtcmesh.browser.js': ['text/javascript', await readFile(here('../../dist/rtcmesh.browser.js'), 'utf8')],
  };
  const server = createServer((req, res) => {
    const file = files[new URL(req.url ?? '/', 'http://x').pathname];
    if (file) res.writeHead(200, { 'content-type': file[0] }).end(file[1]);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  return {
    /** page.html; add `?signaling=ws://…&lobby=…`. */
    url: `http://${host}:${(server.address() as AddressInfo).port}/page.html`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
