/**
 * The check that an inference server runs the network model.json describes, not only one with the
 * same signature: model.json's `weights_probe` (written at export,
 * models/training/palette_training/weights_probe.py) holds every stride-th value of ε̂ for an input
 * made by formula; probeInputs() makes the same input here, and probeMismatch() says how far the
 * server's answer is from it. Pure: daemon/kserve-executor.ts sends the call.
 */
import type { ModelManifest } from './model-manifest.ts';
import type { DenoiseInputs, NchwTensor } from './model-runner.ts';

export interface WeightsProbe {
  side: number;
  batch: number;
  gamma: number[];
  stride: number;
  eps: number[];
}

/**
 * The largest accepted |ε̂_server − ε̂_probe| / max |ε̂_probe|. Another device or kernel (a GPU, TF32)
 * moves ε̂ by 1e-3 at most; another export of the same network (palette-small-v4 against v5) by
 * orders more (test/daemon/weights-probe.test.ts).
 */
export const PROBE_TOLERANCE = 2e-2;

export function manifestProbe(manifest: ModelManifest): WeightsProbe | undefined {
  return manifest.weights_probe as WeightsProbe | undefined;
}

/** cond = 0.9·sin(0.37 i + 0.5), y_t = 1.2·cos(0.11 i) over the flat index i, as the export made them. */
export function probeInputs(probe: WeightsProbe): DenoiseInputs {
  const { batch, side } = probe;
  const n = batch * 3 * side * side;
  const dims = [batch, 3, side, side] as const;
  return {
    cond: { data: Float32Array.from({ length: n }, (_, i) => 0.9 * Math.sin(0.37 * i + 0.5)), dims },
    yT: { data: Float32Array.from({ length: n }, (_, i) => 1.2 * Math.cos(0.11 * i)), dims },
    gamma: Float32Array.from(probe.gamma),
  };
}

/** max |answer − probe| / max |probe| over the probed values. */
export function probeMismatch(probe: WeightsProbe, eps: NchwTensor): number {
  let diff = 0;
  let scale = 1e-12;
  probe.eps.forEach((want, k) => {
    const got = eps.data[k * probe.stride];
    diff = Math.max(diff, got === undefined || !Number.isFinite(got) ? Infinity : Math.abs(got - want));
    scale = Math.max(scale, Math.abs(want));
  });
  return diff / scale;
}
