/**
 * The demo's game page: an HTTP server on 127.0.0.1 serving the page, its
 * script (page.ts bundled for the browser with esbuild on first request) and
 * the signaling URL and lobby to join.
 * @module
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';

const EXT = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
const PAGE_ENTRY = fileURLToPath(new URL(`./page${EXT}`, import.meta.url));

const HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>rtcmesh arena</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
  body { font: 14px system-ui, sans-serif; margin: 16px; background: #111; color: #ddd; }
  #wrap { display: flex; gap: 16px; align-items: flex-start; }
  h1 { margin: 0 0 4px; font-size: 22px; } h3 { margin: 0 0 6px; }
  canvas { background: #1c2430; border: 1px solid #345; }
  table { border-collapse: collapse; font: 12px ui-monospace, monospace; }
  td, th { padding: 2px 8px; text-align: right; } th { color: #9ab; }
  #chat { font: 12px ui-monospace, monospace; height: 110px; overflow: auto; width: 640px; color: #abc; }
</style></head>
<body>
<h1>rtcmesh arena</h1>
<p id="status">loading…</p>
<div id="wrap">
  <div><canvas id="field" width="640" height="400"></canvas><div id="chat"></div></div>
  <div><h3>links</h3><table id="links"><thead><tr><th>peer</th><th>state</th><th>rtt ms</th><th>loss</th><th>pkts</th><th>candidates</th><th>reconnects</th></tr></thead><tbody></tbody></table>
  <h3 style="margin-top:12px">sync (from the host, peer 1)</h3><table id="sync"><tbody></tbody></table>
  <p>Move: arrow keys / WASD, or click the arena.<br>You see every player and the orbs within the circle.</p></div>
</div>
<script type="module" src="/game.js"></script>
</body></html>
`;

/** The page script: page.ts and what it imports (the browser entry and the demo's Node-free game modules), bundled for the browser. */
export async function bundlePage(): Promise<{ code: string; inputs: string[] }> {
  const { build } = await import('esbuild');
  const result = await build({ entryPoints: [PAGE_ENTRY], bundle: true, platform: 'browser', format: 'esm', write: false, logLevel: 'silent', metafile: true });
  return { code: result.outputFiles[0]!.text, inputs: Object.keys(result.metafile.inputs) };
}

async function bundle(): Promise<string> {
  return (await bundlePage()).code;
}

/** Serve the page; resolves once listening. */
export async function serveGamePage(o: { port: number; signaling: string; lobby: string }): Promise<{ url: string; close(): Promise<void> }> {
  let script: Promise<string> | undefined;
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(HTML);
    } else if (path === '/config.json') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ signaling: o.signaling, lobby: o.lobby }));
    } else if (path === '/game.js') {
      script ??= bundle();
      script.then(
        (code) => res.writeHead(200, { 'content-type': 'text/javascript' }).end(code),
        (err: unknown) => {
          script = undefined;
          res.writeHead(500, { 'content-type': 'text/javascript' }).end(`document.getElementById('status').textContent = ${JSON.stringify(`could not bundle the page (is esbuild installed? npm install): ${err instanceof Error ? err.message : String(err)}`)};`);
        },
      );
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
