import { compactVerify, createLocalJWKSet, jwtVerify } from 'jose';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadLocalIssuer } from '../src/auth/local-issuer.ts';
import { loadPackageSigner, readKeyFile, verifyManifestSignature } from '../src/export/package-signature.ts';
import { tempDir } from './support/harness.ts';

const manifest = Buffer.from('{"schemaVersion":"1.0","files":[{"path":"a.json","size":2,"sha256":"00"}]}');

describe('manifest signature', () => {
  it('a detached signature verifies against the public key and fails for any other byte', async () => {
    const signer = await loadPackageSigner(await tempDir('dsr-sig-'));
    const jws = await signer.sign(manifest);
    expect(jws).toMatch(/^[\w-]+\.\.[\w-]+$/);
    const keys = { keys: [signer.publicJwk] };
    expect(signer.publicJwk).not.toHaveProperty('d');
    expect(await verifyManifestSignature(manifest, jws, keys)).toEqual({ valid: true, kid: signer.kid });
    const changed = Buffer.from(manifest);
    changed[changed.length - 3] = '1'.charCodeAt(0);
    expect(await verifyManifestSignature(changed, jws, keys)).toEqual({ valid: false, reason: 'the signature does not match manifest.json' });
  });

  it("the key stays the same across loads of one data folder, and another folder's key is refused", async () => {
    const dir = await tempDir('dsr-sig-');
    const [a, b] = await Promise.all([loadPackageSigner(dir), loadPackageSigner(dir)]);
    expect(a.kid).toBe(b.kid);
    const other = await loadPackageSigner(await tempDir('dsr-sig-'));
    expect(await verifyManifestSignature(manifest, await a.sign(manifest), { keys: [other.publicJwk] })).toEqual({
      valid: false,
      reason: 'signed with a key that is not in the key set',
    });
  });

  it('a local-issuer token is no manifest signature, and a manifest signature is no token', async () => {
    const dir = await tempDir('dsr-sig-');
    const issuer = await loadLocalIssuer(dir);
    const signer = await loadPackageSigner(dir);
    const keys = { keys: [...issuer.jwks.keys, signer.publicJwk] };
    // A token's signature never passes: its algorithm (RS256) and its typ (JWT) are not a manifest's.
    const [h, , s] = (await issuer.sign({ tid: 'x' }, 60)).split('.');
    expect((await verifyManifestSignature(manifest, `${h}..${s}`, keys)).valid).toBe(false);
    // A manifest signature with its payload put back is not a token the JWKS accepts.
    const [mh, , ms] = (await signer.sign(manifest)).split('.');
    const asToken = `${mh}.${Buffer.from(manifest).toString('base64url')}.${ms}`;
    await expect(jwtVerify(asToken, createLocalJWKSet(keys), { issuer: issuer.issuer, audience: issuer.audience })).rejects.toThrow();
  });

  it('a malformed signature is reported, not thrown', async () => {
    const signer = await loadPackageSigner(await tempDir('dsr-sig-'));
    const keys = { keys: [signer.publicJwk] };
    expect(await verifyManifestSignature(manifest, 'garbage', keys)).toEqual({ valid: false, reason: 'not a detached compact JWS' });
    const [h, , s] = (await signer.sign(manifest)).split('.');
    expect((await verifyManifestSignature(manifest, `${h}.${Buffer.from('x').toString('base64url')}.${s}`, keys)).valid).toBe(false);
    expect((await verifyManifestSignature(manifest, `${h}..${s!.slice(0, -4)}`, keys)).valid).toBe(false);
  });

  it('a manifest streamed in pieces of any size signs and verifies like the whole bytes', async () => {
    const signer = await loadPackageSigner(await tempDir('dsr-sig-'));
    const keys = { keys: [signer.publicJwk] };
    // Pieces of 1, 2, 4, … bytes: every remainder of base64url's 3-byte groups crosses a piece.
    const pieces = async function* (bytes: Buffer) {
      for (let at = 0, n = 1; at < bytes.length; at += n, n *= 2) yield bytes.subarray(at, at + n);
    };
    const streamed = await signer.sign(pieces(manifest));
    expect(await verifyManifestSignature(manifest, streamed, keys)).toEqual({ valid: true, kid: signer.kid });
    expect(await verifyManifestSignature(pieces(manifest), await signer.sign(manifest), keys)).toEqual({ valid: true, kid: signer.kid });
    // jose, reading the whole JWS with its payload put back, agrees.
    const [h, , s] = streamed.split('.');
    const { payload } = await compactVerify(`${h}.${manifest.toString('base64url')}.${s}`, createLocalJWKSet(keys));
    expect(Buffer.from(payload).equals(manifest)).toBe(true);
    const changed = Buffer.concat([manifest, Buffer.from(' ')]);
    expect(await verifyManifestSignature(pieces(changed), streamed, keys)).toEqual({ valid: false, reason: 'the signature does not match manifest.json' });
  });

  it('a key file holds a JWKS or one JWK; private members are dropped', async () => {
    const dir = await tempDir('dsr-sig-');
    const signer = await loadPackageSigner(dir);
    const jwks = path.join(dir, 'jwks.json');
    await writeFile(jwks, JSON.stringify({ keys: [signer.publicJwk] }));
    expect(await readKeyFile(jwks)).toEqual({ keys: [signer.publicJwk] });
    // The private key file itself works too, read as its public half.
    expect(await readKeyFile(path.join(dir, 'keys', 'package-signing.json'))).toEqual({ keys: [signer.publicJwk] });
    await writeFile(jwks, '{"nothing": true}');
    await expect(readKeyFile(jwks)).rejects.toThrow(/neither a JWKS/);
  });
});
