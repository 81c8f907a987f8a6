/**
 * The standalone editor's canvas area: pointer input for the selection tools (Shift adds, Alt
 * subtracts), zoom (Ctrl+wheel, +/−, the zoom bar) and pan (space-drag, middle-drag, wheel), the
 * selection shortcuts (Ctrl+A, Ctrl+Shift+I, Esc / Ctrl+D), the brush outline at the cursor and
 * drag-and-drop to open. Drawing is CanvasView's; the document lives in EditorModel.
 */
import { useEffect, useRef, useState, type DragEvent, type PointerEvent } from 'react';
import { CanvasView } from './canvas-view.ts';
import type { EditorModel } from './document-model.ts';
import {
  brushStroke, combineMasks, invertMask, modeForModifiers, polygonMask, rectMask, selectAllMask,
  type Point, type SelectionMode, type SelectionTool,
} from './selection-tools.ts';
import { isTextEntry, viewCommandForKey, type ViewCommand } from './view-keys.ts';
import { wheelZoomFactor, zoomLabel, ZOOM_STEP, type Viewport } from './viewport.ts';

export interface CanvasAreaProps {
  model: EditorModel;
  tool: SelectionTool;
  brushSize: number;
  /** The toolbar's selection mode; Shift / Alt at pointer-down override it for that shape. */
  mode: SelectionMode;
  /** Shown as the canvas's accessible name. */
  documentName: string;
  onDropFile: (file: File | undefined) => void;
}

type Gesture =
  | { kind: 'shape'; mode: SelectionMode; points: Point[] }
  | { kind: 'brush'; mask: Uint8Array; value: 0 | 255; last: Point }
  | { kind: 'pan'; lastX: number; lastY: number };

