import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import {
  blurMask,
  decodeImage,
  decodeMask,
  decodePng,
  decodePngMask,
  encodePng,
  encodePreview,
  resizeMask,
  resizeRgba,
} from '../../daemon/imaging.ts';
import { createMask, createRgba } from '../../daemon/pixels.ts';
import { patternImage, pixel } from './tasks/test-images.ts';

describe('imaging', () => {
  it('round-trips RGBA through PNG bit-exactly, alpha included', async () => {
    const img = patternImage(37, 23);
    for (let i = 3; i < img.data.length; i += 28) img.data[i] = (i * 7) % 256;
    const png = await encodePng(img);
    expect([...png.subarray(1, 4)]).toEqual([0x50, 0x4e, 0x47]); // "PNG"
    const back = await decodeImage(png);
    expect(back.width).toBe(37);
    expect(back.height).toBe(23);
    expect(back.data).toEqual(img.data);
  });

  it('makes previews that fit in maxSize, never enlarged, in both formats', async () => {
    const img = patternImage(300, 120);
    for (const format of ['webp', 'jpeg'] as const) {
      const p = await encodePreview(img, 64, format);
      expect(p.format).toBe(format);
      expect([p.width, p.height]).toEqual([64, 26]);
      const meta = await sharp(p.data).metadata();
      expect(meta.format).toBe(format);
      expect([meta.width, meta.height]).toEqual([p.width, p.height]);
    }
    const small = await encodePreview(patternImage(20, 10), 64, 'webp');
    expect([small.width, small.height]).toEqual([20, 10]);
    await expect(encodePreview(img, 0, 'webp')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('decodes a grey PNG mask as its values, and a white-on-transparent one as the stroke', async () => {
    const grey = Buffer.from(Array.from({ length: 6 * 4 }, (_, i) => (i * 11) % 256));
    const greyPng = await sharp(grey, { raw: { width: 6, height: 4, channels: 1 } }).png().toBuffer();
    const m = await decodeMask(greyPng);
    expect([m.width, m.height]).toEqual([6, 4]);
    expect([...m.data]).toEqual([...grey]);

    const stroke = createRgba(8, 8);
    for (let x = 0; x < 8; x++) stroke.data.set([255, 255, 255, 255], (3 * 8 + x) * 4);
    const s = await decodeMask(await encodePng(stroke));
    expect(s.data[3 * 8 + 5]).toBe(255);
    expect(s.data[5 * 8 + 5]).toBe(0);
  });

  it('applies EXIF orientation', async () => {
    const raw = Buffer.alloc(40 * 20 * 3);
    for (let y = 0; y < 20; y++) for (let x = 0; x < 40; x++) raw[(y * 40 + x) * 3 + (x < 20 ? 0 : 2)] = 255;
    // Stored landscape, left half red; orientation 6 means "rotate 90° clockwise to display".
    const jpeg = await sharp(raw, { raw: { width: 40, height: 20, channels: 3 } })
      .jpeg({ quality: 95 })
      .withMetadata({ orientation: 6 })
      .toBuffer();
    const img = await decodeImage(jpeg);
    expect([img.width, img.height]).toEqual([20, 40]);
    const top = pixel(img, 10, 2);
    const bottom = pixel(img, 10, 37);
    expect(top[0]).toBeGreaterThan(200);
    expect(top[2]).toBeLessThan(50);
    expect(bottom[2]).toBeGreaterThan(200);
    expect(top[3]).toBe(255);
  });

  it('converts 16-bit and grey images to 8-bit RGBA', async () => {
    const grey16 = await sharp(Buffer.from([0, 255, 128, 64]), { raw: { width: 2, height: 2, channels: 1 } })
      .toColourspace('grey16')
      .png()
      .toBuffer();
    expect((await sharp(grey16).metadata()).depth).toBe('ushort');
    const img = await decodeImage(grey16);
    expect(img.data.length).toBe(16);
    expect(pixel(img, 0, 0)).toEqual([0, 0, 0, 255]);
    expect(pixel(img, 1, 0)).toEqual([255, 255, 255, 255]);
    expect(pixel(img, 0, 1)[0]).toBeGreaterThan(100);
  });

  it('rejects bytes that are not an image with a coded error', async () => {
    await expect(decodeImage(new Uint8Array([1, 2, 3, 4]))).rejects.toMatchObject({ code: 'IMAGE_DECODE_FAILED' });
  });

  describe('decodes only what the request declares', () => {
    const svg = (side: number) => Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${side}" height="${side}"><rect width="9" height="9"/></svg>`);
    const raw = () => sharp(Buffer.from(patternImage(16, 12).data), { raw: { width: 16, height: 12, channels: 4 } });

    it('refuses SVG, JPEG, TIFF, GIF and WebP as PNG before decoding, naming what they are', async () => {
      const others: Array<[string, Uint8Array]> = [
        ['svg', svg(9000)],
        ['jpeg', await raw().jpeg().toBuffer()],
        ['tiff', await raw().tiff().toBuffer()],
        ['gif', await raw().gif().toBuffer()],
        ['webp', await raw().webp().toBuffer()],
      ];
      for (const [name, bytes] of others) {
        await expect(decodePng(bytes, 1 << 26)).rejects.toMatchObject({ code: 'IMAGE_DECODE_FAILED', message: expect.stringContaining(name) });
        await expect(decodePngMask(bytes, 1 << 26)).rejects.toMatchObject({ code: 'IMAGE_DECODE_FAILED' });
      }
    });

    it('decodes a PNG within the limit, and refuses one over it by its header', async () => {
      const png = await raw().png().toBuffer();
      expect(await decodePng(png, 16 * 12)).toMatchObject({ width: 16, height: 12 });
      expect((await decodePngMask(png, 16 * 12)).data).toHaveLength(16 * 12);
      await expect(decodePng(png, 16 * 12 - 1)).rejects.toMatchObject({ code: 'IMAGE_TOO_LARGE' });
    });

    it('refuses a PNG signature over something else', async () => {
      const fake = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), svg(10)]);
      await expect(decodePng(fake, 1 << 26)).rejects.toMatchObject({ code: 'IMAGE_DECODE_FAILED' });
    });

    it('still reads any format for local files (palette run), held to the pixel limit', async () => {
      expect(await decodeImage(await raw().jpeg().toBuffer())).toMatchObject({ width: 16, height: 12 });
      await expect(decodeImage(svg(9000))).rejects.toMatchObject({ code: 'IMAGE_TOO_LARGE' });
      await expect(decodeImage(await raw().png().toBuffer(), { maxPixels: 100 })).rejects.toMatchObject({ code: 'IMAGE_TOO_LARGE' });
    });
  });

  it('resizes RGBA without bleeding transparent colours, and masks to the exact size', async () => {
    const img = createRgba(8, 8);
    for (let i = 0; i < 64; i++) img.data.set(i % 8 < 4 ? [255, 0, 0, 0] : [0, 0, 255, 255], i * 4);
    const small = await resizeRgba(img, 4, 4);
    expect([small.width, small.height, small.data.length]).toEqual([4, 4, 64]);
    for (let p = 0; p < small.data.length; p += 4) if ((small.data[p + 3] ?? 0) > 0) expect(small.data[p]).toBeLessThan(8);
    const big = await resizeRgba(patternImage(10, 10), 25, 17);
    expect([big.width, big.height, big.data.length]).toEqual([25, 17, 25 * 17 * 4]);
    const m = await resizeMask(createMask(30, 20), 7, 9);
    expect([m.width, m.height, m.data.length]).toEqual([7, 9, 63]);
  });

  it('blurs a mask: soft edge, flat areas and image borders unchanged', async () => {
    const m = createMask(40, 10);
    for (let y = 0; y < 10; y++) m.data.fill(255, y * 40, y * 40 + 20);
    const b = await blurMask(m, 2);
    expect(b.data.length).toBe(400);
    const row = [...b.data.subarray(5 * 40, 6 * 40)];
    expect(row[0]).toBe(255);
    expect(row[39]).toBe(0);
    expect(row[19]).toBeLessThan(255);
    expect(row[20]).toBeGreaterThan(0);
    for (let x = 1; x < 40; x++) expect(row[x]!).toBeLessThanOrEqual(row[x - 1]!);
    expect((await blurMask(m, 0)).data).toEqual(m.data);
  });
});
