import { describe, expect, it } from 'vitest';
import { createMask } from '../../../daemon/pixels.ts';
import { featherMask, featherReach } from '../../../daemon/tasks/composite.ts';
import { rectMask } from './test-images.ts';

/** How far (px, Chebyshev) beyond a square hole the feathered alpha is non-zero. */
async function alphaExtent(feather: number): Promise<number> {
  const size = 200;
  const hole = rectMask(size, size, { x: 90, y: 90, width: 20, height: 20 });
  const alpha = await featherMask(hole, feather);
  let extent = 0;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      if ((alpha.data[y * size + x] ?? 0) === 0) continue;
      const dx = Math.max(90 - x, x - 109, 0);
      const dy = Math.max(90 - y, y - 109, 0);
      extent = Math.max(extent, dx, dy);
    }
  }
  return extent;
}

describe('featherReach', () => {
  it('bounds the feathered alpha from above, with little slack, for every feather', async () => {
    for (const feather of [1, 2, 3, 4, 8, 13, 16, 32]) {
      const extent = await alphaExtent(feather);
      const reach = featherReach(feather);
      expect(extent, `feather ${feather}`).toBeLessThanOrEqual(reach);
      // Not wastefully loose either (the crop must hold it): measured slack 2 px at feather 1, 11 px at 32.
      expect(reach - extent, `feather ${feather}: reach ${reach}, alpha to ${extent}`).toBeLessThanOrEqual(feather / 3 + 3);
    }
  });

  it('is 0 without a feather, where the alpha is the hole itself', async () => {
    expect(featherReach(0)).toBe(0);
    const hole = rectMask(50, 50, { x: 10, y: 10, width: 5, height: 5 });
    const alpha = await featherMask(hole, 0);
    expect(Array.from(alpha.data)).toEqual(Array.from(hole.data));
    expect(Array.from((await featherMask(createMask(8, 8), 0)).data).every((v) => v === 0)).toBe(true);
  });
});
