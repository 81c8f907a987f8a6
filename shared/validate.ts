/**
 * Validation at the protocol boundary. `validateClientMessage` is the daemon's gate: every field of
 * every client message is checked (type, integer-ness, range, length, pattern, byte length against
 * the declared size, pixel budget), unknown fields are rejected, and a fresh object holding only the
 * known fields is returned. `validateServerMessage` is the client's gate: it checks types and required
 * fields but ignores (and drops) unknown fields, so a newer v1 daemon may add some.
 *
 * Only ProtocolError is thrown. The first problem found wins; its `path` names the field.
 */
import {
  CLIENT_MESSAGE_TYPES,
  DEFAULT_LIMITS,
  ENCODED_IMAGE_FORMATS,
  FILL_MASK_MODES,
  MAX_CLIENT_NAME_LENGTH,
  MAX_CONTEXT_PADDING,
  MAX_EXTEND_FRACTION,
  MAX_EXTEND_PX,
  MAX_FEATHER_PX,
  MAX_GROW_PX,
  MAX_IMAGE_SIDE,
  MAX_WORKING_SIZE,
  MIN_WORKING_SIZE,
  MAX_MODEL_NAME_LENGTH,
  MAX_PREVIEW_INTERVAL_MS,
  MAX_PREVIEW_SIZE,
  MAX_SEED,
  MAX_TOKEN_LENGTH,
  MAX_VARIANTS,
  MIN_PREVIEW_SIZE,
  MODEL_NAME_PATTERN,
  PREVIEW_FORMATS,
  PROTOCOL_VERSION,
  REQUEST_ID_PATTERN,
  SAMPLERS,
  SERVER_MESSAGE_TYPES,
  TASKS,
  type ClientMessage,
  type ErrorMessage,
  type EncodedImage,
  type ExtendAmount,
  type ExtendSpec,
  type FillOptions,
  type GenerateRequest,
  type ImagePayload,
  type MaskPayload,
  type ModelInfo,
  type PreviewMessage,
  type PreviewOptions,
  type ProtocolLimits,
  type RequestId,
  type ServerMessage,
} from './protocol.ts';
import { pngDimensions, sniffImageFormat } from './image-format.ts';
import { ProtocolError, isProtocolErrorCode, type ProtocolErrorCode } from './protocol-errors.ts';

export { pngDimensions } from './image-format.ts';

type Obj = Record<string, unknown>;
const MAX_INT32 = 0x7fff_ffff;
/**
 * "Control characters" in names and tokens: Unicode general category Cc, i.e. C0 (U+0000–U+001F),
 * DEL (U+007F) and C1 (U+0080–U+009F, NEL U+0085 included). Everything else is allowed.
 */
export const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/;

