/**
 * Errors → what the user reads. Every failure the panel can meet (a protocol error from the daemon
 * or the client, an editor error from the host adapter, a check of the panel itself) becomes a
 * Banner with a title saying what happened and an action saying what to do. This is the one place
 * those texts live.
 */
import { ProtocolError, isProtocolErrorCode, type ProtocolErrorCode } from '../../shared/protocol-errors.ts';
import { EditorError, type EditorErrorCode } from '../editor/editor-document.ts';
import type { Banner, PanelTask } from './types.ts';

/** How to start the daemon, said the same way everywhere. */
export const START_DAEMON_HELP = 'Start the daemon: run `npm start` in the Palette folder, or `palette serve`.';

/** Problems the panel finds itself, before anything is sent. */
export type PanelErrorCode =
  | 'NO_SELECTION'
  | 'EMPTY_LAYER'
  | 'NO_EXTEND_SIDE'
  | 'NOT_CONNECTED'
  | 'NO_MODEL'
  | 'BUSY'
  | 'NOTHING_TO_KEEP'
  /** The variants were made from another document than the one open now. */
  | 'OTHER_DOCUMENT'
  /** Colorize on a layer that already has colour, without "Replace existing colour". */
  | 'LAYER_HAS_COLOUR';

export class PanelError extends Error {
  readonly code: PanelErrorCode;

  constructor(code: PanelErrorCode, message: string) {
    super(message);
    this.name = 'PanelError';
    this.code = code;
  }
}

const negative = (title: string, action: string, code: string, detail?: string): Banner => ({
  tone: 'negative',
  title,
  action,
  code,
  ...(detail ? { detail } : {}),
});

const PANEL_BANNERS: Record<PanelErrorCode, (detail: string) => Banner> = {
  NO_SELECTION: () =>
    ({ tone: 'notice', code: 'NO_SELECTION', title: 'Make a selection first', action: 'Select the area to fill with any selection tool, then press Generate.' }),
  EMPTY_LAYER: () =>
    ({ tone: 'notice', code: 'EMPTY_LAYER', title: 'The active layer is empty', action: 'Select a layer with pixels in the Layers panel, then press Generate.' }),
  NO_EXTEND_SIDE: () =>
    ({ tone: 'notice', code: 'NO_EXTEND_SIDE', title: 'Choose where to extend', action: 'Turn on at least one side (left, right, top or bottom) and set an amount above 0.' }),
  NOT_CONNECTED: () => negative('Not connected to the daemon', `${START_DAEMON_HELP} The panel connects by itself once it runs.`, 'NOT_CONNECTED'),
  NO_MODEL: (detail) =>
    negative('No model installed', 'Install a model in the models folder (see models/README.md), then restart the daemon.', 'NO_MODEL', detail),
  BUSY: () => ({ tone: 'notice', code: 'BUSY', title: 'A generation is already running', action: 'Wait for it to finish, or press Cancel.' }),
  NOTHING_TO_KEEP: () => ({ tone: 'notice', code: 'NOTHING_TO_KEEP', title: 'Nothing to keep yet', action: 'Wait for a variant to finish, then press Keep.' }),
  LAYER_HAS_COLOUR: (detail) => ({
    tone: 'notice',
    code: 'LAYER_HAS_COLOUR',
    title: 'This layer already has colour',
    action: 'Colorize keeps only its brightness and paints new colours, so its own would be lost. Nothing was changed. '
      + 'To colorize anyway, turn on "Replace existing colour" and press Generate again.',
    ...(detail ? { detail } : {}),
  }),
  OTHER_DOCUMENT: (detail) => ({
    tone: 'notice',
    code: 'OTHER_DOCUMENT',
    title: 'These variants belong to another document',
    action: 'Nothing was added. Switch back to the document they were made from, or press Generate for this one.',
    ...(detail ? { detail } : {}),
  }),
};

const EDITOR_BANNERS: Record<EditorErrorCode, (detail: string) => Banner> = {
  NO_DOCUMENT: (d) => negative('No document is open', 'Open or create a document, then press Generate.', 'NO_DOCUMENT', d),
  NO_ACTIVE_LAYER: (d) => negative('No active layer', 'Select a pixel layer in the Layers panel, then try again.', 'NO_ACTIVE_LAYER', d),
  DOCUMENT_CHANGED: (d) =>
    negative('The document changed', 'Another document was opened while the result was being placed, so nothing was added to it.', 'DOCUMENT_CHANGED', d),
  HOST_TIMEOUT: (d) =>
    negative('The editor did not answer', 'Close open dialogs or finish the current tool action, then try again.', 'HOST_TIMEOUT', d),
  HOST_ERROR: (d) => negative('The editor reported an error', 'Try again; if it keeps happening, the detail below says what the editor refused.', 'HOST_ERROR', d),
  UNSUPPORTED: (d) => negative('Not supported in this editor', 'This action is not available here; the detail below says why.', 'UNSUPPORTED', d),
};

