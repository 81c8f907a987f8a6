/**
 * A small PNG decoder for the host adapters: the daemon sends results as PNG, and neither UXP nor a
 * Photopea plugin page gives us a canvas we can trust to return the exact bytes (UXP's <canvas> has no
 * getImageData; browsers may colour-manage or premultiply). Output is always 8-bit straight RGBA.
 *
 * Supported: colour types 0 (gray), 2 (RGB), 3 (palette, with tRNS), 4 (gray + alpha), 6 (RGBA);
 * bit depths 8 and 16 (reduced to the high byte), and 1/2/4 for gray and palette images. Not
 * supported: interlaced (Adam7) images — the daemon never writes them — which fail with PngDecodeError.
 *
 * The zlib stream inside IDAT is inflated with DecompressionStream('deflate') where the runtime has it
 * (browsers, Node 18+), else with inflate.ts's plain RFC 1950/1951 decoder (UXP).
 */
import type { RgbaPixels } from './editor-document.ts';
import { inflateAuto, PngDecodeError, type Inflate } from './inflate.ts';

export { inflateAuto, inflateZlib, PngDecodeError, type Inflate } from './inflate.ts';

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
/** Channels per pixel for each colour type. */
const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

interface Header {
  width: number;
  height: number;
  bitDepth: number;
  colorType: number;
}

/** Decodes PNG bytes to straight-alpha RGBA8. `inflate` defaults to `inflateAuto`. */
export async function decodePng(png: Uint8Array, inflate: Inflate = inflateAuto): Promise<RgbaPixels> {
  const { header, idat, palette, transparency } = readChunks(png);
  const bitsPerPixel = (CHANNELS[header.colorType] ?? 0) * header.bitDepth;
  const bytesPerPixel = Math.ceil(bitsPerPixel / 8); // the filters' "bpp": at least one byte
  const stride = Math.ceil((header.width * bitsPerPixel) / 8);
  const raw = await inflate(idat, header.height * (stride + 1));
  if (raw.length < header.height * (stride + 1)) throw new PngDecodeError('PNG image data is shorter than the image');
  let pixels = unfilter(raw, header.height, stride, bytesPerPixel);
  if (header.bitDepth < 8) pixels = unpackSubByte(pixels, header, stride);
  return { width: header.width, height: header.height, data: toRgba(pixels, header, palette, transparency) };
}

/** The PNG's size without decoding it (IHDR only). */
export function pngSize(png: Uint8Array): { width: number; height: number } {
  const { width, height } = readChunks(png, true).header;
  return { width, height };
}

function readChunks(png: Uint8Array, headerOnly = false): {
  header: Header; idat: Uint8Array; palette?: Uint8Array; transparency?: Uint8Array;
} {
  if (png.length < 8 || SIGNATURE.some((b, i) => png[i] !== b)) throw new PngDecodeError('Not a PNG file (bad signature)');
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  let header: Header | undefined;
  let palette: Uint8Array | undefined;
  let transparency: Uint8Array | undefined;
  const parts: Uint8Array[] = [];
  let offset = 8;
  for (;;) {
    if (offset + 12 > png.length) throw new PngDecodeError('PNG ends before its IEND chunk');
    const length = view.getUint32(offset);
    const type = String.fromCharCode(png[offset + 4]!, png[offset + 5]!, png[offset + 6]!, png[offset + 7]!);
    const dataStart = offset + 8;
    if (dataStart + length + 4 > png.length) throw new PngDecodeError(`PNG chunk ${type} runs past the end of the file`);
    const data = png.subarray(dataStart, dataStart + length);
    if (crc32(png.subarray(offset + 4, dataStart + length)) !== view.getUint32(dataStart + length)) {
      throw new PngDecodeError(`PNG chunk ${type} has a bad CRC`);
    }
    offset = dataStart + length + 4;
    if (type === 'IHDR') {
      header = parseHeader(data);
      if (headerOnly) return { header, idat: new Uint8Array(0) };
    } else if (type === 'PLTE') palette = data;
    else if (type === 'tRNS') transparency = data;
    else if (type === 'IDAT') parts.push(data);
    else if (type === 'IEND') break;
  }
  if (!header) throw new PngDecodeError('PNG has no IHDR chunk');
  if (parts.length === 0) throw new PngDecodeError('PNG has no IDAT chunk');
  if (header.colorType === 3 && !palette) throw new PngDecodeError('Palette PNG without a PLTE chunk');
  return { header, idat: concat(parts), palette, transparency };
}

