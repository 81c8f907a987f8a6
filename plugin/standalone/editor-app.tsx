/**
 * The standalone editor's chrome: toolbar (open, selection tools and mode, brush size, select all /
 * invert / none, export), the canvas area (canvas-area.tsx: tools, zoom and pan) and the layers list.
 * Drawing is delegated to CanvasView; the document lives in EditorModel.
 */
import { useCallback, useRef, useState, useSyncExternalStore } from 'react';
import { CanvasArea } from './canvas-area.tsx';
import { decodeImageFile } from './canvas-view.ts';
import type { EditorModel } from './document-model.ts';
import { ExportControls } from './export-controls.tsx';
import { LayersPanel } from './layers-panel.tsx';
import { invertMask, selectAllMask, type SelectionMode, type SelectionTool } from './selection-tools.ts';

export interface EditorAppProps {
  model: EditorModel;
  /** Shown when a file cannot be opened. */
  onError?: (message: string) => void;
  /** Asks before another image replaces unsaved layers; default window.confirm. */
  confirmReplace?: (message: string) => boolean;
}

export function EditorApp({ model, onError, confirmReplace = (m) => window.confirm(m) }: EditorAppProps) {
  const subscribe = useCallback((listener: () => void) => model.subscribe(listener), [model]);
  useSyncExternalStore(subscribe, () => model.version);
  const [tool, setTool] = useState<SelectionTool>('rect');
  const [brushSize, setBrushSize] = useState(24);
  const [mode, setMode] = useState<SelectionMode>('replace');
  const [documentName, setDocumentName] = useState('Untitled');
  const fileInput = useRef<HTMLInputElement>(null);
  const [error, setError] = useState<string | null>(null);

  const report = (message: string) => {
    setError(message);
    onError?.(message);
  };

  const open = async (file: File | undefined) => {
    if (!file) return;
    // Opening replaces the document: never drop kept or edited layers without asking.
    if (model.hasUnsavedLayers && !confirmReplace(`Open ${file.name}? The layers of the current image have not been exported and will be lost.`)) return;
    try {
      const name = file.name.replace(/\.[^.]+$/, '') || 'Image';
      model.openImage(name, await decodeImageFile(file));
      setDocumentName(name);
      setError(null);
    } catch (e) {
      report(`Could not open ${file.name}: ${e instanceof Error ? e.message : String(e)}`);
    }
  };

  return (
    <div className="editor">
      <div className="toolbar" role="toolbar" aria-label="Editor tools">
        {/* A real button, so Open… is reachable by keyboard; the file input itself stays hidden. */}
        <button type="button" data-testid="open-button" onClick={() => fileInput.current?.click()}>Open…</button>
        <input ref={fileInput} data-testid="open-file" className="open-file" type="file" accept="image/*" tabIndex={-1} aria-hidden="true"
          onChange={(e) => { void open(e.target.files?.[0]); e.target.value = ''; }} />
        {(['rect', 'lasso', 'brush'] as const).map((name) => (
          <button key={name} type="button" data-testid={`tool-${name}`} aria-pressed={tool === name} onClick={() => setTool(name)}>
            {name === 'rect' ? 'Rectangle' : name === 'lasso' ? 'Lasso' : 'Brush'}
          </button>
        ))}
        <label>
          Brush size
          <input data-testid="brush-size" type="number" min={1} max={500} value={brushSize}
            onChange={(e) => setBrushSize(Math.max(1, Number(e.target.value) || 1))} />
        </label>
        <span role="group" aria-label="Selection mode (Shift adds, Alt subtracts)" className="mode-group">
          {(['replace', 'add', 'subtract'] as const).map((m) => (
            <button key={m} type="button" data-testid={`mode-${m}`} aria-pressed={mode === m} onClick={() => setMode(m)}
              title={m === 'add' ? 'Add to the selection (Shift)' : m === 'subtract' ? 'Subtract from the selection (Alt)' : 'New selection'}>
              {m === 'replace' ? 'New' : m === 'add' ? 'Add' : 'Subtract'}
            </button>
          ))}
        </span>
        <button type="button" data-testid="select-all" title="Ctrl+A" aria-label="Select all" onClick={() => model.hasDocument && model.setSelection(selectAllMask(model.size))}>
          All
        </button>
        <button type="button" data-testid="select-invert" title="Ctrl+Shift+I" aria-label="Invert selection"
          onClick={() => model.hasDocument && model.setSelection(invertMask(model.selection, model.size))}>
          Invert
        </button>
        <button type="button" data-testid="select-none" title="Esc or Ctrl+D" aria-label="Select none"
          onClick={() => model.hasDocument && model.setSelection(null)}>
          None
        </button>
        <ExportControls model={model} documentName={documentName} onError={report} />
      </div>
      {error && (
        <div className="editor-error" role="alert">
          <span>{error}</span>
          <button type="button" data-testid="dismiss-editor-error" onClick={() => setError(null)}>Dismiss</button>
        </div>
      )}
      <div className="workspace">
        <CanvasArea model={model} tool={tool} brushSize={brushSize} mode={mode} documentName={documentName}
          onDropFile={(file) => void open(file)} />
        <LayersPanel model={model} />
      </div>
    </div>
  );
}
