/**
 * Protocol errors: the one error class both sides throw for anything the protocol defines, and the
 * one place that turns an error into a wire `error` message (and back), so codes, ids and paths are
 * spelled the same everywhere. Codes are stable: clients switch on them, messages are for humans.
 */
import { CLOSE_CODES, type ErrorMessage, type RequestId } from './protocol.ts';

export const PROTOCOL_ERROR_CODES = [
  'BAD_FRAME',
  'PAYLOAD_TOO_LARGE',
  'HANDSHAKE_REQUIRED',
  'PROTOCOL_VERSION_MISMATCH',
  'UNAUTHORIZED',
  'UNKNOWN_MESSAGE_TYPE',
  'UNKNOWN_FIELD',
  'INVALID_FIELD',
  'IMAGE_TOO_LARGE',
  'IMAGE_DECODE_FAILED',
  'MASK_SIZE_MISMATCH',
  'DUPLICATE_REQUEST_ID',
  'UNKNOWN_REQUEST',
  'MODEL_NOT_FOUND',
  'TASK_NOT_SUPPORTED',
  'QUEUE_FULL',
  'TOO_MANY_CONNECTIONS',
  'CONNECTION_CLOSED',
  'CANCELLED',
  'MODEL_FAILED',
  'INTERNAL',
] as const;

export type ProtocolErrorCode = (typeof PROTOCOL_ERROR_CODES)[number];

/**
 * Codes a client produces itself and the daemon never sends: the connection is gone, or the request
 * ended with a `cancelled` message (the promise of a cancelled request rejects with CANCELLED).
 */
export const LOCAL_ERROR_CODES: readonly ProtocolErrorCode[] = ['CONNECTION_CLOSED', 'CANCELLED'];

/**
 * Codes after which the daemon closes the connection (right after sending the `error`), with the
 * WebSocket close code to use. Every other code leaves the connection open.
 */
const FATAL_CLOSE_CODES: Partial<Record<ProtocolErrorCode, number>> = {
  BAD_FRAME: CLOSE_CODES.PROTOCOL_ERROR,
  HANDSHAKE_REQUIRED: CLOSE_CODES.PROTOCOL_ERROR,
  PAYLOAD_TOO_LARGE: CLOSE_CODES.MESSAGE_TOO_BIG,
  PROTOCOL_VERSION_MISMATCH: CLOSE_CODES.POLICY_VIOLATION,
  UNAUTHORIZED: CLOSE_CODES.POLICY_VIOLATION,
  TOO_MANY_CONNECTIONS: CLOSE_CODES.TRY_AGAIN_LATER,
};

export const FATAL_ERROR_CODES = Object.keys(FATAL_CLOSE_CODES) as readonly ProtocolErrorCode[];

/** The close code that follows an `error` with `code`, or undefined when the connection stays open. */
export function closeCodeFor(code: ProtocolErrorCode): number | undefined {
  return FATAL_CLOSE_CODES[code];
}

const CODE_SET: ReadonlySet<string> = new Set(PROTOCOL_ERROR_CODES);

export function isProtocolErrorCode(value: unknown): value is ProtocolErrorCode {
  return typeof value === 'string' && CODE_SET.has(value);
}

export interface ProtocolErrorOptions {
  /** The offending field, dotted with [index] for arrays: `request.seeds[2]`. */
  path?: string;
  /** The request the error is about, when it is about one. */
  requestId?: RequestId;
  cause?: unknown;
}

export class ProtocolError extends Error {
  readonly code: ProtocolErrorCode;
  readonly path?: string;
  readonly requestId?: RequestId;

  constructor(code: ProtocolErrorCode, message: string, options: ProtocolErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ProtocolError';
    this.code = code;
    if (options.path !== undefined) this.path = options.path;
    if (options.requestId !== undefined) this.requestId = options.requestId;
  }

  /** The same error about `requestId` (validation learns the id only after it started checking). */
  withRequestId(requestId: RequestId | undefined): ProtocolError {
    if (requestId === undefined || this.requestId !== undefined) return this;
    return new ProtocolError(this.code, this.message, { path: this.path, requestId, cause: this.cause });
  }
}

/** Longest `message` the daemon sends; longer ones are cut (the wire limit on strings is larger). */
export const MAX_ERROR_MESSAGE_LENGTH = 2000;

/**
 * Builds a wire `error` message. Every `error` the daemon sends goes through here (or through
 * `errorMessageFrom`), so the optional fields are omitted rather than sent as nil.
 */
export function makeErrorMessage(
  code: ProtocolErrorCode,
  message: string,
  options: { id?: RequestId; path?: string } = {},
): ErrorMessage {
  const text = message.length > MAX_ERROR_MESSAGE_LENGTH ? `${message.slice(0, MAX_ERROR_MESSAGE_LENGTH - 1)}…` : message;
  const out: ErrorMessage = { type: 'error', code, message: text };
  if (options.id !== undefined) out.id = options.id;
  if (options.path !== undefined) out.path = options.path;
  return out;
}

/**
 * The wire form of anything thrown while handling a message. A ProtocolError keeps its code, path
 * and request id; anything else becomes INTERNAL with a generic message, because stack traces and
 * file paths are the daemon's business, not the client's (log the original on the daemon side).
 */
export function errorMessageFrom(error: unknown, requestId?: RequestId): ErrorMessage {
  if (error instanceof ProtocolError) {
    const id = error.requestId ?? requestId;
    return makeErrorMessage(error.code, error.message, {
      ...(id !== undefined ? { id } : {}),
      ...(error.path !== undefined ? { path: error.path } : {}),
    });
  }
  return makeErrorMessage('INTERNAL', 'The daemon failed unexpectedly; its log has the details.', {
    ...(requestId !== undefined ? { id: requestId } : {}),
  });
}

/** The client-side error for a wire `error` message. */
export function protocolErrorFromMessage(message: ErrorMessage): ProtocolError {
  return new ProtocolError(message.code, message.message, {
    ...(message.path !== undefined ? { path: message.path } : {}),
    ...(message.id !== undefined ? { requestId: message.id } : {}),
  });
}