function parseHeader(data: Uint8Array): Header {
  if (data.length !== 13) throw new PngDecodeError('Bad IHDR length');
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const header = { width: view.getUint32(0), height: view.getUint32(4), bitDepth: data[8]!, colorType: data[9]! };
  const interlace = data[12]!;
  if (header.width === 0 || header.height === 0) throw new PngDecodeError('PNG has zero width or height');
  if (CHANNELS[header.colorType] === undefined) throw new PngDecodeError(`Unknown PNG colour type ${header.colorType}`);
  const subByte = (header.colorType === 0 || header.colorType === 3) && [1, 2, 4].includes(header.bitDepth);
  const depthOk = header.bitDepth === 8 || (header.bitDepth === 16 && header.colorType !== 3) || subByte;
  if (!depthOk) throw new PngDecodeError(`PNG bit depth ${header.bitDepth} is not valid for colour type ${header.colorType}`);
  if (interlace !== 0) throw new PngDecodeError('Interlaced PNGs are not supported');
  return header;
}

/** Reverses the per-row filters (PNG spec section 9) in place on a copy without the filter bytes. */
function unfilter(raw: Uint8Array, height: number, stride: number, bpp: number): Uint8Array {
  const out = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    const src = y * (stride + 1) + 1;
    const row = y * stride;
    const prev = row - stride; // only read when y > 0
    for (let i = 0; i < stride; i++) {
      const x = raw[src + i]!;
      const a = i >= bpp ? out[row + i - bpp]! : 0;
      const b = y > 0 ? out[prev + i]! : 0;
      const c = y > 0 && i >= bpp ? out[prev + i - bpp]! : 0;
      let value: number;
      switch (filter) {
        case 0: value = x; break;
        case 1: value = x + a; break;
        case 2: value = x + b; break;
        case 3: value = x + ((a + b) >> 1); break;
        case 4: value = x + paeth(a, b, c); break;
        default: throw new PngDecodeError(`Unknown PNG row filter ${filter}`);
      }
      out[row + i] = value & 0xff;
    }
  }
  return out;
}

/** 1/2/4-bit gray or palette rows → one byte per pixel (gray scaled to 0–255, palette indices kept). */
function unpackSubByte(packed: Uint8Array, header: Header, stride: number): Uint8Array {
  const bits = header.bitDepth;
  const max = (1 << bits) - 1;
  const scale = header.colorType === 0 ? 255 / max : 1;
  const out = new Uint8Array(header.width * header.height);
  for (let y = 0; y < header.height; y++) {
    for (let x = 0; x < header.width; x++) {
      const bit = x * bits;
      const byte = packed[y * stride + (bit >> 3)]!;
      out[y * header.width + x] = Math.round(((byte >> (8 - bits - (bit & 7))) & max) * scale);
    }
  }
  return out;
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  if (pa <= pb && pa <= pc) return a;
  return pb <= pc ? b : c;
}

function toRgba(pixels: Uint8Array, header: Header, palette?: Uint8Array, trns?: Uint8Array): Uint8Array {
  const count = header.width * header.height;
  const rgba = new Uint8Array(count * 4);
  const step = header.bitDepth === 16 ? 2 : 1; // 16-bit samples: keep the high (first, big-endian) byte
  const channels = CHANNELS[header.colorType]!;
  for (let p = 0; p < count; p++) {
    const s = p * channels * step;
    const o = p * 4;
    switch (header.colorType) {
      case 0: {
        const g = pixels[s]!;
        rgba[o] = g; rgba[o + 1] = g; rgba[o + 2] = g; rgba[o + 3] = 255;
        break;
      }
      case 2:
        rgba[o] = pixels[s]!; rgba[o + 1] = pixels[s + step]!; rgba[o + 2] = pixels[s + 2 * step]!; rgba[o + 3] = 255;
        break;
      case 3: {
        const index = pixels[s]!;
        rgba[o] = palette![index * 3] ?? 0;
        rgba[o + 1] = palette![index * 3 + 1] ?? 0;
        rgba[o + 2] = palette![index * 3 + 2] ?? 0;
        rgba[o + 3] = trns?.[index] ?? 255;
        break;
      }
      case 4: {
        const g = pixels[s]!;
        rgba[o] = g; rgba[o + 1] = g; rgba[o + 2] = g; rgba[o + 3] = pixels[s + step]!;
        break;
      }
      default:
        rgba[o] = pixels[s]!; rgba[o + 1] = pixels[s + step]!; rgba[o + 2] = pixels[s + 2 * step]!;
        rgba[o + 3] = pixels[s + 3 * step]!;
    }
  }
  return rgba;
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

let crcTable: Uint32Array | undefined;

export function crc32(bytes: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) crc = crcTable[(crc ^ bytes[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
