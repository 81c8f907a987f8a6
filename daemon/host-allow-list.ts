/**
 * The Host-header allow-list: the DNS-rebinding defence that dev servers use. A page on
 * evil.example can make its own name resolve to 127.0.0.1 and then talk to the daemon "same-origin";
 * the browser still sends `Host: evil.example`, so refusing Host names the daemon does not answer to
 * closes that door for every HTTP endpoint and for the WebSocket upgrade alike.
 */
import { isIP } from 'node:net';

export interface HostAllowListOptions {
  /** The address the daemon binds (`--host`). */
  host: string;
  /** The port it listens on; a Host header must carry it (browsers always send it, but for :80). */
  port: number;
  /** More names it answers to (`--allow-host`, e.g. a LAN name when bound beyond loopback). */
  extraHosts?: readonly string[];
}

export interface HostAllowList {
  /** Whether a request's Host header (undefined when absent) names this daemon. */
  allows(hostHeader: string | undefined): boolean;
  /** The names allowed, lower-case, without the port (for logs and tests). */
  readonly names: readonly string[];
}

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]'];

/** Wildcard binds answer on every address of the machine, whose names the daemon cannot know. */
function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '[::]';
}

/** `::1` → `[::1]`: the form an IPv6 literal takes in a Host header. */
function hostName(host: string): string {
  const lower = host.toLowerCase();
  return isIP(lower) === 6 ? `[${lower}]` : lower;
}

/** Splits `name:port` / `[v6]:port` / `name`; null when the header is not of that shape. */
export function splitHostHeader(header: string): { name: string; port: number | undefined } | null {
  const match = /^(\[[0-9a-f:.]+\]|[^\s:[\]/@]+)(?::(\d{1,5}))?$/i.exec(header.trim());
  if (!match) return null;
  const name = match[1]!.toLowerCase();
  return { name, port: match[2] === undefined ? undefined : Number(match[2]) };
}

function isIpLiteral(name: string): boolean {
  return isIP(name.startsWith('[') ? name.slice(1, -1) : name) !== 0;
}

/**
 * Loopback names, the configured host and `extraHosts`, each with the daemon's port (a bare name
 * only when the port is 80). When bound to a wildcard address, IP literals are allowed too: a
 * rebinding page always sends a DNS name, and a user typing the machine's IP is not one.
 */
export function hostAllowList(options: HostAllowListOptions): HostAllowList {
  const names = new Set(LOOPBACK_NAMES);
  if (!isWildcard(options.host)) names.add(hostName(options.host));
  for (const extra of options.extraHosts ?? []) names.add(hostName(extra));
  const anyIp = isWildcard(options.host);
  return {
    names: [...names],
    allows(header) {
      if (header === undefined) return false;
      const parsed = splitHostHeader(header);
      if (!parsed) return false;
      const port = parsed.port ?? 80;
      if (port !== options.port) return false;
      return names.has(parsed.name) || (anyIp && isIpLiteral(parsed.name));
    },
  };
}
