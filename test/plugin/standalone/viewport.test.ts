import { describe, expect, it } from 'vitest';
import {
  actualSizeViewport, documentToScreen, fitViewport, MAX_SCALE, MIN_SCALE, panBy, rectOnScreen, screenToDocument,
  visibleDocumentRect, wheelZoomFactor, zoomAbout, zoomLabel,
} from '../../../plugin/standalone/viewport.ts';

const area = { width: 800, height: 600 };

describe('viewport', () => {
  it('fits a large document inside the area, centred, and never enlarges a small one', () => {
    const big = fitViewport({ width: 6000, height: 3375 }, area);
    expect(big.scale).toBeCloseTo(776 / 6000, 6);
    expect(big.originX).toBe(12);
    const small = fitViewport({ width: 96, height: 64 }, area);
    expect(small).toEqual({ scale: 1, originX: 352, originY: 268 });
  });

  it('keeps the document point under the cursor where it is when zooming', () => {
    const view = fitViewport({ width: 6000, height: 4000 }, area);
    const cursor = { x: 123, y: 456 };
    const before = screenToDocument(view, cursor);
    for (const scale of [0.5, 1, 3.7, 30]) {
      const zoomed = zoomAbout(view, scale, cursor);
      expect(zoomed.scale).toBe(scale);
      const after = documentToScreen(zoomed, before);
      expect(after.x).toBeCloseTo(cursor.x, 9);
      expect(after.y).toBeCloseTo(cursor.y, 9);
    }
  });

  it('clamps the zoom and maps wheel deltas to factors', () => {
    const view = { scale: 1, originX: 0, originY: 0 };
    expect(zoomAbout(view, 1000, { x: 0, y: 0 }).scale).toBe(MAX_SCALE);
    expect(zoomAbout(view, 0, { x: 0, y: 0 }).scale).toBe(MIN_SCALE);
    expect(wheelZoomFactor(-100)).toBeGreaterThan(1);
    expect(wheelZoomFactor(100) * wheelZoomFactor(-100)).toBeCloseTo(1, 12);
  });

  it('goes to 100 % about the middle of the area by default', () => {
    const view = fitViewport({ width: 1600, height: 1200 }, area);
    const middle = screenToDocument(view, { x: 400, y: 300 });
    const actual = actualSizeViewport(view, area);
    expect(actual.scale).toBe(1);
    expect(screenToDocument(actual, { x: 400, y: 300 }).x).toBeCloseTo(middle.x, 9);
  });

  it('pans but keeps a strip of the document on screen', () => {
    const doc = { width: 1000, height: 1000 };
    const view = { scale: 1, originX: 0, originY: 0 };
    expect(panBy(view, 30, -20, doc, area)).toEqual({ scale: 1, originX: 30, originY: -20 });
    const far = panBy(view, 5000, -5000, doc, area);
    expect(far.originX).toBe(area.width - 48);
    expect(far.originY).toBe(48 - 1000);
  });

  it('tells which document pixels are visible and where a rectangle lands on screen', () => {
    const view = { scale: 2, originX: -100, originY: 10 };
    expect(visibleDocumentRect(view, area, { width: 1000, height: 200 })).toEqual({ x: 50, y: 0, width: 400, height: 200 });
    expect(visibleDocumentRect({ scale: 1, originX: 900, originY: 0 }, area, { width: 10, height: 10 })).toBeNull();
    expect(rectOnScreen(view, { x: 50, y: 5, width: 10, height: 4 })).toEqual({ x: 0, y: 20, width: 20, height: 8 });
    expect([zoomLabel(0.0625), zoomLabel(0.1428), zoomLabel(1), zoomLabel(8)]).toEqual(['6.3 %', '14 %', '100 %', '800 %']);
  });
});
