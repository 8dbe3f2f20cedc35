/** The offline link checker used by the docs test finds what it must. */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { checkLinks } from './link-check.js';

it('reports missing files and missing anchors, and ignores external links', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'rtcmesh-links-'));
  try {
    await mkdir(join(dir, 'docs'));
    await writeFile(join(dir, 'index.html'), '<a href="docs/a.html#here">ok</a> <a href="docs/a.html#gone">bad anchor</a> <a href="missing.html">bad file</a> <a href="https://example.com/x">external</a> <a href="#top">self</a><h1 id="top">t</h1>');
    await writeFile(join(dir, 'docs', 'a.html'), '<h2 id="here">h</h2><img src="../img.png">');
    const { broken, checked } = checkLinks(dir);
    expect(checked).toBe(5);
    expect(broken).toHaveLength(3);
    expect(broken).toEqual(expect.arrayContaining([
      { page: 'index.html', link: 'docs/a.html#gone', reason: 'no element with id "gone"' },
      { page: 'index.html', link: 'missing.html', reason: 'no such file' },
      { page: join('docs', 'a.html'), link: '../img.png', reason: 'no such file' },
    ]));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
