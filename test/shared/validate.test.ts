import { describe, expect, it } from 'vitest';
import {
  MAX_IMAGE_PIXELS,
  MAX_IMAGE_SIDE,
  MAX_VARIANTS,
  type ClientMessage,
  type GenerateMessage,
  type GenerateRequest,
  type Rgba8Image,
  type ServerMessage,
} from '../../shared/protocol.ts';
import {
  FATAL_ERROR_CODES,
  PROTOCOL_ERROR_CODES,
  closeCodeFor,
  ProtocolError,
  errorMessageFrom,
  makeErrorMessage,
  protocolErrorFromMessage,
  type ProtocolErrorCode,
} from '../../shared/protocol-errors.ts';
import {
  isRequestId,
  pngDimensions,
  resolveExtend,
  validateClientMessage,
  validateServerMessage,
} from '../../shared/validate.ts';

function rgba(width: number, height: number, data = new Uint8Array(width * height * 4)): Rgba8Image {
  return { format: 'rgba8', width, height, data };
}

function gray(width: number, height: number): NonNullable<GenerateRequest['mask']> {
  return { format: 'gray8', width, height, data: new Uint8Array(width * height) };
}

function ascii(text: string): Uint8Array {
  return Uint8Array.from(text, (c) => c.charCodeAt(0));
}

function png(width: number, height: number): Uint8Array {
  const out = new Uint8Array(40);
  out.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);
  new DataView(out.buffer).setUint32(16, width);
  new DataView(out.buffer).setUint32(20, height);
  return out;
}

function generate(request: Partial<GenerateRequest> & Record<string, unknown>, id = 'req-1'): GenerateMessage {
  return { type: 'generate', id, request: { task: 'colorize', image: rgba(4, 3), variants: 1, ...request } as GenerateRequest };
}

const fill = (extra: Record<string, unknown> = {}): GenerateMessage => generate({ task: 'fill', mask: gray(4, 3), ...extra });
const uncrop = (extra: Record<string, unknown> = {}): GenerateMessage =>
  generate({ task: 'uncrop', extend: { right: { unit: 'px', value: 16 } }, ...extra });

function rejection(value: unknown, limits?: Parameters<typeof validateClientMessage>[1]): ProtocolError {
  try {
    validateClientMessage(value, limits);
  } catch (error) {
    if (error instanceof ProtocolError) return error;
    throw error;
  }
  throw new Error(`accepted: ${JSON.stringify(value).slice(0, 300)}`);
}

