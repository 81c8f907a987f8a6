/**
 * The Open Inference Protocol (KServe v2 REST) as bytes, without any network: building an infer
 * request for ε̂ = f(cond, y_t, γ), reading the reply, and checking a model's metadata against the
 * Palette signature. daemon/kserve-executor.ts sends what this module builds.
 *
 * Wire format, binary-tensor extension (Triton, KServe, MLServer and OVMS accept it):
 *   body   = JSON header ‖ tensor bytes of each input in header order
 *   header `Inference-Header-Content-Length: <bytes of the JSON header>`
 *   each binary input carries `parameters.binary_data_size`; outputs asked with `binary_data: true`
 *   come back the same way (the reply's header length, then the bytes in output order).
 * Tensors are FP32, row-major, little-endian (the byte order of every host we run on, x86 and ARM).
 * Without the extension (`binary: false`) the same tensors travel as JSON number arrays: slower
 * (≈ 10 bytes per float and a parse), but any v2 server takes it.
 */
import { DaemonError } from './errors.ts';
import { INPUT_NAMES, OUTPUT_NAME, type DenoiseInputs, type NchwTensor } from './model-runner.ts';

export const HEADER_LENGTH = 'inference-header-content-length';

/** A tensor's description in a v2 metadata reply (`GET /v2/models/NAME`). */
export interface TensorMetadata {
  name: string;
  datatype: string;
  shape: number[];
}

export interface ModelMetadata {
  name: string;
  inputs: TensorMetadata[];
  outputs: TensorMetadata[];
}

/** What the executor learns from the metadata: how γ is shaped ([B], or [B,1] under Triton's batcher). */
export interface PaletteSignature {
  gammaRank: 1 | 2;
}

export interface EncodedRequest {
  headers: Record<string, string>;
  /** Sent in order; the tensors' own buffers, not copies. */
  chunks: Uint8Array[];
  bytes: number;
}

function bytesOf(data: Float32Array): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** An infer request for one batch; `binary` picks the binary-tensor extension over JSON arrays. */
export function encodeInferRequest({ cond, yT, gamma }: DenoiseInputs, signature: PaletteSignature, binary: boolean): EncodedRequest {
  const b = cond.dims[0];
  const tensors: [string, number[], Float32Array][] = [
    ['cond', [...cond.dims], cond.data],
    ['y_t', [...yT.dims], yT.data],
    ['gamma', signature.gammaRank === 2 ? [b, 1] : [b], gamma],
  ];
  const output = { name: OUTPUT_NAME, ...(binary ? { parameters: { binary_data: true } } : {}) };
  if (!binary) {
    const body = new TextEncoder().encode(JSON.stringify({
      inputs: tensors.map(([name, shape, data]) => ({ name, shape, datatype: 'FP32', data: Array.from(data) })),
      outputs: [output],
    }));
    return { headers: { 'content-type': 'application/json' }, chunks: [body], bytes: body.byteLength };
  }
  const header = new TextEncoder().encode(JSON.stringify({
    inputs: tensors.map(([name, shape, data]) => ({ name, shape, datatype: 'FP32', parameters: { binary_data_size: data.byteLength } })),
    outputs: [output],
  }));
  const chunks = [header, ...tensors.map(([, , data]) => bytesOf(data))];
  return {
    headers: { 'content-type': 'application/octet-stream', [HEADER_LENGTH]: String(header.byteLength) },
    chunks,
    bytes: chunks.reduce((sum, c) => sum + c.byteLength, 0),
  };
}

interface ReplyOutput {
  name?: unknown;
  datatype?: unknown;
  shape?: unknown;
  data?: unknown;
  parameters?: { binary_data_size?: unknown };
}

function runFailed(message: string): DaemonError {
  return new DaemonError('MODEL_RUN_FAILED', `the inference server's reply ${message}`);
}

/**
 * ε̂ from an infer reply. `headerLength` is the reply's Inference-Header-Content-Length (absent for a
 * pure JSON reply). `dims` is what we asked for: a reply of another shape is an error, not a reshape.
 */
