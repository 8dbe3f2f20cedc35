#!/usr/bin/env node
/**
 * Bundle rtcmesh's browser entry point (src/browser.ts) and the browser side of
 * rtcmesh/signaling (src/entries/browser-bundle.ts) into one ES module,
 * dist/rtcmesh.browser.js (+ .map), for pages and examples that load rtcmesh
 * without a bundler of their own. Run by `npm run build` after tsc.
 * Fails if the bundle would pull in any Node.js module. Prints the size, raw
 * and gzip.
 *
 * Usage: node scripts/bundle-browser.mjs [--minify] [--outfile=PATH]
 */
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { builtinModules } from 'node:module';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const minify = !args.includes('--no-minify');
const outfile = args.find((a) => a.startsWith('--outfile='))?.slice('--outfile='.length) ?? join(root, 'dist', 'rtcmesh.browser.js');

/** Node's own modules, with and without the `node:` prefix. */
const nodeModules = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);

const result = await build({
  entryPoints: [join(root, 'src', 'entries', 'browser-bundle.ts')],
  outfile,
  bundle: true,
  platform: 'browser',
  format: 'esm',
  target: 'es2022',
  minify,
  sourcemap: true,
  metafile: true,
  legalComments: 'eof',
  logLevel: 'warning',
});

const inputs = Object.keys(result.metafile.inputs);
const offenders = inputs.filter((f) => /node-datachannel|datachannel-engine/.test(f));
for (const output of Object.values(result.metafile.outputs)) {
  for (const imp of output.imports ?? []) if (imp.external || nodeModules.has(imp.path)) offenders.push(imp.path);
}
if (offenders.length > 0) {
  console.error(`bundle-browser: the browser bundle must not use Node.js modules, found: ${offenders.join(', ')}`);
  process.exit(1);
}

const code = readFileSync(outfile);
const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
console.log(`bundle-browser: ${relative(root, outfile)} ${kib(code.length)} raw, ${kib(gzipSync(code, { level: 9 }).length)} gzip (${minify ? 'minified' : 'not minified'}, ${inputs.length} inputs)`);
