import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Real VMs under TCG boot in seconds and replay in minutes: long defaults, one file at a time
    // per core.
    testTimeout: 120_000,
    hookTimeout: 300_000,
  },
});
