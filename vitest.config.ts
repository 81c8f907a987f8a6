import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // onnxruntime-node sessions are heavy; run files in separate processes so one crash is contained.
    pool: 'forks',
    // Vitest's default is one fork fewer than the cores: a single fork on this 2-core machine. The suites
    // spend a third of their time waiting (sockets, timers, Chromium), so two forks here took 75 s
    // against 109 s for one (three: 80 s).
    maxWorkers: Math.max(2, availableParallelism() - 1),
    testTimeout: 60_000,
  },
});