function protocolBanner(code: ProtocolErrorCode, detail: string, task?: PanelTask): Banner {
  switch (code) {
    case 'CONNECTION_CLOSED':
      return negative(
        'The daemon went away',
        `The generation stopped. Palette reconnects by itself: press Generate again once the status says Connected. If it stays offline: ${START_DAEMON_HELP}`,
        code,
        detail,
      );
    case 'CANCELLED':
      return { tone: 'notice', title: 'Cancelled', action: 'Variants that finished before the cancel are still in the strip.', code };
    case 'PAYLOAD_TOO_LARGE':
    case 'IMAGE_TOO_LARGE':
      return negative('The image is too large', 'Select a smaller area, make the extension smaller, or downscale the document, then try again.', code, detail);
    case 'QUEUE_FULL':
      return negative('The daemon is busy', 'Its queue is full. Wait for running generations to finish, then try again.', code, detail);
    case 'TOO_MANY_CONNECTIONS':
      return negative('The daemon has too many connections', 'Close other Palette panels or scripts connected to it, then try again.', code, detail);
    case 'MODEL_FAILED':
      return negative('The model failed', 'Try fewer variants or a smaller image. If it keeps failing, check the daemon\'s log.', code, detail);
    case 'MODEL_NOT_FOUND':
      return negative('The model is not installed', 'Install a model in the models folder (see models/README.md) and restart the daemon.', code, detail);
    case 'TASK_NOT_SUPPORTED':
      return negative(
        `The model cannot ${task === undefined ? 'do this task' : task}`,
        'Install or pick a model whose tasks include it, then try again.',
        code,
        detail,
      );
    case 'UNAUTHORIZED':
      return negative('The daemon wants a token', 'Open the panel with the token `palette serve` printed (or set PALETTE_TOKEN), then retry.', code, detail);
    case 'PROTOCOL_VERSION_MISMATCH':
      return negative('Plugin and daemon versions do not match', 'Update the plugin and the daemon to the same Palette version.', code, detail);
    case 'INVALID_FIELD':
    case 'UNKNOWN_FIELD':
      return negative('The daemon rejected the request', 'Check the settings (the detail names the field). If they look right, please report this as a Palette bug.', code, detail);
    case 'IMAGE_DECODE_FAILED':
    case 'MASK_SIZE_MISMATCH':
    case 'BAD_FRAME':
    case 'HANDSHAKE_REQUIRED':
    case 'UNKNOWN_MESSAGE_TYPE':
    case 'DUPLICATE_REQUEST_ID':
    case 'UNKNOWN_REQUEST':
      return negative('Palette sent something the daemon could not read', 'Try again; if it happens again, please report it as a Palette bug.', code, detail);
    case 'INTERNAL':
      return negative('The daemon hit an error', 'Try again; if it happens again, report it with the daemon\'s log.', code, detail);
  }
}

/** The banner for anything thrown while generating, previewing or keeping. */
export function bannerFor(error: unknown, task?: PanelTask): Banner {
  if (error instanceof PanelError) return PANEL_BANNERS[error.code](error.message);
  if (error instanceof EditorError) return EDITOR_BANNERS[error.code](error.message);
  if (error instanceof ProtocolError) return protocolBanner(error.code, error.message, task);
  // Errors from another copy of these classes (two bundles) still carry name and code.
  if (error instanceof Error && 'code' in error) {
    const code = (error as { code: unknown }).code;
    if (error.name === 'ProtocolError' && isProtocolErrorCode(code)) return protocolBanner(code, error.message, task);
    if (error.name === 'EditorError' && typeof code === 'string' && code in EDITOR_BANNERS) {
      return EDITOR_BANNERS[code as EditorErrorCode](error.message);
    }
  }
  const detail = error instanceof Error ? error.message : String(error);
  return negative('Something went wrong', 'Try again; if it happens again, please report it with the detail below.', 'UNEXPECTED', detail);
}

/** After Cancel: how many variants finished before it, and that they are still there to keep. */
export function cancelledBanner(finished: number, asked: number): Banner {
  const action = finished === 0
    ? 'No variant had finished yet. Press Generate to start again.'
    : `${finished} of ${asked} variant${asked === 1 ? '' : 's'} had finished; ${finished === 1 ? 'it is' : 'they are'} in the strip below to preview and keep.`;
  return { tone: 'notice', title: 'Cancelled', action, code: 'CANCELLED' };
}

/** Replaces whatever the connection's loss left on screen ("Not connected", "The daemon went away"). */
export function reconnectedBanner(): Banner {
  return { tone: 'notice', title: 'Reconnected', action: 'The daemon is back. Press Generate to run again; kept layers and finished variants are unchanged.', code: 'RECONNECTED' };
}

/** Another document replaced the one the variants were made from. */
export function documentChangedBanner(jobCancelled: boolean): Banner {
  return {
    tone: 'notice',
    title: 'Another document is open',
    action: `The variants of the previous document were cleared${jobCancelled ? ' and its generation cancelled' : ''}, so none can land here. Press Generate for this one.`,
    code: 'DOCUMENT_CHANGED',
  };
}

/** Codes of banners that only say the connection is (was) down: a working connection makes them stale. */
export const CONNECTION_BANNER_CODES: readonly string[] = ['NOT_CONNECTED', 'CONNECTION_CLOSED', 'TOO_MANY_CONNECTIONS'];

/** The status line's text while offline, by reason. */
export function offlineMessage(reason: 'unreachable' | 'unauthorized' | 'version-mismatch', url: string): string {
  switch (reason) {
    case 'unreachable':
      return `No daemon at ${url}. ${START_DAEMON_HELP} The panel connects by itself once it runs.`;
    case 'unauthorized':
      return `The daemon at ${url} refused the token. Open the panel with the token \`palette serve\` printed, then press Retry.`;
    case 'version-mismatch':
      return `The daemon at ${url} speaks another protocol version. Update the plugin and the daemon to the same Palette version.`;
  }
}
