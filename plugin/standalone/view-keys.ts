/**
 * The standalone editor's keyboard shortcuts for the view and the selection, as a pure mapping from
 * a key event to a command (Ctrl and ⌘ count the same). Keys typed into a text field stay there
 * (see isTextEntry): Ctrl+A in the brush-size box selects its text, not the photo.
 */
export type ViewCommand = 'zoom-in' | 'zoom-out' | 'fit' | 'actual-size' | 'select-all' | 'invert' | 'deselect';

export interface KeyLike {
  key: string;
  ctrlKey: boolean;
  metaKey: boolean;
  shiftKey: boolean;
  altKey: boolean;
}

export function viewCommandForKey(e: KeyLike): ViewCommand | null {
  const mod = e.ctrlKey || e.metaKey;
  const key = e.key.length === 1 ? e.key.toLowerCase() : e.key;
  if (e.altKey) return null;
  if (key === '+' || key === '=') return 'zoom-in';
  if (key === '-' || key === '_') return 'zoom-out';
  if (key === 'Escape' && !mod) return 'deselect';
  if (!mod) return null;
  if (key === '0') return 'fit';
  if (key === '1') return 'actual-size';
  if (key === 'a' && !e.shiftKey) return 'select-all';
  if (key === 'i' && e.shiftKey) return 'invert';
  if (key === 'd' && !e.shiftKey) return 'deselect';
  return null;
}

/** Whether a key event's target takes text: then no shortcut applies. */
export function isTextEntry(target: EventTarget | null): boolean {
  if (!target || typeof (target as Element).tagName !== 'string') return false;
  const element = target as HTMLElement;
  if (element.isContentEditable) return true;
  const tag = element.tagName;
  if (tag === 'TEXTAREA' || tag === 'SELECT') return true;
  if (tag !== 'INPUT') return false;
  const type = (element as HTMLInputElement).type;
  return !['checkbox', 'radio', 'button', 'submit', 'reset', 'file', 'range', 'color'].includes(type);
}