describe('validateClientMessage accepts', () => {
  const good: Array<[string, ClientMessage]> = [
    ['hello', { type: 'hello', protocol: 1, client: 'palette-photopea/0.1.0' }],
    ['hello with token', { type: 'hello', protocol: 1, client: 'x', token: 'a'.repeat(512) }],
    ['hello with an empty token (ignored by a daemon without one)', { type: 'hello', protocol: 1, client: 'x', token: '' }],
    ['hello with non-control characters next to the control ranges', { type: 'hello', protocol: 1, client: ' ~\u00a0é\u2028😀', token: '\u00a0' }],
    ['cancel', { type: 'cancel', id: 'a' }],
    ['list-models', { type: 'list-models', id: 'A-z_0.9'.padEnd(64, 'x') }],
    ['colorize', generate({})],
    ['restore with every option', generate({ task: 'restore', steps: 1000, sampler: 'dpmpp-2m', model: 'palette-small', variants: 8, seeds: [0, 1, 2, 3, 4, 5, 6, 2 ** 32 - 1], strength: 1, preview: { intervalMs: 60000, maxSize: 1024, format: 'webp' } })],
    ['restore with the smallest strength', generate({ task: 'restore', strength: 1e-6 })],
    ['strength for fill (a pre-filled start)', fill({ strength: 0.5 })],
    ['a working size at each end of its range', generate({ workingSize: 32 })],
    ['a working size of 1024', fill({ workingSize: 1024 })],
    ['fill raw/raw', fill({ fill: { contextPadding: 4, feather: 256, grow: -256, colorMatch: false }, sampler: 'ddim', eta: 0 })],
    ['fill with a soft mask as per-pixel strength', fill({ fill: { maskMode: 'strength' }, strength: 0.6 })],
    ['fill with the threshold mask mode', fill({ fill: { maskMode: 'threshold' } })],
    ['fill png/png (sizes checked by the daemon)', generate({ task: 'fill', image: { format: 'png', data: png(10, 10) }, mask: { format: 'png', data: png(5, 5) } })],
    ['uncrop px', uncrop()],
    ['uncrop fraction, every side', uncrop({ extend: { left: { unit: 'fraction', value: 4 }, right: { unit: 'px', value: 0 }, top: { unit: 'fraction', value: 0.5 }, bottom: { unit: 'px', value: 16384 } } })],
    ['a PNG declaring exactly 64 MP', generate({ image: { format: 'png', data: png(8192, 8192) } })],
    ['an uncrop of a PNG to exactly 64 MP', uncrop({ image: { format: 'png', data: png(8192, 8000) }, extend: { top: { unit: 'px', value: 96 }, bottom: { unit: 'px', value: 96 } } })],
  ];
  it.each(good)('%s', (_name, message) => {
    expect(validateClientMessage(message)).toEqual(message);
  });

  it('returns a fresh object without undefined fields', () => {
    const message = { ...generate({ steps: undefined }), extra: undefined };
    const out = validateClientMessage(message);
    expect(out).not.toBe(message);
    expect(out).toEqual(generate({}));
    expect('steps' in (out as GenerateMessage).request).toBe(false);
  });
});

