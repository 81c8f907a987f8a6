// daemon/tasks/jpeg-consistency.ts alone, against its own and the chroma tests (vitest.stryker-jpeg.config.ts):
//   npx stryker run stryker.jpeg.config.mjs
// Everything else, the incremental file included, is stryker.config.json's. With restore's and generate's
// tests each mutant took ~20 s here (494 mutants, ~3 h), so this run's score is a lower bound.
import { readFileSync } from 'node:fs';

const base = JSON.parse(readFileSync(new URL('./stryker.config.json', import.meta.url), 'utf8'));

export default {
  ...base,
  mutate: ['daemon/tasks/jpeg-consistency.ts'],
  vitest: { ...base.vitest, configFile: 'vitest.stryker-jpeg.config.ts' },
  dryRunTimeoutMinutes: 40,
};
