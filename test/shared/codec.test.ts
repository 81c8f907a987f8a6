import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import {
  decodeClientMessage,
  decodeFrame,
  decodeServerMessage,
  encodeMessage,
  scanFrame,
  frameBytes,
} from '../../shared/codec.ts';
import {
  CLIENT_MESSAGE_TYPES,
  PROTOCOL_VERSION,
  SERVER_MESSAGE_TYPES,
  type ClientMessage,
  type GenerateMessage,
  type Message,
  type ServerMessage,
} from '../../shared/protocol.ts';
import { PROTOCOL_ERROR_CODES, ProtocolError, type ProtocolErrorCode } from '../../shared/protocol-errors.ts';

// A plain msgpack encoder, independent of the codec, for frames the codec would never produce.
const raw = new Packr({ useRecords: false, mapsAsObjects: true, moreTypes: false, structuredClone: false });
const pack = (value: unknown): Uint8Array => new Uint8Array(raw.pack(value));

function bytes(length: number, seed = 1): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (i * 31 + seed * 7) & 0xff;
  return out;
}

function png(width: number, height: number, extra = 16): Uint8Array {
  const out = new Uint8Array(24 + extra);
  out.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);
  new DataView(out.buffer).setUint32(16, width);
  new DataView(out.buffer).setUint32(20, height);
  return out;
}

const model = {
  name: 'palette-small',
  version: '1.0.0',
  tasks: ['fill', 'colorize', 'uncrop', 'restore'],
  nativeResolution: 256,
  sizeMultiple: 32,
  parameters: 30_000_000,
  defaultSampler: 'ddim',
  defaultSteps: 50,
};

const CLIENT_SAMPLES: ClientMessage[] = [
  { type: 'hello', protocol: PROTOCOL_VERSION, client: 'palette-test/1', token: 'secret' },
  {
    type: 'generate',
    id: 'job-1',
    request: {
      task: 'fill',
      image: { format: 'rgba8', width: 5, height: 3, data: bytes(60) },
      mask: { format: 'gray8', width: 5, height: 3, data: bytes(15, 2) },
      variants: 2,
      steps: 20,
      sampler: 'ddim',
      eta: 0.5,
      seeds: [0, 4294967295],
      model: 'palette-small',
      fill: { contextPadding: 0.5, feather: 8, grow: -4, colorMatch: true },
      preview: { intervalMs: 0, maxSize: 128, format: 'jpeg' },
    },
  },
  {
    type: 'generate',
    id: 'job.2',
    request: {
      task: 'uncrop',
      image: { format: 'png', data: png(64, 48) },
      extend: { left: { unit: 'px', value: 32 }, bottom: { unit: 'fraction', value: 0.25 } },
      variants: 1,
    },
  },
  { type: 'cancel', id: 'job-1' },
  { type: 'list-models', id: 'm_1' },
];

const SERVER_SAMPLES: ServerMessage[] = [
  {
    type: 'welcome',
    protocol: 1,
    server: { name: 'palette-daemon', version: '0.1.0' },
    models: [model],
    defaultModel: 'palette-small',
    limits: { maxPixels: 1 << 26, maxPayloadBytes: 300 << 20, maxVariants: 8, maxSteps: 1000 },
  },
  { type: 'models', id: 'm_1', models: [model, { ...model, name: 'other' }] },
  { type: 'queued', id: 'job-1', position: 3 },
  { type: 'started', id: 'job-1', model: 'palette-small', sampler: 'ddim', steps: 20, seeds: [1, 2], variants: 2 },
  { type: 'progress', id: 'job-1', step: 4, total: 20, etaMs: 1234.5, label: 'tile 1/4' },
  {
    type: 'preview',
    id: 'job-1',
    step: 4,
    images: [
      { format: 'webp', width: 4, height: 2, data: bytes(40, 3) },
      { format: 'jpeg', width: 4, height: 2, data: bytes(50, 4) },
    ],
  },
  {
    type: 'result',
    id: 'job-1',
    variant: 1,
    seed: 2,
    layer: { x: 10, y: 20, image: { format: 'png', width: 5, height: 3, data: bytes(300, 5) } },
    canvas: { width: 100, height: 80 },
  },
  { type: 'done', id: 'job-1', timings: { queuedMs: 1, sampleMs: 2.5, totalMs: 4 } },
  { type: 'cancelled', id: 'job-1' },
  { type: 'error', id: 'job-1', code: 'INVALID_FIELD', message: 'request.variants must be…', path: 'request.variants' },
  { type: 'error', code: 'BAD_FRAME', message: 'garbage' },
];