describe('validateClientMessage rejects', () => {
  const bad: Array<[string, unknown, ProtocolErrorCode, string | undefined]> = [
    ['a non-map', 'hello', 'BAD_FRAME', undefined],
    ['a Map instance', new Map([['type', 'cancel']]), 'BAD_FRAME', undefined],
    ['a class instance', new (class { type = 'cancel'; id = 'a'; })(), 'BAD_FRAME', undefined],
    ['no type', { id: 'a' }, 'INVALID_FIELD', 'type'],
    ['a numeric type', { type: 3, id: 'a' }, 'INVALID_FIELD', 'type'],
    ['an unknown type', { type: 'welcome', id: 'a' }, 'UNKNOWN_MESSAGE_TYPE', 'type'],
    ['an extra top-level field', { type: 'cancel', id: 'a', force: true }, 'UNKNOWN_FIELD', 'force'],
    ['an id with a space', { type: 'cancel', id: 'a b' }, 'INVALID_FIELD', 'id'],
    ['an empty id', { type: 'cancel', id: '' }, 'INVALID_FIELD', 'id'],
    ['a 65-character id', { type: 'cancel', id: 'x'.repeat(65) }, 'INVALID_FIELD', 'id'],
    ['hello v2', { type: 'hello', protocol: 2, client: 'x', newField: 1 }, 'PROTOCOL_VERSION_MISMATCH', 'protocol'],
    ['hello v0.5', { type: 'hello', protocol: 0.5, client: 'x' }, 'INVALID_FIELD', 'protocol'],
    ['hello without client', { type: 'hello', protocol: 1 }, 'INVALID_FIELD', 'client'],
    ['hello with an empty client', { type: 'hello', protocol: 1, client: '' }, 'INVALID_FIELD', 'client'],
    ['hello with a 101-character client', { type: 'hello', protocol: 1, client: 'é'.repeat(101) }, 'INVALID_FIELD', 'client'],
    ['hello with a control character', { type: 'hello', protocol: 1, client: 'a\nb' }, 'INVALID_FIELD', 'client'],
    ['hello with NUL', { type: 'hello', protocol: 1, client: 'a\u0000' }, 'INVALID_FIELD', 'client'],
    ['hello with DEL', { type: 'hello', protocol: 1, client: 'a\u007f' }, 'INVALID_FIELD', 'client'],
    ['hello with C1 U+0080', { type: 'hello', protocol: 1, client: 'a\u0080' }, 'INVALID_FIELD', 'client'],
    ['hello with NEL U+0085', { type: 'hello', protocol: 1, client: 'a\u0085b' }, 'INVALID_FIELD', 'client'],
    ['hello with C1 U+009F', { type: 'hello', protocol: 1, client: 'a\u009f' }, 'INVALID_FIELD', 'client'],
    ['a token with NEL U+0085', { type: 'hello', protocol: 1, client: 'x', token: 't\u0085' }, 'INVALID_FIELD', 'token'],
    ['hello with a 513-character token', { type: 'hello', protocol: 1, client: 'x', token: 't'.repeat(513) }, 'INVALID_FIELD', 'token'],
    ['generate without request', { type: 'generate', id: 'a' }, 'INVALID_FIELD', 'request'],
    ['an unknown request field', generate({ denoise: 0.5 }), 'UNKNOWN_FIELD', 'request.denoise'],
    
    ['strength 0 (nothing would be generated)', generate({ task: 'restore', strength: 0 }), 'INVALID_FIELD', 'request.strength'],
    ['strength above 1', generate({ task: 'restore', strength: 1.01 }), 'INVALID_FIELD', 'request.strength'],
    ['a working size under 32', generate({ workingSize: 31 }), 'INVALID_FIELD', 'request.workingSize'],
    ['a working size over 1024', generate({ workingSize: 1025 }), 'INVALID_FIELD', 'request.workingSize'],
    ['a fractional working size', generate({ workingSize: 96.5 }), 'INVALID_FIELD', 'request.workingSize'],
    ['an unknown task', generate({ task: 'upscale' as never }), 'INVALID_FIELD', 'request.task'],
    ['0 variants', generate({ variants: 0 }), 'INVALID_FIELD', 'request.variants'],
    ['9 variants', generate({ variants: 9 }), 'INVALID_FIELD', 'request.variants'],
    ['1.5 variants', generate({ variants: 1.5 }), 'INVALID_FIELD', 'request.variants'],
    ['variants as a string', generate({ variants: '2' as never }), 'INVALID_FIELD', 'request.variants'],
    ['NaN steps', generate({ steps: NaN }), 'INVALID_FIELD', 'request.steps'],
    ['1001 steps', generate({ steps: 1001 }), 'INVALID_FIELD', 'request.steps'],
    ['an unknown sampler', generate({ sampler: 'euler' as never }), 'INVALID_FIELD', 'request.sampler'],
    ['eta without ddim', generate({ eta: 0.5 }), 'INVALID_FIELD', 'request.eta'],
    ['eta with ancestral', generate({ sampler: 'ancestral', eta: 0.5 }), 'INVALID_FIELD', 'request.eta'],
    ['eta 1.5', generate({ sampler: 'ddim', eta: 1.5 }), 'INVALID_FIELD', 'request.eta'],
    ['seeds ≠ variants', generate({ variants: 2, seeds: [1] }), 'INVALID_FIELD', 'request.seeds'],
    ['a negative seed', generate({ seeds: [-1] }), 'INVALID_FIELD', 'request.seeds[0]'],
    ['a seed of 2^32', generate({ seeds: [2 ** 32] }), 'INVALID_FIELD', 'request.seeds[0]'],
    ['a model path', generate({ model: '../secrets' }), 'INVALID_FIELD', 'request.model'],
    ['a 65-character model', generate({ model: 'm'.repeat(65) }), 'INVALID_FIELD', 'request.model'],
    ['an unknown image format', generate({ image: { format: 'rgb8', width: 1, height: 1, data: new Uint8Array(3) } as never }), 'INVALID_FIELD', 'request.image.format'],
    ['a width of 0', generate({ image: rgba(0, 1, new Uint8Array(4)) }), 'INVALID_FIELD', 'request.image.width'],
    ['a width of 65536 (the code a PNG gets)', generate({ image: rgba(65536, 1, new Uint8Array(4)) }), 'IMAGE_TOO_LARGE', 'request.image'],
    ['a height of 65536 (the code a PNG gets)', generate({ image: rgba(1, 65536, new Uint8Array(4)) }), 'IMAGE_TOO_LARGE', 'request.image'],
    ['a PNG 65536 wide', generate({ image: { format: 'png', data: png(65536, 1) } }), 'IMAGE_TOO_LARGE', 'request.image'],
    ['a gray8 mask 65536 wide', fill({ mask: { format: 'gray8', width: 65536, height: 1, data: new Uint8Array(1) } }), 'IMAGE_TOO_LARGE', 'request.mask'],
    ['a width of 1.5', generate({ image: rgba(1.5, 1, new Uint8Array(4)) }), 'INVALID_FIELD', 'request.image.width'],
    ['a 1-byte non-PNG', generate({ task: 'fill', image: { format: 'png', data: new Uint8Array(1) }, mask: gray(2, 2) }), 'IMAGE_DECODE_FAILED', 'request.image.data'],
    ['an SVG sent as png', generate({ image: { format: 'png', data: ascii('<svg xmlns="http://www.w3.org/2000/svg" width="9000" height="9000"/>') } }), 'IMAGE_DECODE_FAILED', 'request.image.data'],
    ['a JPEG sent as png', generate({ image: { format: 'png', data: Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 0, 16]) } }), 'IMAGE_DECODE_FAILED', 'request.image.data'],
    ['a TIFF sent as png', generate({ image: { format: 'png', data: Uint8Array.from([0x49, 0x49, 0x2a, 0, 8, 0, 0, 0]) } }), 'IMAGE_DECODE_FAILED', 'request.image.data'],
    ['a PNG whose IHDR declares 0 wide', generate({ image: { format: 'png', data: png(0, 10) } }), 'IMAGE_DECODE_FAILED', 'request.image.data'],
    ['an SVG mask sent as png', fill({ mask: { format: 'png', data: ascii('<svg/>') } }), 'IMAGE_DECODE_FAILED', 'request.mask.data'],
    ['a short data array', generate({ image: rgba(4, 3, new Uint8Array(47)) }), 'INVALID_FIELD', 'request.image.data'],
    ['data as an array of numbers', generate({ image: { ...rgba(1, 1), data: [1, 2, 3, 4] as never } }), 'INVALID_FIELD', 'request.image.data'],
    ['a 65-megapixel image (bytes not sent)', generate({ image: { format: 'rgba8', width: 8320, height: 8192, data: new Uint8Array(4) } }), 'IMAGE_TOO_LARGE', 'request.image'],
    ['a PNG declaring 100000×100000', generate({ image: { format: 'png', data: png(100000, 100000) } }), 'IMAGE_TOO_LARGE', 'request.image'],
    ['an empty PNG', generate({ image: { format: 'png', data: new Uint8Array(0) } }), 'INVALID_FIELD', 'request.image.data'],
    ['width on a PNG', generate({ image: { format: 'png', data: png(1, 1), width: 1 } as never }), 'UNKNOWN_FIELD', 'request.image.width'],
    ['fill without mask', generate({ task: 'fill' }), 'INVALID_FIELD', 'request.mask'],
    ['a mask on colorize', generate({ mask: gray(4, 3) }), 'INVALID_FIELD', 'request.mask'],
    ['a mask of another size', fill({ mask: gray(3, 4) }), 'INVALID_FIELD', 'request.mask'],
    ['an rgba8 mask', fill({ mask: rgba(4, 3) }), 'INVALID_FIELD', 'request.mask.format'],
    ['a short mask', fill({ mask: { ...gray(4, 3), data: new Uint8Array(11) } }), 'INVALID_FIELD', 'request.mask.data'],
    ['fill options on colorize', generate({ fill: { feather: 2 } }), 'INVALID_FIELD', 'request.fill'],
    ['grow 257', fill({ fill: { grow: 257 } }), 'INVALID_FIELD', 'request.fill.grow'],
    ['feather 1.5', fill({ fill: { feather: 1.5 } }), 'INVALID_FIELD', 'request.fill.feather'],
    ['contextPadding 4.01', fill({ fill: { contextPadding: 4.01 } }), 'INVALID_FIELD', 'request.fill.contextPadding'],
    ['colorMatch 1', fill({ fill: { colorMatch: 1 } }), 'INVALID_FIELD', 'request.fill.colorMatch'],
    ['an unknown fill option', fill({ fill: { denoise: 1 } }), 'UNKNOWN_FIELD', 'request.fill.denoise'],
    ['maskMode soft', fill({ fill: { maskMode: 'soft' } }), 'INVALID_FIELD', 'request.fill.maskMode'],
    ['uncrop without extend', generate({ task: 'uncrop' }), 'INVALID_FIELD', 'request.extend'],
    ['uncrop extending nothing', uncrop({ extend: { left: { unit: 'px', value: 0 } } }), 'INVALID_FIELD', 'request.extend'],
    ['uncrop with an empty extend', uncrop({ extend: {} }), 'INVALID_FIELD', 'request.extend'],
    ['extend on restore', generate({ task: 'restore', extend: { left: { unit: 'px', value: 5 } } }), 'INVALID_FIELD', 'request.extend'],
    ['extend 16385 px', uncrop({ extend: { top: { unit: 'px', value: 16385 } } }), 'INVALID_FIELD', 'request.extend.top.value'],
    ['extend 2.5 px', uncrop({ extend: { top: { unit: 'px', value: 2.5 } } }), 'INVALID_FIELD', 'request.extend.top.value'],
    ['extend fraction 4.5', uncrop({ extend: { top: { unit: 'fraction', value: 4.5 } } }), 'INVALID_FIELD', 'request.extend.top.value'],
    ['extend in em', uncrop({ extend: { top: { unit: 'em', value: 1 } } }), 'INVALID_FIELD', 'request.extend.top.unit'],
    ['an unknown side', uncrop({ extend: { middle: { unit: 'px', value: 1 } } }), 'UNKNOWN_FIELD', 'request.extend.middle'],
    ['an uncropped canvas over 64 MP', uncrop({ image: { format: 'png', data: png(8000, 8000) }, extend: { right: { unit: 'fraction', value: 0.1 } } }), 'IMAGE_TOO_LARGE', 'request.extend'],
    ['an uncropped canvas over 65535 wide', uncrop({ image: rgba(60000, 1), extend: { right: { unit: 'px', value: 6000 } } }), 'IMAGE_TOO_LARGE', 'request.extend'],
    ['preview intervalMs -1', generate({ preview: { intervalMs: -1 } }), 'INVALID_FIELD', 'request.preview.intervalMs'],
    ['preview maxSize 15', generate({ preview: { maxSize: 15 } }), 'INVALID_FIELD', 'request.preview.maxSize'],
    ['preview format gif', generate({ preview: { format: 'gif' as never } }), 'INVALID_FIELD', 'request.preview.format'],
    ['preview as null', generate({ preview: null as never }), 'INVALID_FIELD', 'request.preview'],
  ];
  it.each(bad)('%s', (_name, value, code, path) => {
    const error = rejection(value);
    expect(error.code).toBe(code);
    expect(error.path).toBe(path);
    expect(error.message.length).toBeGreaterThan(10);
  });

  it('says what a non-PNG sent as png is', () => {
    expect(rejection(generate({ image: { format: 'png', data: ascii('<svg width="9000" height="9000"/>') } }, 'job-9'))).toMatchObject({
      code: 'IMAGE_DECODE_FAILED', requestId: 'job-9', message: expect.stringContaining('SVG'),
    });
    expect(rejection(generate({ image: { format: 'png', data: ascii('GIF89a......') } })).message).toContain('GIF');
  });

  it('names the request in errors when the id was valid', () => {
    expect(rejection(generate({ variants: 0 }, 'job-7')).requestId).toBe('job-7');
    expect(rejection({ type: 'nope', id: 'job-8' }).requestId).toBe('job-8');
    expect(rejection({ type: 'cancel', id: 'bad id' }).requestId).toBeUndefined();
  });

  it('applies tighter limits from the daemon, but never looser ones', () => {
    expect(rejection(generate({ variants: 5 }), { maxVariants: 4 }).path).toBe('request.variants');
    expect(rejection(generate({ steps: 51 }), { maxSteps: 50 }).path).toBe('request.steps');
    expect(rejection(generate({ image: rgba(11, 10) }), { maxPixels: 100 }).code).toBe('IMAGE_TOO_LARGE');
    expect(rejection(generate({ image: { format: 'png', data: new Uint8Array(101) } }), { maxPayloadBytes: 100 }).path).toBe('request.image.data');
    expect(rejection(generate({ variants: 9 }), { maxVariants: 100 }).path).toBe('request.variants');
    expect(rejection(generate({ image: rgba(8320, 8192, new Uint8Array(4)) }), { maxPixels: 2 * MAX_IMAGE_PIXELS }).code).toBe('IMAGE_TOO_LARGE');
    expect(validateClientMessage(generate({ image: rgba(10, 10) }), { maxPixels: 100 })).toEqual(generate({ image: rgba(10, 10) }));
    expect(rejection(uncrop({ image: rgba(10, 10) }), { maxPixels: 100 }).path).toBe('request.extend');
  });
});

