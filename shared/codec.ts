/**
 * Frames ↔ messages. One message = one binary WebSocket frame = one MessagePack map.
 *
 * Decoding is two passes. `scanFrame` walks the msgpack structure without building anything and
 * admits only the subset the protocol uses (nil, bool, int, float, str, bin, array, map with unique
 * string keys), within depth/size limits. Only then does msgpackr build the value: msgpackr on its own
 * would happily turn extension types into Dates, Sets, RegExps or Errors, and a few bytes declaring a
 * huge array into a huge allocation. Any failure is a ProtocolError; nothing else escapes.
 *
 * Decoded `bin` fields are Uint8Array views into the frame (no copy: frames can be 300 MB). Keep
 * that in mind before transferring `data.buffer` elsewhere.
 */
import { Packr } from 'msgpackr';
import {
  DEFAULT_MAX_PAYLOAD_BYTES,
  MAX_FRAME_CONTAINER_ENTRIES,
  MAX_FRAME_DEPTH,
  MAX_FRAME_STRING_BYTES,
  MAX_FRAME_VALUES,
  type ClientMessage,
  type Message,
  type ProtocolLimits,
  type ServerMessage,
} from './protocol.ts';
import { ProtocolError } from './protocol-errors.ts';
import { validateClientMessage, validateServerMessage } from './validate.ts';

// No records, no structured clone, no extension types, maps as plain objects, 64-bit ints as numbers:
// what goes over the wire is plain msgpack that any language's library reads.
const packr = new Packr({
  useRecords: false,
  mapsAsObjects: true,
  structuredClone: false,
  moreTypes: false,
  int64AsType: 'number',
  bundleStrings: false,
});

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export interface DecodeOptions {
  /** Frames longer than this are rejected with PAYLOAD_TOO_LARGE. Default 300 MiB. */
  maxPayloadBytes?: number;
}

function badFrame(message: string, cause?: unknown): ProtocolError {
  return new ProtocolError('BAD_FRAME', message, cause === undefined ? {} : { cause });
}

// ---------------------------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------------------------

/**
 * Copies a message into the shape msgpackr should see: plain objects without `undefined` fields
 * (msgpackr would write them as an extension type, which decoders here reject), arrays, and bytes.
 * Anything else in a message is a bug in the sender, reported as INTERNAL.
 */
function toWireValue(value: unknown, path: string): unknown {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return value;
    case 'object':
      if (value === null) return null;
      if (value instanceof Uint8Array) return value;
      if (Array.isArray(value)) return value.map((item, index) => toWireValue(item, `${path}[${index}]`));
      if (Object.getPrototypeOf(value) === Object.prototype || Object.getPrototypeOf(value) === null) {
        const out: Record<string, unknown> = {};
        for (const [key, item] of Object.entries(value)) {
          if (item !== undefined) out[key] = toWireValue(item, path ? `${path}.${key}` : key);
        }
        return out;
      }
      break;
    default:
      break;
  }
  throw new ProtocolError('INTERNAL', `Cannot encode ${describe(value)} at ${path || 'the message root'}.`, { path });
}

function describe(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'object' && value !== null) return `a ${value.constructor?.name ?? 'object'}`;
  return `a ${typeof value}`;
}

/** Encodes one message as the bytes of one binary frame (a plain Uint8Array, not a Node Buffer). */
export function encodeMessage(message: Message): Uint8Array {
  const wire = toWireValue(message, '');
  let packed: Uint8Array;
  try {
    packed = packr.pack(wire);
  } catch (cause) {
    throw new ProtocolError('INTERNAL', `msgpackr could not encode a ${message.type} message: ${String(cause)}`, { cause });
  }
  return new Uint8Array(packed.buffer, packed.byteOffset, packed.byteLength);
}

// ---------------------------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------------------------

/**
 * The bytes of a WebSocket message as delivered by `ws` (Buffer, ArrayBuffer or Buffer[] fragments)
 * or a browser (ArrayBuffer with binaryType 'arraybuffer'). A string is a text frame: BAD_FRAME.
 * (With `ws` on the server, also check the `isBinary` flag: ws hands text frames over as Buffers.)
 */
