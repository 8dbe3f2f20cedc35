/**
 * `npm run docs` keeps working: typedoc builds the API reference and the
 * guides with no errors and no warnings (broken links, undocumented exports
 * referenced from documented ones, bad TSDoc).
 */
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { runNode } from './helpers.js';

it('typedoc builds the documentation without warnings', async () => {
  const typedoc = fileURLToPath(new URL('../node_modules/typedoc/bin/typedoc', import.meta.url));
  const result = await runNode(typedoc, ['--emit', 'none', '--treatWarningsAsErrors'], [], 120_000);
  expect(result.stdout + result.stderr).not.toMatch(/\[warning\]|\[error\]/);
  expect(result.code).toBe(0);
}, 150_000);