function isPlainObject(value: unknown): value is Obj {
  if (typeof value !== 'object' || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  if (value instanceof Uint8Array) return `${value.byteLength} bytes`;
  if (Array.isArray(value)) return `an array of ${value.length}`;
  return typeof value === 'object' ? 'a map' : typeof value;
}

function codePoints(text: string): number {
  let count = 0;
  for (const _ of text) count += 1;
  return count;
}

export function isRequestId(value: unknown): value is RequestId {
  return typeof value === 'string' && REQUEST_ID_PATTERN.test(value);
}

/** Reads typed fields of one map, failing with the field's full path. */
class Fields {
  private constructor(
    readonly obj: Obj,
    readonly path: string,
  ) {}

  /** `allowed` null: extra fields are ignored (daemon messages); otherwise they are UNKNOWN_FIELD. */
  static of(value: unknown, path: string, allowed: readonly string[] | null): Fields {
    if (!isPlainObject(value)) throw invalid(path || '(message)', `must be a map; got ${show(value)}`);
    if (allowed !== null) {
      for (const key of Object.keys(value)) {
        if (value[key] !== undefined && !allowed.includes(key)) {
          const at = join(path, key);
          throw new ProtocolError('UNKNOWN_FIELD', `${at} is not a field of ${path || 'this message'}.`, { path: at });
        }
      }
    }
    return new Fields(value, path);
  }

  at(key: string): string {
    return join(this.path, key);
  }
  has(key: string): boolean {
    return this.obj[key] !== undefined;
  }
  raw(key: string): unknown {
    const value = this.obj[key];
    if (value === undefined) throw invalid(this.at(key), 'is required');
    return value;
  }
  str(key: string, min = 0, max = Infinity, pattern?: RegExp): string {
    const value = this.raw(key);
    if (typeof value !== 'string') throw invalid(this.at(key), `must be a string; got ${show(value)}`);
    const length = codePoints(value);
    if (length < min || length > max) throw invalid(this.at(key), `must be ${min} to ${max} characters long; got ${length}`);
    if (pattern && !pattern.test(value)) throw invalid(this.at(key), `must match ${pattern.source}; got ${show(value)}`);
    return value;
  }
  /** A short human-readable name: no control characters (CONTROL_CHARACTERS). */
  name(key: string, max: number, min = 1): string {
    const value = this.str(key, min, max);
    if (CONTROL_CHARACTERS.test(value)) throw invalid(this.at(key), 'must not contain control characters');
    return value;
  }
  num(key: string, min: number, max: number): number {
    const value = this.raw(key);
    if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
      throw invalid(this.at(key), `must be a number from ${min} to ${max}; got ${show(value)}`);
    }
    return value;
  }
  int(key: string, min: number, max: number): number {
    const value = this.raw(key);
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      throw invalid(this.at(key), `must be an integer from ${min} to ${max}; got ${show(value)}`);
    }
    return value;
  }
  bool(key: string): boolean {
    const value = this.raw(key);
    if (typeof value !== 'boolean') throw invalid(this.at(key), `must be true or false; got ${show(value)}`);
    return value;
  }
  oneOf<T extends string>(key: string, values: readonly T[]): T {
    const value = this.raw(key);
    if (typeof value !== 'string' || !(values as readonly string[]).includes(value)) {
      throw invalid(this.at(key), `must be one of ${values.map((v) => `'${v}'`).join(', ')}; got ${show(value)}`);
    }
    return value as T;
  }
  bytes(key: string, min: number, max: number): Uint8Array {
    const value = this.raw(key);
    if (!(value instanceof Uint8Array)) throw invalid(this.at(key), `must be binary (msgpack bin); got ${show(value)}`);
    if (value.byteLength < min || value.byteLength > max) {
      throw invalid(this.at(key), `must be ${min} to ${max} bytes; got ${value.byteLength}`);
    }
    return value;
  }
  array(key: string, maxLength: number): unknown[] {
    const value = this.raw(key);
    if (!Array.isArray(value)) throw invalid(this.at(key), `must be an array; got ${show(value)}`);
    if (value.length > maxLength) throw invalid(this.at(key), `must have at most ${maxLength} items; got ${value.length}`);
    return value;
  }
  intArray(key: string, maxLength: number, min: number, max: number): number[] {
    return this.array(key, maxLength).map((item, index) => {
      if (typeof item !== 'number' || !Number.isInteger(item) || item < min || item > max) {
        throw invalid(`${this.at(key)}[${index}]`, `must be an integer from ${min} to ${max}; got ${show(item)}`);
      }
      return item;
    });
  }
  strArray(key: string, maxLength: number): string[] {
    return this.array(key, maxLength).map((item, index) => {
      if (typeof item !== 'string') throw invalid(`${this.at(key)}[${index}]`, `must be a string; got ${show(item)}`);
      return item;
    });
  }
  map(key: string, allowed: readonly string[] | null): Fields {
    return Fields.of(this.raw(key), this.at(key), allowed);
  }
}

function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

function invalid(path: string, problem: string): ProtocolError {
  return new ProtocolError('INVALID_FIELD', `${path} ${problem}.`, { path });
}

function fail(code: ProtocolErrorCode, path: string, message: string): ProtocolError {
  return new ProtocolError(code, message, { path });
}

function effectiveLimits(limits: Partial<ProtocolLimits> | undefined): ProtocolLimits {
  // A daemon may tighten the protocol's limits, never loosen them.
  const pick = (key: keyof ProtocolLimits): number => Math.min(limits?.[key] ?? DEFAULT_LIMITS[key], DEFAULT_LIMITS[key]);
  return {
    maxPixels: pick('maxPixels'),
    maxPayloadBytes: pick('maxPayloadBytes'),
    maxVariants: pick('maxVariants'),
    maxSteps: pick('maxSteps'),
  };
}

// ---------------------------------------------------------------------------------------------
// Images
// ---------------------------------------------------------------------------------------------

