/**
 * Ctrl+Z undoes, Ctrl+Shift+Z and Ctrl+Y redo (⌘ on a Mac), anywhere on the page except while
 * typing in a field, where the browser's own text undo applies.
 */
import type { EditorModel } from './document-model.ts';

export type HistoryKey = 'undo' | 'redo' | null;

/** Which history action a key press asks for (pure, for tests). */
export function historyKeyOf(e: Pick<KeyboardEvent, 'key' | 'ctrlKey' | 'metaKey' | 'shiftKey' | 'altKey'>): HistoryKey {
  if (!(e.ctrlKey || e.metaKey) || e.altKey) return null;
  const key = e.key.toLowerCase();
  if (key === 'z') return e.shiftKey ? 'redo' : 'undo';
  if (key === 'y' && !e.shiftKey) return 'redo';
  return null;
}

function isTyping(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  if (target.isContentEditable || target instanceof HTMLTextAreaElement) return true;
  return target instanceof HTMLInputElement && !['checkbox', 'radio', 'button', 'file', 'range'].includes(target.type);
}

/** Listens on `target` (the window); returns the function that stops listening. */
export function installHistoryKeys(target: Window, model: EditorModel): () => void {
  const onKey = (e: KeyboardEvent) => {
    const action = historyKeyOf(e);
    if (!action || isTyping(e.target)) return;
    e.preventDefault();
    if (action === 'undo') model.undo();
    else model.redo();
  };
  target.addEventListener('keydown', onKey);
  return () => target.removeEventListener('keydown', onKey);
}
