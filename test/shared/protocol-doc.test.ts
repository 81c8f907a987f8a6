/**
 * PROTOCOL.md and the code, kept equal: a client written from the document alone must meet the
 * daemon it describes. Each check reads the document's own table or sentence and the constant the
 * code uses, so changing one without the other fails here.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONNECTION_CAPS } from '../../daemon/connection-limiter.ts';
import { REPO_ROOT } from '../../daemon/model-manifest.ts';
import { ModelRegistry } from '../../daemon/model-registry.ts';
import { DEFAULT_TIMEOUTS, KNOWN_ORIGINS, MISDIRECTED_STATUS, startServer } from '../../daemon/server.ts';
import { WebSocket } from 'ws';
import { decodeFrame, encodeMessage } from '../../shared/codec.ts';
import { CLOSE_CODES, HANDSHAKE_TIMEOUT_MS, MASK_THRESHOLD, MAX_TOKEN_LENGTH, TASKS, type ClientMessage } from '../../shared/protocol.ts';
import { closeCodeFor, LOCAL_ERROR_CODES, PROTOCOL_ERROR_CODES } from '../../shared/protocol-errors.ts';
import { CONTROL_CHARACTERS } from '../../shared/validate.ts';

const DOC = readFileSync(join(REPO_ROOT, 'PROTOCOL.md'), 'utf8');

function section(title: string): string {
  const start = DOC.indexOf(`## ${title}`);
  expect(start, title).toBeGreaterThanOrEqual(0);
  const end = DOC.indexOf('\n## ', start + 1);
  return DOC.slice(start, end < 0 ? undefined : end);
}

/** Rows of the first markdown table in `text` whose first cell matches, as arrays of cells. */
function rows(text: string, firstCell: RegExp): string[][] {
  return text.split('\n').filter((line) => line.startsWith('|')).map((line) => line.split('|').slice(1, -1).map((c) => c.trim()))
    .filter((cells) => firstCell.test(cells[0] ?? ''));
}

