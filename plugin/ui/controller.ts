/**
 * What the panel's buttons do, without React: Generate reads the document through the
 * EditorDocument, builds the request (plugin/state/request.ts) and hands it to the connection;
 * clicking a variant shows it as the document's preview layer; Keep / Keep all add real layers
 * (resizing the canvas first for Extend). Failures become banners in the store.
 *
 * Editor calls are serialized: a click on another variant while the host is still placing the
 * previous preview waits for it, so previews and layers never interleave.
 *
 * Results are bound to the document they were read from: when the host reports another document
 * (EditorDocument.onDocumentChange) the strip is cleared and a job for the old one cancelled, and
 * every preview or Keep first checks the document id, so nothing lands on another document.
 * When a job ends with results, the first is previewed in the document at once.
 */
import type { DaemonConnection } from '../connection/daemon-connection.ts';
import type { EditorDocument } from '../editor/editor-document.ts';
import { EditorError } from '../editor/editor-document.ts';
import { PanelError, bannerFor } from '../state/banners.ts';
import { buildGenerateRequest } from '../state/request.ts';
import { canvasResizeFor, groupName, keptLayer, previewPlacement, stripResult } from '../state/selectors.ts';
import type { PanelStore } from '../state/store.ts';
import type { VariantStrip } from '../state/types.ts';

export class PanelController {
  private editorQueue: Promise<void> = Promise.resolve();
  private readonly stopWatchingDocument: () => void;

  constructor(
    private readonly store: PanelStore,
    private readonly editor: EditorDocument,
    private readonly connection: DaemonConnection,
    private readonly now: () => number = Date.now,
  ) {
    this.stopWatchingDocument = editor.onDocumentChange?.(() => void this.documentChanged()) ?? (() => undefined);
  }

  dispose(): void {
    this.stopWatchingDocument();
  }

  /** Generate: read the document, build the request, send it. Resolves when the job has ended. */
  async generate(): Promise<void> {
    const { store } = this;
    const start = store.getState();
    if (start.job) {
      store.dispatch({ type: 'banner/show', banner: bannerFor(new PanelError('BUSY', 'A job is in flight.')) });
      return;
    }
    if (!this.connection.isOpen) {
      store.dispatch({ type: 'banner/show', banner: bannerFor(new PanelError('NOT_CONNECTED', 'No open connection.')) });
      return;
    }
    const task = start.task;
    store.dispatch({ type: 'job/preparing', task, at: this.now() });
    const generation = store.getState().job?.generation;
    let prepared;
    let documentId: string | null = null;
    try {
      prepared = await this.onEditor(async () => {
        if (!(await this.editor.hasDocument())) throw new EditorError('NO_DOCUMENT', 'No document is open.');
        documentId = (await this.editor.documentId?.()) ?? null;
        // The old preview layer must not end up in the pixels we read.
        await this.editor.clearPreview();
        store.dispatch({ type: 'variant/previewed', variant: null });
        const layer = await this.editor.readActiveLayer();
        const selection = task === 'fill' ? await this.editor.readSelection() : null;
        const state = store.getState();
        return buildGenerateRequest(task, state.settings, { layer, selection }, state.welcome);
      });
    } catch (error) {
      store.dispatch({ type: 'job/failed', requestId: null, banner: bannerFor(error, task), at: this.now() });
      return;
    }
    if (store.getState().job?.cancelRequested) {
      store.dispatch({ type: 'job/cancelled', requestId: null, at: this.now() });
      return;
    }
    await this.connection.generate(prepared.request, { task, canvasOffset: prepared.canvasOffset, documentId });
    await this.previewFirstResult(generation);
  }

  cancel(): void {
    this.connection.cancel();
  }

  /** Shows a strip variant as the document's preview layer; the same variant again hides it. */
  previewVariant(variant: number): Promise<void> {
    return this.onEditorReporting(async () => {
      const { strip, previewedVariant } = this.store.getState();
      const result = stripResult(strip, variant);
      if (!strip || !result) return;
      await this.requireStripDocument(strip);
      if (previewedVariant === variant) {
        await this.editor.clearPreview();
        this.store.dispatch({ type: 'variant/previewed', variant: null });
        return;
      }
      await this.editor.showPreview(previewPlacement(await this.withCanvasState(strip, result), result));
      this.store.dispatch({ type: 'variant/previewed', variant });
    });
  }

