/**
 * EditorDocument for the standalone browser editor the daemon serves at `/`: a thin layer over
 * plugin/standalone/document-model.ts. The preview is the model's separate preview slot (drawn above
 * every layer, never in the layer list); Keep adds a real layer above the active one. The standalone
 * editor has no layer groups, so a group becomes consecutive layers named "<group> / <layer>".
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
    this.model.addLayer(await this.toLayer(layer, layer.name));
  }

  async addLayerGroup(groupName: string, layers: NewLayer[]): Promise<void> {
    this.requireDocument();
    const decoded = await Promise.all(layers.map((layer) => this.toLayer(layer, `${groupName} / ${layer.name}`)));
    for (const layer of decoded) this.model.addLayer(layer);
  }

  async resizeCanvas(resize: CanvasResize): Promise<void> {
    this.requireDocument();
    if (!(resize.width > 0 && resize.height > 0)) throw new EditorError('UNSUPPORTED', 'The canvas cannot be empty.');
    this.model.resizeCanvas(resize.width, resize.height, resize.offsetX, resize.offsetY);
  }

  private requireDocument(): void {
    if (!this.model.hasDocument) throw new EditorError('NO_DOCUMENT', 'Open an image first (the Open button, or drop a file on the canvas).');
  }

  private async toLayer(image: PlacedImage, name: string): Promise<EditorLayer> {
    const pixels = await this.decode(image.png);
    return { name, x: image.x, y: image.y, width: pixels.width, height: pixels.height, visible: true, pixels: pixels.data };
  }
}