function checkPixelBudget(path: string, width: number, height: number, limits: ProtocolLimits, what: string): void {
  if (width > MAX_IMAGE_SIDE || height > MAX_IMAGE_SIDE || width * height > limits.maxPixels) {
    throw fail(
      'IMAGE_TOO_LARGE',
      path,
      `${what} is ${width}×${height} (${width * height} pixels); the limit is ${limits.maxPixels} pixels and ${MAX_IMAGE_SIDE} per side.`,
    );
  }
}

interface Raster<T> {
  payload: T;
  /** Declared by the raw payload's fields, or by the PNG's IHDR. */
  size: { width: number; height: number };
  raw: boolean;
}

function raster<T extends ImagePayload | MaskPayload>(
  value: unknown,
  path: string,
  limits: ProtocolLimits,
  rawFormat: 'rgba8' | 'gray8',
  channels: number,
): Raster<T> {
  const format = Fields.of(value, path, null).oneOf('format', [rawFormat, 'png'] as const);
  if (format === 'png') {
    const f = Fields.of(value, path, ['format', 'data']);
    const data = f.bytes('data', 1, limits.maxPayloadBytes);
    const size = pngDimensions(data);
    if (!size) throw notPng(f.at('data'), data);
    checkPixelBudget(path, size.width, size.height, limits, `The PNG at ${path}`);
    return { payload: { format: 'png', data } as T, size, raw: false };
  }
  const f = Fields.of(value, path, ['format', 'width', 'height', 'data']);
  // Any positive integer is read here; sides over MAX_IMAGE_SIDE are IMAGE_TOO_LARGE below, the
  // same code a PNG declaring them gets.
  const width = f.int('width', 1, Number.MAX_SAFE_INTEGER);
  const height = f.int('height', 1, Number.MAX_SAFE_INTEGER);
  // The pixel budget comes before the byte count: a client declaring 65 MP gets IMAGE_TOO_LARGE.
  checkPixelBudget(path, width, height, limits, `The image at ${path}`);
  const expected = width * height * channels;
  const data = f.bytes('data', 0, Infinity);
  if (data.byteLength !== expected) {
    throw invalid(f.at('data'), `must be width × height × ${channels} = ${expected} bytes for ${rawFormat}; got ${data.byteLength}`);
  }
  return { payload: { format: rawFormat, width, height, data } as T, size: { width, height }, raw: true };
}

/** `format: "png"` holding something else: refused before any decoder sees it. */
function notPng(path: string, data: Uint8Array): ProtocolError {
  const sniffed = sniffImageFormat(data);
  const what =
    sniffed === 'png' ? 'a PNG without a valid IHDR chunk first'
      : sniffed === 'unknown' ? 'not a PNG file' : `a ${sniffed.toUpperCase()} file, not a PNG`;
  return fail('IMAGE_DECODE_FAILED', path, `${path} is ${what}; format 'png' takes PNG files only (send other images as raw pixels).`);
}

// ---------------------------------------------------------------------------------------------
// Uncrop geometry
// ---------------------------------------------------------------------------------------------

const SIDES = ['left', 'right', 'top', 'bottom'] as const;

function extendAmount(value: unknown, path: string): ExtendAmount {
  const unit = Fields.of(value, path, null).oneOf('unit', ['px', 'fraction'] as const);
  const f = Fields.of(value, path, ['unit', 'value']);
  return unit === 'px'
    ? { unit, value: f.int('value', 0, MAX_EXTEND_PX) }
    : { unit, value: f.num('value', 0, MAX_EXTEND_FRACTION) };
}

/** Pixels per side; fractions are of the width (left/right) or height (top/bottom), rounded. */
export function resolveExtend(
  extend: ExtendSpec,
  width: number,
  height: number,
): { left: number; right: number; top: number; bottom: number } {
  const px = (amount: ExtendAmount | undefined, base: number): number =>
    amount === undefined ? 0 : amount.unit === 'px' ? amount.value : Math.round(amount.value * base);
  return {
    left: px(extend.left, width),
    right: px(extend.right, width),
    top: px(extend.top, height),
    bottom: px(extend.bottom, height),
  };
}

function extendSpec(value: unknown, path: string): ExtendSpec {
  const f = Fields.of(value, path, SIDES);
  const spec: ExtendSpec = {};
  for (const side of SIDES) if (f.has(side)) spec[side] = extendAmount(f.raw(side), f.at(side));
  if (!SIDES.some((side) => (spec[side]?.value ?? 0) > 0)) throw invalid(path, 'must extend at least one side by more than 0');
  return spec;
}

// ---------------------------------------------------------------------------------------------
// Client messages
// ---------------------------------------------------------------------------------------------

