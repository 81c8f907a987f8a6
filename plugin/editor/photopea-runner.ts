/**
 * Runs scripts in Photopea, one at a time, over its Live Messaging API: the plugin page posts a script
 * string to `window.parent`; Photopea answers with zero or more messages (ArrayBuffers from
 * `saveToOE`, strings from `echoToOE`) and then the string "done".
 *
 * "done" is not enough to tell whose answer is whose (Photopea also sends it when it starts and when
 * documents open), so every script is wrapped to echo "palette:begin:<n>" first and
 * "palette:end:<n>" last, and a script's answer is what arrives from its begin tag up to the first
 * "done" after its end tag. A script that throws reports "palette:error:<n>:<message>". A fatal error
 * in Photopea ends a script silently, so every run has a timeout (EditorError HOST_TIMEOUT).
 */
import { EditorError } from './editor-document.ts';

/** How the adapter reaches Photopea; plugin/entries/photopea.tsx wires it to window.parent. */
export interface PhotopeaTransport {
  post(script: string): void;
  /** Subscribes to messages from Photopea; returns the unsubscribe function. */
  onMessage(listener: (data: unknown) => void): () => void;
}

export interface ScriptAnswer {
  /** ArrayBuffers sent by saveToOE, in order. */
  buffers: Uint8Array[];
  /** Strings sent by echoToOE (the tags removed). */
  strings: string[];
}

const TAG = 'palette:';

interface Pending {
  n: number;
  begun: boolean;
  ended: boolean;
  error: string | undefined;
  answer: ScriptAnswer;
  settle(error: Error | null): void;
}

export class PhotopeaScriptRunner {
  private counter = 0;
  private queue: Promise<unknown> = Promise.resolve();
  private pending: Pending | null = null;
  private readonly unsubscribe: () => void;

  constructor(private readonly transport: PhotopeaTransport, private readonly defaultTimeoutMs = 15_000) {
    this.unsubscribe = transport.onMessage((data) => this.receive(data));
  }

  /** Runs `body` (ES5 script text) after every script queued before it; rejects with EditorError. */
  run(body: string, timeoutMs = this.defaultTimeoutMs): Promise<ScriptAnswer> {
    const result = this.queue.then(() => this.runNow(body, timeoutMs));
    this.queue = result.catch(() => undefined);
    return result;
  }

  dispose(): void {
    this.unsubscribe();
  }

  private runNow(body: string, timeoutMs: number): Promise<ScriptAnswer> {
    const n = ++this.counter;
    return new Promise<ScriptAnswer>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending = null;
        reject(new EditorError('HOST_TIMEOUT', `Photopea did not answer within ${Math.round(timeoutMs / 1000)} s.`));
      }, timeoutMs);
      const pending: Pending = {
        n, begun: false, ended: false, error: undefined, answer: { buffers: [], strings: [] },
        settle: (error) => {
          clearTimeout(timer);
          this.pending = null;
          if (error) reject(error);
          else resolve(pending.answer);
        },
      };
      this.pending = pending;
      this.transport.post(wrapScript(n, body));
    });
  }

  private receive(data: unknown): void {
    const pending = this.pending;
    if (!pending) return;
    if (typeof data === 'string') {
      if (data === `${TAG}begin:${pending.n}`) {
        pending.begun = true;
      } else if (!pending.begun) {
        // an answer to an older (timed-out) script, or Photopea's own "done": not ours
      } else if (data === `${TAG}end:${pending.n}`) {
        pending.ended = true;
      } else if (data.startsWith(`${TAG}error:${pending.n}:`)) {
        pending.error = data.slice(`${TAG}error:${pending.n}:`.length);
      } else if (data === 'done') {
        if (pending.ended) pending.settle(pending.error === undefined ? null : scriptError(pending.error));
      } else if (!data.startsWith(TAG)) {
        pending.answer.strings.push(data);
      }
      return;
    }
    if (!pending.begun) return;
    if (data instanceof ArrayBuffer) pending.answer.buffers.push(new Uint8Array(data));
    else if (ArrayBuffer.isView(data)) pending.answer.buffers.push(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }
}

/** Error text our scripts throw on purpose, mapped to EditorError codes. */
export const SCRIPT_ERRORS = { noDocument: 'PALETTE_NO_DOCUMENT', noLayer: 'PALETTE_NO_LAYER' } as const;

function scriptError(message: string): EditorError {
  if (message.includes(SCRIPT_ERRORS.noDocument)) return new EditorError('NO_DOCUMENT', 'Open a document in Photopea first.');
  if (message.includes(SCRIPT_ERRORS.noLayer)) return new EditorError('NO_ACTIVE_LAYER', 'Select a layer in Photopea first.');
  return new EditorError('HOST_ERROR', `Photopea script failed: ${message}`);
}

export function wrapScript(n: number, body: string): string {
  return `app.echoToOE("${TAG}begin:${n}");\n`
    + `try {\n${body}\n} catch (e) { app.echoToOE("${TAG}error:${n}:" + e); }\n`
    + `app.echoToOE("${TAG}end:${n}");`;
}