/** Every Uint8Array in a value, with its path, to check bytes survived intact. */
function binaries(value: unknown, path = ''): Array<[string, Uint8Array]> {
  if (value instanceof Uint8Array) return [[path, value]];
  if (Array.isArray(value)) return value.flatMap((item, i) => binaries(item, `${path}[${i}]`));
  if (value && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => binaries(v, `${path}.${k}`));
  return [];
}

function codeOf(fn: () => unknown): ProtocolErrorCode {
  try {
    fn();
  } catch (error) {
    if (error instanceof ProtocolError) return error.code;
    throw new Error(`expected a ProtocolError, got ${String(error)}`, { cause: error });
  }
  throw new Error('expected a ProtocolError, but nothing was thrown');
}

describe('round trips', () => {
  it('covers every message type', () => {
    const types = new Set([...CLIENT_SAMPLES, ...SERVER_SAMPLES].map((m) => m.type));
    expect([...types].sort()).toEqual([...CLIENT_MESSAGE_TYPES, ...SERVER_MESSAGE_TYPES].sort());
  });

  it.each(CLIENT_SAMPLES.map((m) => [m.type, m] as const))('client %s', (_type, message) => {
    const frame = encodeMessage(message);
    expect(frame.constructor).toBe(Uint8Array);
    const back = decodeClientMessage(frame);
    expect(back).toEqual(message);
    const before = binaries(message);
    const after = binaries(back);
    expect(after.map(([p]) => p)).toEqual(before.map(([p]) => p));
    for (const [i, [path, data]] of after.entries()) {
      expect(data.constructor, path).toBe(Uint8Array);
      expect(Array.from(data), path).toEqual(Array.from(before[i]![1]));
    }
  });

  it.each(SERVER_SAMPLES.map((m) => [m.type, m] as const))('server %s', (_type, message) => {
    const back = decodeServerMessage(encodeMessage(message));
    expect(back).toEqual(message);
    for (const [path, data] of binaries(back)) expect(data.constructor, path).toBe(Uint8Array);
  });

  it('keeps a 4 MB image intact, from a Node Buffer, from an ArrayBuffer and from ws fragments', () => {
    const data = bytes(1024 * 1024 * 4, 9);
    const message: ClientMessage = {
      type: 'generate',
      id: 'big',
      request: { task: 'colorize', image: { format: 'rgba8', width: 1024, height: 1024, data }, variants: 1 },
    };
    const frame = encodeMessage(message);
    const asBuffer = Buffer.from(frame);
    const asArrayBuffer = frame.slice().buffer;
    const asFragments = [asBuffer.subarray(0, 1000), asBuffer.subarray(1000)];
    for (const input of [asBuffer, asArrayBuffer, asFragments]) {
      const back = decodeClientMessage(input);
      if (back.type !== 'generate') throw new Error('wrong type');
      const image = back.request.image;
      if (image.format !== 'rgba8') throw new Error('wrong format');
      expect(image.data.constructor).toBe(Uint8Array);
      expect(Buffer.compare(image.data, data)).toBe(0);
    }
  });

  it('omits undefined fields instead of sending them', () => {
    const frame = encodeMessage({ type: 'hello', protocol: 1, client: 'x', token: undefined } as ClientMessage);
    expect(raw.unpack(frame)).toEqual({ type: 'hello', protocol: 1, client: 'x' });
  });

  it('refuses to encode values the protocol has no encoding for', () => {
    expect(codeOf(() => encodeMessage({ type: 'cancel', id: new Date() } as unknown as Message))).toBe('INTERNAL');
  });
});