const REQUEST_FIELDS = ['task', 'image', 'mask', 'extend', 'variants', 'steps', 'sampler', 'eta', 'strength', 'workingSize', 'seeds', 'model', 'fill', 'preview'];

export function validateGenerateRequest(value: unknown, path: string, limits: ProtocolLimits): GenerateRequest {
  const f = Fields.of(value, path, REQUEST_FIELDS);
  const task = f.oneOf('task', TASKS);
  const image = raster<ImagePayload>(f.raw('image'), f.at('image'), limits, 'rgba8', 4);
  const request: GenerateRequest = { task, image: image.payload, variants: 0 };

  if (task === 'fill') {
    if (!f.has('mask')) throw invalid(f.at('mask'), "is required for task 'fill'");
    const mask = raster<MaskPayload>(f.raw('mask'), f.at('mask'), limits, 'gray8', 1);
    // Raw pairs are compared here; PNG sizes are only certain after decoding (MASK_SIZE_MISMATCH).
    const [a, b] = [image.size, mask.size];
    if (image.raw && mask.raw && (a.width !== b.width || a.height !== b.height)) {
      throw invalid(f.at('mask'), `is ${b.width}×${b.height} but the image is ${a.width}×${a.height}; they must match`);
    }
    request.mask = mask.payload;
  } else if (f.has('mask')) {
    throw invalid(f.at('mask'), `is only for task 'fill', not '${task}'`);
  }

  if (task === 'uncrop') {
    if (!f.has('extend')) throw invalid(f.at('extend'), "is required for task 'uncrop'");
    const extend = extendSpec(f.raw('extend'), f.at('extend'));
    const px = resolveExtend(extend, image.size.width, image.size.height);
    const { width, height } = image.size;
    checkPixelBudget(f.at('extend'), width + px.left + px.right, height + px.top + px.bottom, limits, 'The extended canvas');
    request.extend = extend;
  } else if (f.has('extend')) {
    throw invalid(f.at('extend'), `is only for task 'uncrop', not '${task}'`);
  }

  request.variants = f.int('variants', 1, limits.maxVariants);
  if (f.has('steps')) request.steps = f.int('steps', 1, limits.maxSteps);
  if (f.has('sampler')) request.sampler = f.oneOf('sampler', SAMPLERS);
  if (f.has('eta')) {
    if (request.sampler !== 'ddim') throw invalid(f.at('eta'), "is only for sampler 'ddim' (set sampler explicitly)");
    request.eta = f.num('eta', 0, 1);
  }
  if (f.has('strength')) {
    const strength = f.num('strength', 0, 1);
    if (strength === 0) throw invalid(f.at('strength'), 'must be greater than 0');
    request.strength = strength;
  }
  if (f.has('workingSize')) request.workingSize = f.int('workingSize', MIN_WORKING_SIZE, MAX_WORKING_SIZE);
  if (f.has('seeds')) {
    const seeds = f.intArray('seeds', MAX_VARIANTS, 0, MAX_SEED);
    if (seeds.length !== request.variants) {
      throw invalid(f.at('seeds'), `must hold one seed per variant (${request.variants}); got ${seeds.length}`);
    }
    request.seeds = seeds;
  }
  if (f.has('model')) request.model = f.str('model', 1, MAX_MODEL_NAME_LENGTH, MODEL_NAME_PATTERN);
  if (f.has('fill')) {
    if (task !== 'fill') throw invalid(f.at('fill'), `is only for task 'fill', not '${task}'`);
    request.fill = fillOptions(f.map('fill', ['contextPadding', 'feather', 'grow', 'colorMatch', 'maskMode']));
  }
  if (f.has('preview')) request.preview = previewOptions(f.map('preview', ['intervalMs', 'maxSize', 'format']));
  return request;
}

function fillOptions(f: Fields): FillOptions {
  const out: FillOptions = {};
  if (f.has('contextPadding')) out.contextPadding = f.num('contextPadding', 0, MAX_CONTEXT_PADDING);
  if (f.has('feather')) out.feather = f.int('feather', 0, MAX_FEATHER_PX);
  if (f.has('grow')) out.grow = f.int('grow', -MAX_GROW_PX, MAX_GROW_PX);
  if (f.has('colorMatch')) out.colorMatch = f.bool('colorMatch');
  if (f.has('maskMode')) out.maskMode = f.oneOf('maskMode', FILL_MASK_MODES);
  return out;
}

