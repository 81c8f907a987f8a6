import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DaemonError } from '../../daemon/errors.ts';
import { DEFAULT_MODEL, listModelFolders, MODELS_DIR, readManifest, REPO_ROOT, verifyChecksum } from '../../daemon/model-manifest.ts';

const FIXTURE = join(REPO_ROOT, 'test', 'fixtures', 'tiny-model');

function copyFixture(): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'palette-manifest-')), 'model');
  cpSync(FIXTURE, dir, { recursive: true });
  return dir;
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return error instanceof DaemonError ? error.code : 'other';
  }
  return undefined;
}

describe('readManifest', () => {
  it('reads the fixture and its contract fields', async () => {
    const folder = readManifest(FIXTURE);
    expect(folder.manifest.name).toBe('tiny-fixture');
    expect(folder.manifest.tasks).toEqual(['inpaint', 'uncrop', 'colorize', 'jpeg']);
    expect(folder.manifest.gamma_range[0]).toBeGreaterThan(4e-5);
    expect(folder.manifest.gamma_range[0]).toBeLessThan(5e-5);
    await verifyChecksum(folder);
  });

  it('rejects a manifest that breaks the schema with a readable reason', () => {
    const dir = copyFixture();
    const manifest = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
    manifest.tasks = ['inpaint', 'sharpen'];
    writeFileSync(join(dir, 'model.json'), JSON.stringify(manifest));
    expect(codeOf(() => readManifest(dir))).toBe('MODEL_MANIFEST_INVALID');
    try {
      readManifest(dir);
    } catch (error) {
      expect(String((error as Error).message)).toMatch(/\/tasks\/1/);
    }
  });

  it('rejects unknown fields, missing files and broken JSON', () => {
    const extra = copyFixture();
    const manifest = JSON.parse(readFileSync(join(extra, 'model.json'), 'utf8'));
    writeFileSync(join(extra, 'model.json'), JSON.stringify({ ...manifest, surprise: 1 }));
    expect(codeOf(() => readManifest(extra))).toBe('MODEL_MANIFEST_INVALID');

    const missing = copyFixture();
    writeFileSync(join(missing, 'model.json'), JSON.stringify({ ...manifest, file: 'other.onnx' }));
    expect(codeOf(() => readManifest(missing))).toBe('MODEL_NOT_FOUND');

    const broken = copyFixture();
    writeFileSync(join(broken, 'model.json'), '{ not json');
    expect(codeOf(() => readManifest(broken))).toBe('MODEL_MANIFEST_INVALID');
    expect(codeOf(() => readManifest(join(broken, 'nowhere')))).toBe('MODEL_NOT_FOUND');
  });

  it('detects a model file that does not match its sha256', async () => {
    const dir = copyFixture();
    const bytes = readFileSync(join(dir, 'model.onnx'));
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 1) ^ 0xff, bytes.length - 1);
    writeFileSync(join(dir, 'model.onnx'), bytes);
    await expect(verifyChecksum(readManifest(dir))).rejects.toMatchObject({ code: 'MODEL_CHECKSUM_MISMATCH' });
  });

  it('the default model is shipped, at most 40 MB, with its checksum and a default sampler', async () => {
    const folder = readManifest(join(MODELS_DIR, DEFAULT_MODEL));
    expect(folder.manifest.name).toBe(DEFAULT_MODEL);
    expect(folder.manifest.file_bytes).toBeLessThanOrEqual(40e6);
    expect(folder.manifest.sampler).toMatchObject({ name: 'ddim', steps: 20 });
    await expect(verifyChecksum(folder)).resolves.toBeUndefined();
  });

  it('every model shipped under models/ has a valid manifest', () => {
    const folders = listModelFolders();
    expect(folders.length).toBeGreaterThanOrEqual(2); // palette-small and palette-small-v2 at least
    for (const dir of folders) expect(() => readManifest(dir)).not.toThrow();
  });
});