describe('frames the codec rejects', () => {
  const valid = encodeMessage(CLIENT_SAMPLES[3]!);
  const cases: Array<[string, unknown, ProtocolErrorCode]> = [
    ['a text frame', '{"type":"cancel","id":"a"}', 'BAD_FRAME'],
    ['an empty frame', new Uint8Array(0), 'BAD_FRAME'],
    ['a number instead of a map', pack(42), 'BAD_FRAME'],
    ['an array instead of a map', pack([1, 2]), 'BAD_FRAME'],
    ['trailing bytes', Uint8Array.from([...valid, 0xc0]), 'BAD_FRAME'],
    ['two messages in one frame', Uint8Array.from([...valid, ...valid]), 'BAD_FRAME'],
    ['a truncated frame', valid.subarray(0, valid.length - 1), 'BAD_FRAME'],
    ['a timestamp extension', new Uint8Array(new Packr().pack({ type: 'cancel', id: new Date() })), 'BAD_FRAME'],
    ['a typed-array extension', new Uint8Array(new Packr({ moreTypes: true }).pack({ a: new Float32Array(2) })), 'BAD_FRAME'],
    ['a record extension', new Uint8Array(new Packr({ useRecords: true }).pack({ type: 'cancel', id: 'a' })), 'BAD_FRAME'],
    ['the never-used byte 0xc1', Uint8Array.from([0x81, 0xa1, 0x61, 0xc1]), 'BAD_FRAME'],
    ['an integer map key', Uint8Array.from([0x81, 0x01, 0x01]), 'BAD_FRAME'],
    ['a duplicate map key', Uint8Array.from([0x82, 0xa1, 0x61, 0x01, 0xa1, 0x61, 0x02]), 'BAD_FRAME'],
    ['a __proto__ key', pack(JSON.parse('{"__proto__": {"polluted": true}}')), 'BAD_FRAME'],
    ['invalid UTF-8', Uint8Array.from([0x81, 0xa1, 0x61, 0xa2, 0xc3, 0x28]), 'BAD_FRAME'],
    ['an array declaring 2^32-1 items', Uint8Array.from([0x81, 0xa1, 0x61, 0xdd, 0xff, 0xff, 0xff, 0xff]), 'BAD_FRAME'],
    ['a string declaring 4 GB', Uint8Array.from([0x81, 0xa1, 0x61, 0xdb, 0xff, 0xff, 0xff, 0xff]), 'BAD_FRAME'],
    ['a 70 kB string', pack({ type: 'hello', protocol: 1, client: 'x'.repeat(70_000) }), 'BAD_FRAME'],
    ['17 levels of nesting', pack({ a: JSON.parse('['.repeat(17) + ']'.repeat(17)) }), 'BAD_FRAME'],
    ['100k levels of nesting', Uint8Array.from([0x81, 0xa1, 0x61, ...new Array<number>(100_000).fill(0x91), 0xc0]), 'BAD_FRAME'],
    ['more than 65536 values', pack({ a: Array.from({ length: 20 }, () => new Array(4000).fill(0)) }), 'BAD_FRAME'],
  ];
  it.each(cases)('%s', (_name, frame, code) => {
    expect(codeOf(() => decodeFrame(frame))).toBe(code);
  });

  // The first pass alone must refuse these: msgpackr would catch some later, which would hide a hole.
  it.each(cases.filter((c): c is [string, Uint8Array, ProtocolErrorCode] => c[1] instanceof Uint8Array))(
    'scanFrame itself rejects %s', (_name, frame, code) => {
      expect(codeOf(() => scanFrame(frame))).toBe(code);
    });

  it('scanFrame refuses msgpack extensions as such, not by tripping over their payload later', () => {
    const fixext1 = Uint8Array.from([0x81, 0xa1, 0x61, 0xd4, 0x01, 0x00]); // { a: ext(1, [0]) }
    expect(() => scanFrame(fixext1)).toThrow(/extension types are not part of the protocol/);
    const ext8 = Uint8Array.from([0x81, 0xa1, 0x61, 0xc7, 0x02, 0x05, 0xc0, 0xc0]); // { a: ext8(5, 2 bytes) }
    expect(() => scanFrame(ext8)).toThrow(/extension types are not part of the protocol/);
  });

  it('rejects frames over maxPayloadBytes with PAYLOAD_TOO_LARGE', () => {
    expect(codeOf(() => decodeFrame(valid, { maxPayloadBytes: valid.length - 1 }))).toBe('PAYLOAD_TOO_LARGE');
    expect(decodeFrame(valid, { maxPayloadBytes: valid.length })).toEqual(CLIENT_SAMPLES[3]);
  });

  it('accepts every msgpack encoding of ints, floats, strings, bins, arrays and maps', () => {
    const sample = { a: [0, 127, 128, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 40, -1, -32, -33, -128, -129, -40000, -(2 ** 31), 1.5, -0.25] };
    expect(decodeFrame(pack(sample))).toEqual(sample);
    const map16 = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, 'v'.repeat(i * 20)]));
    expect(decodeFrame(pack(map16))).toEqual(map16);
    const bins = { b8: bytes(10), b16: bytes(300), b32: bytes(70_000) };
    const back = decodeFrame(pack(bins));
    expect(Buffer.from(back['b32'] as Uint8Array).equals(Buffer.from(bins.b32))).toBe(true);
    // uint64 / int64 / float32 written by hand (msgpackr picks other encodings for these numbers).
    const u64 = Uint8Array.from([0x83, 0xa1, 0x75, 0xcf, 0, 0, 0, 1, 0, 0, 0, 0, 0xa1, 0x69, 0xd3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 0xa1, 0x66, 0xca, 0x3f, 0xc0, 0, 0]);
    expect(decodeFrame(u64)).toEqual({ u: 2 ** 32, i: -2, f: 1.5 });
  });
});

