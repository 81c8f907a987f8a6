// Loads daemon/model-worker.ts in a worker thread when the daemon runs from its TypeScript sources
// (tsx, vitest): a plain Worker cannot import a .ts file, so this file imports it through tsx's loader.
// JavaScript on purpose: it must load before any TypeScript support exists in the thread.
import { workerData } from 'node:worker_threads';
import { tsImport } from 'tsx/esm/api';

await tsImport(workerData.entry, import.meta.url);
