/**
 * Malformed frames for the reliability suite, drawn from a seeded generator so a failure replays.
 *
 * Two kinds. "Known" frames are well-formed msgpack maps that break one protocol rule after the
 * handshake; the daemon must answer each with a stated code and keep the connection, so a client
 * can pipeline many of them. "Any" frames may be anything at all (random bytes, truncations, huge
 * declared lengths, extension types, text frames, flipped bytes, a bad first message); the only
 * promise is the protocol's general one: one coded error, and a close with the code PROTOCOL.md
 * gives that error (or 1002 before the handshake). They end a connection's episode.
 */
import { encodeMessage } from '../../shared/codec.ts';
import type { ClientMessage } from '../../shared/protocol.ts';
import type { ProtocolErrorCode } from '../../shared/protocol-errors.ts';

/** mulberry32: small, fast, and the same sequence on every machine. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

export type Frame = Uint8Array | string; // a string goes as a text frame

export interface KnownFrame {
  kind: string;
  frame: Frame;
  /** The code the daemon must answer with; the connection stays open. */
  code: ProtocolErrorCode;
}

export interface AnyFrame {
  kind: string;
  frame: Frame;
}

export interface Episode {
  /** Send hello first (and wait for welcome). */
  hello: boolean;
  known: KnownFrame[];
  last?: AnyFrame;
}

const text = new TextEncoder();
const bytes = (...parts: Array<number | string | Uint8Array>): Uint8Array =>
  Uint8Array.from(parts.flatMap((p) => (typeof p === 'number' ? [p] : [...(typeof p === 'string' ? text.encode(p) : p)])));
const fixstr = (s: string) => bytes(0xa0 | text.encode(s).length, s);
const encode = (m: Record<string, unknown>) => encodeMessage(m as unknown as ClientMessage);

/** A PNG signature and an IHDR declaring width × height (CRC not checked by the boundary). */
function pngHeader(width: number, height: number): Uint8Array {
  const ihdr = new Uint8Array(25);
  const v = new DataView(ihdr.buffer);
  v.setUint32(0, 13);
  ihdr.set(text.encode('IHDR'), 4);
  v.setUint32(8, width);
  v.setUint32(12, height);
  ihdr.set([8, 6, 0, 0, 0], 16);
  return bytes(0x89, 'PNG', 0x0d, 0x0a, 0x1a, 0x0a, ihdr);
}