// ---------------------------------------------------------------------------------------------
// Seeded fuzz
// ---------------------------------------------------------------------------------------------

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Leaf = { path: Array<string | number>; value: unknown };

function leaves(value: unknown, path: Array<string | number> = []): Leaf[] {
  if (value instanceof Uint8Array || value === null || typeof value !== 'object') return [{ path, value }];
  const entries: Array<[string | number, unknown]> = Array.isArray(value) ? value.map((v, i) => [i, v]) : Object.entries(value);
  return [{ path, value }, ...entries.flatMap(([k, v]) => leaves(v, [...path, k]))];
}

function setAt(root: unknown, path: Array<string | number>, value: unknown): unknown {
  if (path.length === 0) return value;
  const [head, ...rest] = path;
  const copy = (Array.isArray(root) ? [...(root as unknown[])] : { ...(root as object) }) as Record<string | number, unknown>;
  copy[head!] = setAt(copy[head!], rest, value);
  return copy;
}

/** Replacement values that are wrong for a leaf whatever its field: they must never be accepted. */
function invalidReplacements(value: unknown): unknown[] {
  if (typeof value === 'number') return ['7', NaN, Infinity, -Infinity, 1e300, -1e300, true, null, [1], bytes(1)];
  if (typeof value === 'string') return ['', 5, null, false, 'x'.repeat(70_000), ['a'], { a: 1 }];
  if (typeof value === 'boolean') return [1, 'true', null];
  if (value instanceof Uint8Array) return [new Uint8Array(0), 'AAAA', 4, [1, 2, 3]];
  if (Array.isArray(value)) return ['[]', 3, null, { 0: 1 }];
  return [[], 'x', 0, null, true];
}

