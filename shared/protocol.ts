/**
 * Palette wire protocol, version 1: the messages between an editor plugin (or the CLI) and the daemon.
 *
 * Wire format (PROTOCOL.md is the full reference; this is the summary the code relies on):
 * - Transport: one WebSocket connection per client. Every message is ONE binary frame holding ONE
 *   MessagePack map (string keys only). Text frames, msgpack extension types (dates, typed arrays,
 *   records, structured clones) and trailing bytes are rejected with BAD_FRAME.
 * - Pixel data travels as msgpack `bin` (raw bytes, decoded as Uint8Array), never base64.
 * - Every map has a `type` field; `ClientMessage` and `ServerMessage` below are the complete lists.
 * - The first client message is `hello`; the daemon answers `welcome` (or `error` and closes).
 * - Requests carry a client-chosen id (`RequestId`); every daemon message about a request repeats it.
 *   Per request: queued* → started → (progress|preview)* → result×variants → done,
 *   or a terminal `error` / `cancelled` at any point. Exactly one terminal message per request.
 * - Optional fields are omitted, never sent as nil.
 *
 * This module is shared by the daemon (Node) and the browser plugin: it must not import Node APIs.
 */
import type { ProtocolErrorCode } from './protocol-errors.ts';

export const PROTOCOL_VERSION = 1;

// ---------------------------------------------------------------------------------------------
// Limits. The daemon may announce tighter ones in `welcome.limits`, never looser.
// ---------------------------------------------------------------------------------------------

/** Largest image (and largest uncropped canvas) in pixels: 64 megapixels. */
export const MAX_IMAGE_PIXELS = 64 * 1024 * 1024;
/** Largest width or height of any image. */
export const MAX_IMAGE_SIDE = 65535;
export const MAX_VARIANTS = 8;
export const MAX_STEPS = 1000;
/** The range of a request's workingSize, px. */
export const MIN_WORKING_SIZE = 32;
export const MAX_WORKING_SIZE = 1024;
/** Seeds are unsigned 32-bit integers. */
export const MAX_SEED = 0xffff_ffff;
/** Largest frame either side accepts by default (an rgba8 64 MP image is 256 MiB, plus the mask). */
export const DEFAULT_MAX_PAYLOAD_BYTES = 300 * 1024 * 1024;

export const MAX_REQUEST_ID_LENGTH = 64;
export const REQUEST_ID_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;
export const MAX_CLIENT_NAME_LENGTH = 100;
export const MAX_TOKEN_LENGTH = 512;
export const MAX_MODEL_NAME_LENGTH = 64;
/** Model names are folder names under models/; the pattern also keeps paths like `../x` out. */
export const MODEL_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Mask values ≥ this are generated, below it kept; soft edges come from `fill.feather`. */
export const MASK_THRESHOLD = 128;
/** A connection that sends no `hello` this long after opening is closed with HANDSHAKE_REQUIRED. */
export const HANDSHAKE_TIMEOUT_MS = 10_000;

export const MAX_EXTEND_PX = 16384;
export const MAX_EXTEND_FRACTION = 4;
export const MAX_CONTEXT_PADDING = 4;
export const MAX_FEATHER_PX = 256;
export const MAX_GROW_PX = 256;
export const MAX_PREVIEW_INTERVAL_MS = 60_000;
export const DEFAULT_PREVIEW_INTERVAL_MS = 250;
export const MIN_PREVIEW_SIZE = 16;
export const MAX_PREVIEW_SIZE = 1024;
export const DEFAULT_PREVIEW_MAX_SIZE = 256;
export const DEFAULT_PREVIEW_FORMAT: PreviewFormat = 'jpeg';

/**
 * Structural limits of a frame, checked before msgpackr builds any object, so a small hostile frame
 * cannot make the receiver allocate a huge tree. Real messages stay far below them.
 */
export const MAX_FRAME_DEPTH = 16;
export const MAX_FRAME_CONTAINER_ENTRIES = 4096;
export const MAX_FRAME_VALUES = 65_536;
export const MAX_FRAME_STRING_BYTES = 65_536;

