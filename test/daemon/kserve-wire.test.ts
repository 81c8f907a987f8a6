import { describe, expect, it } from 'vitest';
import { checkSignature, decodeInferReply, encodeInferRequest, HEADER_LENGTH, parseMetadata, type ModelMetadata } from '../../daemon/kserve-wire.ts';

const dims = [2, 3, 1, 2] as const;
const cond = Float32Array.from({ length: 12 }, (_, i) => i);
const yT = Float32Array.from({ length: 12 }, (_, i) => -i - 0.5);
const gamma = Float32Array.of(0.25, 0.5);

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

function binaryReply(outputs: { name: string; shape: number[]; data: Float32Array }[]): { body: Uint8Array; headerLength: number } {
  const header = new TextEncoder().encode(JSON.stringify({
    outputs: outputs.map((o) => ({ name: o.name, datatype: 'FP32', shape: o.shape, parameters: { binary_data_size: o.data.byteLength } })),
  }));
  return { body: concat([header, ...outputs.map((o) => new Uint8Array(o.data.buffer))]), headerLength: header.byteLength };
}

describe('encodeInferRequest', () => {
  it('puts a JSON header with binary_data_size first, then the tensors in header order', () => {
    const request = encodeInferRequest({ cond: { data: cond, dims }, yT: { data: yT, dims }, gamma }, { gammaRank: 1 }, true);
    const headerLength = Number(request.headers[HEADER_LENGTH]);
    const body = concat(request.chunks);
    expect(request.bytes).toBe(body.byteLength);
    const header = JSON.parse(new TextDecoder().decode(body.subarray(0, headerLength))) as { inputs: { name: string; shape: number[]; parameters: { binary_data_size: number } }[]; outputs: unknown[] };
    expect(header.inputs.map((i) => [i.name, i.shape, i.parameters.binary_data_size])).toEqual([['cond', [2, 3, 1, 2], 48], ['y_t', [2, 3, 1, 2], 48], ['gamma', [2], 8]]);
    expect(header.outputs).toEqual([{ name: 'eps', parameters: { binary_data: true } }]);
    const tail = body.slice(headerLength);
    expect(new Float32Array(tail.buffer, 96, 2)).toEqual(gamma);
    expect(new Float32Array(tail.buffer, 48, 12)).toEqual(yT);
  });

  it('shapes γ as [B,1] for a Triton batcher, and writes JSON arrays without the extension', () => {
    const request = encodeInferRequest({ cond: { data: cond, dims }, yT: { data: yT, dims }, gamma }, { gammaRank: 2 }, false);
    expect(request.headers[HEADER_LENGTH]).toBeUndefined();
    const json = JSON.parse(new TextDecoder().decode(concat(request.chunks))) as { inputs: { name: string; shape: number[]; data: number[] }[] };
    expect(json.inputs[2]).toEqual({ name: 'gamma', shape: [2, 1], datatype: 'FP32', data: [0.25, 0.5] });
    expect(json.inputs[0]?.data).toEqual(Array.from(cond));
  });
});

describe('decodeInferReply', () => {
  it('finds eps after other binary outputs, at an offset that is not 4-aligned', () => {
    const other = { name: 'extra', shape: [1], data: Float32Array.of(9) };
    const eps = { name: 'eps', shape: [...dims], data: cond };
    const { body, headerLength } = binaryReply([other, eps]);
    // Pad the header by one space so the tensor bytes start at an odd offset.
    const padded = concat([body.subarray(0, headerLength), new TextEncoder().encode(' '), body.subarray(headerLength)]);
    expect(decodeInferReply(padded, headerLength + 1, dims).data).toEqual(cond);
  });

  it('reads a JSON reply', () => {
    const body = new TextEncoder().encode(JSON.stringify({ outputs: [{ name: 'eps', datatype: 'FP32', shape: [...dims], data: Array.from(yT) }] }));
    expect(decodeInferReply(body, undefined, dims).data).toEqual(yT);
  });

  it('fails with MODEL_RUN_FAILED on a wrong shape, a short body, a missing eps or non-JSON', () => {
    const wrongShape = binaryReply([{ name: 'eps', shape: [2, 3, 2, 1], data: cond }]);
    expect(() => decodeInferReply(wrongShape.body, wrongShape.headerLength, dims)).toThrow(expect.objectContaining({ code: 'MODEL_RUN_FAILED', message: expect.stringContaining('shape [2,3,2,1]') }));
    const good = binaryReply([{ name: 'eps', shape: [...dims], data: cond }]);
    expect(() => decodeInferReply(good.body.subarray(0, good.body.byteLength - 4), good.headerLength, dims)).toThrow(expect.objectContaining({ code: 'MODEL_RUN_FAILED' }));
    const none = binaryReply([{ name: 'other', shape: [...dims], data: cond }]);
    expect(() => decodeInferReply(none.body, none.headerLength, dims)).toThrow(expect.objectContaining({ message: expect.stringContaining('no eps output') }));
    expect(() => decodeInferReply(new TextEncoder().encode('<html>'), undefined, dims)).toThrow(expect.objectContaining({ code: 'MODEL_RUN_FAILED' }));
  });
});

describe('checkSignature', () => {
  const palette = (gammaShape: number[]): ModelMetadata => ({
    name: 'm',
    inputs: [
      { name: 'cond', datatype: 'FP32', shape: [-1, 3, -1, -1] },
      { name: 'y_t', datatype: 'FP32', shape: [-1, 3, -1, -1] },
      { name: 'gamma', datatype: 'FP32', shape: gammaShape },
    ],
    outputs: [{ name: 'eps', datatype: 'FP32', shape: [-1, 3, -1, -1] }],
  });

  it('accepts γ as [-1] or [-1,1] and says which', () => {
    expect(checkSignature(palette([-1]), 'here')).toEqual({ gammaRank: 1 });
    expect(checkSignature(palette([-1, 1]), 'here')).toEqual({ gammaRank: 2 });
  });

  it('refuses FP16 inputs, 4 channels, a missing or an extra input, with MODEL_SIGNATURE_MISMATCH', () => {
    const fp16 = palette([-1]);
    fp16.inputs[0] = { name: 'cond', datatype: 'FP16', shape: [-1, 3, -1, -1] };
    const channels = palette([-1]);
    channels.inputs[1] = { name: 'y_t', datatype: 'FP32', shape: [-1, 4, -1, -1] };
    const extra = palette([-1]);
    extra.inputs.push({ name: 'mask', datatype: 'FP32', shape: [-1] });
    const missing = palette([-1]);
    missing.inputs.pop();
    for (const metadata of [fp16, channels, extra, missing, palette([-1, 2])]) {
      expect(() => checkSignature(metadata, 'the server')).toThrow(expect.objectContaining({ code: 'MODEL_SIGNATURE_MISMATCH' }));
    }
  });

  it('parses v2 metadata and refuses anything else', () => {
    expect(parseMetadata(JSON.stringify(palette([-1])), 'x').inputs).toHaveLength(3);
    expect(() => parseMetadata('{"error":"x"}', 'x')).toThrow(expect.objectContaining({ code: 'MODEL_SIGNATURE_MISMATCH' }));
    expect(() => parseMetadata('not json', 'x')).toThrow(expect.objectContaining({ code: 'MODEL_SIGNATURE_MISMATCH' }));
  });
});
