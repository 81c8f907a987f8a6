/**
 * What an encoded image is, judged from its first bytes only. The daemon decodes exactly what a
 * request declares: a payload sent as `format: "png"` must start with the PNG signature and an IHDR
 * chunk, because the decoder behind it (libvips) would otherwise sniff the bytes and happily render
 * an SVG, a TIFF or a JPEG, none of which the pixel limit was checked against (a 118-byte SVG can
 * declare 9000×9000). Browser-safe: no Node APIs.
 */

export const PNG_SIGNATURE: readonly number[] = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** PNG widths and heights are 31-bit (PNG spec §11.2.2); 0 is not allowed. */
const MAX_PNG_SIDE = 0x7fff_ffff;

export type SniffedFormat = 'png' | 'jpeg' | 'gif' | 'webp' | 'tiff' | 'bmp' | 'svg' | 'unknown';

function startsWith(data: Uint8Array, bytes: readonly number[], at = 0): boolean {
  if (data.byteLength < at + bytes.length) return false;
  return bytes.every((byte, i) => data[at + i] === byte);
}

function ascii(text: string): number[] {
  return Array.from(text, (c) => c.charCodeAt(0));
}

/** XML and SVG start with `<`, possibly after a UTF-8 byte-order mark and whitespace. */
function looksLikeMarkup(data: Uint8Array): boolean {
  let i = startsWith(data, [0xef, 0xbb, 0xbf]) ? 3 : 0;
  while (i < data.byteLength && i < 64 && (data[i] === 0x20 || data[i] === 0x09 || data[i] === 0x0a || data[i] === 0x0d)) i++;
  return data[i] === 0x3c;
}

/**
 * The format the bytes' signature names. Only `png` is ever decoded from the wire; the others are
 * named so that the refusal can say what was sent instead.
 */
export function sniffImageFormat(data: Uint8Array): SniffedFormat {
  if (startsWith(data, PNG_SIGNATURE)) return 'png';
  if (startsWith(data, [0xff, 0xd8, 0xff])) return 'jpeg';
  if (startsWith(data, ascii('GIF87a')) || startsWith(data, ascii('GIF89a'))) return 'gif';
  if (startsWith(data, ascii('RIFF')) && startsWith(data, ascii('WEBP'), 8)) return 'webp';
  if (startsWith(data, [0x49, 0x49, 0x2a, 0x00]) || startsWith(data, [0x4d, 0x4d, 0x00, 0x2a])) return 'tiff';
  if (startsWith(data, ascii('BM'))) return 'bmp';
  if (looksLikeMarkup(data)) return 'svg';
  return 'unknown';
}

/**
 * The size a PNG declares in its IHDR chunk, or null when the bytes are not a PNG whose first chunk
 * is a well-formed IHDR (the PNG spec puts IHDR first) with sides from 1 to 2³¹−1. Lets the boundary
 * refuse a tiny PNG that declares a huge image before anything decodes it.
 */
export function pngDimensions(data: Uint8Array): { width: number; height: number } | null {
  if (data.byteLength < 24 || !startsWith(data, PNG_SIGNATURE)) return null;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  // bytes 8–11: chunk length (13), 12–15: "IHDR"
  if (view.getUint32(8) !== 13 || view.getUint32(12) !== 0x49484452) return null;
  const width = view.getUint32(16);
  const height = view.getUint32(20);
  if (width < 1 || height < 1 || width > MAX_PNG_SIDE || height > MAX_PNG_SIDE) return null;
  return { width, height };
}
