/**
 * The demo's page bundle (built by `rtcmesh demo` at the first request) is
 * browser code: it reaches the library through the browser entry, never the
 * Node entry, node-datachannel or a Node module.
 */
import { expect, it } from 'vitest';
import { bundlePage } from '../src/cli/demo/web.js';

it('bundles the page from the browser entry and the Node-free game modules only', async () => {
  const { code, inputs } = await bundlePage();
  expect(inputs).toContain('src/cli/demo/page.ts');
  expect(inputs).toContain('src/browser.ts');
  expect(inputs).toEqual(expect.arrayContaining(['src/cli/demo/game-client.ts', 'src/sync/client.ts', 'src/sync/interest.ts']));
  // ws's own browser stub (its package.json "browser" field) is fine: the browser has WebSocket.
  const nodeOnly = inputs.filter((f) => /^src\/(index|entries\/|metrics\/|transport\/datachannel\/|signaling\/drivers\/server)/.test(f) || /node_modules\/(node-datachannel|ws\/(?!browser\.js)|ioredis|prom-client)/.test(f) || f.startsWith('node:'));
  expect(nodeOnly).toEqual([]);
  // The demo's Node-side modules stay out too.
  expect(inputs.filter((f) => /src\/cli\/(demo\/(peer-process|web|virtual-run|stats-board|sync-board)|demo-mesh)\.ts$/.test(f))).toEqual([]);
  expect(code).not.toMatch(/from ["']node:/);
}, 60_000);