function messageFromGenerator(rand: () => number): ClientMessage {
  return CLIENT_SAMPLES[Math.floor(rand() * CLIENT_SAMPLES.length)]!;
}

function expectRejected(frame: unknown, context: string): ProtocolErrorCode {
  try {
    const accepted = decodeClientMessage(frame);
    throw new Error(`${context}: accepted ${JSON.stringify(accepted).slice(0, 200)}`);
  } catch (error) {
    if (!(error instanceof ProtocolError)) throw new Error(`${context}: threw ${String(error)}`, { cause: error });
    expect(PROTOCOL_ERROR_CODES, context).toContain(error.code);
    return error.code;
  }
}

describe('seeded fuzz: every malformed frame is a ProtocolError', () => {
  it('random bytes (1500 frames, both directions)', () => {
    const rand = mulberry32(20240601);
    for (let n = 0; n < 1500; n++) {
      const frame = new Uint8Array(Math.floor(rand() * 300));
      for (let i = 0; i < frame.length; i++) frame[i] = Math.floor(rand() * 256);
      // Start half of them with a map header so they get past the first check.
      if (n % 2 === 0 && frame.length > 0) frame[0] = 0x80 | Math.floor(rand() * 16);
      expectRejected(frame, `random frame ${n}`);
      expect(PROTOCOL_ERROR_CODES).toContain(codeOf(() => decodeServerMessage(frame)));
    }
  });

  it('truncated valid frames (1000 frames)', () => {
    const rand = mulberry32(7);
    for (let n = 0; n < 1000; n++) {
      const frame = encodeMessage(messageFromGenerator(rand));
      const cut = Math.floor(rand() * frame.length);
      expect(expectRejected(frame.subarray(0, cut), `truncated at ${cut}`)).toBe('BAD_FRAME');
    }
  });

  it('valid frames with one field replaced by an invalid value (2000 frames)', () => {
    const rand = mulberry32(99);
    const codes = new Map<ProtocolErrorCode, number>();
    for (let n = 0; n < 2000; n++) {
      const message = messageFromGenerator(rand);
      const candidates = leaves(message).filter((leaf) => leaf.path.length > 0);
      const leaf = candidates[Math.floor(rand() * candidates.length)]!;
      const options = invalidReplacements(leaf.value);
      const replacement = options[Math.floor(rand() * options.length)];
      // The one string where '' is valid: an empty hello.token (ignored without a configured token).
      if (leaf.path.join('.') === 'token' && replacement === '') continue;
      const mutated = setAt(message, leaf.path, replacement);
      const code = expectRejected(pack(mutated), `${leaf.path.join('.')} = ${String(replacement).slice(0, 20)}`);
      codes.set(code, (codes.get(code) ?? 0) + 1);
    }
    // The mix of failures is broad, not one check catching everything.
    expect([...codes.keys()]).toEqual(expect.arrayContaining(['INVALID_FIELD', 'BAD_FRAME', 'UNKNOWN_MESSAGE_TYPE']));
  });

  it('valid frames with structural mutations (1200 frames)', () => {
    const rand = mulberry32(4242);
    const deep = JSON.parse('['.repeat(40) + ']'.repeat(40)) as unknown;
    const anyMessage: Array<[string, (m: ClientMessage) => unknown, ProtocolErrorCode]> = [
      ['extra top-level field', (m) => ({ ...m, extra: 1 }), 'UNKNOWN_FIELD'],
      ['deep nesting', (m) => ({ ...m, extra: deep }), 'BAD_FRAME'],
      ['huge string', (m) => ({ ...m, type: 'x'.repeat(100_000) }), 'BAD_FRAME'],
      ['missing type', ({ type: _type, ...rest }) => rest, 'INVALID_FIELD'],
      ['unknown type', (m) => ({ ...m, type: 'generate-all' }), 'UNKNOWN_MESSAGE_TYPE'],
    ];
    const generateOnly: Array<[string, (m: GenerateMessage) => unknown, ProtocolErrorCode]> = [
      ['extra request field', (m) => setAt(m, ['request', 'nsfw'], false), 'UNKNOWN_FIELD'],
      ['extra image field', (m) => setAt(m, ['request', 'image', 'dpi'], 72), 'UNKNOWN_FIELD'],
      ['65-megapixel rgba8 image', (m) => setAt(m, ['request', 'image'], { format: 'rgba8', width: 8320, height: 8192, data: bytes(16) }), 'IMAGE_TOO_LARGE'],
      ['65-megapixel PNG', (m) => setAt(m, ['request', 'image'], { format: 'png', data: png(8320, 8192) }), 'IMAGE_TOO_LARGE'],
      ['wrong byte length', (m) => setAt(m, ['request', 'image'], { format: 'rgba8', width: 5, height: 3, data: bytes(59) }), 'INVALID_FIELD'],
      ['negative width', (m) => setAt(m, ['request', 'image'], { format: 'rgba8', width: -5, height: 3, data: bytes(60) }), 'INVALID_FIELD'],
      ['too many seeds', (m) => setAt(m, ['request', 'seeds'], [1, 2, 3]), 'INVALID_FIELD'],
      ['variants 9', (m) => setAt(m, ['request', 'variants'], 9), 'INVALID_FIELD'],
      ['steps -1', (m) => setAt(m, ['request', 'steps'], -1), 'INVALID_FIELD'],
      ['NaN eta', (m) => setAt(setAt(m, ['request', 'sampler'], 'ddim'), ['request', 'eta'], NaN), 'INVALID_FIELD'],
    ];
    for (let n = 0; n < 1200; n++) {
      const message = messageFromGenerator(rand);
      const choices: Array<[string, (m: never) => unknown, ProtocolErrorCode]> = message.type === 'generate' ? [...anyMessage, ...generateOnly] : anyMessage;
      const [name, mutate, expected] = choices[Math.floor(rand() * choices.length)]!;
      const context = `${name} on ${message.type}`;
      expect(expectRejected(pack((mutate as (m: ClientMessage) => unknown)(message)), context), context).toBe(expected);
    }
  });

  it('bit flips of valid frames never throw anything but a ProtocolError (1000 frames)', () => {
    const rand = mulberry32(1337);
    let accepted = 0;
    for (let n = 0; n < 1000; n++) {
      const frame = encodeMessage(messageFromGenerator(rand)).slice();
      const flips = 1 + Math.floor(rand() * 4);
      for (let i = 0; i < flips; i++) frame[Math.floor(rand() * frame.length)]! ^= 1 << Math.floor(rand() * 8);
      try {
        decodeClientMessage(frame);
        accepted += 1; // a flip inside pixel data leaves a valid message
      } catch (error) {
        expect(error).toBeInstanceOf(ProtocolError);
        expect(PROTOCOL_ERROR_CODES).toContain((error as ProtocolError).code);
      }
    }
    expect(accepted).toBeLessThan(1000);
  });

  it('still decodes valid frames after all that', () => {
    for (const message of CLIENT_SAMPLES) expect(decodeClientMessage(encodeMessage(message))).toEqual(message);
  });
});

describe('frameBytes', () => {
  it('rejects non-binary data', () => {
    expect(codeOf(() => frameBytes('text'))).toBe('BAD_FRAME');
    expect(codeOf(() => frameBytes({ size: 3 }))).toBe('BAD_FRAME');
    expect(codeOf(() => frameBytes(undefined))).toBe('BAD_FRAME');
  });
  it('returns plain Uint8Array views', () => {
    expect(frameBytes(Buffer.from([1, 2])).constructor).toBe(Uint8Array);
    expect(Array.from(frameBytes(new DataView(Uint8Array.from([1, 2, 3]).buffer, 1)))).toEqual([2, 3]);
  });
});
