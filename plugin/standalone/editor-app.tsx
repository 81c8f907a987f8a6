/**
 * The standalone editor's chrome: toolbar (open, selection tools, brush size, select none, export),
 * the canvas area (pointer input for the tools, drag-and-drop to open) and the layers list. Drawing
 * is delegated to CanvasView; the document lives in EditorModel.
 */
import { useCallback, useEffect, useRef, useState, useSyncExternalStore, type DragEvent, type PointerEvent } from 'react';
import { CanvasView, decodeImageFile, encodePng } from './canvas-view.ts';
import type { EditorModel } from './document-model.ts';
import { brushStroke, polygonMask, rectMask, type Point, type SelectionTool } from './selection-tools.ts';

export interface EditorAppProps {
  model: EditorModel;
  /** Shown when a file cannot be opened. */
  onError?: (message: string) => void;
}

export function EditorApp({ model, onError }: EditorAppProps) {
  const subscribe = useCallback((listener: () => void) => model.subscribe(listener), [model]);
  useSyncExternalStore(subscribe, () => model.version);
  const [tool, setTool] = useState<SelectionTool>('rect');
  const [brushSize, setBrushSize] = useState(24);
  const [error, setError] = useState<string | null>(null);

  const report = (message: string) => {
    setError(message);
    onError?.(message);
  };

  const open = async (file: File | undefined) => {
    if (!file) return;
    try {
      model.openImage(file.name.replace(/\.[^.]+$/, '') || 'Image', await decodeImageFile(file));
      setError(null);
    } catch (e) {
      report(`Could not open ${file.name}: ${e instanceof Error ? e.message : String(e)}`);
    }
  };

  const exportPng = async () => {
    if (!model.hasDocument) return;
    const blob = await encodePng(model.composite(false));
    const url = URL.createObjectURL(blob);
    const link = document.createElement('a');
    link.href = url;
    link.download = 'palette.png';
    link.click();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  };

  return (
    <div className="editor">
      <div className="toolbar" role="toolbar" aria-label="Editor tools">
        <label className="open-button">
          Open…
          <input data-testid="open-file" type="file" accept="image/*"
            onChange={(e) => { void open(e.target.files?.[0]); e.target.value = ''; }} />
        </label>
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
        <button type="button" data-testid="select-none" onClick={() => model.hasDocument && model.setSelection(null)}>
          Select none
        </button>
        <button type="button" data-testid="export-png" disabled={!model.hasDocument} onClick={() => void exportPng()}>
          Export PNG
        </button>
      </div>
      {error && <div className="editor-error" role="alert">{error}</div>}
      <div className="workspace">
        <CanvasArea model={model} tool={tool} brushSize={brushSize} onDropFile={(file) => void open(file)} />
        <LayersList model={model} />
      </div>
    </div>
  );
}

interface CanvasAreaProps {
  model: EditorModel;
  tool: SelectionTool;
  brushSize: number;
  onDropFile: (file: File | undefined) => void;
}

function CanvasArea({ model, tool, brushSize, onDropFile }: CanvasAreaProps) {
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const areaRef = useRef<HTMLDivElement>(null);
  const viewRef = useRef<CanvasView | null>(null);
  const stroke = useRef<{ points: Point[]; brushMask?: Uint8Array } | null>(null);

  useEffect(() => {
    const view = new CanvasView(canvasRef.current!, model, areaRef.current ?? undefined);
    viewRef.current = view;
    return () => view.dispose();
  }, [model]);

  const point = (e: PointerEvent) => viewRef.current!.toDocument(e.clientX, e.clientY);

  const down = (e: PointerEvent<HTMLCanvasElement>) => {
    if (!model.hasDocument || e.button !== 0) return;
    e.currentTarget.setPointerCapture(e.pointerId);
    const p = point(e);
    stroke.current = { points: [p] };
    if (tool === 'brush') {
      const mask = model.selection ? model.selection.slice() : new Uint8Array(model.width * model.height);
      brushStroke(mask, model.size, p, p, brushSize);
      stroke.current.brushMask = mask;
      model.setSelection(mask);
    }
  };

  const move = (e: PointerEvent<HTMLCanvasElement>) => {
    const current = stroke.current;
    if (!current) return;
    const p = point(e);
    const last = current.points[current.points.length - 1]!;
    current.points.push(p);
    if (tool === 'rect') viewRef.current!.setDraft({ kind: 'rect', from: current.points[0]!, to: p });
    else if (tool === 'lasso') viewRef.current!.setDraft({ kind: 'lasso', points: current.points });
    else if (current.brushMask) {
      brushStroke(current.brushMask, model.size, last, p, brushSize);
      model.setSelection(current.brushMask);
    }
  };

  const up = (e: PointerEvent<HTMLCanvasElement>) => {
    const current = stroke.current;
    if (!current) return;
    stroke.current = null;
    viewRef.current!.setDraft(null);
    const p = point(e);
    const first = current.points[0]!;
    if (tool === 'rect') model.setSelection(rectMask(model.size, first, p));
    else if (tool === 'lasso') model.setSelection(polygonMask(model.size, [...current.points, p]));
  };

  const drop = (e: DragEvent) => {
    e.preventDefault();
    onDropFile(e.dataTransfer.files[0]);
  };

  return (
    <div className="canvas-area" ref={areaRef} onDragOver={(e) => e.preventDefault()} onDrop={drop}>
      {!model.hasDocument && <p className="canvas-hint">Open an image or drop one here.</p>}
      <canvas ref={canvasRef} data-testid="editor-canvas" className="editor-canvas"
        style={{ display: model.hasDocument ? 'block' : 'none', touchAction: 'none' }}
        onPointerDown={down} onPointerMove={move} onPointerUp={up} onPointerCancel={up} />
    </div>
  );
}

function LayersList({ model }: { model: EditorModel }) {
  const layers = model.layerInfo();
  return (
    <div className="layers">
      <h2>Layers</h2>
      <ul data-testid="layers-list">
        {layers.map((layer, i) => ({ layer, i })).reverse().map(({ layer, i }) => (
          <li key={i} data-testid={`layer-${i}`} aria-current={i === model.activeIndex}
            className={i === model.activeIndex ? 'active' : undefined} onClick={() => model.setActive(i)}>
            <input type="checkbox" data-testid={`layer-visible-${i}`} checked={layer.visible} aria-label={`Show ${layer.name}`}
              onClick={(e) => e.stopPropagation()} onChange={(e) => model.setVisible(i, e.target.checked)} />
            <span>{layer.name}</span>
          </li>
        ))}
      </ul>
    </div>
  );
}
