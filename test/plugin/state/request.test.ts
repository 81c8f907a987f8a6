import { describe, expect, it } from 'vitest';
import { PanelError } from '../../../plugin/state/banners.ts';
import { buildGenerateRequest, colouredShare, extendSpec, modelFor } from '../../../plugin/state/request.ts';
import { applySettingsPatch, defaultSettings } from '../../../plugin/state/settings.ts';
import type { WelcomeInfo } from '../../../plugin/state/types.ts';
import { validateClientMessage } from '../../../shared/validate.ts';

const W = 8;
const H = 6;
const layer = { width: W, height: H, data: new Uint8Array(W * H * 4).fill(255) };
const selection = () => {
  const data = new Uint8Array(W * H);
  data[2 * W + 3] = 255;
  return { width: W, height: H, data };
};
const model = (name: string, tasks: string[]) => ({
  name, version: '1.0.0', tasks, nativeResolution: 64, sizeMultiple: 32, parameters: 1, defaultSampler: 'ddim', defaultSteps: 20,
});
const WELCOME: WelcomeInfo = {
  server: { name: 'palette', version: '0.1.0' },
  models: [model('palette-small', ['fill', 'colorize', 'uncrop', 'restore'])],
  defaultModel: 'palette-small',
  limits: { maxPixels: 1 << 20, maxPayloadBytes: 1 << 24, maxVariants: 8, maxSteps: 1000 },
};

function expectPanelError(fn: () => unknown, code: string): void {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(PanelError);
    expect((error as PanelError).code).toBe(code);
    return;
  }
  throw new Error(`expected PanelError ${code}`);
}

