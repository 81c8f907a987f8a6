/**
 * Task settings: defaults, the quality presets, and the clamping that keeps every value inside the
 * protocol's ranges (and the daemon's announced limits), so a request built from settings never
 * fails validation because of the user's input.
 */
import {
  MAX_EXTEND_FRACTION,
  MAX_EXTEND_PX,
  MAX_FEATHER_PX,
  MAX_GROW_PX,
  MAX_SEED,
  MAX_VARIANTS,
  type ProtocolLimits,
  type Task,
} from '../../shared/protocol.ts';
import type {
  ColorizeSettings,
  CommonSettings,
  ExtendSettings,
  ExtendSide,
  ExtendUnit,
  FillSettings,
  PanelTask,
  QualityPreset,
  RestoreSettings,
  SeedSetting,
  TaskSettings,
} from './types.ts';
import { WORKING_SIZE_CHOICES } from './types.ts';

export interface QualityInfo {
  label: string;
  /** Sampler steps; the sampler is the model's default. */
  steps: number;
}

export const QUALITY_PRESETS: Readonly<Record<QualityPreset, QualityInfo>> = Object.freeze({
  fast: { label: 'Fast', steps: 10 },
  balanced: { label: 'Balanced', steps: 20 },
  best: { label: 'Best', steps: 50 },
});
export const QUALITY_ORDER: readonly QualityPreset[] = ['fast', 'balanced', 'best'];

export const TASK_LABELS: Readonly<Record<PanelTask, { label: string; source: string }>> = Object.freeze({
  fill: { label: 'Fill', source: 'selection' },
  colorize: { label: 'Colorize', source: 'active layer' },
  extend: { label: 'Extend', source: 'canvas' },
  restore: { label: 'Restore', source: 'JPEG' },
});

/** The protocol's name for a panel task. */
export function wireTask(task: PanelTask): Task {
  return task === 'extend' ? 'uncrop' : task;
}

/** Largest extend amount per unit: 4 × the side (400 %) or 16384 px. */
export const MAX_EXTEND_PERCENT = MAX_EXTEND_FRACTION * 100;
export function maxExtendAmount(unit: ExtendUnit): number {
  return unit === 'percent' ? MAX_EXTEND_PERCENT : MAX_EXTEND_PX;
}

/** Restore's manual strength to start from, percent: the daemon's DEFAULT_RESTORE_STRENGTH (its default up to q10). */
export const DEFAULT_RESTORE_STRENGTH_PERCENT = 30;
/** Extend's default strength, percent: the daemon's DEFAULT_UNCROP_STRENGTH (chosen by evaluation). */
export const DEFAULT_EXTEND_STRENGTH_PERCENT = 50;

const common = (variants: number, quality: QualityPreset = 'balanced'): CommonSettings => ({
  variants,
  quality,
  seed: { locked: false, seed: 1234 },
  workingSize: 'auto',
});

export function defaultSettings(): TaskSettings {
  return {
    fill: { ...common(4), feather: 8, grow: 4, softSelection: false },
    colorize: { ...common(2), replaceColour: false },
    extend: { ...common(2), sides: { left: false, right: true, top: false, bottom: false }, amount: 25, unit: 'percent', strength: DEFAULT_EXTEND_STRENGTH_PERCENT },
    restore: { ...common(1), strength: DEFAULT_RESTORE_STRENGTH_PERCENT, autoStrength: true },
  };
}

export function clampInt(value: number, min: number, max: number): number {
  if (!Number.isFinite(value)) return min;
  return Math.min(max, Math.max(min, Math.round(value)));
}

export function clampVariants(value: number, limits?: ProtocolLimits | null): number {
  return clampInt(value, 1, Math.min(MAX_VARIANTS, limits?.maxVariants ?? MAX_VARIANTS));
}

export function clampSeed(value: number): number {
  return clampInt(value, 0, MAX_SEED);
}

/** Steps for a preset, within the daemon's limit. */
export function stepsFor(quality: QualityPreset, limits?: ProtocolLimits | null): number {
  return Math.min(QUALITY_PRESETS[quality].steps, limits?.maxSteps ?? Number.POSITIVE_INFINITY);
}

/** Seeds to send: base, base + 1, … (wrapping at 2³²) when locked; undefined lets the daemon draw them. */
export function seedsFor(seed: SeedSetting, variants: number): number[] | undefined {
  if (!seed.locked) return undefined;
  return Array.from({ length: variants }, (_, i) => (seed.seed + i) % (MAX_SEED + 1));
}

