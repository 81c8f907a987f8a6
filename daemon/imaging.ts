/**
 * The only module that imports sharp: decoding, encoding, resampling and blurring. Everything crosses
 * this boundary as plain RgbaImage / MaskImage, so the tasks and their tests do not depend on sharp.
 */
import sharp from 'sharp';
import { sniffImageFormat, type SniffedFormat } from '../shared/image-format.ts';
import { MAX_IMAGE_PIXELS, MAX_IMAGE_SIDE } from '../shared/protocol.ts';
import { DaemonError } from './errors.ts';
import { assertMask, assertRgba, maskFromRgba } from './pixels.ts';
import type { MaskImage, RgbaImage } from './tasks/types.ts';

export type PreviewFormat = 'webp' | 'jpeg';

export interface EncodedPreview {
  format: PreviewFormat;
  width: number;
  height: number;
  data: Uint8Array;
}

function rawRgba(img: RgbaImage): sharp.Sharp {
  assertRgba(img);
  return sharp(img.data, { raw: { width: img.width, height: img.height, channels: 4 } });
}

function rawMask(mask: MaskImage): sharp.Sharp {
  assertMask(mask);
  return sharp(mask.data, { raw: { width: mask.width, height: mask.height, channels: 1 } });
}

function toBytes(buf: Buffer): Uint8Array {
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

export interface DecodeOptions {
  /** Largest decoded image in pixels; handed to libvips as well, which stops before allocating. */
  maxPixels?: number;
  /**
   * The only containers decoded. Checked twice: on the bytes' signature, and on the loader libvips
   * picked itself (it sniffs the content, whatever the caller declared). Absent: any format sharp
   * reads, for the user's own files in `palette run`.
   */
  formats?: readonly SniffedFormat[];
}

/** The client-facing decoder: PNG only, held to the pixel limit (PROTOCOL.md, ImagePayload). */
export function decodePng(bytes: Uint8Array, maxPixels: number): Promise<RgbaImage> {
  return decodeImage(bytes, { maxPixels, formats: ['png'] });
}

function checkDecodedSize(width: number, height: number, maxPixels: number, stage: string): void {
  if (width > MAX_IMAGE_SIDE || height > MAX_IMAGE_SIDE || width * height > maxPixels) {
    throw new DaemonError('IMAGE_TOO_LARGE', `the image is ${width}×${height} ${stage}; the limit is ${maxPixels} pixels and ${MAX_IMAGE_SIDE} per side`);
  }
}

/**
 * Encoded bytes → 8-bit sRGB RGBA with straight alpha. EXIF orientation is applied (the editor shows
 * the photo upright, so the masks it sends are upright too); 16-bit, grey, CMYK and palette images
 * are all converted. The header is read first, so an image over the limit costs no pixel memory.
 */
export async function decodeImage(bytes: Uint8Array, options: DecodeOptions = {}): Promise<RgbaImage> {
  const maxPixels = options.maxPixels ?? MAX_IMAGE_PIXELS;
  const formats = options.formats;
  if (formats) {
    const sniffed = sniffImageFormat(bytes);
    if (!formats.includes(sniffed)) {
      throw new DaemonError('IMAGE_DECODE_FAILED', `the image is ${sniffed === 'unknown' ? 'in no known format' : sniffed}; only ${formats.join(', ')} is decoded`);
    }
  }
  let out: { data: Buffer; info: sharp.OutputInfo };
  try {
    // The header alone allocates no pixels, so it is read without the limit: an image over it is
    // then IMAGE_TOO_LARGE with its size, not a decode failure. The decode itself keeps the limit.
    const header = await sharp(bytes, { limitInputPixels: false }).metadata();
    if (formats && !formats.includes(header.format as SniffedFormat)) {
      throw new DaemonError('IMAGE_DECODE_FAILED', `the decoder reads the image as ${header.format}; only ${formats.join(', ')} is decoded`);
    }
    checkDecodedSize(header.width, header.height, maxPixels, 'by its header');
    out = await sharp(bytes, { limitInputPixels: maxPixels })
      .rotate()
      .toColourspace('srgb')
      .ensureAlpha()
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
  } catch (cause) {
    if (cause instanceof DaemonError) throw cause;
    throw new DaemonError('IMAGE_DECODE_FAILED', `could not decode the image (${bytes.length} bytes): ${String(cause)}`, { cause });
  }
  if (out.info.channels !== 4) {
    throw new DaemonError('IMAGE_DECODE_FAILED', `decoded image has ${out.info.channels} channels, expected RGBA`);
  }
  checkDecodedSize(out.info.width, out.info.height, maxPixels, 'after decoding');
  return { width: out.info.width, height: out.info.height, data: toBytes(out.data) };
}

/** A mask picture → 8-bit mask: its BT.601 luminance times its alpha (see maskFromRgba). */
export async function decodeMask(bytes: Uint8Array, options: DecodeOptions = {}): Promise<MaskImage> {
  return maskFromRgba(await decodeImage(bytes, options));
}

/** The client-facing mask decoder: PNG only, held to the pixel limit. */
export async function decodePngMask(bytes: Uint8Array, maxPixels: number): Promise<MaskImage> {
  return maskFromRgba(await decodePng(bytes, maxPixels));
}

export async function encodePng(img: RgbaImage): Promise<Uint8Array> {
  try {
    return toBytes(await rawRgba(img).png({ compressionLevel: 6 }).toBuffer());
  } catch (cause) {
    throw new DaemonError('IMAGE_ENCODE_FAILED', `PNG encoding failed: ${String(cause)}`, { cause });
  }
}

/**
 * A small, fast preview: fits inside maxSize × maxSize (never enlarged), lowest encoder effort. JPEG
 * has no alpha, so transparent parts are shown over white (as editors show a checkerboard's light squares).
 * With `size`, the preview is exactly that size instead (stretched if need be): the caller gives
 * it the aspect ratio of the canvas region the pixels stand for.
 */
export async function encodePreview(img: RgbaImage, maxSize: number, format: PreviewFormat,
  size?: { width: number; height: number }): Promise<EncodedPreview> {
  if (!Number.isInteger(maxSize) || maxSize < 1) {
    throw new DaemonError('INVALID_ARGUMENT', `preview maxSize must be a positive integer, got ${maxSize}`);
  }
  if (size) checkSize(size.width, size.height);
  let pipeline = size
    ? rawRgba(img).resize(size.width, size.height, { fit: 'fill', kernel: 'linear' })
    : rawRgba(img).resize(maxSize, maxSize, { fit: 'inside', withoutEnlargement: true, kernel: 'linear' });
  pipeline =
    format === 'webp'
      ? pipeline.webp({ quality: 80, effort: 0 })
      : pipeline.flatten({ background: '#ffffff' }).jpeg({ quality: 80, mozjpeg: false, optimiseCoding: false });
  try {
    const { data, info } = await pipeline.toBuffer({ resolveWithObject: true });
    return { format, width: info.width, height: info.height, data: toBytes(data) };
  } catch (cause) {
    throw new DaemonError('IMAGE_ENCODE_FAILED', `${format} preview encoding failed: ${String(cause)}`, { cause });
  }
}

function checkSize(width: number, height: number): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new DaemonError('INVALID_ARGUMENT', `resize target must be positive integers, got ${width}×${height}`);
  }
}

