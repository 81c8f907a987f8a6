import { describe, expect, it } from 'vitest';
import { viewCommandForKey, type KeyLike } from '../../../plugin/standalone/view-keys.ts';

const key = (k: string, mods: Partial<KeyLike> = {}): KeyLike => ({ key: k, ctrlKey: false, metaKey: false, shiftKey: false, altKey: false, ...mods });

describe('viewCommandForKey', () => {
  it('maps zoom, selection and deselect keys (Ctrl or ⌘)', () => {
    expect(viewCommandForKey(key('+'))).toBe('zoom-in');
    expect(viewCommandForKey(key('=', { ctrlKey: true }))).toBe('zoom-in');
    expect(viewCommandForKey(key('-'))).toBe('zoom-out');
    expect(viewCommandForKey(key('0', { ctrlKey: true }))).toBe('fit');
    expect(viewCommandForKey(key('1', { metaKey: true }))).toBe('actual-size');
    expect(viewCommandForKey(key('a', { ctrlKey: true }))).toBe('select-all');
    expect(viewCommandForKey(key('I', { ctrlKey: true, shiftKey: true }))).toBe('invert');
    expect(viewCommandForKey(key('Escape'))).toBe('deselect');
    expect(viewCommandForKey(key('d', { metaKey: true }))).toBe('deselect');
  });

  it('leaves other keys alone (plain letters, Alt chords, Ctrl+Z for the history)', () => {
    expect(viewCommandForKey(key('a'))).toBeNull();
    expect(viewCommandForKey(key('i', { ctrlKey: true }))).toBeNull();
    expect(viewCommandForKey(key('+', { altKey: true }))).toBeNull();
    expect(viewCommandForKey(key('z', { ctrlKey: true }))).toBeNull();
  });
});
