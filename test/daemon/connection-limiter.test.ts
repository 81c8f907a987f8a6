import { describe, expect, it } from 'vitest';
import { ConnectionLimiter, normaliseAddress } from '../../daemon/connection-limiter.ts';

describe('ConnectionLimiter', () => {
  it('caps connections per address, then in total, and says which cap refused', () => {
    const limiter = new ConnectionLimiter({ maxConnections: 3, maxConnectionsPerAddress: 2 });
    expect(limiter.admit('127.0.0.1')).toEqual({ ok: true });
    expect(limiter.admit('::ffff:127.0.0.1')).toEqual({ ok: true }); // the same client
    expect(limiter.admit('127.0.0.1')).toEqual({ ok: false, reason: expect.stringContaining('per address') });
    expect(limiter.admit('127.0.0.2')).toEqual({ ok: true });
    expect(limiter.admit('127.0.0.3')).toEqual({ ok: false, reason: expect.stringContaining('3 connections') });
    expect(limiter.size).toBe(3);
  });

  it('frees a place when a connection closes; a release of an unknown address changes nothing', () => {
    const limiter = new ConnectionLimiter({ maxConnections: 1, maxConnectionsPerAddress: 1 });
    expect(limiter.admit('a').ok).toBe(true);
    limiter.release('b');
    expect(limiter.admit('a').ok).toBe(false);
    limiter.release('a');
    expect(limiter.size).toBe(0);
    expect(limiter.admit('a').ok).toBe(true);
  });

  it('refuses caps that are not positive integers', () => {
    expect(() => new ConnectionLimiter({ maxConnections: 0, maxConnectionsPerAddress: 1 })).toThrow(RangeError);
    expect(() => new ConnectionLimiter({ maxConnections: 2, maxConnectionsPerAddress: 1.5 })).toThrow(RangeError);
  });

  it('counts IPv4-mapped IPv6 addresses as IPv4', () => {
    expect(normaliseAddress('::FFFF:10.0.0.1')).toBe('10.0.0.1');
    expect(normaliseAddress('::1')).toBe('::1');
    expect(normaliseAddress(undefined)).toBe('(unknown)');
  });
});
