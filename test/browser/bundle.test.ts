import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { bundleForBrowser } from '../system/chromium-page.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

describe('rtcmesh/browser bundle', () => {
  it('bundles for the browser without node-datachannel', async () => {
    const { code, inputs } = await bundleForBrowser('src/browser.ts');
    expect(inputs.some((f) => f.includes('transport/browser/browser-engine.ts'))).toBe(true);
    expect(inputs.filter((f) => /node-datachannel|datachannel-engine/.test(f))).toEqual([]);
    expect(code).not.toContain('node-datachannel');
    expect(code).not.toMatch(/\brequire\(/);
  });

  /** The file `npm run build` writes to dist/ (scripts/bundle-browser.mjs), built here into a temporary directory. */
  it('scripts/bundle-browser.mjs writes one self-contained ES module that pulls no Node module, and prints its size', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rtcmesh-bundle-'));
    try {
      const outfile = join(dir, 'rtcmesh.browser.js');
      const { stdout } = await promisify(execFile)(process.execPath, [join(ROOT, 'scripts/bundle-browser.mjs'), `--outfile=${outfile}`], { cwd: ROOT });
      expect(stdout).toMatch(/rtcmesh\.browser\.js [\d.]+ KiB raw, [\d.]+ KiB gzip/);
      const code = await readFile(outfile, 'utf8');
      // Nothing left to resolve: bundling the bundle again (platform-neutral,
      // where Node's modules do not exist) finds no input but itself and no import.
      const again = await build({ entryPoints: [outfile], bundle: true, write: false, metafile: true, platform: 'neutral', format: 'esm', logLevel: 'silent' });
      expect(Object.keys(again.metafile.inputs)).toHaveLength(1);
      expect(Object.values(again.metafile.outputs).flatMap((o) => o.imports)).toEqual([]);
      expect(code).not.toMatch(/\brequire\(/);
      expect(code).not.toContain('node-datachannel');
      expect(await readFile(`${outfile}.map`, 'utf8')).toContain('src/browser.ts');
      // The public API is there, with the browser engine as default.
      const mod = (await import(pathToFileURL(outfile).href)) as typeof import('../../src/browser.js');
      expect(typeof mod.WebRTCPeerConnection).toBe('function');
      expect(typeof mod.WebRTCMultiplayerPeer).toBe('function');
      expect(typeof mod.RpcEndpoint).toBe('function');
      expect(typeof mod.Mesh.join).toBe('function');
      expect(mod.getDefaultEngine().name).toBe('browser');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