describe('PROTOCOL.md agrees with the code', () => {
  it('§8 lists exactly the error codes, with the close code each fatal one uses', () => {
    const table = rows(section('8. Error codes'), /^`[A-Z_]+`$/);
    expect(table.map((r) => r[0]!.slice(1, -1)).sort()).toEqual([...PROTOCOL_ERROR_CODES].sort());
    for (const [cell, , , closes] of table) {
      const code = cell!.slice(1, -1) as (typeof PROTOCOL_ERROR_CODES)[number];
      const close = closeCodeFor(code);
      if (close === undefined) expect(closes, code).toMatch(/^(no|–)/);
      else expect(closes, code).toContain(`yes (${close}`);
      if (LOCAL_ERROR_CODES.includes(code)) expect(table.find((r) => r[0] === cell)![1]).toMatch(/\*local\*/);
    }
  });

  it('§3 lists every close code the daemon sends', () => {
    const listed = rows(section('3. Connection lifecycle'), /^\d{4}$/).map((r) => Number(r[0]));
    expect(listed.sort()).toEqual(Object.values(CLOSE_CODES).sort());
  });

  it('defines "control characters" as the code does: Unicode Cc, C1 and U+0085 included', () => {
    expect(DOC).toContain('C0 (U+0000–U+001F),\n  DEL (U+007F) and C1 (U+0080–U+009F, NEL U+0085 included)');
    for (let cp = 0; cp <= 0xffff; cp++) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      const ch = String.fromCodePoint(cp);
      if (CONTROL_CHARACTERS.test(ch) !== /\p{Cc}/u.test(ch)) throw new Error(`U+${cp.toString(16)} disagrees`);
    }
  });

  it('documents the token rule, the mask threshold and the handshake deadline with the values used', () => {
    expect(DOC).toContain(`| \`token\` | string | no | 0–${MAX_TOKEN_LENGTH} characters`);
    expect(DOC).toContain('ignored (the empty string\nincluded)');
    expect(MASK_THRESHOLD).toBe(128);
    expect(DOC).toContain(`values ≥ ${MASK_THRESHOLD} are generated, values < ${MASK_THRESHOLD} kept`);
    expect(HANDSHAKE_TIMEOUT_MS).toBe(10_000);
    expect(DEFAULT_TIMEOUTS.handshakeMs).toBe(HANDSHAKE_TIMEOUT_MS);
    expect(DOC).toContain('handshake 10 s after opening');
  });

  it('§12 states the daemon\'s defaults: origins, Host refusal, connection caps, timeouts', () => {
    const s12 = section('12. ');
    for (const origin of KNOWN_ORIGINS) expect(s12).toContain(`\`${origin}\``);
    expect(s12).toContain('`--allow-origin URL`');
    expect(s12).toContain('`--allow-host NAME`');
    expect(s12).toContain(`HTTP **${MISDIRECTED_STATUS}**`);
    expect(s12).toContain(`At most ${DEFAULT_CONNECTION_CAPS.maxConnections} WebSocket connections in all and ${DEFAULT_CONNECTION_CAPS.maxConnectionsPerAddress} from one remote address`);
    expect(s12).toContain(`No valid \`hello\` within ${DEFAULT_TIMEOUTS.handshakeMs / 1000} s`);
    expect(s12).toContain(`not all arrived within ${DEFAULT_TIMEOUTS.headersMs / 1000} s, or that is not\n  complete within ${DEFAULT_TIMEOUTS.requestMs / 1000} s`);
  });

  it('§5.6: a preview carries the documented fields, its region is the rectangle the images show', async () => {
    const s56 = DOC.slice(DOC.indexOf('### 5.6 `preview`'), DOC.indexOf('### 5.7 '));
    const documented = rows(s56.slice(0, s56.indexOf('**EncodedImage**')), /^`[a-z]+`$/).map((r) => r[0]!.slice(1, -1));
    const regionFields = /`region` \| map \| `\{ ([^}]*) \}`/.exec(s56)![1]!.split(', ');
    expect(rows(s56, /^`(fill|colorize|restore|uncrop)`$/).map((r) => r[0]!.slice(1, -1)).sort()).toEqual([...TASKS].sort());
    expect(s56).toContain('the smaller of\n`preview.maxSize` and the model\'s own pixels across the region');

    const registry = ModelRegistry.scan({ root: join(REPO_ROOT, 'no-models-here'), extraDirs: [join(REPO_ROOT, 'test', 'fixtures', 'tiny-model')], device: 'cpu', intraOpThreads: 1 });
    const server = await startServer({ host: '127.0.0.1', port: 0, registry, log: () => undefined });
    const socket = new WebSocket(server.url);
    try {
      const messages: Array<Record<string, unknown>> = [];
      const finished = new Promise<void>((resolve) => socket.on('message', (data) => {
        const m = decodeFrame(new Uint8Array(data as Buffer)) as Record<string, unknown>;
        messages.push(m);
        if (m.type === 'done' || m.type === 'error') resolve();
      }));
      await new Promise((resolve) => socket.once('open', resolve));
      const send = (m: ClientMessage) => socket.send(encodeMessage(m));
      send({ type: 'hello', protocol: 1, client: 'protocol-doc' });
      const width = 64;
      const height = 48; // restore in 32² tiles: several regions
      const data = new Uint8Array(width * height * 4).fill(200);
      send({ type: 'generate', id: 'p1', request: { task: 'restore', image: { format: 'rgba8', width, height, data }, variants: 2, steps: 2, sampler: 'ddim', seeds: [1, 2], preview: { intervalMs: 1 } } });
      await finished;
      const previews = messages.filter((m) => m.type === 'preview');
      expect(messages.at(-1)?.type).toBe('done');
      expect(previews.length).toBeGreaterThan(0);
      for (const p of previews) {
        expect(Object.keys(p).sort()).toEqual([...documented].sort());
        const region = p.region as Record<string, number>;
        expect(Object.keys(region).sort()).toEqual([...regionFields].sort());
        for (const image of p.images as Array<{ width: number; height: number }>) {
          expect(image.width / image.height).toBeCloseTo(region.width! / region.height!, 1);
        }
      }
      expect(new Set(previews.map((p) => JSON.stringify(p.region))).size).toBeGreaterThan(1);
    } finally {
      socket.close();
      await server.close();
      await registry.close();
    }
  });

  it('§12 describes /health with the fields the daemon sends', async () => {
    const registry = ModelRegistry.scan({ root: join(REPO_ROOT, 'no-models-here'), extraDirs: [join(REPO_ROOT, 'test', 'fixtures', 'tiny-model')], device: 'cpu' });
    const server = await startServer({ host: '127.0.0.1', port: 0, registry, log: () => undefined });
    try {
      const body = (await (await fetch(`http://127.0.0.1:${server.port}/health`)).json()) as Record<string, unknown>;
      const documented = /`\{ (ok: true, [^}]*) \}`/.exec(section('12. '))![1]!.split(', ').map((field) => field.split(':')[0]);
      expect(Object.keys(body).sort()).toEqual([...documented].sort());
    } finally {
      await server.close();
      await registry.close();
    }
  });
});
