/**
 * The boundary half of issue 12, over real loopback sockets: payloads sent as "png" that are not
 * PNGs, the Host header, the handshake deadline, 1,000 idle connections against the connection cap,
 * and slow HTTP headers. Deadlines are configured short (hundreds of ms) so the file stays fast.
 */
import { connect as tcpConnect } from 'node:net';
import { request as httpRequest } from 'node:http';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { decodeFrame } from '../../shared/codec.ts';
import { rawClient, startDaemon, type Daemon } from './harness.ts';

const HANDSHAKE_MS = 300;
const HEADERS_MS = 300;

/** The reproduction: a tiny SVG declaring a huge canvas (118 bytes at 9000²). */
function svgDeclaring(side: number): Uint8Array {
  return new TextEncoder().encode(`<svg xmlns="http://www.w3.org/2000/svg" width="${side}" height="${side}"><rect width="${side}" height="${side}" fill="red"/></svg>`);
}

function status(port: number, host: string, path = '/health'): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, headers: { host } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

async function health(port: number): Promise<{ clients: number; queue: number }> {
  return (await fetch(`http://127.0.0.1:${port}/health`)).json() as Promise<{ clients: number; queue: number }>;
}

/** Opens a socket, sends `head` and then one byte every 50 ms; resolves when the daemon closes it. */
function slowHeaders(port: number, head: string): Promise<{ ms: number; reply: string }> {
  return new Promise((resolve) => {
    const socket = tcpConnect(port, '127.0.0.1');
    const started = performance.now();
    let reply = '';
    let drip: ReturnType<typeof setInterval> | undefined;
    socket.on('connect', () => {
      socket.write(head);
      drip = setInterval(() => socket.write('x'), 50);
    });
    socket.on('data', (chunk) => (reply += chunk.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearInterval(drip);
      resolve({ ms: performance.now() - started, reply });
    });
  });
}