export function createMalformedFrames(random: () => number) {
  const int = (n: number) => Math.floor(random() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)] as T;
  const randomBytes = (n: number) => Uint8Array.from({ length: n }, () => int(256));
  let counter = 0;
  const id = () => `m${(counter++).toString(36)}`;
  const image = { format: 'rgba8', width: 2, height: 2, data: new Uint8Array(16) };
  const request = { task: 'colorize', image, variants: 1, steps: 2 };

  /** One broken field of an otherwise valid generate: [what, request, code]. */
  const requests: Array<() => [string, unknown, ProtocolErrorCode]> = [
    () => ['request not a map', pick([5, 'x', [], null, true]), 'INVALID_FIELD'],
    () => ['variants', { ...request, variants: pick(['1', 1.5, 0, 9, -1, null]) }, 'INVALID_FIELD'],
    () => ['steps', { ...request, steps: pick([0, 1001, 'ten', Number.NaN]) }, 'INVALID_FIELD'],
    () => ['sampler', { ...request, sampler: pick(['euler', '', 7]) }, 'INVALID_FIELD'],
    () => ['seeds', { ...request, seeds: pick([[1, 2], [-1], [2 ** 32], ['1'], 3]) }, 'INVALID_FIELD'],
    () => ['task', { ...request, task: pick(['sharpen', 'FILL', 1]) }, 'INVALID_FIELD'],
    () => ['eta without ddim', { ...request, eta: 0.5 }, 'INVALID_FIELD'],
    () => ['image format', { ...request, image: { ...image, format: pick(['bmp', 'svg', 'tiff']) } }, 'INVALID_FIELD'],
    () => ['rgba8 bytes ≠ w×h×4', { ...request, image: { ...image, data: randomBytes(pick([0, 15, 17])) } }, 'INVALID_FIELD'],
    () => ['rgba8 side 0', { ...request, image: { ...image, width: 0 } }, 'INVALID_FIELD'],
    () => ['huge declared rgba8', { ...request, image: { ...image, width: 100_000 + int(1e6), height: 100_000 } }, 'IMAGE_TOO_LARGE'],
    () => ['png that is not a PNG', { ...request, image: { format: 'png', data: bytes('GIF89a', randomBytes(int(64))) } }, 'IMAGE_DECODE_FAILED'],
    () => ['PNG declaring 2³¹−1 per side', { ...request, image: { format: 'png', data: pngHeader(2 ** 31 - 1, 2 ** 31 - 1) } }, 'IMAGE_TOO_LARGE'],
    () => ['unknown model', { ...request, model: `no-such-model-${int(100)}` }, 'MODEL_NOT_FOUND'],
    () => ['model name pattern', { ...request, model: '../etc' }, 'INVALID_FIELD'],
    () => ['fill without mask', { ...request, task: 'fill' }, 'INVALID_FIELD'],
    () => ['mask on colorize', { ...request, mask: { format: 'gray8', width: 2, height: 2, data: new Uint8Array(4) } }, 'INVALID_FIELD'],
    () => ['uncrop without extend', { ...request, task: 'uncrop' }, 'INVALID_FIELD'],
    () => ['preview size', { ...request, preview: { maxSize: pick([5, 4096]) } }, 'INVALID_FIELD'],
    () => ['unknown request field', { ...request, [`f${int(1000)}`]: 1 }, 'UNKNOWN_FIELD'],
  ];

  const known: Array<() => KnownFrame> = [
    () => ({ kind: 'unknown type', frame: encode({ type: `x-${int(1e6)}`, id: id() }), code: 'UNKNOWN_MESSAGE_TYPE' }),
    () => ({ kind: 'type not a string', frame: encode({ type: pick([7, null, true, ['generate']]), id: id() }), code: 'INVALID_FIELD' }),
    () => ({ kind: 'no type', frame: encode({ id: id() }), code: 'INVALID_FIELD' }),
    () => ({ kind: 'bad id', frame: encode({ type: 'list-models', id: pick(['', 'a b', 'x'.repeat(65), 7, null, 'é', [1]]) }), code: 'INVALID_FIELD' }),
    () => ({ kind: 'cancel of nothing', frame: encode({ type: 'cancel', id: id() }), code: 'UNKNOWN_REQUEST' }),
    () => ({ kind: 'unknown field', frame: encode({ type: 'list-models', id: id(), [`f${int(1000)}`]: 1 }), code: 'UNKNOWN_FIELD' }),
    () => ({ kind: 'second hello', frame: encode({ type: 'hello', protocol: 1, client: 'again' }), code: 'INVALID_FIELD' }),
    () => {
      const [what, req, code] = pick(requests)();
      return { kind: `generate: ${what}`, frame: encode({ type: 'generate', id: id(), request: req }), code };
    },
  ];

  const sample = encode({ type: 'generate', id: 'sample', request });
  // Missing `image`, a defect no byte flip can repair (it would have to create the key).
  const imageless = encode({ type: 'generate', id: 'flip', request: { task: 'colorize', variants: 1, steps: 2 } });
  const any: Array<() => AnyFrame> = [
    () => ({ kind: 'random bytes', frame: randomBytes(int(129)) }),
    () => ({ kind: 'truncated msgpack', frame: sample.slice(0, int(sample.length)) }),
    () => ({ kind: 'trailing bytes', frame: bytes(encode({ type: 'list-models', id: id() }), randomBytes(1 + int(8))) }),
    () => ({ kind: 'flipped bytes', frame: flip(imageless, 1 + int(3)) }),
    () => ({
      kind: 'huge declared length',
      frame: pick([
        bytes(0x81, fixstr('type'), 0xdb, 0xff, 0xff, 0xff, 0xff, 'x'), // str32 of 4 GiB
        bytes(0x82, fixstr('type'), fixstr('generate'), fixstr('id'), 0xc6, 0xff, 0xff, 0xff, 0xf0), // bin32
        bytes(0xdf, 0xff, 0xff, 0xff, 0xff), // map32 of 4 Gi entries
        bytes(0x81, fixstr('a'), 0xdd, 0x7f, 0xff, 0xff, 0xff), // array32
        bytes(0xde, 0xff, 0xff, fixstr('a'), 0xc0), // map16 of 65535 entries (over 4096)
      ]),
    }),
    () => ({ kind: 'extension type', frame: pick([bytes(0x81, fixstr('a'), 0xd4, 0x01, 0x00), bytes(0x81, fixstr('t'), 0xd6, 0xff, 0, 0, 0, 1)]) }),
    () => ({ kind: 'too deep', frame: bytes(...Array.from({ length: 20 }, () => bytes(0x81, fixstr('a'))), 0xc0) }),
    () => ({ kind: 'not a map', frame: pick([bytes(0x93, 1, 2, 3), bytes(0x05), fixstr('abc'), bytes(0xc0)]) }),
    () => ({ kind: '__proto__ key', frame: bytes(0x81, fixstr('__proto__'), 0x80) }),
    () => ({ kind: 'duplicate key', frame: bytes(0x82, fixstr('type'), fixstr('x'), fixstr('type'), fixstr('y')) }),
    () => ({ kind: 'invalid UTF-8', frame: bytes(0x81, fixstr('type'), 0xa2, 0xff, 0xfe) }),
    () => ({ kind: 'text frame', frame: pick(['{"type":"hello"}', 'hello', '']) }),
  ];
  // Only as a connection's first frame: what §2 says about a first message that is not a good hello.
  const first: Array<() => AnyFrame> = [
    () => ({ kind: 'not hello first', frame: encode({ type: pick(['list-models', 'generate', 'cancel', 'x-y']), id: id() }) }),
    () => ({ kind: 'hello, wrong protocol', frame: encode({ type: 'hello', protocol: pick([0, 2, 99, '1']), client: 'c' }) }),
    () => ({ kind: 'hello, bad client', frame: encode({ type: 'hello', protocol: 1, client: pick([5, '', 'a\u0085b', 'x'.repeat(101)]) }) }),
    () => ({ kind: 'hello, unknown field', frame: encode({ type: 'hello', protocol: 1, client: 'c', extra: true }) }),
  ];

  function flip(frame: Uint8Array, n: number): Uint8Array {
    const out = frame.slice();
    for (let i = 0; i < n; i++) {
      const at = int(out.length);
      out[at] = (out[at] ?? 0) ^ (1 << int(8));
    }
    return out;
  }

  /** Episodes holding exactly `total` malformed frames (hellos not counted). */
  function episodes(total: number): Episode[] {
    const out: Episode[] = [];
    let left = total;
    while (left > 0) {
      if (random() < 0.3) {
        out.push({ hello: false, known: [], last: random() < 0.3 ? pick(first)() : pick(any)() });
        left -= 1;
        continue;
      }
      const n = Math.min(left, int(41));
      const episode: Episode = { hello: true, known: Array.from({ length: n }, () => pick(known)()) };
      left -= n;
      if (left > 0 && random() < 0.85) {
        episode.last = pick(any)();
        left -= 1;
      }
      out.push(episode);
    }
    return out;
  }

  return { episodes };
}