/** The limits a daemon announces in `welcome`; validation and the codec take them as options. */
export interface ProtocolLimits {
  maxPixels: number;
  maxPayloadBytes: number;
  maxVariants: number;
  maxSteps: number;
}

export const DEFAULT_LIMITS: Readonly<ProtocolLimits> = Object.freeze({
  maxPixels: MAX_IMAGE_PIXELS,
  maxPayloadBytes: DEFAULT_MAX_PAYLOAD_BYTES,
  maxVariants: MAX_VARIANTS,
  maxSteps: MAX_STEPS,
});

/**
 * The daemon's queue bounds, announced in `welcome.limits` beside ProtocolLimits: a `generate` that
 * would pass one is refused with QUEUE_FULL. "In flight" = queued or running, not yet ended.
 */
export interface QueueLimits {
  /** Jobs in flight, all connections together. */
  maxQueuedJobs: number;
  /** Jobs in flight on one connection. */
  maxQueuedJobsPerClient: number;
  /** Bytes of the `generate` frames of jobs in flight, all connections together. */
  maxQueuedBytes: number;
  /** The same on one connection (a connection with nothing in flight may always send one job). */
  maxQueuedBytesPerClient: number;
}

/** WebSocket close codes the daemon uses (RFC 6455 §7.4.1). */
export const CLOSE_CODES = Object.freeze({
  /** Client or daemon is done. */
  NORMAL: 1000,
  /** Daemon shutting down. */
  GOING_AWAY: 1001,
  /** BAD_FRAME (text frames included), or HANDSHAKE_REQUIRED. */
  PROTOCOL_ERROR: 1002,
  /** UNAUTHORIZED or PROTOCOL_VERSION_MISMATCH. */
  POLICY_VIOLATION: 1008,
  /** Frame larger than limits.maxPayloadBytes. */
  MESSAGE_TOO_BIG: 1009,
  /** INTERNAL: the daemon hit a bug it cannot recover from on this connection. */
  INTERNAL_ERROR: 1011,
  /** TOO_MANY_CONNECTIONS: refused at once, before any hello (RFC 6455's registry: Try Again Later). */
  TRY_AGAIN_LATER: 1013,
});

// ---------------------------------------------------------------------------------------------
// Shared payloads
// ---------------------------------------------------------------------------------------------

/** 1–64 characters of [A-Za-z0-9_.-], unique among the connection's requests in flight. */
export type RequestId = string;

export const TASKS = ['fill', 'colorize', 'uncrop', 'restore'] as const;
export type Task = (typeof TASKS)[number];

export const SAMPLERS = ['ancestral', 'ddim', 'dpmpp-2m'] as const;
export type Sampler = (typeof SAMPLERS)[number];

export const PREVIEW_FORMATS = ['webp', 'jpeg'] as const;
export type PreviewFormat = (typeof PREVIEW_FORMATS)[number];

export const ENCODED_IMAGE_FORMATS = ['webp', 'jpeg', 'png'] as const;
export type EncodedImageFormat = (typeof ENCODED_IMAGE_FORMATS)[number];

/** 8-bit RGBA, row-major, straight alpha: data.byteLength === width * height * 4. */
export interface Rgba8Image {
  format: 'rgba8';
  width: number;
  height: number;
  data: Uint8Array;
}

/** A PNG file; the daemon decodes it (its size is only known after decoding). */
export interface PngImage {
  format: 'png';
  data: Uint8Array;
}

export type ImagePayload = Rgba8Image | PngImage;

/** 8-bit single channel, 255 = generate, 0 = keep: data.byteLength === width * height. */
export interface Gray8Mask {
  format: 'gray8';
  width: number;
  height: number;
  data: Uint8Array;
}

/** A PNG mask, converted to 8-bit grayscale (luminance; alpha ignored) after decoding. */
export type MaskPayload = Gray8Mask | PngImage;

