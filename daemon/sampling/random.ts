/**
 * Seeded, platform-independent random numbers for the samplers' noise.
 *
 * - xoshiro128** (Blackman & Vigna) on four uint32 words, seeded by splitmix32; only integer
 *   operations (Math.imul, shifts, xor), so a seed gives the same uint32 stream on every platform.
 * - Standard normals by Box–Muller in float64, both values of each pair used. (Math.log/cos/sin are
 *   V8's fdlibm ports, deterministic across platforms for one Node version.)
 * - One stream per variant: `noiseSourceForSeeds` gives batch item b its own stream, so a variant's
 *   pixels depend only on its own seed, not on which variants share the batch or in which order.
 */
import { DaemonError } from '../errors.ts';
import type { BatchShape, NoiseSource } from './types.ts';

/** Call it for the next N(0, 1) draw; `fill` writes the next draws in order (the same values). */
export interface NormalStream {
  (): number;
  /** Fills out[start … end) with the next draws, as calling the stream repeatedly would. */
  fill(out: Float32Array, start?: number, end?: number): void;
}

const TWO_POW_32 = 4294967296;
const TWO_POW_NEG_53 = 1 / 9007199254740992;

/** splitmix32 step: returns [output, next state]; the output is a bijection of the state. */
function splitmix32(state: number): [number, number] {
  const s = (state + 0x9e3779b9) >>> 0;
  let z = s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  z = (z ^ (z >>> 16)) >>> 0;
  return [z, s];
}

function checkSeed(seed: number): void {
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new DaemonError('INVALID_ARGUMENT', `a seed must be an integer in [0, 2^53 − 1], got ${seed}`);
  }
}

/**
 * A xoshiro128** generator of uint32 values for a seed in [0, 2^53 − 1]. Two splitmix32 chains give
 * a₀, a₁ from the low 32 bits and b₀, b₁ from the high bits; the state (a₀, a₁ ⊕ b₀, b₁, a₁) determines
 * the seed (a₀ gives the low bits, then b₀ the high bits), so distinct seeds give distinct streams, and
 * it is never all zero (a₀ and a₁ come from two different splitmix states, so they are not both 0).
 */
export function createUint32Stream(seed: number): () => number {
  checkSeed(seed);
  const lo = seed >>> 0;
  const hi = Math.floor(seed / TWO_POW_32) >>> 0;
  const [a0, afterA0] = splitmix32(lo);
  const [a1] = splitmix32(afterA0);
  const [b0, afterB0] = splitmix32((hi ^ 0x6a09e667) >>> 0);
  const [b1] = splitmix32(afterB0);
  return xoshiro128StarStar(a0, (a1 ^ b0) >>> 0, b1, a1);
}

/** xoshiro128** from an explicit state (not all zero): a uint32 per call. */
export function xoshiro128StarStar(a: number, b: number, c: number, d: number): () => number {
  let s0 = a | 0;
  let s1 = b | 0;
  let s2 = c | 0;
  let s3 = d | 0;
  if ((s0 | s1 | s2 | s3) === 0) throw new DaemonError('INVALID_ARGUMENT', 'xoshiro128** needs a non-zero state');
  return () => {
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = rotl(s3, 11);
    return result;
  };
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** A stream of uniform float64 values in [0, 1) with 53 random bits each. */
export function createUniformStream(seed: number): () => number {
  const nextU32 = createUint32Stream(seed);
  return () => {
    const a = nextU32() >>> 5; // 27 bits
    const b = nextU32() >>> 6; // 26 bits
    return (a * 67108864 + b) * TWO_POW_NEG_53;
  };
}

/** Standard normal draws from a seed: Box–Muller, z₀ = r·cos θ and z₁ = r·sin θ both used. */
export function createNormalStream(seed: number): NormalStream {
  const uniform = createUniformStream(seed);
  let spare = 0;
  let hasSpare = false;
  const next = (): number => {
    if (hasSpare) {
      hasSpare = false;
      return spare;
    }
    const u1 = 1 - uniform(); // (0, 1]: log(u1) is finite
    const u2 = uniform();
    const r = Math.sqrt(-2 * Math.log(u1));
    const theta = 2 * Math.PI * u2;
    spare = r * Math.sin(theta);
    hasSpare = true;
    return r * Math.cos(theta);
  };
  const fill = (out: Float32Array, start = 0, end = out.length): void => {
    for (let i = start; i < end; i++) out[i] = next();
  };
  return Object.assign(next, { fill });
}

/**
 * A NoiseSource for a batch whose item b draws from seed b's own stream. Every call fills the whole
 * [B,3,H,W] buffer; item b's block takes the next 3·H·W draws of its stream.
 */
export function noiseSourceForSeeds(seeds: readonly number[], shape: BatchShape): NoiseSource {
  if (seeds.length !== shape.batch) {
    throw new DaemonError('INVALID_ARGUMENT', `${seeds.length} seeds for a batch of ${shape.batch}`);
  }
  const perItem = 3 * shape.height * shape.width;
  const streams = seeds.map((seed) => createNormalStream(seed));
  return (out: Float32Array): void => {
    if (out.length !== perItem * streams.length) {
      throw new DaemonError('INVALID_ARGUMENT', `noise buffer of ${out.length} values for shape ${JSON.stringify(shape)}`);
    }
    for (let b = 0; b < streams.length; b++) (streams[b] as NormalStream).fill(out, b * perItem, (b + 1) * perItem);
  };
}
