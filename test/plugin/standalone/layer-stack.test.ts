import { describe, expect, it } from 'vitest';
import { groupRange, layerMoveTarget, withGroupMoved } from '../../../plugin/standalone/layer-stack.ts';

/** A stack from a string, bottom first: a letter is a layer outside groups, a digit a layer of that group. */
const stack = (code: string) => [...code].map((c, i) => ({ name: `${c}${i}`, ...(/\d/.test(c) ? { groupId: Number(c) } : {}) }));
const code = (layers: Array<{ name: string }>) => layers.map((l) => l.name[0]).join('');

describe('layer stack', () => {
  it('finds a group\'s range', () => {
    expect(groupRange(stack('a11b2'), 1)).toEqual([1, 2]);
    expect(groupRange(stack('a11b2'), 2)).toEqual([4, 4]);
    expect(groupRange(stack('ab'), 1)).toEqual([-1, -1]);
  });

  it('a layer steps over a whole group; a grouped layer stays in its group', () => {
    expect(layerMoveTarget(stack('a11b'), 0, 1)).toBe(2);
    expect(layerMoveTarget(stack('a11b'), 3, -1)).toBe(1);
    expect(layerMoveTarget(stack('a11b'), 1, 1)).toBe(2);
    expect(layerMoveTarget(stack('a11b'), 2, 1)).toBeNull();
    expect(layerMoveTarget(stack('a11b'), 3, 1)).toBeNull();
  });

  it('a group moves as one block past a layer or a whole other group, and stops at the ends', () => {
    expect(code(withGroupMoved(stack('a11b'), 1, 1)!)).toBe('ab11');
    expect(code(withGroupMoved(stack('a11b'), 1, -1)!)).toBe('11ab');
    expect(code(withGroupMoved(stack('a11222b'), 1, 1)!)).toBe('a22211b');
    expect(code(withGroupMoved(stack('a11222b'), 2, -1)!)).toBe('a22211b');
    expect(withGroupMoved(stack('a11'), 1, 1)).toBeNull();
    expect(withGroupMoved(stack('11a'), 1, -1)).toBeNull();
    // The same entries, only reordered (the model finds its active layer again by identity).
    const before = stack('a11b');
    expect(new Set(withGroupMoved(before, 1, 1))).toEqual(new Set(before));
  });
});
