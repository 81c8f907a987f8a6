/**
 * The Photopea plugin page (Photopea opens it in a panel iframe; see plugin/PHOTOPEA.md). It drives
 * Photopea with scripts posted to window.parent and talks to the daemon that served it.
 */
import { PhotopeaDocument } from '../editor/photopea-document.ts';
import type { PhotopeaTransport } from '../editor/photopea-runner.ts';
import { mountPanel } from '../ui/mount.tsx';
import { isOutsidePhotopea, mountPhotopeaOutside } from '../ui/photopea-outside.tsx';

const transport: PhotopeaTransport = {
  post: (script) => window.parent.postMessage(script, '*'),
  onMessage: (listener) => {
    const handler = (event: MessageEvent) => {
      if (event.source === window.parent) listener(event.data);
    };
    window.addEventListener('message', handler);
    return () => window.removeEventListener('message', handler);
  },
};

// Served by the daemon itself, so its own address is the daemon's; the fixed default covers a copy
// of the page hosted elsewhere.
const daemonUrl = location.protocol === 'http:' && location.host ? `ws://${location.host}` : 'ws://127.0.0.1:7860';
const token = new URLSearchParams(location.hash.slice(1)).get('token') ?? undefined;

const root = document.getElementById('panel')!;
if (isOutsidePhotopea(window)) {
  // Opened as a tab of its own: there is no Photopea to script, so say how to open it properly.
  mountPhotopeaOutside(root, location.href);
} else {
  mountPanel(root, new PhotopeaDocument(transport), {
    daemonUrl,
    ...(token ? { token } : {}),
  });
}