export function decodeInferReply(body: Uint8Array, headerLength: number | undefined, dims: NchwTensor['dims']): NchwTensor {
  const jsonBytes = headerLength === undefined ? body : body.subarray(0, headerLength);
  if (headerLength !== undefined && (headerLength > body.byteLength || headerLength < 0)) {
    throw runFailed(`says its JSON header has ${headerLength} bytes but the body has ${body.byteLength}`);
  }
  let reply: { outputs?: ReplyOutput[] };
  try {
    reply = JSON.parse(new TextDecoder().decode(jsonBytes)) as { outputs?: ReplyOutput[] };
  } catch (cause) {
    throw new DaemonError('MODEL_RUN_FAILED', `the inference server's reply is not JSON: ${String(cause)}`, { cause });
  }
  const outputs = Array.isArray(reply.outputs) ? reply.outputs : [];
  const count = dims.reduce((a, n) => a * n, 1);
  // Binary outputs follow the header in the order the header lists them.
  let offset = headerLength ?? 0;
  for (const output of outputs) {
    const size = output.parameters?.binary_data_size;
    if (output.name !== OUTPUT_NAME) {
      if (typeof size === 'number') offset += size;
      continue;
    }
    if (output.datatype !== undefined && output.datatype !== 'FP32') throw runFailed(`has ${OUTPUT_NAME} as ${String(output.datatype)}, not FP32`);
    const shape = Array.isArray(output.shape) ? output.shape.join(',') : undefined;
    if (shape !== undefined && shape !== dims.join(',')) throw runFailed(`has ${OUTPUT_NAME} of shape [${shape}], asked for [${dims.join(',')}]`);
    if (typeof size === 'number') {
      if (size !== count * 4 || offset + size > body.byteLength) throw runFailed(`has ${size} bytes of ${OUTPUT_NAME} (expected ${count * 4}, body ${body.byteLength})`);
      // A copy: the body's offset need not be 4-aligned, and a Float32Array view needs it.
      const data = new Float32Array(count);
      new Uint8Array(data.buffer).set(body.subarray(offset, offset + size));
      return { data, dims };
    }
    if (Array.isArray(output.data) && output.data.length === count) return { data: Float32Array.from(output.data as number[]), dims };
    throw runFailed(`has ${OUTPUT_NAME} without ${count} values`);
  }
  throw runFailed(`has no ${OUTPUT_NAME} output`);
}

function describe(t: TensorMetadata): string {
  return `${t.name} ${t.datatype} [${t.shape.join(',')}]`;
}

/** A dimension fits when the server fixes it to what we send or leaves it free (-1). */
function fits(shape: number[], wanted: (number | null)[]): boolean {
  return shape.length === wanted.length && shape.every((d, i) => d === -1 || wanted[i] === null || d === wanted[i]);
}

/**
 * Checks that a served model is a Palette network: inputs cond, y_t [B,3,H,W] and gamma [B] (or [B,1])
 * in FP32, output eps [B,3,H,W]. MODEL_SIGNATURE_MISMATCH names both sides when it is not.
 */
export function checkSignature(metadata: ModelMetadata, where: string): PaletteSignature {
  const inputs = new Map(metadata.inputs.map((t) => [t.name, t]));
  const eps = metadata.outputs.find((t) => t.name === OUTPUT_NAME);
  const image = [null, 3, null, null];
  const cond = inputs.get('cond');
  const yT = inputs.get('y_t');
  const gamma = inputs.get('gamma');
  const ok =
    inputs.size === INPUT_NAMES.length &&
    [cond, yT, gamma, eps].every((t) => t?.datatype === 'FP32') &&
    cond !== undefined && fits(cond.shape, image) &&
    yT !== undefined && fits(yT.shape, image) &&
    eps !== undefined && fits(eps.shape, image) &&
    gamma !== undefined && (fits(gamma.shape, [null]) || fits(gamma.shape, [null, 1]));
  if (!ok || gamma === undefined) {
    throw new DaemonError(
      'MODEL_SIGNATURE_MISMATCH',
      `${where} serves inputs [${metadata.inputs.map(describe).join('; ')}] and outputs [${metadata.outputs.map(describe).join('; ')}]; ` +
        'a Palette model needs inputs cond FP32 [-1,3,-1,-1], y_t FP32 [-1,3,-1,-1], gamma FP32 [-1] (or [-1,1]) ' +
        'and output eps FP32 [-1,3,-1,-1] (see models/README.md).',
    );
  }
  return { gammaRank: gamma.shape.length === 2 ? 2 : 1 };
}

/** The metadata reply as typed data, or MODEL_SIGNATURE_MISMATCH when it is not v2 metadata at all. */
export function parseMetadata(text: string, where: string): ModelMetadata {
  const isTensor = (t: unknown): t is TensorMetadata =>
    typeof t === 'object' && t !== null && typeof (t as TensorMetadata).name === 'string' &&
    typeof (t as TensorMetadata).datatype === 'string' && Array.isArray((t as TensorMetadata).shape);
  try {
    const m = JSON.parse(text) as Partial<ModelMetadata>;
    if (Array.isArray(m.inputs) && Array.isArray(m.outputs) && m.inputs.every(isTensor) && m.outputs.every(isTensor)) {
      return { name: String(m.name ?? ''), inputs: m.inputs, outputs: m.outputs };
    }
  } catch {
    // reported below, with the text
  }
  throw new DaemonError('MODEL_SIGNATURE_MISMATCH', `${where} answered model metadata that is not KServe v2 metadata: ${text.slice(0, 200)}`);
}
