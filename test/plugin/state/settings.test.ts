import { describe, expect, it } from 'vitest';
import {
  applySettingsPatch,
  clampToLimits,
  defaultSettings,
  randomSeed,
  seedsFor,
  stepsFor,
  wireTask,
} from '../../../plugin/state/settings.ts';

const LIMITS = { maxPixels: 1 << 20, maxPayloadBytes: 1 << 24, maxVariants: 4, maxSteps: 15 };

describe('settings', () => {
  it('maps quality presets to steps, within the daemon limit', () => {
    expect([stepsFor('fast'), stepsFor('balanced'), stepsFor('best')]).toEqual([10, 20, 50]);
    expect(stepsFor('best', LIMITS)).toBe(15);
  });

  it('seed lock: base, base+1, … (wrapping at 2^32); random leaves the seeds to the daemon', () => {
    expect(seedsFor({ locked: true, seed: 41 }, 3)).toEqual([41, 42, 43]);
    expect(seedsFor({ locked: true, seed: 0xffff_fffe }, 3)).toEqual([0xffff_fffe, 0xffff_ffff, 0]);
    expect(seedsFor({ locked: false, seed: 41 }, 3)).toBeUndefined();
    expect(randomSeed(() => 0.999_999_999_9)).toBeLessThanOrEqual(0xffff_ffff);
    expect(randomSeed(() => 0)).toBe(0);
  });

  it('clamps every value into its protocol range', () => {
    let s = defaultSettings();
    s = applySettingsPatch(s, 'fill', { variants: 0, feather: 999, grow: -999, seed: { locked: true, seed: -5 } });
    expect(s.fill).toMatchObject({ variants: 1, feather: 256, grow: -256, seed: { locked: true, seed: 0 } });
    s = applySettingsPatch(s, 'fill', { variants: 12.4, seed: { seed: 2 ** 40 } });
    expect(s.fill.variants).toBe(8);
    expect(s.fill.seed).toEqual({ locked: true, seed: 0xffff_ffff });
    s = applySettingsPatch(s, 'colorize', { variants: 3, quality: 'best' }, LIMITS);
    expect(s.colorize).toMatchObject({ variants: 3, quality: 'best' });
    expect(applySettingsPatch(s, 'restore', { variants: 6 }, LIMITS).restore.variants).toBe(4);
  });

  it('keeps settings per task', () => {
    const s = applySettingsPatch(defaultSettings(), 'colorize', { seed: { locked: true } });
    expect(s.colorize.seed.locked).toBe(true);
    expect(s.fill.seed.locked).toBe(false);
  });

  it('extend: sides toggle independently; amounts clamp per unit; switching unit resets the amount', () => {
    let s = applySettingsPatch(defaultSettings(), 'extend', { sides: { left: true, right: false } });
    expect(s.extend.sides).toEqual({ left: true, right: false, top: false, bottom: false });
    s = applySettingsPatch(s, 'extend', { amount: 1000 });
    expect(s.extend.amount).toBe(400);
    s = applySettingsPatch(s, 'extend', { amount: 12.345 });
    expect(s.extend.amount).toBe(12.3);
    s = applySettingsPatch(s, 'extend', { unit: 'px' });
    expect(s.extend).toMatchObject({ unit: 'px', amount: 256 });
    s = applySettingsPatch(s, 'extend', { amount: 99_999.6 });
    expect(s.extend.amount).toBe(16384);
    s = applySettingsPatch(s, 'extend', { unit: 'percent', amount: 10 });
    expect(s.extend).toMatchObject({ unit: 'percent', amount: 10 });
  });

  it('re-clamps variants to announced limits', () => {
    const s = clampToLimits(applySettingsPatch(defaultSettings(), 'extend', { variants: 8 }), LIMITS);
    expect([s.fill.variants, s.extend.variants, s.colorize.variants]).toEqual([4, 4, 2]);
  });

  it('names extend "uncrop" on the wire', () => {
    expect(['fill', 'colorize', 'extend', 'restore'].map((t) => wireTask(t as 'fill'))).toEqual(['fill', 'colorize', 'uncrop', 'restore']);
  });
});
