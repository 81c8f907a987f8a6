import { defineConfig } from 'vitest/config';

// npm run test:triton: the daemon against a real Triton Inference Server (test/triton/*.e2e.ts). Kept out
// of `vitest run` because it needs models/serving/.venv-triton; .ci/run makes that venv and runs it.
export default defineConfig({
  test: {
    include: ['test/triton/**/*.e2e.ts'],
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 150_000,
  },
});
