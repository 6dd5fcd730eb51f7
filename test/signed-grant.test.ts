import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signGrant, verifyGrant } from '../src/auth/signed-grant.ts';

// The signed URLs (drive download URLs, case file URLs) are their own credential: only the key
// that signed a grant verifies it, unchanged, until it expires.
describe('signed grants', () => {
  const key = randomBytes(32);
  const now = new Date('2026-11-30T12:00:00Z');
  const grant = { requestId: 'r', expires: now.getTime() / 1000 + 120 };

  it('verify with their key until they expire, and not a second after', () => {
    const token = signGrant(key, grant);
    expect(verifyGrant(key, token, now)).toEqual(grant);
    expect(verifyGrant(key, token, new Date(now.getTime() + 119_000))).toEqual(grant);
    expect(verifyGrant(key, token, new Date(now.getTime() + 120_000))).toBeUndefined();
  });

  it('refuse another key, a changed payload or signature, and malformed tokens', () => {
    const token = signGrant(key, grant);
    const [payload, mac] = token.split('.') as [string, string];
    expect(verifyGrant(randomBytes(32), token, now)).toBeUndefined();
    const changed = Buffer.from(JSON.stringify({ ...grant, requestId: 's' })).toString('base64url');
    expect(verifyGrant(key, `${changed}.${mac}`, now)).toBeUndefined();
    expect(verifyGrant(key, `${payload}.${mac.startsWith('A') ? 'B' : 'A'}${mac.slice(1)}`, now)).toBeUndefined();
    for (const bad of ['', payload, `${payload}.`, `.${mac}`, `${token}.x`, `${payload}.${'A'.repeat(5000)}`]) {
      expect(verifyGrant(key, bad, now), bad.slice(0, 20)).toBeUndefined();
    }
  });
});
