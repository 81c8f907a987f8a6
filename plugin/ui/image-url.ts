/**
 * Image bytes → an <img> src. Object URLs where the host has them (browsers, Photopea's iframe),
 * a base64 data URL where it does not (older UXP); object URLs are revoked when the image changes
 * or the component goes away.
 */
import { useEffect, useMemo } from 'react';
import type { ImageBytes } from '../state/types.ts';

interface ImageSource {
  src: string;
  revoke(): void;
}

export function imageSource(image: ImageBytes): ImageSource {
  if (typeof URL !== 'undefined' && typeof URL.createObjectURL === 'function' && typeof Blob !== 'undefined') {
    try {
      const src = URL.createObjectURL(new Blob([image.data as Uint8Array<ArrayBuffer>], { type: image.mime }));
      return { src, revoke: () => URL.revokeObjectURL(src) };
    } catch {
      // fall through to a data URL
    }
  }
  return { src: `data:${image.mime};base64,${toBase64(image.data)}`, revoke: () => {} };
}

function toBase64(bytes: Uint8Array): string {
  let binary = '';
  const chunk = 0x8000;
  for (let i = 0; i < bytes.length; i += chunk) {
    binary += String.fromCharCode(...bytes.subarray(i, i + chunk));
  }
  return btoa(binary);
}

/** The src for `image` (undefined when there is none), valid while the component shows it. */
export function useImageUrl(image: ImageBytes | null | undefined): string | undefined {
  const source = useMemo(() => (image ? imageSource(image) : null), [image]);
  useEffect(() => () => source?.revoke(), [source]);
  return source?.src;
}
