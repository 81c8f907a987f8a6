/**
 * The standalone editor's layers panel: Undo / Redo (naming the step they revert), the layer stack
 * top first with groups as collapsible rows that hide, show and move up / down as one, and actions
 * on the active layer (move up / down, rename, delete). Every edit goes through EditorModel, so each is one undo
 * step; collapsing a group is only a view choice.
 */
import { useState, type KeyboardEvent } from 'react';
import type { EditorModel, LayerGroup, LayerInfo } from './document-model.ts';

type Row =
  | { kind: 'group'; group: LayerGroup; count: number }
  | { kind: 'layer'; index: number; layer: LayerInfo; inGroup: boolean };

/** The list's rows, top of the stack first; a collapsed group's layers are left out. */
export function layerRows(model: EditorModel): Row[] {
  const layers = model.layerInfo();
  const rows: Row[] = [];
  const seen = new Set<number>();
  for (let index = layers.length - 1; index >= 0; index--) {
    const layer = layers[index]!;
    const group = layer.groupId === undefined ? undefined : model.group(layer.groupId);
    if (group && !seen.has(group.id)) {
      seen.add(group.id);
      rows.push({ kind: 'group', group, count: layers.filter((l) => l.groupId === group.id).length });
    }
    if (!group?.collapsed) rows.push({ kind: 'layer', index, layer, inGroup: group !== undefined });
  }
  return rows;
}

