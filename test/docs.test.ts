/**
 * `npm run docs` builds the real site (API reference and guides) with no
 * typedoc warning or error, and no broken link or anchor in the built HTML
 * (checked offline against the files).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { existsSync, readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { runNode } from './helpers.js';
import { checkLinks } from './link-check.js';

it('typedoc builds the site without warnings, and every link and anchor in it resolves', async () => {
  const typedoc = fileURLToPath(new URL('../node_modules/typedoc/bin/typedoc', import.meta.url));
  const out = await mkdtemp(join(tmpdir(), 'rtcmesh-docs-'));
  try {
    const result = await runNode(typedoc, ['--out', out, '--treatWarningsAsErrors'], [], 240_000);
    expect(result.stdout + result.stderr).not.toMatch(/\[warning\]|\[error\]/);
    expect(result.code).toBe(0);
    // The guides are in the site, in the sidebar order of typedoc.json.
    for (const page of ['Getting_started', 'Going_online', 'Simulation_tests', 'Benchmarks', 'Signaling_protocol', 'Monitoring_and_reconnection']) {
      expect(existsSync(join(out, 'documents', `${page}.html`)), page).toBe(true);
    }
    expect(existsSync(join(out, 'media', 'demo.png'))).toBe(true);
    const { broken, checked, pages } = checkLinks(out);
    expect(pages).toBeGreaterThan(50);
    expect(checked).toBeGreaterThan(1000);
    expect(broken).toEqual([]);
    // Guides link to each other as built pages.
    expect(readFileSync(join(out, 'documents', 'Getting_started.html'), 'utf8')).toContain('href="Going_online.html"');
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}, 300_000);
