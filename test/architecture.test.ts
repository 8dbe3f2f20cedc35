/**
 * The design holds (../shared/design.md, issue #11): layers import downward
 * only and there are no import cycles (dependency-cruiser rules in
 * `.dependency-cruiser.cjs`); protocol code above the engines owns no timer,
 * clock or randomness (only `drivers/` folders do); no source file grows past
 * the size one reads in a sitting; the root export stays small.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runNode } from './helpers.js';

const root = fileURLToPath(new URL('..', import.meta.url));

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sources(path));
    else if (name.endsWith('.ts')) out.push(path);
  }
  return out;
}

/** Code without comments and string contents, so prose that names a timer does not count. */
function code(text: string): string {
  return text
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/\/\/.*$/gm, '')
    .replace(/'(?:\\.|[^'\\\n])*'|"(?:\\.|[^"\\\n])*"/g, "''");
}

describe('architecture', () => {
  it('dependency-cruiser: layers import downward only, no cycles, browser code imports no Node module', async () => {
    const bin = join(root, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');
    const result = await runNode(bin, ['src', '--config', '.dependency-cruiser.cjs', '--output-type', 'err'], [], 120_000);
    expect(result.stdout + result.stderr).not.toMatch(/error/);
    expect(result.code).toBe(0);
  }, 150_000);

  it('protocol code (mesh, rpc, signaling, sync) arms no timer, reads no clock and draws no randomness outside drivers/', () => {
    const forbidden = /\b(setTimeout|setInterval|setImmediate|Date\.now|performance\.now|Math\.random|getRandomValues|randomBytes|randomUUID|randomInt)\s*\(|from 'node:crypto'|\bcrypto\./;
    const offenders: string[] = [];
    for (const layer of ['mesh', 'rpc', 'signaling', 'sync']) {
      let files: string[];
      try {
        files = sources(join(root, 'src', layer));
      } catch {
        continue; // layer not present
      }
      for (const file of files) {
        if (file.split('/').includes('drivers')) continue;
        const lines = code(readFileSync(file, 'utf8')).split('\n');
        lines.forEach((line, i) => {
          if (forbidden.test(line)) offenders.push(`${relative(root, file)}:${i + 1}: ${line.trim()}`);
        });
      }
    }
    expect(offenders).toEqual([]);
  });

  it('no source file is over 500 lines', () => {
    // Lines as `wc -l` counts them: a final newline ends the last line, it does not start another.
    const lines = (text: string) => text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
    const long = sources(join(root, 'src'))
      .map((f) => ({ f: relative(root, f), n: lines(readFileSync(f, 'utf8')) }))
      .filter(({ n }) => n > 500)
      .map(({ f, n }) => `${f}: ${n} lines`);
    expect(long).toEqual([]);
  });
});
