import { deflateSync, constants as zlibConstants } from 'node:zlib';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { decodePng, inflateAuto, inflateZlib, PngDecodeError, pngSize, type Inflate } from '../../../plugin/editor/png-decode.ts';

const fallback: Inflate = async (zlib, n) => inflateZlib(zlib, n);

/** A test image with gradients, noise and flat areas, so every PNG row filter gets used. */
function testImage(width: number, height: number, channels: 1 | 2 | 3 | 4): Uint8Array {
  const data = new Uint8Array(width * height * channels);
  let seed = 12345;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      for (let c = 0; c < channels; c++) {
        const flat = y < height / 3;
        const value = flat ? 90 + c * 40 : y < (2 * height) / 3 ? (x * 3 + y * 5 + c * 60) & 255 : (seed >> (c * 5)) & 255;
        data[(y * width + x) * channels + c] = value;
      }
    }
  }
  return data;
}

async function reference(png: Uint8Array): Promise<Uint8Array> {
  const { data, info } = await sharp(png).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== 4) throw new Error('expected RGBA');
  return new Uint8Array(data);
}

describe('decodePng', () => {
  for (const channels of [1, 2, 3, 4] as const) {
    for (const inflate of [inflateAuto, fallback]) {
      it(`decodes ${channels}-channel PNGs from sharp (${inflate === fallback ? 'pure inflate' : 'auto inflate'})`, async () => {
        const raw = testImage(61, 37, channels);
        for (const compressionLevel of [0, 6, 9]) {
          const png = new Uint8Array(await sharp(raw, { raw: { width: 61, height: 37, channels } })
            .png({ compressionLevel, adaptiveFiltering: true }).toBuffer());
          const decoded = await decodePng(png, inflate);
          expect(decoded.width).toBe(61);
          expect(decoded.height).toBe(37);
          expect(Buffer.from(decoded.data).equals(Buffer.from(await reference(png)))).toBe(true);
        }
      });
    }
  }

  for (const colours of [2, 4, 16, 200]) {
    it(`decodes ${colours}-colour palette PNGs (with transparency) like sharp does`, async () => {
      const raw = testImage(41, 30, 4);
      const png = new Uint8Array(await sharp(raw, { raw: { width: 41, height: 30, channels: 4 } })
        .png({ palette: true, colours, dither: 0 }).toBuffer());
      expect(png[25]).toBe(3); // IHDR colour type: palette
      const decoded = await decodePng(png, fallback);
      expect(Buffer.from(decoded.data).equals(Buffer.from(await reference(png)))).toBe(true);
    });
  }

  it('decodes 1-bit grayscale', async () => {
    const raw = new Uint8Array(13 * 5).map((_, i) => (i % 3 === 0 ? 255 : 0));
    const png = new Uint8Array(await sharp(raw, { raw: { width: 13, height: 5, channels: 1 } }).png({ colours: 2, palette: false }).toColourspace('b-w').toBuffer());
    const decoded = await decodePng(png);
    expect(Buffer.from(decoded.data).equals(Buffer.from(await reference(png)))).toBe(true);
  });

  it('keeps the high byte of 16-bit samples', async () => {
    const raw = testImage(20, 10, 4);
    const png = new Uint8Array(await sharp(raw, { raw: { width: 20, height: 10, channels: 4 } }).toColourspace('rgb16').png().toBuffer());
    expect(png[24]).toBe(16); // IHDR bit depth
    const decoded = await decodePng(png);
    expect(Buffer.from(decoded.data).equals(Buffer.from(raw))).toBe(true); // 8-bit v was stored as v·257
  });

  it('decodes a 1×1 image (a fixed-Huffman deflate block)', async () => {
    const png = new Uint8Array(await sharp(new Uint8Array([1, 2, 3, 4]), { raw: { width: 1, height: 1, channels: 4 } }).png().toBuffer());
    expect(Array.from((await decodePng(png, fallback)).data)).toEqual([1, 2, 3, 4]);
  });

  it('reads the size from IHDR alone', async () => {
    const png = new Uint8Array(await sharp({ create: { width: 7, height: 3, channels: 3, background: '#000' } }).png().toBuffer());
    expect(pngSize(png)).toEqual({ width: 7, height: 3 });
  });

  it('rejects what it cannot read with PngDecodeError', async () => {
    const png = new Uint8Array(await sharp(testImage(16, 16, 3), { raw: { width: 16, height: 16, channels: 3 } }).png().toBuffer());
    await expect(decodePng(new Uint8Array([1, 2, 3]))).rejects.toBeInstanceOf(PngDecodeError);
    const badCrc = png.slice();
    badCrc[30] = badCrc[30]! ^ 0xff; // inside IHDR's CRC
    await expect(decodePng(badCrc)).rejects.toThrow(/CRC/);
    await expect(decodePng(png.slice(0, png.length - 20))).rejects.toBeInstanceOf(PngDecodeError);
    const interlaced = new Uint8Array(await sharp(testImage(16, 16, 3), { raw: { width: 16, height: 16, channels: 3 } })
      .png({ progressive: true }).toBuffer());
    await expect(decodePng(interlaced)).rejects.toThrow(/Interlaced/);
  });
});

describe('inflateZlib', () => {
  const inputs: [string, Uint8Array][] = [
    ['empty', new Uint8Array(0)],
    ['repetitive', new TextEncoder().encode('palette '.repeat(20_000))],
    ['noise', testImage(300, 200, 3)],
  ];
  for (const [name, input] of inputs) {
    for (const level of [0, 1, 9]) {
      it(`inflates ${name} data deflated at level ${level}`, () => {
        const out = inflateZlib(new Uint8Array(deflateSync(input, { level })));
        expect(Buffer.from(out).equals(Buffer.from(input))).toBe(true);
      });
    }
  }

  it('inflates fixed-Huffman and long-distance streams', () => {
    const input = new Uint8Array(200_000).map((_, i) => (i % 40_000 < 20_000 ? i % 7 : (i * 31) % 256));
    const fixed = deflateSync(input, { strategy: zlibConstants.Z_FIXED });
    expect(Buffer.from(inflateZlib(new Uint8Array(fixed))).equals(Buffer.from(input))).toBe(true);
  });

  it('rejects a bad header and a truncated stream', () => {
    expect(() => inflateZlib(new Uint8Array([0x78, 0x00, 1, 2, 3, 4]))).toThrow(PngDecodeError);
    const good = new Uint8Array(deflateSync(testImage(50, 50, 3)));
    expect(() => inflateZlib(good.subarray(0, good.length / 2))).toThrow(PngDecodeError);
  });
});
