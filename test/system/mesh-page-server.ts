/**
 * Serves the mesh-member page (test/system/page/mesh-page.ts, or another
 * page script) on loopback,
 * loading the real `dist`-style browser bundle that scripts/bundle-browser.mjs
 * writes (built here into a temporary directory).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** A running page server: its URL, and `close()` that stops it and removes its files. */
export interface MeshPageServer {
  url: string;
  close(): Promise<void>;
}

/**
 * Bundle the page against the browser bundle and serve both on 127.0.0.1
 * (`title` names the page; `entry` is the page script, default the
 * mesh-member page).
 */
export async function serveMeshPage(title: string, entry = 'test/system/page/mesh-page.ts'): Promise<MeshPageServer> {
  const dir = await mkdtemp(join(tmpdir(), 'rtcmesh-mesh-page-'));
  try {
    await promisify(execFile)(process.execPath, [join(ROOT, 'scripts/bundle-browser.mjs'), `--outfile=${join(dir, 'rtcmesh.browser.js')}`], { cwd: ROOT });
    const page = await build({
      entryPoints: [join(ROOT, entry)],
      bundle: true,
      platform: 'browser',
      format: 'esm',
      write: false,
      logLevel: 'silent',
      plugins: [
        {
          name: 'use-dist-bundle',
          setup(b) {
            b.onResolve({ filter: /src\/browser\.js$/ }, () => ({ path: './rtcmesh.browser.js', external: true }));
          },
        },
      ],
    });
    const files: Record<string, string> = {
      '/': `<!doctype html><meta charset="utf-8"><title>${title}</title><script type="module" src="/mesh-page.js"></script>`,
      '/mesh-page.js': page.outputFiles[0]!.text,
      '/rtcmesh.browser.js': await readFile(join(dir, 'rtcmesh.browser.js'), 'utf8'),
    };
    const web = createServer((req, res) => {
      const body = files[req.url ?? ''];
      if (body === undefined) res.writeHead(404).end();
      else res.writeHead(200, { 'content-type': req.url === '/' ? 'text/html' : 'text/javascript' }).end(body);
    });
    await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve));
    return {
      url: `http://127.0.0.1:${(web.address() as AddressInfo).port}/`,
      async close() {
        await new Promise<void>((resolve) => web.close(() => resolve()));
        web.closeAllConnections();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}