/** A fresh random seed (for "new seed" in the UI). */
export function randomSeed(random: () => number = Math.random): number {
  return Math.floor(random() * (MAX_SEED + 1)) % (MAX_SEED + 1);
}

export type CommonPatch = Partial<Omit<CommonSettings, 'seed'>> & { seed?: Partial<SeedSetting> };
export type FillPatch = CommonPatch & Partial<Pick<FillSettings, 'feather' | 'grow' | 'softSelection'>>;
export type ExtendPatch = CommonPatch &
  Partial<Pick<ExtendSettings, 'amount' | 'unit' | 'strength'>> & { sides?: Partial<Record<ExtendSide, boolean>> };
export type RestorePatch = CommonPatch & Partial<Pick<RestoreSettings, 'strength' | 'autoStrength'>>;
export type ColorizePatch = CommonPatch & Partial<Pick<ColorizeSettings, 'replaceColour'>>;
export type SettingsPatch = FillPatch & ExtendPatch & RestorePatch & ColorizePatch;

function patchCommon<T extends CommonSettings>(current: T, patch: CommonPatch, limits?: ProtocolLimits | null): T {
  return {
    ...current,
    variants: patch.variants === undefined ? current.variants : clampVariants(patch.variants, limits),
    quality: patch.quality ?? current.quality,
    workingSize: patch.workingSize !== undefined && WORKING_SIZE_CHOICES.includes(patch.workingSize) ? patch.workingSize : current.workingSize,
    seed: {
      locked: patch.seed?.locked ?? current.seed.locked,
      seed: patch.seed?.seed === undefined ? current.seed.seed : clampSeed(patch.seed.seed),
    },
  };
}

/** Applies a patch to one task's settings, clamping every value into its range. */
export function applySettingsPatch(
  settings: TaskSettings,
  task: PanelTask,
  patch: SettingsPatch,
  limits?: ProtocolLimits | null,
): TaskSettings {
  switch (task) {
    case 'fill': {
      const next = patchCommon(settings.fill, patch, limits);
      if (patch.feather !== undefined) next.feather = clampInt(patch.feather, 0, MAX_FEATHER_PX);
      if (patch.grow !== undefined) next.grow = clampInt(patch.grow, -MAX_GROW_PX, MAX_GROW_PX);
      if (patch.softSelection !== undefined) next.softSelection = patch.softSelection;
      return { ...settings, fill: next };
    }
    case 'extend': {
      const next = patchCommon(settings.extend, patch, limits);
      if (patch.sides) next.sides = { ...next.sides, ...patch.sides };
      if (patch.unit !== undefined && patch.unit !== next.unit) {
        next.unit = patch.unit;
        // Keep the amount meaningful when switching units: 25 % ↔ 256 px are both reasonable starts.
        if (patch.amount === undefined) next.amount = patch.unit === 'percent' ? 25 : 256;
      }
      if (patch.amount !== undefined) next.amount = clampExtendAmount(patch.amount, next.unit);
      if (patch.strength !== undefined) next.strength = clampInt(patch.strength, 1, 100);
      return { ...settings, extend: next };
    }
    case 'restore': {
      const next = patchCommon(settings.restore, patch, limits);
      if (patch.strength !== undefined) next.strength = clampInt(patch.strength, 1, 100);
      if (patch.autoStrength !== undefined) next.autoStrength = patch.autoStrength;
      return { ...settings, restore: next };
    }
    case 'colorize': {
      const next = patchCommon(settings.colorize, patch, limits);
      if (patch.replaceColour !== undefined) next.replaceColour = patch.replaceColour;
      return { ...settings, colorize: next };
    }
  }
}

export function clampExtendAmount(value: number, unit: ExtendUnit): number {
  if (!Number.isFinite(value)) return 0;
  const max = maxExtendAmount(unit);
  // Percent keeps one decimal (12.5 %); pixels are whole.
  const rounded = unit === 'percent' ? Math.round(value * 10) / 10 : Math.round(value);
  return Math.min(max, Math.max(0, rounded));
}

/** Re-clamps every task's variant count after the daemon announced its limits. */
export function clampToLimits(settings: TaskSettings, limits: ProtocolLimits): TaskSettings {
  return {
    fill: { ...settings.fill, variants: clampVariants(settings.fill.variants, limits) },
    colorize: { ...settings.colorize, variants: clampVariants(settings.colorize.variants, limits) },
    extend: { ...settings.extend, variants: clampVariants(settings.extend.variants, limits) },
    restore: { ...settings.restore, variants: clampVariants(settings.restore.variants, limits) },
  };
}