describe('buildGenerateRequest', () => {
  it('fill: rgba8 image + gray8 mask + fill options + steps, valid for the protocol', () => {
    let settings = applySettingsPatch(defaultSettings(), 'fill', { variants: 3, quality: 'fast', feather: 12, grow: -2, seed: { locked: true, seed: 100 } });
    const prepared = buildGenerateRequest('fill', settings, { layer, selection: selection() }, WELCOME);
    expect(prepared.request).toMatchObject({
      task: 'fill',
      image: { format: 'rgba8', width: W, height: H },
      mask: { format: 'gray8', width: W, height: H },
      variants: 3,
      steps: 10,
      seeds: [100, 101, 102],
      fill: { feather: 12, grow: -2 },
      preview: { intervalMs: 250, maxSize: 256, format: 'jpeg' },
    });
    // The bytes sent are the layer's and the selection's, not just buffers of the right size.
    const image = prepared.request.image;
    expect(image.format === 'rgba8' && Array.from(image.data)).toEqual(Array.from(layer.data));
    expect(Array.from(prepared.request.mask!.data)).toEqual(Array.from(selection().data));
    expect(prepared.request.model).toBeUndefined(); // the daemon's default can fill
    expect(prepared.request.sampler).toBeUndefined(); // the model's default sampler
    expect(prepared.canvasOffset).toEqual({ x: 0, y: 0 });
    expect(() => validateClientMessage({ type: 'generate', id: 'r1', request: prepared.request }, WELCOME.limits)).not.toThrow();

    settings = applySettingsPatch(settings, 'fill', { seed: { locked: false } });
    expect(buildGenerateRequest('fill', settings, { layer, selection: selection() }, WELCOME).request.seeds).toBeUndefined();
  });

  it('fill with "Soft selection sets strength" sends the selection as per-pixel strength, without feather or grow', () => {
    const soft = selection();
    soft.data[3 * W + 3] = 40; // a faintly selected pixel is sent as it is
    const settings = applySettingsPatch(defaultSettings(), 'fill', { softSelection: true, feather: 12 });
    expect(settings.fill.softSelection).toBe(true);
    const prepared = buildGenerateRequest('fill', settings, { layer, selection: soft }, WELCOME);
    expect(prepared.request.fill).toEqual({ maskMode: 'strength' });
    expect(Array.from(prepared.request.mask!.data)).toEqual(Array.from(soft.data));
    expect(() => validateClientMessage({ type: 'generate', id: 'r1', request: prepared.request }, WELCOME.limits)).not.toThrow();
    expect(defaultSettings().fill.softSelection).toBe(false);
  });

  it('fill with a selection of another size than the layer is an error naming both sizes', () => {
    const wrong = { width: W + 1, height: H, data: new Uint8Array((W + 1) * H).fill(255) };
    expect(() => buildGenerateRequest('fill', defaultSettings(), { layer, selection: wrong }, WELCOME))
      .toThrow(`The selection is ${W + 1}×${H} but the layer is ${W}×${H}.`);
  });

  it('fill without a selection (or an empty one) asks for a selection', () => {
    const settings = defaultSettings();
    expectPanelError(() => buildGenerateRequest('fill', settings, { layer, selection: null }, WELCOME), 'NO_SELECTION');
    const empty = { width: W, height: H, data: new Uint8Array(W * H) };
    expectPanelError(() => buildGenerateRequest('fill', settings, { layer, selection: empty }, WELCOME), 'NO_SELECTION');
  });

  it('refuses a fully transparent layer', () => {
    const clear = { width: W, height: H, data: new Uint8Array(W * H * 4) };
    expectPanelError(() => buildGenerateRequest('colorize', defaultSettings(), { layer: clear, selection: null }, WELCOME), 'EMPTY_LAYER');
  });

  it('colorize and restore send the layer alone', () => {
    for (const task of ['colorize', 'restore'] as const) {
      const { request } = buildGenerateRequest(task, defaultSettings(), { layer, selection: selection() }, WELCOME);
      expect(request.mask).toBeUndefined();
      expect(request.fill).toBeUndefined();
      expect(request.extend).toBeUndefined();
      expect(() => validateClientMessage({ type: 'generate', id: 'r1', request }, WELCOME.limits)).not.toThrow();
    }
  });

  it('colorize on a layer that already has colour asks first (LAYER_HAS_COLOUR), unless "Replace existing colour" is on', () => {
    const coloured = { width: W, height: H, data: new Uint8Array(W * H * 4) };
    for (let p = 0; p < W * H; p++) coloured.data.set([200, 80 + (p % 5), 40, 255], p * 4);
    expectPanelError(() => buildGenerateRequest('colorize', defaultSettings(), { layer: coloured, selection: null }, WELCOME), 'LAYER_HAS_COLOUR');
    const replace = applySettingsPatch(defaultSettings(), 'colorize', { replaceColour: true });
    expect(buildGenerateRequest('colorize', replace, { layer: coloured, selection: null }, WELCOME).request.task).toBe('colorize');
    // Grey with noise (chroma ≤ 12) and a few coloured pixels (≤ 2 %) are grey photos: no question.
    const grey = { width: 100, height: 10, data: new Uint8Array(1000 * 4) };
    for (let p = 0; p < 1000; p++) grey.data.set(p < 20 ? [255, 0, 0, 255] : [120, 126 + (p % 7), 120, 255], p * 4);
    expect(colouredShare(grey)).toBeCloseTo(0.02, 5);
    expect(buildGenerateRequest('colorize', defaultSettings(), { layer: grey, selection: null }, WELCOME).request.task).toBe('colorize');
    // Transparent pixels do not count, whatever their RGB.
    const cut = { width: 2, height: 1, data: Uint8Array.of(255, 0, 0, 0, 90, 90, 90, 255) };
    expect(colouredShare(cut)).toBe(0);
  });

  it("sends the chosen working size, none on Auto (the model's for the task)", () => {
    const fill = (workingSize: unknown) => buildGenerateRequest('fill',
      applySettingsPatch(defaultSettings(), 'fill', { workingSize: workingSize as 128 }), { layer, selection: selection() }, WELCOME).request;
    expect(fill('auto').workingSize).toBeUndefined();
    expect(fill(128).workingSize).toBe(128);
    expect(fill(100).workingSize).toBeUndefined(); // not a choice: the setting is kept as it was (Auto)
    expect(() => validateClientMessage({ type: 'generate', id: 'r1', request: fill(256) }, WELCOME.limits)).not.toThrow();
  });

  it("restore lets the daemon choose by JPEG quality unless Auto is off, then sends the slider's fraction", () => {
    const at = (strength: number) =>
      buildGenerateRequest('restore', applySettingsPatch(defaultSettings(), 'restore', { autoStrength: false, strength }), { layer, selection: null }, WELCOME).request;
    expect(buildGenerateRequest('restore', defaultSettings(), { layer, selection: null }, WELCOME).request.strength).toBeUndefined();
    expect(buildGenerateRequest('restore', applySettingsPatch(defaultSettings(), 'restore', { strength: 80 }), { layer, selection: null }, WELCOME)
      .request.strength).toBeUndefined(); // Auto still on: the slider waits
    expect(buildGenerateRequest('restore', applySettingsPatch(defaultSettings(), 'restore', { autoStrength: false }), { layer, selection: null }, WELCOME)
      .request.strength).toBe(0.3);
    expect(at(100).strength).toBe(1);
    expect(at(35).strength).toBe(0.35);
    expect(at(0).strength).toBe(0.01); // clamped to 1 %: 0 would generate nothing
    expect(at(250).strength).toBe(1); // clamped to 100 %
    expect(() => validateClientMessage({ type: 'generate', id: 'r1', request: at(35) }, WELCOME.limits)).not.toThrow();
    // Fill and colorize send none (the daemon's default, 1), whatever restore's is.
    const fill = applySettingsPatch(applySettingsPatch(defaultSettings(), 'restore', { strength: 20 }), 'fill', {});
    expect(buildGenerateRequest('fill', fill, { layer, selection: selection() }, WELCOME).request.strength).toBeUndefined();
  });

  it("extend sends its own strength, 50 % unless changed, independent of restore's", () => {
    const at = (strength: number) =>
      buildGenerateRequest('extend', applySettingsPatch(applySettingsPatch(defaultSettings(), 'restore', { strength: 20 }), 'extend', { strength }),
        { layer, selection: null }, WELCOME).request;
    expect(buildGenerateRequest('extend', defaultSettings(), { layer, selection: null }, WELCOME).request.strength).toBe(0.5);
    expect(at(100).strength).toBe(1);
    expect(at(70).strength).toBe(0.7);
    expect(at(0).strength).toBe(0.01);
    expect(() => validateClientMessage({ type: 'generate', id: 'r1', request: at(70) }, WELCOME.limits)).not.toThrow();
  });

  it('extend: uncrop with the chosen sides, and the left/top extension as canvas offset', () => {
    let settings = applySettingsPatch(defaultSettings(), 'extend', { sides: { left: true, top: true, right: false }, amount: 50 });
    const prepared = buildGenerateRequest('extend', settings, { layer, selection: null }, WELCOME);
    expect(prepared.request.task).toBe('uncrop');
    expect(prepared.request.extend).toEqual({ left: { unit: 'fraction', value: 0.5 }, top: { unit: 'fraction', value: 0.5 } });
    expect(prepared.canvasOffset).toEqual({ x: 4, y: 3 });
    expect(() => validateClientMessage({ type: 'generate', id: 'r1', request: prepared.request }, WELCOME.limits)).not.toThrow();

    settings = applySettingsPatch(settings, 'extend', { unit: 'px', amount: 10 });
    expect(buildGenerateRequest('extend', settings, { layer, selection: null }, WELCOME).canvasOffset).toEqual({ x: 10, y: 10 });

    const none = applySettingsPatch(settings, 'extend', { sides: { left: false, top: false } });
    expectPanelError(() => buildGenerateRequest('extend', none, { layer, selection: null }, WELCOME), 'NO_EXTEND_SIDE');
    const zero = applySettingsPatch(settings, 'extend', { amount: 0 });
    expectPanelError(() => buildGenerateRequest('extend', zero, { layer, selection: null }, WELCOME), 'NO_EXTEND_SIDE');
  });

  it('extendSpec leaves sides that are off out', () => {
    const settings = applySettingsPatch(defaultSettings(), 'extend', { sides: { bottom: true } }).extend;
    expect(extendSpec(settings)).toEqual({ right: { unit: 'fraction', value: 0.25 }, bottom: { unit: 'fraction', value: 0.25 } });
  });

  it('picks a capable model when the default cannot do the task', () => {
    const welcome = { ...WELCOME, models: [model('a', ['fill']), model('b', ['uncrop', 'fill'])], defaultModel: 'a' };
    expect(modelFor('fill', welcome)).toBeUndefined();
    expect(modelFor('extend', welcome)).toBe('b');
    expect(modelFor('restore', welcome)).toBeUndefined(); // nobody claims it: the daemon answers
    expect(modelFor('restore', null)).toBeUndefined();
    expectPanelError(() => modelFor('fill', { ...welcome, models: [], defaultModel: null }), 'NO_MODEL');
  });

  it('understands the training task names a model may list (inpaint, jpeg)', () => {
    const welcome = { ...WELCOME, models: [model('x', ['uncrop']), model('t', ['inpaint', 'jpeg'])], defaultModel: 'x' };
    expect(modelFor('fill', welcome)).toBe('t');
    expect(modelFor('restore', welcome)).toBe('t');
  });

  it('clamps variants and steps to the announced limits', () => {
    const welcome = { ...WELCOME, limits: { ...WELCOME.limits, maxVariants: 2, maxSteps: 12 } };
    const settings = applySettingsPatch(defaultSettings(), 'restore', { variants: 8, quality: 'best' });
    const { request, variants } = buildGenerateRequest('restore', settings, { layer, selection: null }, welcome);
    expect([request.variants, variants, request.steps]).toEqual([2, 2, 12]);
  });
});