export function frameBytes(data: unknown): Uint8Array {
  if (data instanceof Uint8Array) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (Array.isArray(data) && data.every((part): part is Uint8Array => part instanceof Uint8Array)) {
    const total = data.reduce((sum, part) => sum + part.byteLength, 0);
    const out = new Uint8Array(total);
    let offset = 0;
    for (const part of data) {
      out.set(part, offset);
      offset += part.byteLength;
    }
    return out;
  }
  if (typeof data === 'string') throw badFrame('Text frames are not part of the protocol: send one binary frame per message.');
  throw badFrame(`A frame must be binary; got ${describe(data)}.`);
}

interface ScanFrame {
  /** Items still to read in this container (a map of n entries has 2n items). */
  remaining: number;
  /** Keys seen so far, for maps; null for arrays and the root. */
  keys: Set<string> | null;
}

/**
 * Checks that `bytes` is exactly one msgpack map built from the protocol's subset of types, within
 * the structural limits. Throws BAD_FRAME; returns nothing.
 */
export function scanFrame(bytes: Uint8Array): void {
  const end = bytes.length;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const first = bytes[0];
  if (first === undefined) throw badFrame('Empty frame.');
  if (!((first >= 0x80 && first <= 0x8f) || first === 0xde || first === 0xdf)) {
    throw badFrame('A frame must hold one msgpack map.');
  }
  let pos = 0;
  let values = 0;
  const stack: ScanFrame[] = [{ remaining: 1, keys: null }];

  const need = (count: number): void => {
    if (pos + count > end) throw badFrame(`Frame truncated at byte ${pos} (needs ${count} more bytes).`);
  };
  const u8 = (): number => {
    need(1);
    return view.getUint8(pos++);
  };
  const u16 = (): number => {
    need(2);
    const v = view.getUint16(pos);
    pos += 2;
    return v;
  };
  const u32 = (): number => {
    need(4);
    const v = view.getUint32(pos);
    pos += 4;
    return v;
  };
  const skip = (count: number): void => {
    need(count);
    pos += count;
  };
  const text = (length: number): string => {
    if (length > MAX_FRAME_STRING_BYTES) throw badFrame(`A string of ${length} bytes is longer than ${MAX_FRAME_STRING_BYTES}.`);
    need(length);
    const start = pos;
    pos += length;
    try {
      return utf8.decode(bytes.subarray(start, pos));
    } catch (cause) {
      throw badFrame(`Invalid UTF-8 in the string at byte ${start}.`, cause);
    }
  };
  const open = (entries: number, isMap: boolean): void => {
    if (entries > MAX_FRAME_CONTAINER_ENTRIES) {
      throw badFrame(`A ${isMap ? 'map' : 'array'} of ${entries} entries is larger than ${MAX_FRAME_CONTAINER_ENTRIES}.`);
    }
    // The root frame is not a level: depth counts maps and arrays.
    if (stack.length > MAX_FRAME_DEPTH) throw badFrame(`Nesting deeper than ${MAX_FRAME_DEPTH} levels.`);
    stack.push({ remaining: isMap ? entries * 2 : entries, keys: isMap ? new Set() : null });
  };

  while (stack.length > 0) {
    const frame = stack[stack.length - 1]!;
    if (frame.remaining === 0) {
      stack.pop();
      continue;
    }
    frame.remaining -= 1;
    if (++values > MAX_FRAME_VALUES) throw badFrame(`More than ${MAX_FRAME_VALUES} values in one frame.`);
    const token = u8();

    if (frame.keys !== null && frame.remaining % 2 === 1) {
      // A map key: strings only, unique, and never one that would touch an object's prototype.
      let length: number;
      if (token >= 0xa0 && token <= 0xbf) length = token - 0xa0;
      else if (token === 0xd9) length = u8();
      else if (token === 0xda) length = u16();
      else if (token === 0xdb) length = u32();
      else throw badFrame(`Map keys must be strings (byte ${pos - 1} is 0x${token.toString(16)}).`);
      const key = text(length);
      if (key === '__proto__') throw badFrame('The key "__proto__" is not allowed.');
      if (frame.keys.has(key)) throw badFrame(`Duplicate map key "${key}".`);
      frame.keys.add(key);
      continue;
    }

    if (token <= 0x7f || token >= 0xe0) continue; // fixints
    if (token <= 0x8f) open(token - 0x80, true);
    else if (token <= 0x9f) open(token - 0x90, false);
    else if (token <= 0xbf) text(token - 0xa0);
    else {
      switch (token) {
        case 0xc0: // nil
        case 0xc2: // false
        case 0xc3: // true
          break;
        case 0xc4: skip(u8()); break; // bin 8
        case 0xc5: skip(u16()); break; // bin 16
        case 0xc6: skip(u32()); break; // bin 32
        case 0xca: skip(4); break; // float 32
        case 0xcb: skip(8); break; // float 64
        case 0xcc: case 0xd0: skip(1); break; // (u)int 8
        case 0xcd: case 0xd1: skip(2); break; // (u)int 16
        case 0xce: case 0xd2: skip(4); break; // (u)int 32
        case 0xcf: case 0xd3: skip(8); break; // (u)int 64
        case 0xd9: text(u8()); break;
        case 0xda: text(u16()); break;
        case 0xdb: text(u32()); break;
        case 0xdc: open(u16(), false); break;
        case 0xdd: open(u32(), false); break;
        case 0xde: open(u16(), true); break;
        case 0xdf: open(u32(), true); break;
        case 0xc1:
          throw badFrame(`Byte 0xc1 at ${pos - 1} is never used in msgpack.`);
        default: // 0xc7–0xc9, 0xd4–0xd8: extension types
          throw badFrame(`msgpack extension types are not part of the protocol (byte ${pos - 1}).`);
      }
    }
  }
  if (pos !== end) throw badFrame(`${end - pos} bytes after the end of the message.`);
}