describe('validateClientMessage at its bounds (Stryker survivors of shared/validate.ts)', () => {
  it('accepts an image side of exactly MAX_IMAGE_SIDE, in either direction, and refuses one more', () => {
    expect(() => validateClientMessage(generate({ image: rgba(MAX_IMAGE_SIDE, 1) }))).not.toThrow();
    expect(() => validateClientMessage(generate({ image: rgba(1, MAX_IMAGE_SIDE) }))).not.toThrow();
    expect(rejection(generate({ image: rgba(MAX_IMAGE_SIDE + 1, 1) })).code).toBe('IMAGE_TOO_LARGE');
    expect(rejection(generate({ image: rgba(1, MAX_IMAGE_SIDE + 1) })).code).toBe('IMAGE_TOO_LARGE');
  });

  it('accepts a PNG of exactly maxPayloadBytes and refuses one byte more', () => {
    const exact = new Uint8Array(100);
    exact.set(png(4, 3));
    expect(() => validateClientMessage(generate({ image: { format: 'png', data: exact } }), { maxPayloadBytes: 100 })).not.toThrow();
    const over = new Uint8Array(101);
    over.set(png(4, 3));
    expect(rejection(generate({ image: { format: 'png', data: over } }), { maxPayloadBytes: 100 }).path).toBe('request.image.data');
  });

  it("refuses a raw mask whose size differs from the image's in width or in height alone", () => {
    expect(rejection(fill({ mask: gray(5, 3) })).path).toBe('request.mask');
    expect(rejection(fill({ mask: gray(4, 2) })).path).toBe('request.mask');
  });

  it('counts every side of an extension against the pixel budget: (4+8+8)×(3+4+4) = 220 pixels', () => {
    const extend = { left: { unit: 'px', value: 8 }, right: { unit: 'px', value: 8 }, top: { unit: 'px', value: 4 }, bottom: { unit: 'px', value: 4 } };
    expect(() => validateClientMessage(uncrop({ extend }), { maxPixels: 220 })).not.toThrow();
    const refused = rejection(uncrop({ extend }), { maxPixels: 219 });
    expect([refused.code, refused.path]).toEqual(['IMAGE_TOO_LARGE', 'request.extend']);
  });
});

