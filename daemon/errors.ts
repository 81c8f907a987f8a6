/**
 * Typed errors of the daemon. Every error has a stable `code` that tests, logs and (later) the wire
 * protocol use; the message says what went wrong and what to do.
 */
export type DaemonErrorCode =
  | 'MODEL_NOT_FOUND'
  | 'MODEL_MANIFEST_INVALID'
  | 'MODEL_CHECKSUM_MISMATCH'
  | 'MODEL_SIGNATURE_MISMATCH'
  | 'MODEL_LOAD_FAILED'
  | 'MODEL_RUN_FAILED'
  | 'INVALID_ARGUMENT'
  | 'IMAGE_DECODE_FAILED'
  | 'IMAGE_ENCODE_FAILED'
  | 'MASK_SIZE_MISMATCH'
  | 'MASK_EMPTY'
  | 'TASK_NOT_SUPPORTED'
  | 'QUEUE_FULL';

export class DaemonError extends Error {
  readonly code: DaemonErrorCode;

  constructor(code: DaemonErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DaemonError';
    this.code = code;
  }
}