  /** Keeps one variant (default: the previewed one, else the first finished) as a new layer. */
  keep(variant?: number): Promise<void> {
    return this.onEditorReporting(async () => {
      const { strip, previewedVariant, chosenVariant } = this.store.getState();
      const chosen = variant ?? previewedVariant ?? chosenVariant ?? strip?.results[0]?.variant;
      const result = chosen === undefined ? undefined : stripResult(strip, chosen);
      if (!strip || !result) throw new PanelError('NOTHING_TO_KEEP', 'No finished variant.');
      await this.requireStripDocument(strip);
      await this.editor.clearPreview();
      await this.resizeForExtend(await this.withCanvasState(strip, result), result);
      await this.editor.addLayer(keptLayer(this.currentStrip(strip), result));
      this.store.dispatch({ type: 'variant/kept', generation: strip.generation, variants: [result.variant] });
    });
  }

  /** Keeps every finished variant, as layers inside one new group. */
  keepAll(): Promise<void> {
    return this.onEditorReporting(async () => {
      const { strip } = this.store.getState();
      const first = strip?.results[0];
      if (!strip || !first) throw new PanelError('NOTHING_TO_KEEP', 'No finished variant.');
      await this.requireStripDocument(strip);
      await this.editor.clearPreview();
      await this.resizeForExtend(await this.withCanvasState(strip, first), first);
      const current = this.currentStrip(strip);
      await this.editor.addLayerGroup(groupName(strip.task, strip.results.length), strip.results.map((r) => keptLayer(current, r)));
      this.store.dispatch({ type: 'variant/kept', generation: strip.generation, variants: strip.results.map((r) => r.variant) });
    });
  }

  dismissBanner(): void {
    this.store.dispatch({ type: 'banner/dismiss' });
  }

  // -------------------------------------------------------------------------------------------

  /** After a job: the first result goes into the document at once, unless a variant is already shown. */
  private async previewFirstResult(generation: number | undefined): Promise<void> {
    const { strip, previewedVariant, job } = this.store.getState();
    const first = strip?.results[0];
    if (!strip || !first || strip.generation !== generation || previewedVariant !== null || job) return;
    await this.previewVariant(first.variant);
  }

  /** The host opened another document: drop the strip made from the old one, and cancel its job. */
  private async documentChanged(): Promise<void> {
    const documentId = (await this.editor.documentId?.()) ?? null;
    const before = this.store.getState();
    this.store.dispatch({ type: 'document/changed', documentId });
    const after = this.store.getState();
    if (after.job && after.job.cancelRequested && !before.job?.cancelRequested) this.connection.cancel();
  }

  /** Refuses (and clears the strip) when the open document is not the one the strip was made from. */
  private async requireStripDocument(strip: VariantStrip): Promise<void> {
    if (strip.documentId === null || !this.editor.documentId) return;
    const current = await this.editor.documentId();
    if (current === strip.documentId) return;
    this.store.dispatch({ type: 'document/changed', documentId: current });
    throw new PanelError('OTHER_DOCUMENT', 'The variants were made from another document.');
  }

  /**
   * Extend: whether the canvas is already extended is read from the document each time, not
   * remembered: the user may have undone the Keep that resized it (or redone it), and a stale
   * answer would place the result off by the extension.
   */
  private async withCanvasState(strip: VariantStrip, result: VariantStrip['results'][number]): Promise<VariantStrip> {
    if (strip.task !== 'extend') return strip;
    const size = await this.editor.documentSize();
    const resized = size.width === result.canvas.width && size.height === result.canvas.height;
    this.store.dispatch({ type: 'strip/canvas-resized', generation: strip.generation, resized });
    return this.currentStrip(strip);
  }

  private async resizeForExtend(strip: VariantStrip, result: VariantStrip['results'][number]): Promise<void> {
    const resize = canvasResizeFor(strip, result);
    if (!resize) return;
    await this.editor.resizeCanvas(resize);
    this.store.dispatch({ type: 'strip/canvas-resized', generation: strip.generation, resized: true });
  }

  /** The strip as the store has it now (canvasResized may have changed), if it is still the same one. */
  private currentStrip(strip: VariantStrip): VariantStrip {
    const now = this.store.getState().strip;
    return now && now.generation === strip.generation ? now : strip;
  }

  /** Runs an editor operation after the ones before it. */
  private onEditor<T>(operation: () => Promise<T>): Promise<T> {
    const run = this.editorQueue.then(operation);
    this.editorQueue = run.then(() => undefined, () => undefined);
    return run;
  }

  /** As onEditor, with failures shown as a banner instead of thrown. */
  private onEditorReporting(operation: () => Promise<void>): Promise<void> {
    return this.onEditor(operation).catch((error: unknown) => {
      const task = this.store.getState().strip?.task;
      this.store.dispatch({ type: 'banner/show', banner: bannerFor(error, task) });
    });
  }
}
