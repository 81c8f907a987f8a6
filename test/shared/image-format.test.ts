import { describe, expect, it } from 'vitest';
import { PNG_SIGNATURE, pngDimensions, sniffImageFormat } from '../../shared/image-format.ts';

const bytes = (...parts: Array<string | number[]>): Uint8Array =>
  Uint8Array.from(parts.flatMap((p) => (typeof p === 'string' ? Array.from(p, (c) => c.charCodeAt(0)) : p)));

function ihdr(width: number, height: number, chunkType = 'IHDR', length = 13): Uint8Array {
  const out = new Uint8Array(33);
  out.set(PNG_SIGNATURE);
  const view = new DataView(out.buffer);
  view.setUint32(8, length);
  out.set(bytes(chunkType), 12);
  view.setUint32(16, width);
  view.setUint32(20, height);
  return out;
}

describe('sniffImageFormat', () => {
  it.each([
    ['png', ihdr(1, 1)],
    ['jpeg', bytes([0xff, 0xd8, 0xff, 0xe0])],
    ['gif', bytes('GIF89a')],
    ['gif', bytes('GIF87a')],
    ['webp', bytes('RIFF', [1, 2, 3, 4], 'WEBPVP8 ')],
    ['tiff', bytes([0x49, 0x49, 0x2a, 0x00])],
    ['tiff', bytes([0x4d, 0x4d, 0x00, 0x2a])],
    ['bmp', bytes('BM')],
    ['svg', bytes('<svg xmlns="http://www.w3.org/2000/svg"/>')],
    ['svg', bytes([0xef, 0xbb, 0xbf], ' \n\t<?xml version="1.0"?>')],
    ['unknown', bytes('RIFF', [1, 2, 3, 4], 'AVI ')],
    ['unknown', new Uint8Array(0)],
    ['unknown', PNG_SIGNATURE.slice(0, 7) as unknown as Uint8Array],
  ] as const)('names %s', (format, data) => {
    expect(sniffImageFormat(Uint8Array.from(data))).toBe(format);
  });
});

describe('pngDimensions', () => {
  it('reads the IHDR size', () => {
    expect(pngDimensions(ihdr(640, 480))).toEqual({ width: 640, height: 480 });
    expect(pngDimensions(ihdr(0x7fff_ffff, 1))).toEqual({ width: 0x7fff_ffff, height: 1 });
  });

  it('is null unless the signature is followed by a well-formed IHDR with sides 1 … 2³¹−1', () => {
    expect(pngDimensions(ihdr(0, 1))).toBeNull();
    expect(pngDimensions(ihdr(1, 0))).toBeNull();
    expect(pngDimensions(ihdr(0x8000_0000, 1))).toBeNull();
    expect(pngDimensions(ihdr(1, 1, 'IDAT'))).toBeNull();
    expect(pngDimensions(ihdr(1, 1, 'IHDR', 12))).toBeNull();
    expect(pngDimensions(ihdr(1, 1).subarray(0, 23))).toBeNull();
    const notPng = ihdr(1, 1);
    notPng[0] = 0x88;
    expect(pngDimensions(notPng)).toBeNull();
  });

  it('reads a view into a larger buffer at its own offset', () => {
    const big = new Uint8Array(100);
    big.set(ihdr(7, 9), 10);
    expect(pngDimensions(big.subarray(10))).toEqual({ width: 7, height: 9 });
  });
});
