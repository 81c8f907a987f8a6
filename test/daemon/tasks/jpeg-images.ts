/** Photo-like test pictures and their JPEG decodings (sharp: libjpeg-turbo, the IJG tables). */
import sharp from 'sharp';
import { expect } from 'vitest';
import type { RgbaImage } from '../../../daemon/tasks/types.ts';
import { patternImage } from './test-images.ts';

/** A photo-like test picture: gradients, hard edges, and texture of several sizes. */
export function scene(width: number, height: number): RgbaImage {
  const base = patternImage(width, height, 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const p = (y * width + x) * 4;
      const edge = (x > width / 3 && y < (2 * height) / 3 ? 60 : 0) + ((x + y) % 29 < 9 ? 35 : 0);
      const wave = 25 * Math.sin(x / 3.1) * Math.cos(y / 4.7) + 15 * Math.sin((x + 2 * y) / 1.7);
      for (let c = 0; c < 3; c++) base.data[p + c] = Math.max(0, Math.min(255, Math.round(base.data[p + c]! * 0.6 + edge + wave + c * 10)));
    }
  }
  return base;
}

export async function jpeg(image: RgbaImage, quality: number, chromaSubsampling: '4:2:0' | '4:4:4' = '4:2:0'): Promise<RgbaImage> {
  return (await jpegWithTables(image, quality, chromaSubsampling)).decoded;
}

/**
 * A JPEG of the image (mozjpeg's `quantisationTable` 0…8; 0 = Annex K, the IJG tables), decoded, with
 * the luminance table its DQT segment holds (row-major, as `ijgTable`).
 */
export async function jpegWithTables(image: RgbaImage, quality: number, chromaSubsampling: '4:2:0' | '4:4:4' = '4:2:0',
  quantisationTable = 0): Promise<{ decoded: RgbaImage; lumaTable: number[] }> {
  const { width, height } = image;
  const bytes = await sharp(image.data, { raw: { width, height, channels: 4 } }).jpeg({ quality, chromaSubsampling, quantisationTable }).toBuffer();
  const { data, info } = await sharp(bytes).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  expect([info.width, info.height]).toEqual([width, height]);
  return { decoded: { width, height, data: new Uint8Array(data) }, lumaTable: dqtTable(bytes, 0) };
}

/** JPEG's zig-zag order: ZIGZAG[i] is the row-major index of the i-th coefficient in the file. */
const ZIGZAG = (() => {
  const order: number[] = [];
  for (let s = 0; s < 15; s++) {
    const cells: number[] = [];
    for (let y = Math.max(0, s - 7); y <= Math.min(7, s); y++) cells.push(y * 8 + (s - y));
    order.push(...(s % 2 === 0 ? cells.reverse() : cells)); // even diagonals run up (y falling), odd ones down
  }
  return order;
})();

/** The 8-bit quantization table `id` of a baseline JPEG's DQT segments, row-major. */
function dqtTable(bytes: Buffer, id: number): number[] {
  for (let i = 2; i + 4 <= bytes.length;) {
    const marker = bytes.readUInt16BE(i);
    const length = bytes.readUInt16BE(i + 2);
    if (marker === 0xffdb) {
      for (let t = i + 4; t < i + 2 + length; t += 65) {
        if (bytes[t]! >> 4 !== 0) throw new Error('16-bit DQT');
        if ((bytes[t]! & 15) !== id) continue;
        const table = new Array<number>(64);
        for (let z = 0; z < 64; z++) table[ZIGZAG[z]!] = bytes[t + 1 + z]!;
        return table;
      }
    }
    if (marker === 0xffda) break;
    i += 2 + length;
  }
  throw new Error(`no quantization table ${id}`);
}


/**
 * A real photo, 160×120 (test/fixtures/photo-pool-160x120.png: a validation photo of the photoset,
 * downscaled): colour edges (a red shirt, a green table) that synthetic pictures do not have.
 */
export async function fixturePhoto(): Promise<RgbaImage> {
  const path = new URL('../../fixtures/photo-pool-160x120.png', import.meta.url);
  const { data, info } = await sharp(path.pathname).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data: new Uint8Array(data) };
}
