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
  const { width, height } = image;
  const bytes = await sharp(image.data, { raw: { width, height, channels: 4 } }).jpeg({ quality, chromaSubsampling }).toBuffer();
  const { data, info } = await sharp(bytes).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  expect([info.width, info.height]).toEqual([width, height]);
  return { width, height, data: new Uint8Array(data) };
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
