/**
 * EditorDocument for the standalone browser editor the daemon serves at `/`: a thin layer over
 * plugin/standalone/document-model.ts. The preview is the model's separate preview slot (drawn above
 * every layer, never in the layer list); Keep adds a real layer above the active one, Keep all a real
 * group, each one undo step of the model's history.
 *
 * Results are bound to the image they were made from: `documentId` changes when another image is
 * opened, and a layer whose image was opened over while its PNG decoded is refused
 * (DOCUMENT_CHANGED) instead of landing on the new photo.
 */
import {
  EditorError,
  type CanvasResize, type EditorDocument, type MaskPixels, type NewLayer, type PlacedImage, type RgbaPixels, type Size,
} from './editor-document.ts';
import { decodePng } from './png-decode.ts';
import type { EditorLayer, EditorModel } from '../standalone/document-model.ts';

export const PREVIEW_LAYER_NAME = 'Palette preview';

export class StandaloneDocument implements EditorDocument {
  readonly host = 'standalone' as const;

  constructor(private readonly model: EditorModel, private readonly decode: (png: Uint8Array) => Promise<RgbaPixels> = decodePng) {}

  async hasDocument(): Promise<boolean> {
    return this.model.hasDocument;
  }

  async documentId(): Promise<string | null> {
    return this.model.hasDocument ? `standalone-${this.model.documentId}` : null;
  }

  onDocumentChange(listener: () => void): () => void {
    let seen = this.model.documentId;
    return this.model.subscribe(() => {
      if (this.model.documentId === seen) return;
      seen = this.model.documentId;
      listener();
    });
  }

  async documentSize(): Promise<Size> {
    this.requireDocument();
    return this.model.size;
  }

  async readActiveLayer(): Promise<RgbaPixels> {
    this.requireDocument();
    if (!this.model.layers[this.model.activeIndex]) throw new EditorError('NO_ACTIVE_LAYER', 'Select a layer first.');
    return this.model.layerOnDocument(this.model.activeIndex);
  }

  async readSelection(): Promise<MaskPixels | null> {
    this.requireDocument();
    return this.model.selectionMask();
  }

  async showPreview(image: PlacedImage): Promise<void> {
    this.requireDocument();
    this.model.setPreview(await this.toLayer(image, PREVIEW_LAYER_NAME));
  }

  async clearPreview(): Promise<void> {
    if (this.model.preview) this.model.setPreview(null);
  }

  async addLayer(layer: NewLayer): Promise<void> {
    this.requireDocument();
    const opened = this.model.documentId;
    const decoded = await this.toLayer(layer, layer.name);
    this.requireSameDocument(opened);
    this.model.addLayer(decoded, `Keep ${layer.name}`);
  }

  async addLayerGroup(groupName: string, layers: NewLayer[]): Promise<void> {
    this.requireDocument();
    const opened = this.model.documentId;
    const decoded = await Promise.all(layers.map((layer) => this.toLayer(layer, layer.name)));
    this.requireSameDocument(opened);
    this.model.addLayerGroup(groupName, decoded, `Keep all (${groupName})`);
  }

  async resizeCanvas(resize: CanvasResize): Promise<void> {
    this.requireDocument();
    if (!(resize.width > 0 && resize.height > 0)) throw new EditorError('UNSUPPORTED', 'The canvas cannot be empty.');
    // The panel resizes only to place an extend result next: both are one undo step.
    this.model.resizeCanvas(resize.width, resize.height, resize.offsetX, resize.offsetY, { joinNext: 'Keep extended canvas' });
  }

  private requireDocument(): void {
    if (!this.model.hasDocument) throw new EditorError('NO_DOCUMENT', 'Open an image first (the Open button, or drop a file on the canvas).');
  }

  private requireSameDocument(opened: number): void {
    if (this.model.documentId !== opened) {
      throw new EditorError('DOCUMENT_CHANGED', 'Another image was opened while the result was being placed; nothing was added to it.');
    }
  }

  private async toLayer(image: PlacedImage, name: string): Promise<EditorLayer> {
    const pixels = await this.decode(image.png);
    return { name, x: image.x, y: image.y, width: pixels.width, height: pixels.height, visible: true, pixels: pixels.data };
  }
}