/**
 * Lanczos-3 when shrinking (sharp, keeps detail without aliasing); Mitchell when enlarging, whose
 * milder lobes do not ring around the hard edges that model samples and masks have.
 */
function kernelFor(fromW: number, fromH: number, toW: number, toH: number): keyof sharp.KernelEnum {
  return toW <= fromW && toH <= fromH ? 'lanczos3' : 'mitchell';
}

/**
 * Resamples to exactly width × height (aspect not kept). sharp premultiplies alpha around the resize,
 * so colours of transparent pixels do not bleed: callers rely on that to resize "known pixels only".
 */
export async function resizeRgba(img: RgbaImage, width: number, height: number): Promise<RgbaImage> {
  checkSize(width, height);
  if (width === img.width && height === img.height) return { width, height, data: img.data.slice() };
  const kernel = kernelFor(img.width, img.height, width, height);
  const { data, info } = await rawRgba(img)
    .resize(width, height, { fit: 'fill', kernel })
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 4) throw new DaemonError('IMAGE_ENCODE_FAILED', `resize returned ${info.channels} channels`);
  return { width, height, data: toBytes(data) };
}

export async function resizeMask(mask: MaskImage, width: number, height: number): Promise<MaskImage> {
  checkSize(width, height);
  if (width === mask.width && height === mask.height) return { width, height, data: mask.data.slice() };
  const kernel = kernelFor(mask.width, mask.height, width, height);
  // A 1-channel raw input comes back as 3 channels unless one is extracted.
  const { data } = await rawMask(mask)
    .resize(width, height, { fit: 'fill', kernel })
    .extractChannel(0)
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { width, height, data: toBytes(data) };
}

/** Gaussian blur with standard deviation `sigma` px; edges are extended, not darkened. */
export async function blurMask(mask: MaskImage, sigma: number): Promise<MaskImage> {
  assertMask(mask);
  // sharp refuses sigma below 0.3; so small a blur changes nothing visible anyway.
  if (!(sigma >= 0.3)) return { width: mask.width, height: mask.height, data: mask.data.slice() };
  const { data } = await rawMask(mask).blur(sigma).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
  return { width: mask.width, height: mask.height, data: toBytes(data) };
}