describe('validateServerMessage at its bounds', () => {
  const result = (variant: number) => ({
    type: 'result', id: 'a', variant, seed: 1,
    layer: { x: 0, y: 0, image: { format: 'png', width: 1, height: 1, data: new Uint8Array(8) } }, canvas: { width: 1, height: 1 },
  });

  it('accepts result variants 0 to MAX_VARIANTS − 1 only', () => {
    expect(() => validateServerMessage(result(MAX_VARIANTS - 1))).not.toThrow();
    expect(() => validateServerMessage(result(MAX_VARIANTS))).toThrow(ProtocolError);
  });
});

describe('validateServerMessage', () => {
  const model = { name: 'm', version: '1.0.0', tasks: ['fill'], nativeResolution: 256, sizeMultiple: 32, parameters: 1, defaultSampler: 'ddim', defaultSteps: 50 };
  const welcome: ServerMessage = {
    type: 'welcome',
    protocol: 1,
    server: { name: 'palette', version: '0.1.0' },
    models: [model],
    defaultModel: null,
    limits: { maxPixels: 100, maxPayloadBytes: 1000, maxVariants: 2, maxSteps: 10 },
  };

  it('accepts a welcome and drops fields it does not know', () => {
    expect(validateServerMessage({ ...welcome, motd: 'hi', server: { name: 'palette', version: '0.1.0', gpu: 'x' } })).toEqual(welcome);
  });

  it('maps an error code from a newer daemon to INTERNAL, keeping the code in the text', () => {
    expect(validateServerMessage({ type: 'error', code: 'GPU_ON_FIRE', message: 'hot', id: 'a' })).toEqual({
      type: 'error',
      code: 'INTERNAL',
      message: '[GPU_ON_FIRE] hot',
      id: 'a',
    });
  });

  it('reads a preview\'s region, and a preview without one (an earlier v1 daemon)', () => {
    const image = { format: 'jpeg' as const, width: 4, height: 2, data: new Uint8Array(3) };
    const region = { x: 10, y: 20, width: 40, height: 20 };
    expect(validateServerMessage({ type: 'preview', id: 'a', step: 1, region, images: [image] })).toEqual({ type: 'preview', id: 'a', step: 1, region, images: [image] });
    expect(validateServerMessage({ type: 'preview', id: 'a', step: 1, images: [image] })).toEqual({ type: 'preview', id: 'a', step: 1, images: [image] });
  });

  const bad: Array<[string, unknown, ProtocolErrorCode, string]> = [
    ['an unknown type', { type: 'sparkles', id: 'a' }, 'UNKNOWN_MESSAGE_TYPE', 'type'],
    ['done without timings', { type: 'done', id: 'a' }, 'INVALID_FIELD', 'timings'],
    ['progress with a string step', { type: 'progress', id: 'a', step: '1', total: 2, etaMs: 0, label: '' }, 'INVALID_FIELD', 'step'],
    ['queued at -1', { type: 'queued', id: 'a', position: -1 }, 'INVALID_FIELD', 'position'],
    ['result without image bytes', { type: 'result', id: 'a', variant: 0, seed: 1, layer: { x: 0, y: 0, image: { format: 'png', width: 1, height: 1 } }, canvas: { width: 1, height: 1 } }, 'INVALID_FIELD', 'layer.image.data'],
    ['preview with an empty region', { type: 'preview', id: 'a', step: 1, region: { x: 0, y: 0, width: 0, height: 4 }, images: [] }, 'INVALID_FIELD', 'region.width'],
    ['preview with a gif', { type: 'preview', id: 'a', step: 1, images: [{ format: 'gif', width: 1, height: 1, data: new Uint8Array(1) }] }, 'INVALID_FIELD', 'images[0].format'],
    ['welcome with a bad model', { ...welcome, models: [{ ...model, defaultSteps: 0 }] }, 'INVALID_FIELD', 'models[0].defaultSteps'],
    ['error without message', { type: 'error', code: 'INTERNAL' }, 'INVALID_FIELD', 'message'],
    ['cancelled with a bad id', { type: 'cancelled', id: 'a b' }, 'INVALID_FIELD', 'id'],
  ];
  it.each(bad)('rejects %s', (_name, value, code, path) => {
    try {
      validateServerMessage(value);
      throw new Error('accepted');
    } catch (error) {
      expect(error).toBeInstanceOf(ProtocolError);
      expect((error as ProtocolError).code).toBe(code);
      expect((error as ProtocolError).path).toBe(path);
    }
  });
});

