/**
 * zlib inflate (RFC 1950 wrapper around RFC 1951 deflate data) for the PNG decoder: the runtime's
 * DecompressionStream('deflate') when there is one, else a plain table-driven decoder written here
 * (UXP has no DecompressionStream).
 */

/** Every decoding failure, PNG structure or deflate stream alike. */
export class PngDecodeError extends Error {
  readonly code = 'BAD_PNG';

  constructor(message: string) {
    super(message);
    this.name = 'PngDecodeError';
  }
}

export type Inflate = (zlib: Uint8Array, expectedLength?: number) => Promise<Uint8Array>;

/** DecompressionStream('deflate') (a zlib stream, as in PNG) when the runtime has one, else `inflateZlib`. */
export const inflateAuto: Inflate = async (zlib, expectedLength) => {
  if (typeof DecompressionStream === 'function') {
    try {
      const stream = new Blob([zlib as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream('deflate'));
      return new Uint8Array(await new Response(stream).arrayBuffer());
    } catch {
      // Some runtimes reject trailing bytes after the zlib stream; the plain decoder tolerates them.
    }
  }
  return inflateZlib(zlib, expectedLength);
};

/** Inflates a zlib stream (RFC 1950 wrapper around RFC 1951 deflate data) synchronously. */
export function inflateZlib(zlib: Uint8Array, expectedLength = 0): Uint8Array {
  if (zlib.length < 6) throw new PngDecodeError('zlib stream is too short');
  const cmf = zlib[0]!;
  const flg = zlib[1]!;
  if ((cmf & 0x0f) !== 8 || ((cmf << 8) | flg) % 31 !== 0) throw new PngDecodeError('Bad zlib header');
  if (flg & 0x20) throw new PngDecodeError('zlib preset dictionaries are not supported');
  return new Inflater(zlib, 2, expectedLength).run();
}

const LENGTH_BASE = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258];
const LENGTH_EXTRA = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
const DIST_BASE = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073,
  4097, 6145, 8193, 12289, 16385, 24577];
const DIST_EXTRA = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13];
/** The order in which code-length code lengths are stored in a dynamic block header. */
const CLEN_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

/**
 * A Huffman table for LSB-first bit streams: entry[reversed code padded to maxBits] =
 * (symbol << 4) | code length. Lookup peeks maxBits bits, so it costs one array read per symbol.
 */
interface Huffman {
  table: Uint32Array;
  maxBits: number;
}

function buildHuffman(lengths: ArrayLike<number>): Huffman {
  let maxBits = 0;
  for (let i = 0; i < lengths.length; i++) maxBits = Math.max(maxBits, lengths[i]!);
  if (maxBits === 0) return { table: new Uint32Array(1), maxBits: 0 };
  const counts = new Uint16Array(16);
  for (let i = 0; i < lengths.length; i++) counts[lengths[i]!]!++;
  counts[0] = 0;
  const next = new Uint16Array(16);
  let code = 0;
  for (let bits = 1; bits <= 15; bits++) {
    code = (code + counts[bits - 1]!) << 1;
    next[bits] = code;
  }
  const table = new Uint32Array(1 << maxBits);
  for (let symbol = 0; symbol < lengths.length; symbol++) {
    const len = lengths[symbol]!;
    if (len === 0) continue;
    const assigned = next[len]!++;
    let reversed = 0;
    for (let i = 0; i < len; i++) reversed |= ((assigned >> i) & 1) << (len - 1 - i);
    for (let fill = reversed; fill < table.length; fill += 1 << len) table[fill] = (symbol << 4) | len;
  }
  return { table, maxBits };
}

let fixedTables: { literal: Huffman; distance: Huffman } | undefined;

function fixedHuffman(): { literal: Huffman; distance: Huffman } {
  if (!fixedTables) {
    const lit = new Uint8Array(288);
    lit.fill(8, 0, 144);
    lit.fill(9, 144, 256);
    lit.fill(7, 256, 280);
    lit.fill(8, 280, 288);
    fixedTables = { literal: buildHuffman(lit), distance: buildHuffman(new Uint8Array(30).fill(5)) };
  }
  return fixedTables;
}

class Inflater {
  private bitBuffer = 0;
  private bitCount = 0;
  private out: Uint8Array;
  private outLength = 0;

  constructor(private readonly input: Uint8Array, private pos: number, expectedLength: number) {
    this.out = new Uint8Array(Math.max(expectedLength, input.length * 4, 1024));
  }

  run(): Uint8Array {
    let last = 0;
    while (!last) {
      last = this.bits(1);
      const type = this.bits(2);
      if (type === 0) this.stored();
      else if (type === 1) this.codes(fixedHuffman().literal, fixedHuffman().distance);
      else if (type === 2) this.dynamic();
      else throw new PngDecodeError('Bad deflate block type');
    }
    return this.out.subarray(0, this.outLength);
  }

