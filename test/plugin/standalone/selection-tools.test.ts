import { describe, expect, it } from 'vitest';
import {
  brushStroke, combineMasks, invertMask, modeForModifiers, rectMask, selectAllMask,
} from '../../../plugin/standalone/selection-tools.ts';

const doc = { width: 8, height: 4 };
const count = (mask: Uint8Array) => mask.reduce((n, v) => n + (v ? 1 : 0), 0);

describe('selection modes', () => {
  it('picks subtract for Alt, add for Shift, else the toolbar mode', () => {
    expect(modeForModifiers('replace', { shiftKey: false, altKey: true })).toBe('subtract');
    expect(modeForModifiers('replace', { shiftKey: true, altKey: false })).toBe('add');
    expect(modeForModifiers('add', { shiftKey: false, altKey: false })).toBe('add');
  });

  it('replaces, adds and subtracts shapes without touching its inputs', () => {
    const a = rectMask(doc, { x: 0, y: 0 }, { x: 4, y: 4 });
    const b = rectMask(doc, { x: 2, y: 0 }, { x: 6, y: 4 });
    const aCopy = a.slice();
    expect(combineMasks(a, b, 'replace')).toBe(b);
    expect(count(combineMasks(a, b, 'add'))).toBe(24);
    const cut = combineMasks(a, b, 'subtract');
    expect(count(cut)).toBe(8);
    expect(cut[0]).toBe(255);
    expect(cut[2]).toBe(0);
    expect(a).toEqual(aCopy);
    expect(count(combineMasks(null, b, 'subtract'))).toBe(0);
    expect(combineMasks(null, b, 'add')).toBe(b);
  });

  it('selects all and inverts (nothing inverts to everything)', () => {
    expect(count(selectAllMask(doc))).toBe(32);
    expect(count(invertMask(null, doc))).toBe(32);
    const inverted = invertMask(rectMask(doc, { x: 0, y: 0 }, { x: 4, y: 4 }), doc);
    expect(count(inverted)).toBe(16);
    expect(inverted[7]).toBe(255);
  });
});

describe('brushStroke', () => {
  it('returns the rectangle it may have changed, cut to the document, and erases with 0', () => {
    const big = { width: 100, height: 100 };
    const mask = new Uint8Array(100 * 100);
    expect(brushStroke(mask, big, { x: 10, y: 10 }, { x: 30, y: 10 }, 6)).toEqual({ x: 7, y: 7, width: 26, height: 6 });
    expect(mask[10 * 100 + 20]).toBe(255);
    expect(brushStroke(mask, big, { x: 1, y: 1 }, { x: 1, y: 1 }, 10)).toEqual({ x: 0, y: 0, width: 6, height: 6 });
    expect(brushStroke(mask, big, { x: -50, y: -50 }, { x: -40, y: -50 }, 4)).toBeNull();
    brushStroke(mask, big, { x: 20, y: 10 }, { x: 20, y: 10 }, 4, 0);
    expect(mask[10 * 100 + 20]).toBe(0);
    expect(mask[10 * 100 + 28]).toBe(255);
  });
});
