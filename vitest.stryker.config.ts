import { defineConfig } from 'vitest/config';

/**
 * The tests Stryker runs against mutants (stryker.config.json): those that exercise the mutated modules
 * (daemon/sampling, daemon/tasks, daemon/queue.ts, daemon/session.ts, shared/validate.ts). The plugin
 * build and UI tests never reach them and would only slow every mutant down.
 */
export default defineConfig({
  test: {
    include: [
      'test/daemon/sampling/**/*.test.ts',
      'test/daemon/tasks/**/*.test.ts',
      'test/daemon/queue.test.ts',
      'test/daemon/session.test.ts',
      'test/daemon/server.test.ts',
      'test/daemon/job-runner.test.ts',
      'test/shared/validate.test.ts',
      'test/shared/codec.test.ts',
    ],
    pool: 'forks',
    // Instrumented for per-test coverage, the 1000×700 restore test took over 60 s in the dry run of
    // jpeg-consistency.ts (every JPEG projection instrumented) beside the background training.
    testTimeout: 300_000,
  },
});
