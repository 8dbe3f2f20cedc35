/**
 * Every ```ts code block in README.md and docs/*.md type-checks against the
 * public package types (`rtcmesh`, `rtcmesh/signaling`, `rtcmesh/virtual`,
 * `rtcmesh/engine`, `rtcmesh/browser`, mapped to the source entries by the
 * `paths` of tsconfig.json), under the project's strict compiler options.
 *
 * Each block is written to its own module in a temp folder and `tsc --noEmit`
 * runs once over all of them. A block that is deliberately a fragment is marked
 * in the markdown with `<!-- fragment -->` on the line before its fence and is
 * skipped; the test also checks that only a few blocks are marked so. A
 * `<!-- prelude … -->` comment above a fence holds hidden lines checked before
 * the block (its imports, names the prose defines); `<!-- module: NAME -->`
 * writes a block as `NAME.ts`, which a prelude may import from `./NAME.js`
 * (shared schemas used by later blocks). A block
 * that goes on from the previous ```ts block of the same page (a walkthrough in
 * steps) is marked `<!-- continued -->`: it is checked in one module with the
 * blocks before it.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

interface Block {
  /** Markdown file, relative to the repository root. */
  file: string;
  /** 1-based line of the first code line (the line after the fence). */
  line: number;
  code: string;
  fragment: boolean;
  /** Goes on from the previous block of the same file (same module). */
  continued: boolean;
  /** Hidden lines checked before the block (from a `<!-- prelude -->` comment). */
  prelude: string[];
  /** `<!-- module: NAME -->`: written as `NAME.ts`, so other blocks' preludes can import it from `./NAME.js`. */
  module: string | undefined;
}

/** The ```ts blocks of one markdown file. */
function tsBlocks(file: string, text: string): Block[] {
  const lines = text.split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```(ts|typescript)\s*$/.exec(lines[i]!);
    if (!open) continue;
    const indent = open[1]!.length;
    // The HTML comments right above the fence say how to check the block.
    const comments: string[] = [];
    let prev = i - 1;
    for (;;) {
      while (prev >= 0 && lines[prev]!.trim() === '') prev--;
      if (prev < 0 || !lines[prev]!.trim().endsWith('-->')) break;
      let start = prev;
      while (start > 0 && !lines[start]!.trim().startsWith('<!--')) start--;
      comments.unshift(lines.slice(start, prev + 1).join('\n').trim().replace(/^<!--/, '').replace(/-->$/, ''));
      prev = start - 1;
    }
    const fragment = comments.some((c) => /^\s*fragment\b/.test(c));
    const continued = comments.some((c) => /^\s*continued\b/.test(c));
    // `<!-- prelude\n…\n-->`: declarations the block assumes (imports, names defined in the prose).
    const prelude = comments.filter((c) => /^\s*prelude\b/.test(c)).map((c) => c.replace(/^\s*prelude\b[^\n]*\n?/, ''));
    const module = comments.map((c) => /^\s*module:\s*([\w-]+)\s*$/.exec(c)?.[1]).find((m) => m !== undefined);
    const body: string[] = [];
    let j = i + 1;
    while (j < lines.length && !/^\s*```\s*$/.test(lines[j]!)) body.push(lines[j++]!.slice(indent));
    blocks.push({ file, line: i + 2, code: body.join('\n'), fragment, continued, prelude, module });
    i = j;
  }
  return blocks;
}

function markdownFiles(): string[] {
  const docs = readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`);
  return ['README.md', ...docs];
}

it('every ```ts block of README.md and docs/*.md type-checks against the package types', () => {
  const blocks = markdownFiles().flatMap((f) => tsBlocks(f, readFileSync(join(root, f), 'utf8')));
  const checked = blocks.filter((b) => !b.fragment);
  expect(checked.length).toBeGreaterThan(25);
  // Fragments are the exception, not a way around the check.
  expect(blocks.length - checked.length).toBeLessThanOrEqual(Math.ceil(blocks.length / 5));

  const dir = mkdtempSync(join(tmpdir(), 'rtcmesh-docs-examples-'));
  try {
    // ESM modules (top-level await, like a user's code), packages resolved from the repo.
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module', private: true }));
    symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir');
    // One module per block, or per run of `continued` blocks; each module line maps back to its markdown line.
    const modules = new Map<string, { lines: string[]; origin: string[] }>();
    let current: { lines: string[]; origin: string[] } | undefined;
    let currentFile = '';
    checked.forEach((b, n) => {
      if (!b.continued || !current || currentFile !== b.file) {
        current = { lines: [], origin: [] };
        currentFile = b.file;
        const name = b.module ?? `${b.file.replace(/[/.]/g, '_')}_L${b.line}_${n}`;
        expect(modules.has(`${name}.ts`), `${b.file}:${b.line}: module name ${name} used twice`).toBe(false);
        modules.set(`${name}.ts`, current);
      }
      for (const p of b.prelude) {
        for (const l of p.split('\n')) {
          current.lines.push(l);
          current.origin.push(`${b.file}:${b.line - 1} (prelude)`);
        }
      }
      b.code.split('\n').forEach((l, k) => {
        current!.lines.push(l);
        current!.origin.push(`${b.file}:${b.line + k}`);
      });
    });
    for (const [name, m] of modules) {
      // `export {}` makes each block its own module even when it imports nothing.
      writeFileSync(join(dir, name), `${m.lines.join('\n')}\nexport {};\n`);
    }
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        // `paths` (rtcmesh* → src entries) and the strict options come from the project's config.
        extends: join(root, 'tsconfig.json'),
        compilerOptions: { noEmit: true, rootDir: '/', noUnusedLocals: false, sourceMap: false, declaration: false },
        include: [],
        files: [...modules.keys()],
      }),
    );
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const run = spawnSync(process.execPath, [tsc, '-p', join(dir, 'tsconfig.json'), '--pretty', 'false'], {
      cwd: dir,
      encoding: 'utf8',
      timeout: 120_000,
    });
    // Point each error at its markdown file and line.
    const errors = `${run.stdout}${run.stderr}`
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => {
        const m = /^(\S+\.ts)\((\d+),(\d+)\): (.*)$/.exec(l);
        const origin = m && modules.get(m[1]!.split('/').pop()!)?.origin[Number(m[2]) - 1];
        return origin ? `${origin}:${m![3]} ${m![4]}` : l;
      });
    expect(errors).toEqual([]);
    expect(run.status).toBe(0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 120_000);
