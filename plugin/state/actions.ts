/**
 * Everything that can happen to the panel's state. The connection dispatches the connection/* and
 * daemon/event actions, the UI (through plugin/ui/controller.ts) the rest. Times are epoch ms and
 * passed in, so the reducer stays pure.
 */
import type { DoneMessage, GenerateEvent } from '../../shared/protocol.ts';
import type { SettingsPatch } from './settings.ts';
import type { Banner, OfflineReason, PanelTask, WelcomeInfo } from './types.ts';

export type PanelAction =
  // --- connection (plugin/connection/daemon-connection.ts)
  | { type: 'connection/connecting'; url: string }
  | { type: 'connection/connected'; url: string; welcome: WelcomeInfo }
  | { type: 'connection/reconnecting'; url: string; attempt: number; nextRetryAt: number; reason: string; at: number }
  | { type: 'connection/offline'; url: string; reason: OfflineReason; attempt: number; nextRetryAt: number | null; at: number }
  // --- settings (UI)
  | { type: 'task/select'; task: PanelTask }
  | { type: 'settings/update'; task: PanelTask; patch: SettingsPatch }
  // --- the job
  /** Generate pressed: the panel reads the document and builds the request. */
  | { type: 'job/preparing'; task: PanelTask; at: number }
  /** The request went out with this id. */
  | {
      type: 'job/sent';
      requestId: string;
      task: PanelTask;
      variants: number;
      /** Extend: the left and top extensions in px (where the old canvas lands); { 0, 0 } otherwise. */
      canvasOffset: { x: number; y: number };
      /** The document the request was read from (EditorDocument.documentId); absent or null: unknown. */
      documentId?: string | null;
      at: number;
    }
  /** A daemon message about the request in flight (queued, started, progress, preview, result, done). */
  | { type: 'daemon/event'; message: GenerateEvent | DoneMessage; at: number }
  | { type: 'job/cancel-requested' }
  /** The request ended with `cancelled` (requestId null: cancelled while preparing). */
  | { type: 'job/cancelled'; requestId: string | null; at: number }
  /** The request (or its preparation, requestId null) failed; the banner says why. */
  | { type: 'job/failed'; requestId: string | null; banner: Banner; at: number }
  // --- variants and the document
  | { type: 'variant/previewed'; variant: number | null }
  /** Variants added to the document as layers (the preview layer is gone). */
  | { type: 'variant/kept'; generation: number; variants: number[] }
  /** Extend: the document's canvas has (or, after an undo, no longer has) this strip's result size. */
  | { type: 'strip/canvas-resized'; generation: number; resized: boolean }
  /** Another document took the place of the one the strip (and a job in flight) were made from. */
  | { type: 'document/changed'; documentId: string | null }
  // --- banner
  | { type: 'banner/show'; banner: Banner }
  | { type: 'banner/dismiss' };

export type PanelActionType = PanelAction['type'];
