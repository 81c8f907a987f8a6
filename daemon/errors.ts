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
  /** The remote inference server (--executor kserve) cannot be reached, refuses us, or lacks the model. */
  | 'EXECUTOR_UNAVAILABLE'
  | 'INVALID_ARGUMENT'
  | 'IMAGE_DECODE_FAILED'
  | 'IMAGE_TOO_LARGE'
  | 'IMAGE_ENCODE_FAILED'
  | 'MASK_SIZE_MISMATCH'
  | 'MASK_EMPTY'
  | 'TASK_NOT_SUPPORTED'
  | 'QUEUE_FULL';

export class DaemonError extends Error {
  readonly code: DaemonErrorCode;
  /** The request field the error is about (`request.mask.data`), when the thrower knows it. */
  readonly path?: string;

  constructor(code: DaemonErrorCode, message: string, options?: { cause?: unknown; path?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DaemonError';
    this.code = code;
    if (options?.path !== undefined) this.path = options.path;
  }

  /** The same error about `path` (imaging does not know which request field it decodes). */
  at(path: string): DaemonError {
    return new DaemonError(this.code, this.message, { cause: this.cause, path });
  }
}

/** Runs `work`, naming `path` in any DaemonError it throws that does not name a field yet. */
export async function atPath<T>(path: string, work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (error) {
    throw error instanceof DaemonError && error.path === undefined ? error.at(path) : error;
  }
}
