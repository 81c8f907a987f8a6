import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // onnxruntime-node sessions are heavy; run files in separate processes so one crash is contained.
    pool: 'forks',
    testTimeout: 60_000,
  },
});
