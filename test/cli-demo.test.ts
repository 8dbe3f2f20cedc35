/**
 * `rtcmesh demo` (what `npm start` runs) forms a real mesh, prints live
 * stats, and exits by itself when told to stop.
 */
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { runNode } from './helpers.js';

it('rtcmesh demo forms a full mesh, prints stats and exits cleanly', async () => {
  const main = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
  const result = await runNode(main, ['demo', '--peers', '4', '--seconds', '2']);
  expect(result.stderr).toBe('');
  expect(result.stdout).toMatch(/signaling server listening on ws:\/\/127\.0\.0\.1:\d+/);
  expect(result.stdout).toMatch(/full mesh formed: 4 peers, 6 links/);
  expect(result.stdout).toMatch(/peer links rtt ms/);
  expect(result.stdout).toContain('closed every peer and the server; exiting');
  expect(result.code).toBe(0);
});