export function CanvasArea({ model, tool, brushSize, mode, documentName, onDropFile }: CanvasAreaProps) {
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const areaRef = useRef<HTMLDivElement>(null);
  const frameRef = useRef<HTMLDivElement>(null);
  const outlineRef = useRef<HTMLDivElement>(null);
  const viewRef = useRef<CanvasView | null>(null);
  const gesture = useRef<Gesture | null>(null);
  const spaceHeld = useRef(false);
  const pointer = useRef<Point | null>(null);
  const [scale, setScale] = useState<number | null>(null);
  const brush = useRef({ tool, brushSize });
  brush.current = { tool, brushSize };

  /** The brush outline: a circle of the brush's on-screen diameter around the pointer. */
  const placeOutline = () => {
    const outline = outlineRef.current, view = viewRef.current?.viewport, at = pointer.current, area = areaRef.current;
    if (!outline || !area) return;
    const show = brush.current.tool === 'brush' && view && at && model.hasDocument;
    outline.style.display = show ? 'block' : 'none';
    if (!show) return;
    const box = area.getBoundingClientRect();
    const diameter = Math.max(2, brush.current.brushSize * view.scale);
    outline.style.width = outline.style.height = `${diameter}px`;
    outline.style.transform = `translate(${at.x - box.left - diameter / 2}px, ${at.y - box.top - diameter / 2}px)`;
  };

  useEffect(() => {
    const view = new CanvasView(canvasRef.current!, model, areaRef.current!);
    viewRef.current = view;
    view.onViewportChange = (v: Viewport) => {
      const frame = frameRef.current;
      if (frame) {
        frame.style.transform = `translate(${v.originX}px, ${v.originY}px)`;
        frame.style.width = `${model.width * v.scale}px`;
        frame.style.height = `${model.height * v.scale}px`;
      }
      setScale(v.scale);
      placeOutline();
    };
    if (view.viewport) view.onViewportChange(view.viewport);
    return () => view.dispose();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [model]);

  useEffect(placeOutline, [tool, brushSize]); // eslint-disable-line react-hooks/exhaustive-deps

  const run = (command: ViewCommand) => {
    const view = viewRef.current;
    if (!view || !model.hasDocument) return;
    const at = pointer.current ?? undefined;
    if (command === 'zoom-in') view.zoomBy(ZOOM_STEP, at);
    else if (command === 'zoom-out') view.zoomBy(1 / ZOOM_STEP, at);
    else if (command === 'fit') view.fit();
    else if (command === 'actual-size') view.actualSize(at);
    else if (command === 'select-all') model.setSelection(selectAllMask(model.size));
    else if (command === 'invert') model.setSelection(invertMask(model.selection, model.size));
    else model.setSelection(null);
  };

  useEffect(() => {
    const area = areaRef.current!;
    const wheel = (e: WheelEvent) => {
      const view = viewRef.current;
      if (!view || !model.hasDocument) return;
      e.preventDefault(); // neither page scroll nor the browser's own Ctrl+wheel zoom
      const pixels = e.deltaMode === WheelEvent.DOM_DELTA_LINE ? 16 : e.deltaMode === WheelEvent.DOM_DELTA_PAGE ? 400 : 1;
      if (e.ctrlKey || e.metaKey) view.zoomBy(wheelZoomFactor(e.deltaY * pixels), { x: e.clientX, y: e.clientY });
      else if (e.shiftKey) view.panBy(-e.deltaY * pixels, 0);
      else view.panBy(-e.deltaX * pixels, -e.deltaY * pixels);
    };
    const keyDown = (e: KeyboardEvent) => {
      if (isTextEntry(e.target)) return;
      if (e.key === ' ' && !(e.target instanceof HTMLButtonElement)) {
        spaceHeld.current = true;
        area.classList.add('panning');
        e.preventDefault();
        return;
      }
      const command = viewCommandForKey(e);
      if (!command || !model.hasDocument) return;
      e.preventDefault();
      run(command);
    };
    const keyUp = (e: KeyboardEvent) => {
      if (e.key !== ' ') return;
      spaceHeld.current = false;
      area.classList.remove('panning');
    };
    area.addEventListener('wheel', wheel, { passive: false });
    window.addEventListener('keydown', keyDown);
    window.addEventListener('keyup', keyUp);
    return () => {
      area.removeEventListener('wheel', wheel);
      window.removeEventListener('keydown', keyDown);
      window.removeEventListener('keyup', keyUp);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [model]);

  const point = (e: PointerEvent) => viewRef.current!.toDocument(e.clientX, e.clientY);

  const down = (e: PointerEvent<HTMLCanvasElement>) => {
    if (!model.hasDocument || !viewRef.current) return;
    e.currentTarget.focus({ preventScroll: true });
    const pan = e.button === 1 || (e.button === 0 && spaceHeld.current);
    if (!pan && e.button !== 0) return;
    e.preventDefault(); // no autoscroll on middle-click
    e.currentTarget.setPointerCapture(e.pointerId);
    if (pan) {
      gesture.current = { kind: 'pan', lastX: e.clientX, lastY: e.clientY };
      return;
    }
    const p = point(e);
    const chosen = modeForModifiers(mode, e);
    if (tool !== 'brush') {
      gesture.current = { kind: 'shape', mode: chosen, points: [p] };
      return;
    }
    // The brush paints onto the selection (Alt erases); it never starts by dropping what is selected.
    const base = model.selection;
    const mask = base ? base.slice() : new Uint8Array(model.width * model.height);
    const value = chosen === 'subtract' ? 0 : 255;
    gesture.current = { kind: 'brush', mask, value, last: p };
    viewRef.current.beginStroke(mask, base);
    viewRef.current.strokeChanged(brushStroke(mask, model.size, p, p, brushSize, value));
  };

  const move = (e: PointerEvent<HTMLCanvasElement>) => {
    pointer.current = { x: e.clientX, y: e.clientY };
    placeOutline();
    const current = gesture.current, view = viewRef.current;
    if (!current || !view) return;
    if (current.kind === 'pan') {
      view.panBy(e.clientX - current.lastX, e.clientY - current.lastY);
      current.lastX = e.clientX;
      current.lastY = e.clientY;
      return;
    }
    const p = point(e);
    if (current.kind === 'brush') {
      view.strokeChanged(brushStroke(current.mask, model.size, current.last, p, brushSize, current.value));
      current.last = p;
      return;
    }
    current.points.push(p);
    if (tool === 'rect') view.setDraft({ kind: 'rect', from: current.points[0]!, to: p });
    else view.setDraft({ kind: 'lasso', points: current.points });
  };

  const up = (e: PointerEvent<HTMLCanvasElement>) => {
    const current = gesture.current, view = viewRef.current;
    gesture.current = null;
    if (!current || !view || current.kind === 'pan') return;
    if (current.kind === 'brush') {
      model.setSelection(current.mask);
      view.endStroke();
      return;
    }
    view.setDraft(null);
    const p = point(e);
    const shape = tool === 'rect' ? rectMask(model.size, current.points[0]!, p) : polygonMask(model.size, [...current.points, p]);
    model.setSelection(combineMasks(model.selection, shape, current.mode));
  };

  const leave = () => {
    pointer.current = null;
    placeOutline();
  };

  const drop = (e: DragEvent) => {
    e.preventDefault();
    onDropFile(e.dataTransfer.files[0]);
  };

  const label = model.hasDocument
    ? `Document ${documentName}, ${model.width} × ${model.height} pixels. Drag to select; Ctrl+wheel or + and − zoom; space-drag pans.`
    : 'Empty canvas: open an image or drop one here.';

  return (
    <div className="canvas-area" ref={areaRef} onDragOver={(e) => e.preventDefault()} onDrop={drop}>
      {!model.hasDocument && <p className="canvas-hint">Open an image or drop one here.</p>}
      <canvas ref={canvasRef} data-testid="editor-canvas" className="editor-canvas" tabIndex={0} role="img" aria-label={label}
        style={{ visibility: model.hasDocument ? 'visible' : 'hidden', touchAction: 'none' }}
        onPointerDown={down} onPointerMove={move} onPointerUp={up} onPointerCancel={up} onPointerLeave={leave}
        onContextMenu={(e) => e.preventDefault()} />
      <div ref={frameRef} data-testid="document-frame" className="document-frame" aria-hidden="true"
        style={{ display: model.hasDocument ? 'block' : 'none' }} />
      <div ref={outlineRef} data-testid="brush-outline" className="brush-outline" aria-hidden="true" />
      {model.hasDocument && scale !== null && (
        <div className="zoom-bar" role="group" aria-label="Zoom">
          <button type="button" data-testid="zoom-out" aria-label="Zoom out" onClick={() => run('zoom-out')}>−</button>
          <output data-testid="zoom-level" aria-label="Zoom level">{zoomLabel(scale)}</output>
          <button type="button" data-testid="zoom-in" aria-label="Zoom in" onClick={() => run('zoom-in')}>+</button>
          <button type="button" data-testid="zoom-fit" aria-label="Fit on screen" onClick={() => run('fit')}>Fit</button>
          <button type="button" data-testid="zoom-100" aria-label="Actual pixels (100 %)" onClick={() => run('actual-size')}>100 %</button>
        </div>
      )}
    </div>
  );
}