describe('reliability: the boundary', () => {
  let daemon: Daemon;
  let port: number;
  beforeAll(async () => {
    daemon = await startDaemon(undefined, { timeouts: { handshakeMs: HANDSHAKE_MS, headersMs: HEADERS_MS, requestMs: 2 * HEADERS_MS } });
    port = daemon.server.port;
  });
  afterAll(async () => daemon.close());

  it('refuses SVG, TIFF, JPEG, GIF and WebP sent as "png" at once, never decoding them', async () => {
    const raw = () => sharp(Buffer.alloc(64 * 64 * 4, 128), { raw: { width: 64, height: 64, channels: 4 } });
    const payloads: Array<[string, Uint8Array]> = [
      ['SVG 9000²', svgDeclaring(9000)],
      ['SVG 16000²', svgDeclaring(16000)],
      ['TIFF', await raw().tiff().toBuffer()],
      ['JPEG', await raw().jpeg().toBuffer()],
      ['GIF', await raw().gif().toBuffer()],
      ['WebP', await raw().webp().toBuffer()],
    ];
    expect(svgDeclaring(9000).byteLength).toBe(118);
    const client = await rawClient(daemon.server.url);
    const rssBefore = process.memoryUsage().rss;
    const timings: string[] = [];
    for (const [index, [name, data]] of payloads.entries()) {
      for (const where of ['image', 'mask'] as const) {
        const id = `${where}-${index}`;
        const image = where === 'image' ? { format: 'png', data } : { format: 'rgba8', width: 8, height: 8, data: new Uint8Array(256) };
        const request = {
          task: where === 'image' ? 'colorize' : 'fill', image, variants: 1, steps: 2,
          ...(where === 'mask' ? { mask: { format: 'png', data } } : {}),
        };
        const sent = performance.now();
        client.send({ type: 'generate', id, request });
        const answer = await client.next((m) => m.id === id, 5000);
        const ms = performance.now() - sent;
        timings.push(`${name} as ${where}: ${ms.toFixed(1)} ms`);
        expect(answer.message, `${name} as ${where}`).toMatchObject({ type: 'error', code: 'IMAGE_DECODE_FAILED', path: `request.${where}.data` });
        expect(ms).toBeLessThan(500);
      }
    }
    const grown = (process.memoryUsage().rss - rssBefore) / 2 ** 20;
    console.log(`[reliability] non-PNG as png refused: ${timings.join('; ')}; RSS +${grown.toFixed(1)} MiB`);
    expect(grown).toBeLessThan(64); // a decoded 9000² SVG alone is 309 MiB of RGBA
    expect(client.received.some((r) => r.message.type === 'queued' || r.message.type === 'started')).toBe(false);
    expect(daemon.server.queue.size).toBe(0);
    await client.close();
  });

  it('refuses HTTP and WebSocket requests under a foreign Host (DNS rebinding), serves its own names', async () => {
    expect(await status(port, 'evil.example')).toBe(421);
    expect(await status(port, `evil.example:${port}`)).toBe(421);
    expect(await status(port, `localhost:${port}`)).toBe(200);
    expect(await status(port, `127.0.0.1:${port}`)).toBe(200);
    const upgrade = new WebSocket(daemon.server.url, { headers: { host: `evil.example:${port}` } });
    await expect(new Promise((resolve, reject) => {
      upgrade.once('open', resolve);
      upgrade.once('error', reject);
    })).rejects.toThrow(/421/);
  });

  it('closes a connection that never sends hello after the handshake deadline, with HANDSHAKE_REQUIRED', async () => {
    const opened = performance.now();
    const idle = await rawClient(daemon.server.url, { hello: false });
    const code = await new Promise<number>((resolve) => idle.socket.once('close', (c) => resolve(c)));
    const ms = performance.now() - opened;
    console.log(`[reliability] idle connection closed ${ms.toFixed(0)} ms after opening (deadline ${HANDSHAKE_MS} ms)`);
    expect(code).toBe(1002);
    expect(idle.received.map((r) => r.message)).toEqual([expect.objectContaining({ type: 'error', code: 'HANDSHAKE_REQUIRED' })]);
    expect(ms).toBeGreaterThanOrEqual(HANDSHAKE_MS - 20);
    expect(ms).toBeLessThan(HANDSHAKE_MS + 1000);
  });

  it('1,000 idle connections: at most the cap are held, the rest refused with TOO_MANY_CONNECTIONS, all closed by the deadline', async () => {
    const outcomes: Array<Promise<{ code: number; error: string | undefined }>> = [];
    let peak = 0;
    const watch = setInterval(() => void health(port).then((h) => (peak = Math.max(peak, h.clients)), () => undefined), 25);
    const started = performance.now();
    for (let i = 0; i < 1000; i++) {
      const socket = new WebSocket(daemon.server.url);
      let error: string | undefined;
      socket.on('message', (data) => (error ??= String(decodeFrame(new Uint8Array(data as Buffer)).code)));
      socket.on('error', () => undefined);
      outcomes.push(new Promise((resolve) => socket.on('close', (code) => resolve({ code, error }))));
    }
    const results = await Promise.all(outcomes);
    const ms = performance.now() - started;
    clearInterval(watch);
    const refused = results.filter((r) => r.code === 1013 && r.error === 'TOO_MANY_CONNECTIONS').length;
    const timedOut = results.filter((r) => r.code === 1002 && r.error === 'HANDSHAKE_REQUIRED').length;
    const after = await health(port);
    console.log(`[reliability] 1,000 idle sockets: ${refused} refused (1013), ${timedOut} closed by the handshake deadline (1002), ` +
      `peak ${peak} held (cap 32 per address), all closed in ${ms.toFixed(0)} ms; /health clients after: ${after.clients}`);
    expect(refused + timedOut).toBe(1000);
    expect(timedOut).toBeGreaterThanOrEqual(1);
    expect(peak).toBeLessThanOrEqual(32);
    expect(after.clients).toBe(0);
  });

  it('closes a socket whose HTTP headers arrive one byte at a time, and a slow WebSocket upgrade', async () => {
    const plain = await slowHeaders(port, `GET /health HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nX-Slow: `);
    const upgrade = await slowHeaders(port, `GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nX-Slow: `);
    console.log(`[reliability] slow headers cut off at ${plain.ms.toFixed(0)} ms (GET) and ${upgrade.ms.toFixed(0)} ms (upgrade); headersTimeout ${HEADERS_MS} ms`);
    for (const cut of [plain, upgrade]) {
      expect(cut.reply).toMatch(/^HTTP\/1\.1 408/);
      expect(cut.ms).toBeGreaterThanOrEqual(HEADERS_MS - 20);
      expect(cut.ms).toBeLessThan(HEADERS_MS + 1000);
    }
  });
});