describe('helpers', () => {
  it('reads PNG dimensions only from a real IHDR', () => {
    expect(pngDimensions(png(640, 480))).toEqual({ width: 640, height: 480 });
    expect(pngDimensions(new Uint8Array(40))).toBeNull();
    expect(pngDimensions(png(1, 1).subarray(0, 20))).toBeNull();
  });

  it('resolves uncrop amounts: fractions of width for left/right, of height for top/bottom, rounded', () => {
    expect(
      resolveExtend({ left: { unit: 'fraction', value: 0.5 }, right: { unit: 'px', value: 7 }, bottom: { unit: 'fraction', value: 0.25 } }, 101, 10),
    ).toEqual({ left: 51, right: 7, top: 0, bottom: 3 });
  });

  it('checks request ids', () => {
    expect(isRequestId('a.B-c_9')).toBe(true);
    for (const id of ['', 'a/b', 'x'.repeat(65), 5, null]) expect(isRequestId(id)).toBe(false);
  });
});

describe('protocol errors', () => {
  it('keeps the codes the daemon relies on', () => {
    expect(PROTOCOL_ERROR_CODES).toEqual(
      expect.arrayContaining([
        'BAD_FRAME', 'HANDSHAKE_REQUIRED', 'PROTOCOL_VERSION_MISMATCH', 'UNAUTHORIZED', 'UNKNOWN_MESSAGE_TYPE', 'UNKNOWN_FIELD',
        'INVALID_FIELD', 'IMAGE_TOO_LARGE', 'IMAGE_DECODE_FAILED', 'MASK_SIZE_MISMATCH', 'DUPLICATE_REQUEST_ID', 'UNKNOWN_REQUEST',
        'MODEL_NOT_FOUND', 'TASK_NOT_SUPPORTED', 'QUEUE_FULL', 'CONNECTION_CLOSED', 'MODEL_FAILED', 'INTERNAL',
      ]),
    );
    expect(new Set(PROTOCOL_ERROR_CODES).size).toBe(PROTOCOL_ERROR_CODES.length);
  });

  it('builds wire errors from ProtocolErrors, keeping code, path and id', () => {
    const error = rejection(generate({ variants: 0 }, 'job-3'));
    expect(errorMessageFrom(error)).toEqual({ type: 'error', id: 'job-3', code: 'INVALID_FIELD', message: error.message, path: 'request.variants' });
    expect(validateServerMessage(errorMessageFrom(error))).toEqual(errorMessageFrom(error));
    expect(protocolErrorFromMessage(errorMessageFrom(error))).toMatchObject({ code: 'INVALID_FIELD', path: 'request.variants', requestId: 'job-3' });
  });

  it('turns other exceptions into INTERNAL without leaking their text', () => {
    const message = errorMessageFrom(new Error('ENOENT /home/me/secret'), 'job-4');
    expect(message).toEqual({ type: 'error', id: 'job-4', code: 'INTERNAL', message: expect.not.stringContaining('secret') });
  });

  it('says which errors close the connection, and with which close code', () => {
    expect(closeCodeFor('BAD_FRAME')).toBe(1002);
    expect(closeCodeFor('UNAUTHORIZED')).toBe(1008);
    expect(closeCodeFor('PAYLOAD_TOO_LARGE')).toBe(1009);
    expect(closeCodeFor('INVALID_FIELD')).toBeUndefined();
    expect(closeCodeFor('TOO_MANY_CONNECTIONS')).toBe(1013);
    expect([...FATAL_ERROR_CODES].sort()).toEqual(['BAD_FRAME', 'HANDSHAKE_REQUIRED', 'PAYLOAD_TOO_LARGE', 'PROTOCOL_VERSION_MISMATCH', 'TOO_MANY_CONNECTIONS', 'UNAUTHORIZED']);
  });

  it('omits absent optional fields and cuts long messages', () => {
    const message = makeErrorMessage('QUEUE_FULL', 'q'.repeat(5000));
    expect(Object.keys(message).sort()).toEqual(['code', 'message', 'type']);
    expect(message.message.length).toBeLessThanOrEqual(2000);
  });
});
