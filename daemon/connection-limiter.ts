/**
 * Caps on open WebSocket connections, in total and per remote address, so a client that opens
 * connections in a loop cannot exhaust the daemon's sockets and memory. Each connection costs a
 * session and its buffers; real clients (an editor panel, the CLI) hold one or two each.
 */

export interface ConnectionCaps {
  /** Open connections in all. */
  maxConnections: number;
  /** Open connections from one remote address (all local clients share 127.0.0.1). */
  maxConnectionsPerAddress: number;
}

export const DEFAULT_CONNECTION_CAPS: Readonly<ConnectionCaps> = Object.freeze({
  maxConnections: 64,
  maxConnectionsPerAddress: 32,
});

export type Admission = { ok: true } | { ok: false; reason: string };

/** `::ffff:127.0.0.1` and `127.0.0.1` are the same client: IPv4-mapped addresses count as IPv4. */
export function normaliseAddress(address: string | undefined): string {
  if (address === undefined) return '(unknown)';
  const lower = address.toLowerCase();
  return lower.startsWith('::ffff:') && lower.includes('.') ? lower.slice(7) : lower;
}

export class ConnectionLimiter {
  private total = 0;
  private readonly perAddress = new Map<string, number>();

  constructor(private readonly caps: ConnectionCaps) {
    for (const [key, value] of Object.entries(caps)) {
      if (!Number.isInteger(value) || value < 1) throw new RangeError(`${key} must be a positive integer, got ${value}`);
    }
  }

  get size(): number {
    return this.total;
  }

  /** Counts a new connection from `address`, or says why it is refused (nothing is counted then). */
  admit(address: string | undefined): Admission {
    const key = normaliseAddress(address);
    const fromAddress = this.perAddress.get(key) ?? 0;
    if (this.total >= this.caps.maxConnections) {
      return { ok: false, reason: `The daemon already has ${this.total} connections (the limit); close one and retry.` };
    }
    if (fromAddress >= this.caps.maxConnectionsPerAddress) {
      return { ok: false, reason: `${key} already has ${fromAddress} connections (the limit per address); close one and retry.` };
    }
    this.total += 1;
    this.perAddress.set(key, fromAddress + 1);
    return { ok: true };
  }

  /** A connection admitted from `address` closed. */
  release(address: string | undefined): void {
    const key = normaliseAddress(address);
    const fromAddress = this.perAddress.get(key);
    if (fromAddress === undefined) return;
    this.total -= 1;
    if (fromAddress <= 1) this.perAddress.delete(key);
    else this.perAddress.set(key, fromAddress - 1);
  }
}
