import { defineConfig } from 'vitest/config';

// Run with: npx vitest run --config examples/netcode-test/vitest.config.ts
export default defineConfig({
  test: { root: import.meta.dirname, include: ['*.test.ts'], testTimeout: 60_000 },
});