/** Rebuilds msgpackr's output as plain data, turning Node Buffers into plain Uint8Array views. */
function normalise(value: unknown, depth: number): unknown {
  if (value === null || typeof value === 'string' || typeof value === 'boolean' || typeof value === 'number') return value;
  if (depth > MAX_FRAME_DEPTH) throw badFrame('Nesting too deep.');
  if (value instanceof Uint8Array) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  if (Array.isArray(value)) return value.map((item) => normalise(item, depth + 1));
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[key] = normalise(item, depth + 1);
    return out;
  }
  // scanFrame admits nothing else, so this is msgpackr behaving differently than expected.
  throw badFrame(`Decoded ${describe(value)}, which the protocol does not use.`);
}

/**
 * Decodes one frame into plain data (objects, arrays, strings, numbers, booleans, null, Uint8Array)
 * without checking it against the message types: that is `validateClientMessage`'s job.
 */
export function decodeFrame(data: unknown, options: DecodeOptions = {}): Record<string, unknown> {
  const bytes = frameBytes(data);
  const maxBytes = options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
  if (bytes.byteLength > maxBytes) {
    throw new ProtocolError('PAYLOAD_TOO_LARGE', `A frame of ${bytes.byteLength} bytes is larger than the limit of ${maxBytes}.`);
  }
  scanFrame(bytes);
  let value: unknown;
  try {
    value = packr.unpack(bytes);
  } catch (cause) {
    throw badFrame(`msgpack decoding failed: ${cause instanceof Error ? cause.message.slice(0, 200) : String(cause)}`, cause);
  }
  return normalise(value, 0) as Record<string, unknown>;
}

/** Frame → validated client message (the daemon's entry point). */
export function decodeClientMessage(data: unknown, limits?: Partial<ProtocolLimits>): ClientMessage {
  const options = limits?.maxPayloadBytes === undefined ? {} : { maxPayloadBytes: limits.maxPayloadBytes };
  return validateClientMessage(decodeFrame(data, options), limits);
}

/** Frame → validated daemon message (the client's entry point). */
export function decodeServerMessage(data: unknown, options: DecodeOptions = {}): ServerMessage {
  return validateServerMessage(decodeFrame(data, options));
}
