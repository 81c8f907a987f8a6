/**
 * The one interface the panel uses to talk to the host editor (Photoshop via UXP, Photopea via
 * postMessage, or the standalone browser editor). Each host has exactly one implementation,
 * plugin/editor/<host>-document.ts, and it is the only module that touches that host's APIs.
 *
 * Coordinates are document pixels, origin top-left. Pixels are 8-bit RGBA (straight alpha) and masks
 * 8-bit single channel (255 = selected), the same layouts as the wire protocol's rgba8 / gray8.
 *
 * Rule: nothing here may modify the user's existing layers. Results go to new layers; the only
 * layer we ever replace or delete is our own temporary preview layer.
 */

export type EditorHost = 'photoshop' | 'photopea' | 'standalone';

export interface Size {
  width: number;
  height: number;
}

export interface RgbaPixels extends Size {
  data: Uint8Array; // width * height * 4
}

export interface MaskPixels extends Size {
  data: Uint8Array; // width * height
}

/** An image to place at (x, y) in document coordinates; it may extend past the canvas. */
export interface PlacedImage {
  x: number;
  y: number;
  /** PNG bytes as the daemon sends them (RGBA, alpha = coverage). */
  png: Uint8Array;
  width: number;
  height: number;
}

export interface NewLayer extends PlacedImage {
  /** e.g. "Palette fill · seed 1234" */
  name: string;
}

export interface CanvasResize extends Size {
  /** Where the old canvas's top-left corner lands in the new canvas (uncrop: left and top extensions). */
  offsetX: number;
  offsetY: number;
}

export interface EditorDocument {
  readonly host: EditorHost;
  /** False when no document is open; every other call then rejects with EditorError('NO_DOCUMENT'). */
  hasDocument(): Promise<boolean>;
  documentSize(): Promise<Size>;
  /** The active layer's pixels over the whole document (transparent where the layer has none). */
  readActiveLayer(): Promise<RgbaPixels>;
  /** The selection as a document-size mask, or null when nothing is selected. */
  readSelection(): Promise<MaskPixels | null>;
  /** Shows `image` as the single temporary preview layer (creating or replacing it). */
  showPreview(image: PlacedImage): Promise<void>;
  /** Removes the temporary preview layer if there is one. */
  clearPreview(): Promise<void>;
  /** Adds a real layer above the active one; one undo step. */
  addLayer(layer: NewLayer): Promise<void>;
  /** Adds every layer inside a new layer group named `groupName`; one undo step. */
  addLayerGroup(groupName: string, layers: NewLayer[]): Promise<void>;
  /** Grows (or shrinks) the canvas; existing layers keep their pixels, shifted by the offset. */
  resizeCanvas(resize: CanvasResize): Promise<void>;
  /**
   * Which document is open: an id that changes when another document takes its place, or null when
   * none is open. Hosts that can tell documents apart implement it, so results made from one
   * document are never placed into another.
   */
  documentId?(): Promise<string | null>;
  /** Calls `listener` when another document replaces the open one; returns the unsubscribe function. */
  onDocumentChange?(listener: () => void): () => void;
}

export type EditorErrorCode =
  | 'NO_DOCUMENT'
  | 'NO_ACTIVE_LAYER'
  /** The document changed between reading it and placing a result: nothing was placed. */
  | 'DOCUMENT_CHANGED'
  | 'HOST_ERROR'
  | 'HOST_TIMEOUT'
  | 'UNSUPPORTED';

export class EditorError extends Error {
  readonly code: EditorErrorCode;

  constructor(code: EditorErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EditorError';
    this.code = code;
  }
}