export function LayersPanel({ model }: { model: EditorModel }) {
  const [renaming, setRenaming] = useState<{ kind: 'layer' | 'group'; id: number } | null>(null);
  const active = model.activeIndex;
  const hasActive = model.layers[active] !== undefined;
  const { undoLabel, redoLabel } = model.history;

  const removeActive = () => {
    if (hasActive && model.layers.length > 1) model.deleteLayer(active);
  };
  const onListKey = (e: KeyboardEvent) => {
    if (renaming || e.target instanceof HTMLInputElement) return;
    if (e.key === 'Delete' || e.key === 'Backspace') {
      e.preventDefault();
      removeActive();
    }
  };

  return (
    <div className="layers" data-testid="layers-panel">
      <div className="layers-header">
        <h2>Layers</h2>
        <button type="button" data-testid="undo-button" disabled={!undoLabel} onClick={() => model.undo()}
          title={undoLabel ? `Undo ${undoLabel} (Ctrl+Z)` : 'Nothing to undo'} aria-label={undoLabel ? `Undo ${undoLabel}` : 'Undo'}>
          Undo
        </button>
        <button type="button" data-testid="redo-button" disabled={!redoLabel} onClick={() => model.redo()}
          title={redoLabel ? `Redo ${redoLabel} (Ctrl+Shift+Z or Ctrl+Y)` : 'Nothing to redo'} aria-label={redoLabel ? `Redo ${redoLabel}` : 'Redo'}>
          Redo
        </button>
      </div>
      <ul data-testid="layers-list" aria-label="Layers, top first" onKeyDown={onListKey}>
        {layerRows(model).map((row) => row.kind === 'group' ? (
          <li key={`g${row.group.id}`} data-testid={`group-${row.group.id}`} className="layer-group" aria-expanded={!row.group.collapsed}>
            <button type="button" className="group-toggle" data-testid={`group-toggle-${row.group.id}`}
              aria-label={`${row.group.collapsed ? 'Expand' : 'Collapse'} ${row.group.name}`}
              onClick={() => model.setGroupCollapsed(row.group.id, !row.group.collapsed)}>
              {row.group.collapsed ? '▸' : '▾'}
            </button>
            <input type="checkbox" data-testid={`group-visible-${row.group.id}`} checked={row.group.visible}
              aria-label={`Show group ${row.group.name}`} onChange={(e) => model.setGroupVisible(row.group.id, e.target.checked)} />
            {renaming?.kind === 'group' && renaming.id === row.group.id
              ? <NameInput name={row.group.name} testId={`group-name-input-${row.group.id}`}
                  onDone={(name) => { setRenaming(null); if (name) model.renameGroup(row.group.id, name); }} />
              : <span className="layer-name" title={`${row.group.name} (${row.count} layers) · double-click to rename`}
                  onDoubleClick={() => setRenaming({ kind: 'group', id: row.group.id })}>{row.group.name}</span>}
            <button type="button" className="row-action" data-testid={`group-up-${row.group.id}`}
              aria-label={`Move group ${row.group.name} up`} title="Move the group up (as one)"
              disabled={!model.canMoveGroup(row.group.id, 1)} onClick={() => model.moveGroup(row.group.id, 1)}>
              ↑
            </button>
            <button type="button" className="row-action" data-testid={`group-down-${row.group.id}`}
              aria-label={`Move group ${row.group.name} down`} title="Move the group down (as one)"
              disabled={!model.canMoveGroup(row.group.id, -1)} onClick={() => model.moveGroup(row.group.id, -1)}>
              ↓
            </button>
            <button type="button" className="row-action" data-testid={`group-delete-${row.group.id}`}
              aria-label={`Delete group ${row.group.name}`} title="Delete the group and its layers"
              disabled={row.count >= model.layers.length} onClick={() => model.deleteGroup(row.group.id)}>
              ✕
            </button>
          </li>
        ) : (
          <li key={`l${row.index}`} data-testid={`layer-${row.index}`} aria-current={row.index === active}
            className={[row.index === active ? 'active' : '', row.inGroup ? 'in-group' : ''].join(' ').trim() || undefined}
            onClick={() => model.setActive(row.index)}>
            <input type="checkbox" data-testid={`layer-visible-${row.index}`} checked={row.layer.visible} aria-label={`Show ${row.layer.name}`}
              onClick={(e) => e.stopPropagation()} onChange={(e) => model.setVisible(row.index, e.target.checked)} />
            {renaming?.kind === 'layer' && renaming.id === row.index
              ? <NameInput name={row.layer.name} testId={`layer-name-input-${row.index}`}
                  onDone={(name) => { setRenaming(null); if (name) model.renameLayer(row.index, name); }} />
              : <span className="layer-name" title={`${row.layer.name} · double-click to rename`}
                  onDoubleClick={() => setRenaming({ kind: 'layer', id: row.index })}>{row.layer.name}</span>}
          </li>
        ))}
      </ul>
      <div className="layer-actions" role="group" aria-label="Active layer">
        <button type="button" data-testid="layer-up" aria-label="Move layer up" title="Move up"
          disabled={!hasActive || model.moveTarget(active, 1) === null} onClick={() => model.moveLayer(active, 1)}>↑</button>
        <button type="button" data-testid="layer-down" aria-label="Move layer down" title="Move down"
          disabled={!hasActive || model.moveTarget(active, -1) === null} onClick={() => model.moveLayer(active, -1)}>↓</button>
        <button type="button" data-testid="layer-rename" disabled={!hasActive} onClick={() => setRenaming({ kind: 'layer', id: active })}>
          Rename
        </button>
        <button type="button" data-testid="layer-delete" title="Delete the active layer (Delete)"
          disabled={!hasActive || model.layers.length <= 1} onClick={removeActive}>
          Delete
        </button>
      </div>
    </div>
  );
}

/** Inline rename: Enter or leaving the field keeps the name, Escape keeps the old one. */
function NameInput({ name, testId, onDone }: { name: string; testId: string; onDone: (name: string | null) => void }) {
  const [value, setValue] = useState(name);
  return (
    <input className="layer-name-input" data-testid={testId} aria-label="Name" value={value} autoFocus
      onClick={(e) => e.stopPropagation()}
      onChange={(e) => setValue(e.target.value)}
      onBlur={() => onDone(value.trim() || null)}
      onKeyDown={(e) => {
        if (e.key === 'Enter') onDone(value.trim() || null);
        else if (e.key === 'Escape') onDone(null);
      }} />
  );
}