/** Pixels, or a fraction of the image's width (left/right) or height (top/bottom). */
export type ExtendAmount = { unit: 'px'; value: number } | { unit: 'fraction'; value: number };

export interface ExtendSpec {
  left?: ExtendAmount;
  right?: ExtendAmount;
  top?: ExtendAmount;
  bottom?: ExtendAmount;
}

export interface FillOptions {
  /** Fraction of the mask's bounding box added around it as context, 0..4. */
  contextPadding?: number;
  /** Feather of the pasted result's edge in px, 0..256. */
  feather?: number;
  /** Grow (>0) or shrink (<0) the mask in px, -256..256. */
  grow?: number;
  /** Match the generated region's colours to its surroundings. Default true ('strength': false). */
  colorMatch?: boolean;
  /**
   * How the mask's values are read. 'threshold' (default): values ≥ 128 are regenerated whole, the rest
   * kept. 'strength': each value is its pixel's share of the request's strength (v/255: 255 changes a
   * pixel as much as `strength` does, 1 barely, 0 not at all), for soft brushes and feathered selections.
   */
  maskMode?: FillMaskMode;
}

export const FILL_MASK_MODES = ['threshold', 'strength'] as const;
export type FillMaskMode = (typeof FILL_MASK_MODES)[number];

export interface PreviewOptions {
  /** Minimum time between previews in ms, 0..60000; 0 = no previews. Default 250. */
  intervalMs?: number;
  /** Longest side of a preview image, 16..1024. Default 256. */
  maxSize?: number;
  /** Default 'jpeg' (every host can decode it). */
  format?: PreviewFormat;
}

export interface GenerateRequest {
  task: Task;
  image: ImagePayload;
  /** Required for `fill`, forbidden otherwise. */
  mask?: MaskPayload;
  /** Required for `uncrop` (at least one side > 0), forbidden otherwise. */
  extend?: ExtendSpec;
  /** 1..limits.maxVariants. */
  variants: number;
  /** 1..limits.maxSteps; default: the model's. */
  steps?: number;
  sampler?: Sampler;
  /** 0..1, only with `sampler: 'ddim'`. */
  eta?: number;
  /**
   * (0, 1]: start from a start image noised to this level of the schedule instead of pure noise
   * (⌈strength·steps⌉ model calls): for fill a smooth pre-fill of the hole from its surroundings, for
   * uncrop the photo mirrored outward, for colorize and restore the current pixels. Defaults (daemon/
   * generate.ts): restore by the JPEG's estimated quality (0.3 up to q10, 0.15 from q20), uncrop 0.5,
   * fill and colorize 1 (pure Palette).
   */
  strength?: number;
  /**
   * 32..1024 px: the side of the model jobs (context crops, tiles, passes are resized to about this
   * area). Default: the model's working size for the task (its manifest), else its native resolution.
   * Larger sees more context and more detail and costs about its area squared in time.
   */
  workingSize?: number;
  /** One uint32 per variant; when absent the daemon draws them and reports them in `started`. */
  seeds?: number[];
  model?: string;
  /** Only for `fill`. */
  fill?: FillOptions;
  preview?: PreviewOptions;
}

/** An encoded image the daemon sends back. */
export interface EncodedImage {
  format: EncodedImageFormat;
  width: number;
  height: number;
  data: Uint8Array;
}

export interface ModelInfo {
  name: string;
  version: string;
  tasks: string[];
  nativeResolution: number;
  sizeMultiple: number;
  parameters: number;
  defaultSampler: string;
  defaultSteps: number;
}

// ---------------------------------------------------------------------------------------------
// Client → daemon
// ---------------------------------------------------------------------------------------------

export interface HelloMessage {
  type: 'hello';
  protocol: number;
  /** Who is connecting, for the daemon's log: 1–100 characters, e.g. "palette-photopea/0.1.0". */
  client: string;
  /** Required when the daemon was started with a token; at most 512 characters. */
  token?: string;
}

