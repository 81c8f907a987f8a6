/**
 * Reading and checking a model folder (models/<name>/model.json + model.onnx).
 *
 * The manifest is validated against models/model.schema.json (the one definition both the Python
 * exporter and the daemon obey), then the ONNX file is checked against the manifest's sha256.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { DaemonError } from './errors.ts';

export type PaletteTask = 'inpaint' | 'uncrop' | 'colorize' | 'jpeg';

/** The fields the daemon relies on; the schema defines the rest (training record, metrics, notes). */
export interface ModelManifest {
  name: string;
  version: string;
  file: string;
  sha256: string;
  file_bytes: number;
  native_resolution: number;
  size_multiple: number;
  /** Per task, the side of the model jobs (default native_resolution); a request may override it. */
  working_sizes?: Partial<Record<PaletteTask, number>>;
  tasks: PaletteTask[];
  gamma_range: [number, number];
  parameters: number;
  training: { steps: number; samples_seen: number; batch_size: number };
  sampler?: { name: 'ancestral' | 'ddim' | 'dpmpp-2m'; steps: number; eta?: number };
  /** The graph gives a sample the same ε̂ bit for bit whatever else is in its batch (models/model.schema.json). */
  batch_invariant?: boolean;
  notes: string;
  [field: string]: unknown;
}

export interface ModelFolder {
  dir: string;
  manifest: ModelManifest;
  modelPath: string;
}

export const MANIFEST_FILE = 'model.json';
export const REPO_ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
export const MODELS_DIR = join(REPO_ROOT, 'models');
const SCHEMA_PATH = join(MODELS_DIR, 'model.schema.json');

let validator: ((data: unknown) => boolean) & { errors?: unknown } | undefined;

function validate(data: unknown): { ok: true } | { ok: false; reason: string } {
  if (!validator) {
    const ajv = new Ajv2020({ allErrors: true, strict: false });
    addFormats.default(ajv);
    validator = ajv.compile(JSON.parse(readFileSync(SCHEMA_PATH, 'utf8')));
  }
  if (validator(data)) return { ok: true };
  const errors = (validator.errors ?? []) as Array<{ instancePath: string; message?: string }>;
  return { ok: false, reason: errors.map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`).join('; ') };
}

export function readManifest(dir: string): ModelFolder {
  const manifestPath = join(dir, MANIFEST_FILE);
  if (!existsSync(manifestPath)) {
    throw new DaemonError('MODEL_NOT_FOUND', `No ${MANIFEST_FILE} in ${dir}. Export a model with \`python -m palette_training export\`.`);
  }
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(manifestPath, 'utf8'));
  } catch (cause) {
    throw new DaemonError('MODEL_MANIFEST_INVALID', `${manifestPath} is not valid JSON.`, { cause });
  }
  const result = validate(data);
  if (!result.ok) {
    throw new DaemonError('MODEL_MANIFEST_INVALID', `${manifestPath} does not match models/model.schema.json: ${result.reason}`);
  }
  const manifest = data as ModelManifest;
  const modelPath = join(dir, manifest.file);
  if (!existsSync(modelPath)) {
    throw new DaemonError('MODEL_NOT_FOUND', `${manifestPath} names ${manifest.file}, which is missing from ${dir}.`);
  }
  return { dir, manifest, modelPath };
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Throws MODEL_CHECKSUM_MISMATCH when the ONNX file is not the one the manifest describes. */
export async function verifyChecksum(folder: ModelFolder): Promise<void> {
  const actual = await sha256File(folder.modelPath);
  if (actual !== folder.manifest.sha256) {
    throw new DaemonError(
      'MODEL_CHECKSUM_MISMATCH',
      `${folder.modelPath} has sha256 ${actual}, but its manifest says ${folder.manifest.sha256}. ` +
        'The file is damaged or was replaced: export it again or restore it.',
    );
  }
}

/** Every folder under `root` that holds a model.json, sorted by name. */
export function listModelFolders(root: string = MODELS_DIR): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(root, entry.name, MANIFEST_FILE)))
    .map((entry) => join(root, entry.name))
    .sort();
}

/** The folder under models/ that `npm start` and `palette run` use unless told otherwise. */
export const DEFAULT_MODEL = 'palette-small-v5';
