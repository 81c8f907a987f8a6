import { describe, expect, it } from 'vitest';
import { hostAllowList, splitHostHeader } from '../../daemon/host-allow-list.ts';

describe('splitHostHeader', () => {
  it('splits names, IPv4 and bracketed IPv6 from their ports, lower-cased', () => {
    expect(splitHostHeader('LocalHost:7860')).toEqual({ name: 'localhost', port: 7860 });
    expect(splitHostHeader('[::1]:7860')).toEqual({ name: '[::1]', port: 7860 });
    expect(splitHostHeader('127.0.0.1')).toEqual({ name: '127.0.0.1', port: undefined });
  });

  it('refuses what is not a host[:port]', () => {
    for (const bad of ['', 'a b', 'user@localhost:7860', 'localhost:7860/x', '::1:7860', 'localhost:', 'localhost:123456']) {
      expect(splitHostHeader(bad), bad).toBeNull();
    }
  });
});

describe('hostAllowList', () => {
  it('on loopback allows the loopback names with the port, and nothing else', () => {
    const list = hostAllowList({ host: '127.0.0.1', port: 7860 });
    for (const ok of ['localhost:7860', '127.0.0.1:7860', '[::1]:7860', 'LOCALHOST:7860']) expect(list.allows(ok), ok).toBe(true);
    for (const bad of [undefined, 'evil.example', 'evil.example:7860', 'localhost', 'localhost:7861', '127.0.0.2:7860', 'localhost.:7860', '192.168.1.2:7860']) {
      expect(list.allows(bad), String(bad)).toBe(false);
    }
  });

  it('allows the configured host and --allow-host names, IPv6 hosts bracketed', () => {
    const list = hostAllowList({ host: '::1', port: 80, extraHosts: ['Palette.lan'] });
    expect(list.allows('[::1]')).toBe(true); // port 80 may be left out
    expect(list.allows('palette.lan')).toBe(true);
    expect(list.allows('palette.lan:80')).toBe(true);
    expect(list.allows('other.lan')).toBe(false);
    expect(hostAllowList({ host: '10.0.0.5', port: 7860 }).allows('10.0.0.5:7860')).toBe(true);
  });

  it('on a wildcard bind also allows any IP literal (never a DNS name it was not given)', () => {
    const list = hostAllowList({ host: '0.0.0.0', port: 7860 });
    expect(list.allows('192.168.1.20:7860')).toBe(true);
    expect(list.allows('[fe80::1]:7860')).toBe(true);
    expect(list.allows('0.0.0.0:7860')).toBe(true);
    expect(list.allows('evil.example:7860')).toBe(false);
    expect(list.allows('192.168.1.20:7861')).toBe(false);
  });
});