  private need(count: number): void {
    while (this.bitCount < count) {
      // Past the end, feed zeros: a valid stream never consumes them, and lookups may peek ahead.
      const byte = this.pos < this.input.length ? this.input[this.pos]! : 0;
      if (this.pos >= this.input.length + 4) throw new PngDecodeError('Deflate stream ends early');
      this.pos++;
      this.bitBuffer |= byte << this.bitCount;
      this.bitCount += 8;
    }
  }

  private bits(count: number): number {
    if (count === 0) return 0;
    this.need(count);
    const value = this.bitBuffer & ((1 << count) - 1);
    this.bitBuffer >>>= count;
    this.bitCount -= count;
    return value;
  }

  private decode(huffman: Huffman): number {
    if (huffman.maxBits === 0) throw new PngDecodeError('Deflate block uses an empty Huffman code');
    this.need(huffman.maxBits);
    const entry = huffman.table[this.bitBuffer & ((1 << huffman.maxBits) - 1)]!;
    const len = entry & 15;
    if (len === 0) throw new PngDecodeError('Bad Huffman code in deflate stream');
    this.bitBuffer >>>= len;
    this.bitCount -= len;
    return entry >>> 4;
  }

  private reserve(extra: number): void {
    if (this.outLength + extra <= this.out.length) return;
    const grown = new Uint8Array(Math.max(this.out.length * 2, this.outLength + extra));
    grown.set(this.out.subarray(0, this.outLength));
    this.out = grown;
  }

  private stored(): void {
    // Drop to a byte boundary; whole bytes still in the bit buffer are stream bytes we must give back.
    this.bitBuffer = 0;
    this.pos -= this.bitCount >> 3;
    this.bitCount = 0;
    if (this.pos + 4 > this.input.length) throw new PngDecodeError('Deflate stream ends early');
    const len = this.input[this.pos]! | (this.input[this.pos + 1]! << 8);
    const nlen = this.input[this.pos + 2]! | (this.input[this.pos + 3]! << 8);
    if ((len ^ 0xffff) !== nlen) throw new PngDecodeError('Bad stored block length');
    this.pos += 4;
    if (this.pos + len > this.input.length) throw new PngDecodeError('Deflate stream ends early');
    this.reserve(len);
    this.out.set(this.input.subarray(this.pos, this.pos + len), this.outLength);
    this.outLength += len;
    this.pos += len;
  }

  private dynamic(): void {
    const hlit = this.bits(5) + 257;
    const hdist = this.bits(5) + 1;
    const hclen = this.bits(4) + 4;
    const clen = new Uint8Array(19);
    for (let i = 0; i < hclen; i++) clen[CLEN_ORDER[i]!] = this.bits(3);
    const clenCode = buildHuffman(clen);
    const lengths = new Uint8Array(hlit + hdist);
    for (let i = 0; i < lengths.length;) {
      const symbol = this.decode(clenCode);
      if (symbol < 16) {
        lengths[i++] = symbol;
        continue;
      }
      let repeat: number;
      let value = 0;
      if (symbol === 16) {
        if (i === 0) throw new PngDecodeError('Deflate length repeat with nothing to repeat');
        value = lengths[i - 1]!;
        repeat = 3 + this.bits(2);
      } else if (symbol === 17) repeat = 3 + this.bits(3);
      else repeat = 11 + this.bits(7);
      if (i + repeat > lengths.length) throw new PngDecodeError('Deflate code lengths overflow');
      lengths.fill(value, i, i + repeat);
      i += repeat;
    }
    this.codes(buildHuffman(lengths.subarray(0, hlit)), buildHuffman(lengths.subarray(hlit)));
  }

  private codes(literal: Huffman, distance: Huffman): void {
    for (;;) {
      const symbol = this.decode(literal);
      if (symbol < 256) {
        this.reserve(1);
        this.out[this.outLength++] = symbol;
        continue;
      }
      if (symbol === 256) return;
      const index = symbol - 257;
      if (index >= 29) throw new PngDecodeError('Bad deflate length code');
      const length = LENGTH_BASE[index]! + this.bits(LENGTH_EXTRA[index]!);
      const distSymbol = this.decode(distance);
      if (distSymbol >= 30) throw new PngDecodeError('Bad deflate distance code');
      const dist = DIST_BASE[distSymbol]! + this.bits(DIST_EXTRA[distSymbol]!);
      if (dist > this.outLength) throw new PngDecodeError('Deflate distance points before the start');
      this.reserve(length);
      const out = this.out;
      let from = this.outLength - dist;
      for (let k = 0; k < length; k++) out[this.outLength++] = out[from++]!;
    }
  }
}
