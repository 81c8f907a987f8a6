import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { pluginInputsHash } from './plugin-build-cache.ts';

describe('the browser suites\' shared plugin build', () => {
  const roots: string[] = [];
  afterEach(() => roots.splice(0).forEach((root) => rmSync(root, { recursive: true, force: true })));

  it('is keyed by every input file\'s path and bytes: an edit, a renamed file or a new one builds again', () => {
    const root = mkdtempSync(join(tmpdir(), 'palette-build-key-'));
    roots.push(root);
    mkdirSync(join(root, 'plugin', 'ui'), { recursive: true });
    mkdirSync(join(root, 'shared'));
    mkdirSync(join(root, 'scripts'));
    writeFileSync(join(root, 'plugin', 'ui', 'panel.tsx'), 'export const a = 1;');
    writeFileSync(join(root, 'shared', 'protocol.ts'), 'export const v = 1;');
    writeFileSync(join(root, 'scripts', 'build-plugin.mjs'), '// build');
    writeFileSync(join(root, 'package-lock.json'), '{}');
    const first = pluginInputsHash(root);
    expect(pluginInputsHash(root)).toBe(first);
    writeFileSync(join(root, 'plugin', 'ui', 'panel.tsx'), 'export const a = 2;');
    const edited = pluginInputsHash(root);
    expect(edited).not.toBe(first);
    renameSync(join(root, 'plugin', 'ui', 'panel.tsx'), join(root, 'plugin', 'ui', 'strip.tsx'));
    expect(pluginInputsHash(root)).not.toBe(edited);
    const renamed = pluginInputsHash(root);
    writeFileSync(join(root, 'package-lock.json'), '{"lockfileVersion": 3}');
    expect(pluginInputsHash(root)).not.toBe(renamed);
    const locked = pluginInputsHash(root);
    writeFileSync(join(root, 'manifest.json'), '{}');
    expect(pluginInputsHash(root)).not.toBe(locked);
  });
});
