import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildRequest, parseExtend, runCommand, type RunArgs } from '../../../daemon/cli/run-command.ts';
import { decodeImage, encodePng } from '../../../daemon/imaging.ts';
import { REPO_ROOT } from '../../../daemon/model-manifest.ts';
import { ModelRegistry } from '../../../daemon/model-registry.ts';
import { startServer, type RunningServer } from '../../../daemon/server.ts';

const FIXTURE = join(REPO_ROOT, 'test', 'fixtures', 'tiny-model');
const dir = mkdtempSync(join(tmpdir(), 'palette-cli-'));
const openRegistry = () =>
  ModelRegistry.scan({ root: join(dir, 'none'), extraDirs: [FIXTURE], device: 'cpu', intraOpThreads: 1 });

async function writePhoto(path: string, width: number, height: number): Promise<void> {
  const data = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    data[i * 4] = (i * 13) % 256;
    data[i * 4 + 1] = (i % width) * 2;
    data[i * 4 + 2] = Math.floor(i / width) * 3;
    data[i * 4 + 3] = 255;
  }
  writeFileSync(path, await encodePng({ width, height, data }));
}

async function writeMask(path: string, width: number, height: number): Promise<void> {
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const v = x > 30 && x < 60 && y > 20 && y < 50 ? 255 : 0;
      data.set([v, v, v, 255], (y * width + x) * 4);
    }
  }
  writeFileSync(path, await encodePng({ width, height, data }));
}

describe('parseExtend', () => {
  it('reads fractions, percentages, pixels and all', () => {
    expect(parseExtend('left=0.5,top=128')).toEqual({ left: { unit: 'fraction', value: 0.5 }, top: { unit: 'px', value: 128 } });
    expect(parseExtend('all=25%').right).toEqual({ unit: 'fraction', value: 0.25 });
    expect(() => parseExtend('middle=3')).toThrow(/unknown side/);
    expect(() => parseExtend('left=abc')).toThrow(/not a number/);
  });
});

describe('palette run', () => {
  let server: RunningServer;
  let serverRegistry: ModelRegistry;
  const image = join(dir, 'photo.png');
  const mask = join(dir, 'mask.png');
  beforeAll(async () => {
    await writePhoto(image, 96, 72);
    await writeMask(mask, 96, 72);
    serverRegistry = openRegistry();
    server = await startServer({ host: '127.0.0.1', port: 0, registry: serverRegistry, log: () => undefined });
  });
  afterAll(async () => {
    await server.close();
    await serverRegistry.close();
  });

  const base = (task: string, out: string): RunArgs => ({
    task, image, variants: 2, steps: 3, seed: 7, sampler: 'ddim', model: 'tiny-model', out: join(dir, out),
  });

  it('fill in-process and through --connect write identical files for the same seeds', async () => {
    const jobsOnServer = vi.spyOn(server.queue, 'enqueue');
    const local = await runCommand({ ...base('fill', 'local'), mask }, openRegistry, () => undefined);
    expect(jobsOnServer).toHaveBeenCalledTimes(0); // in-process: the daemon is not involved
    const remote = await runCommand({ ...base('fill', 'remote'), mask, connect: server.url }, openRegistry, () => undefined);
    expect(jobsOnServer).toHaveBeenCalledTimes(1); // --connect: the job ran on the daemon
    jobsOnServer.mockRestore();
    const remoteSummary = JSON.parse(readFileSync(join(dir, 'remote', 'result.json'), 'utf8'));
    expect(remoteSummary.via).toBe(server.url);
    expect(local).toHaveLength(2);
    for (let i = 0; i < 2; i++) expect(readFileSync(remote[i]!)).toEqual(readFileSync(local[i]!));
    expect(readFileSync(local[0]!)).not.toEqual(readFileSync(local[1]!)); // distinct variants
    const summary = JSON.parse(readFileSync(join(dir, 'local', 'result.json'), 'utf8'));
    expect(summary).toMatchObject({ task: 'fill', seeds: [7, 8], sampler: 'ddim', steps: 3, variants: 2, model: 'tiny-model' });
  });

  it('uncrop right by 50% writes the grown canvas with the original in place', async () => {
    const [first] = await runCommand({ ...base('uncrop', 'uncrop'), extend: 'right=0.5' }, openRegistry, () => undefined);
    const out = await decodeImage(readFileSync(first!));
    const original = await decodeImage(readFileSync(image));
    expect([out.width, out.height]).toEqual([144, 72]);
    for (let y = 0; y < 72; y += 7) {
      for (let x = 0; x < 96; x += 5) {
        const o = (y * 96 + x) * 4;
        const n = (y * 144 + x) * 4;
        expect(Array.from(out.data.subarray(n, n + 4))).toEqual(Array.from(original.data.subarray(o, o + 4)));
      }
    }
  });

  it('colorize and restore produce full-size images', async () => {
    for (const task of ['colorize', 'restore']) {
      const [first] = await runCommand({ ...base(task, task), variants: 1 }, openRegistry, () => undefined);
      const out = await decodeImage(readFileSync(first!));
      expect([out.width, out.height]).toEqual([96, 72]);
    }
  });

  it('--mask-mode strength sends the fill option, and is refused for other tasks or unknown modes', async () => {
    const request = await buildRequest({ ...base('fill', 'x'), mask, maskMode: 'strength' });
    expect(request.fill).toEqual({ maskMode: 'strength' });
    await expect(buildRequest({ ...base('colorize', 'x'), maskMode: 'strength' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(buildRequest({ ...base('fill', 'x'), mask, maskMode: 'soft' })).rejects.toMatchObject({ code: 'INVALID_FIELD' });
  });

  it('names the flag and the reason when an input file cannot be read (not INTERNAL)', async () => {
    await expect(buildRequest({ ...base('fill', 'x'), image: join(dir, 'missing.png'), mask }))
      .rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/^--image .*missing\.png: cannot read it \(ENOENT\)/) });
    await expect(buildRequest({ ...base('fill', 'x'), mask: join(dir, 'no-mask.png') }))
      .rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/^--mask .*no-mask\.png: cannot read it/) });
  });

  it('validates before doing any work', async () => {
    await expect(buildRequest({ ...base('fill', 'x') })).rejects.toMatchObject({ code: 'INVALID_FIELD' });
    await expect(buildRequest({ ...base('sharpen', 'x') })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});