function previewOptions(f: Fields): PreviewOptions {
  const out: PreviewOptions = {};
  if (f.has('intervalMs')) out.intervalMs = f.int('intervalMs', 0, MAX_PREVIEW_INTERVAL_MS);
  if (f.has('maxSize')) out.maxSize = f.int('maxSize', MIN_PREVIEW_SIZE, MAX_PREVIEW_SIZE);
  if (f.has('format')) out.format = f.oneOf('format', PREVIEW_FORMATS);
  return out;
}

function messageType<T extends string>(value: unknown, known: readonly T[]): { f: Fields; type: T } {
  const f = Fields.of(value, '', null);
  const type = f.raw('type');
  if (typeof type !== 'string') throw invalid('type', `must be a string; got ${show(type)}`);
  if (!(known as readonly string[]).includes(type)) {
    throw fail('UNKNOWN_MESSAGE_TYPE', 'type', `Unknown message type ${show(type)}; expected one of ${known.join(', ')}.`);
  }
  return { f, type: type as T };
}

/**
 * The daemon's gate for every decoded frame. `limits` are the daemon's own (tighter) limits; errors
 * carry the message's `id` in `requestId` whenever it had a valid one, so the reply can name it.
 */
export function validateClientMessage(value: unknown, limits?: Partial<ProtocolLimits>): ClientMessage {
  if (!isPlainObject(value)) throw new ProtocolError('BAD_FRAME', `A message must be a msgpack map; got ${show(value)}.`);
  const id = isRequestId(value.id) ? value.id : undefined;
  try {
    return clientMessage(value, effectiveLimits(limits));
  } catch (error) {
    throw error instanceof ProtocolError ? error.withRequestId(id) : error;
  }
}

