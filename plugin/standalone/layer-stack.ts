/**
 * Reordering the layer stack (index 0 = bottom) with groups kept whole: a group's layers are
 * consecutive, a layer outside groups steps over a whole group, a layer in a group stays in it, and
 * a group moves as one block past its neighbour (a layer, or a whole other group). Pure functions
 * over the stack, so EditorModel only wraps them in undo steps.
 */

interface StackEntry {
  groupId?: number;
}

/** The first and last stack index of a group's layers ([-1, -1] when it has none). */
export function groupRange(layers: readonly StackEntry[], id: number): [number, number] {
  const first = layers.findIndex((l) => l.groupId === id);
  if (first < 0) return [-1, -1];
  let last = first;
  while (layers[last + 1]?.groupId === id) last++;
  return [first, last];
}

/** Where layer `index` goes moving one place up (+1) or down (−1); null when it cannot move that way. */
export function layerMoveTarget(layers: readonly StackEntry[], index: number, direction: 1 | -1): number | null {
  const layer = layers[index];
  const neighbour = layers[index + direction];
  if (!layer || !neighbour) return null;
  if (layer.groupId !== undefined) return neighbour.groupId === layer.groupId ? index + direction : null;
  if (neighbour.groupId === undefined) return index + direction;
  const [bottom, top] = groupRange(layers, neighbour.groupId);
  return direction > 0 ? top : bottom;
}

/**
 * The stack (the same entries, reordered) with group `id` moved one place up (+1) or down (−1) as a
 * block; null when it is already at that end of the stack.
 */
export function withGroupMoved<T extends StackEntry>(layers: readonly T[], id: number, direction: 1 | -1): T[] | null {
  const [bottom, top] = groupRange(layers, id);
  if (bottom < 0) return null;
  const neighbour = layers[direction > 0 ? top + 1 : bottom - 1];
  if (!neighbour) return null;
  // The neighbour block: one ungrouped layer, or a whole other group.
  const next = direction > 0 ? top + 1 : bottom - 1;
  const [nBottom, nTop] = neighbour.groupId === undefined ? [next, next] : groupRange(layers, neighbour.groupId);
  const group = layers.slice(bottom, top + 1);
  const other = layers.slice(nBottom, nTop + 1);
  const out = [...layers];
  const start = Math.min(bottom, nBottom);
  out.splice(start, group.length + other.length, ...(direction > 0 ? [...other, ...group] : [...group, ...other]));
  return out;
}