export interface GenerateMessage {
  type: 'generate';
  id: RequestId;
  request: GenerateRequest;
}

export interface CancelMessage {
  type: 'cancel';
  id: RequestId;
}

export interface ListModelsMessage {
  type: 'list-models';
  id: RequestId;
}

export type ClientMessage = HelloMessage | GenerateMessage | CancelMessage | ListModelsMessage;
export type ClientMessageType = ClientMessage['type'];
export const CLIENT_MESSAGE_TYPES = ['hello', 'generate', 'cancel', 'list-models'] as const satisfies readonly ClientMessageType[];

// ---------------------------------------------------------------------------------------------
// Daemon → client
// ---------------------------------------------------------------------------------------------

export interface WelcomeMessage {
  type: 'welcome';
  protocol: number;
  server: { name: string; version: string };
  models: ModelInfo[];
  defaultModel: string | null;
  /** The queue bounds are optional to clients: a client may ignore them (and validate drops them). */
  limits: ProtocolLimits & Partial<QueueLimits>;
}

export interface ModelsMessage {
  type: 'models';
  id: RequestId;
  models: ModelInfo[];
}

export interface QueuedMessage {
  type: 'queued';
  id: RequestId;
  /** Jobs ahead of this one; sent again whenever it changes. */
  position: number;
}

export interface StartedMessage {
  type: 'started';
  id: RequestId;
  model: string;
  sampler: string;
  steps: number;
  seeds: number[];
  variants: number;
}

export interface ProgressMessage {
  type: 'progress';
  id: RequestId;
  step: number;
  total: number;
  etaMs: number;
  label: string;
}

/** A rectangle of canvas pixels (the coordinates of `result.layer` and `result.canvas`). */
export interface CanvasRegion {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface PreviewMessage {
  type: 'preview';
  id: RequestId;
  step: number;
  /**
   * Where on the canvas the images lie: the region being generated now (fill's context crop,
   * colorize's whole image, restore's tile, uncrop's pass window). Optional for clients because it
   * came within version 1 (PROTOCOL.md §11); the reference daemon always sends it.
   */
  region?: CanvasRegion;
  /** Variants 0 … k−1 (k ≤ variants) at `region`, each with the region's aspect ratio. */
  images: EncodedImage[];
}

export interface ResultMessage {
  type: 'result';
  id: RequestId;
  variant: number;
  seed: number;
  /** A PNG, RGBA with alpha = coverage, to place at (x, y) on a canvas of `canvas` size. */
  layer: { x: number; y: number; image: EncodedImage };
  canvas: { width: number; height: number };
}

export interface Timings {
  queuedMs: number;
  sampleMs: number;
  totalMs: number;
}

export interface DoneMessage {
  type: 'done';
  id: RequestId;
  timings: Timings;
}

export interface CancelledMessage {
  type: 'cancelled';
  id: RequestId;
}

export interface ErrorMessage {
  type: 'error';
  /** Present when the error concerns one request; absent for connection-level errors. */
  id?: RequestId;
  code: ProtocolErrorCode;
  message: string;
  /** The offending field, e.g. `request.variants`. */
  path?: string;
}

export type ServerMessage =
  | WelcomeMessage
  | ModelsMessage
  | QueuedMessage
  | StartedMessage
  | ProgressMessage
  | PreviewMessage
  | ResultMessage
  | DoneMessage
  | CancelledMessage
  | ErrorMessage;
export type ServerMessageType = ServerMessage['type'];
export const SERVER_MESSAGE_TYPES = [
  'welcome',
  'models',
  'queued',
  'started',
  'progress',
  'preview',
  'result',
  'done',
  'cancelled',
  'error',
] as const satisfies readonly ServerMessageType[];

/** Messages about one generate request, in the order PROTOCOL.md guarantees. */
export type GenerateEvent = QueuedMessage | StartedMessage | ProgressMessage | PreviewMessage | ResultMessage;

export type Message = ClientMessage | ServerMessage;