function clientMessage(value: Obj, limits: ProtocolLimits): ClientMessage {
  const { type } = messageType(value, CLIENT_MESSAGE_TYPES);
  switch (type) {
    case 'hello': {
      // The version is checked before anything else: a future hello may carry fields v1 does not
      // know, and the answer to it must be PROTOCOL_VERSION_MISMATCH, not UNKNOWN_FIELD.
      const protocol = Fields.of(value, '', null).int('protocol', 0, MAX_INT32);
      if (protocol !== PROTOCOL_VERSION) {
        const text = `This daemon speaks protocol ${PROTOCOL_VERSION}; the client asked for ${protocol}.`;
        throw fail('PROTOCOL_VERSION_MISMATCH', 'protocol', text);
      }
      const f = Fields.of(value, '', ['type', 'protocol', 'client', 'token']);
      const client = f.name('client', MAX_CLIENT_NAME_LENGTH);
      // An empty token is allowed: it is what a client without a configured token may send, and a
      // daemon without a token ignores any token (one with a token refuses it as UNAUTHORIZED).
      return f.has('token') ? { type, protocol, client, token: f.name('token', MAX_TOKEN_LENGTH, 0) } : { type, protocol, client };
    }
    case 'generate': {
      const f = Fields.of(value, '', ['type', 'id', 'request']);
      const id = f.str('id', 1, 64, REQUEST_ID_PATTERN);
      return { type, id, request: validateGenerateRequest(f.raw('request'), 'request', limits) };
    }
    case 'cancel':
    case 'list-models': {
      const f = Fields.of(value, '', ['type', 'id']);
      return { type, id: f.str('id', 1, 64, REQUEST_ID_PATTERN) };
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Daemon messages
// ---------------------------------------------------------------------------------------------

function encodedImage(value: unknown, path: string): EncodedImage {
  const f = Fields.of(value, path, null);
  return {
    format: f.oneOf('format', ENCODED_IMAGE_FORMATS),
    width: f.int('width', 1, MAX_IMAGE_SIDE),
    height: f.int('height', 1, MAX_IMAGE_SIDE),
    data: f.bytes('data', 1, Infinity),
  };
}

function modelInfo(value: unknown, path: string): ModelInfo {
  const f = Fields.of(value, path, null);
  return {
    name: f.str('name', 1),
    version: f.str('version'),
    tasks: f.strArray('tasks', 64),
    nativeResolution: f.int('nativeResolution', 1, MAX_IMAGE_SIDE),
    sizeMultiple: f.int('sizeMultiple', 1, MAX_IMAGE_SIDE),
    parameters: f.int('parameters', 0, Number.MAX_SAFE_INTEGER),
    defaultSampler: f.str('defaultSampler'),
    defaultSteps: f.int('defaultSteps', 1, Number.MAX_SAFE_INTEGER),
  };
}

function models(f: Fields): ModelInfo[] {
  return f.array('models', 4096).map((item, index) => modelInfo(item, `${f.at('models')}[${index}]`));
}

/**
 * The client's gate for daemon messages. Unknown fields are dropped; an `error` with a code this
 * client does not know (from a newer daemon) becomes INTERNAL, with the original code kept in the text.
 */
export function validateServerMessage(value: unknown): ServerMessage {
  if (!isPlainObject(value)) throw new ProtocolError('BAD_FRAME', `A message must be a msgpack map; got ${show(value)}.`);
  const { f, type } = messageType(value, SERVER_MESSAGE_TYPES);
  const id = (): RequestId => f.str('id', 1, 64, REQUEST_ID_PATTERN);
  const count = Number.MAX_SAFE_INTEGER;
  switch (type) {
    case 'welcome': {
      const server = f.map('server', null);
      const limits = f.map('limits', null);
      const defaultModel = f.raw('defaultModel') === null ? null : f.str('defaultModel', 1);
      return {
        type,
        protocol: f.int('protocol', 0, MAX_INT32),
        server: { name: server.str('name'), version: server.str('version') },
        models: models(f),
        defaultModel,
        limits: {
          maxPixels: limits.int('maxPixels', 1, count),
          maxPayloadBytes: limits.int('maxPayloadBytes', 1, count),
          maxVariants: limits.int('maxVariants', 1, count),
          maxSteps: limits.int('maxSteps', 1, count),
        },
      };
    }
    case 'models':
      return { type, id: id(), models: models(f) };
    case 'queued':
      return { type, id: id(), position: f.int('position', 0, count) };
    case 'started':
      return {
        type,
        id: id(),
        model: f.str('model'),
        sampler: f.str('sampler'),
        steps: f.int('steps', 1, count),
        seeds: f.intArray('seeds', MAX_VARIANTS, 0, MAX_SEED),
        variants: f.int('variants', 1, MAX_VARIANTS),
      };
    case 'progress':
      return {
        type,
        id: id(),
        step: f.int('step', 0, count),
        total: f.int('total', 0, count),
        etaMs: f.num('etaMs', 0, Infinity),
        label: f.str('label'),
      };
    case 'preview': {
      const out: PreviewMessage = {
        type,
        id: id(),
        step: f.int('step', 0, count),
        images: f.array('images', MAX_VARIANTS).map((item, index) => encodedImage(item, `images[${index}]`)),
      };
      if (f.has('region')) {
        const r = f.map('region', null);
        out.region = {
          x: r.int('x', 0, MAX_IMAGE_SIDE),
          y: r.int('y', 0, MAX_IMAGE_SIDE),
          width: r.int('width', 1, MAX_IMAGE_SIDE),
          height: r.int('height', 1, MAX_IMAGE_SIDE),
        };
      }
      return out;
    }
    case 'result': {
      const layer = f.map('layer', null);
      const canvas = f.map('canvas', null);
      return {
        type,
        id: id(),
        variant: f.int('variant', 0, MAX_VARIANTS - 1),
        seed: f.int('seed', 0, MAX_SEED),
        layer: {
          x: layer.int('x', -MAX_IMAGE_SIDE, MAX_IMAGE_SIDE),
          y: layer.int('y', -MAX_IMAGE_SIDE, MAX_IMAGE_SIDE),
          image: encodedImage(layer.raw('image'), layer.at('image')),
        },
        canvas: { width: canvas.int('width', 1, MAX_IMAGE_SIDE), height: canvas.int('height', 1, MAX_IMAGE_SIDE) },
      };
    }
    case 'done': {
      const t = f.map('timings', null);
      const timings = { queuedMs: t.num('queuedMs', 0, Infinity), sampleMs: t.num('sampleMs', 0, Infinity), totalMs: t.num('totalMs', 0, Infinity) };
      return { type, id: id(), timings };
    }
    case 'cancelled':
      return { type, id: id() };
    case 'error': {
      const rawCode = f.str('code', 1, 64);
      const message = f.str('message');
      const code: ProtocolErrorCode = isProtocolErrorCode(rawCode) ? rawCode : 'INTERNAL';
      const out: ErrorMessage = { type, code, message: code === rawCode ? message : `[${rawCode}] ${message}` };
      if (f.has('id')) out.id = id();
      if (f.has('path')) out.path = f.str('path');
      return out;
    }
  }
}
