import { defineConfig } from 'vitest/config';

/**
 * The tests Stryker runs against daemon/tasks/jpeg-consistency.ts (stryker.jpeg.config.mjs): its own
 * unit tests and the chroma ones that use its DCT and tables. Restore's and generate's tests reach it
 * too, but instrumented (every arithmetic step of the block projection behind a mutant switch) the
 * dry run took 89 s and each mutant ~20 s: 494 mutants in ~3 h on 2 cores. So this score is a lower
 * bound: a mutant only those tests would kill counts as surviving here.
 */
export default defineConfig({
  test: {
    include: [
      'test/daemon/tasks/jpeg-consistency.test.ts',
      'test/daemon/tasks/chroma-420.test.ts',
      'test/daemon/tasks/chroma-refine.test.ts',
    ],
    pool: 'forks',
    testTimeout: 300_000,
  },
});
