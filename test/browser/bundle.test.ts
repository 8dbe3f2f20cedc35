import { describe, expect, it } from 'vitest';
import { bundleForBrowser } from '../system/chromium-page.js';

describe('rtcmesh/browser bundle', () => {
  it('bundles for the browser without node-datachannel', async () => {
    const { code, inputs } = await bundleForBrowser('src/browser.ts');
    expect(inputs.some((f) => f.includes('transport/browser/browser-engine.ts'))).toBe(true);
    expect(inputs.filter((f) => /node-datachannel|datachannel-engine/.test(f))).toEqual([]);
    expect(code).not.toContain('node-datachannel');
    expect(code).not.toMatch(/\brequire\(/);
  });
});
