import { decodeProtectedHeader, type JSONWebKeySet } from 'jose';
import { randomUUID } from 'node:crypto';
import { rename } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.ts';
import { loadLocalIssuer, tokenClaims, type LocalIssuer } from '../src/auth/local-issuer.ts';
import { createTokenVerifier } from '../src/auth/verify-token.ts';
import { registeredPackageSigner, toKeySet, verifyManifestSignature, type PackageSigner } from '../src/export/package-signature.ts';
import { createTestApp, type TestApp } from './support/harness.ts';
import { expectGraphError } from './support/graph-assert.ts';

// Rotating the two signing keys of a data folder as the README says ("Rotating the signing
// keys"): the key file moved aside, the processes restarted. A restart here is a new app over the
// same database and data folder, loading its keys as `serve` and the worker do at start.

const ROLES = ['User.Export.All', 'User.Read.All'];
const manifestA = Buffer.from('{"schemaVersion":"1.0","files":[{"path":"Directory/Profile.json","size":2,"sha256":"aa"}]}');
const manifestB = Buffer.from('{"schemaVersion":"1.0","files":[{"path":"Directory/Profile.json","size":3,"sha256":"bb"}]}');

let t: TestApp;
let restarted: TestApp['app'] | undefined;

beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await restarted?.close();
  await t?.close();
});

async function jwksOf(app: TestApp['app']): Promise<JSONWebKeySet> {
  const res = await app.inject({ method: 'GET', url: '/.well-known/jwks.json' });
  expect(res.statusCode).toBe(200);
  return toKeySet(res.json());
}

const kids = (set: JSONWebKeySet) => set.keys.map((k) => k.kid);
const listWith = (app: TestApp['app'], token: string) =>
  app.inject({ method: 'GET', url: '/v1.0/dataPolicyOperations', headers: { authorization: `Bearer ${token}` } });
const tokenOf = (issuer: LocalIssuer, tenant: string) => issuer.sign(tokenClaims({ tenant, app: { id: randomUUID(), roles: ROLES } }), 3600);

describe('signing-key rotation', () => {
  it('after the key files are moved aside and the processes restart: new keys sign, the JWKS serves the new issuer key and every package key, old tokens fail, old packages verify until their key is retired', async () => {
    const tenant = randomUUID();
    const keysDir = path.join(t.dataDir, 'keys');
    const issuerA = t.issuer;
    const signerA: PackageSigner = await registeredPackageSigner(t.db, t.dataDir);
    const tokenA = await tokenOf(issuerA, tenant);
    const signatureA = await signerA.sign(manifestA);
    expect((await listWith(t.app, tokenA)).statusCode).toBe(200);
    expect(kids(await jwksOf(t.app))).toEqual([issuerA.jwks.keys[0]!.kid, signerA.kid]);

    await rename(path.join(keysDir, 'local-issuer.json'), path.join(keysDir, 'local-issuer.json.retired'));
    await rename(path.join(keysDir, 'package-signing.json'), path.join(keysDir, 'package-signing.json.retired'));
    const issuerB = await loadLocalIssuer(t.dataDir);
    const signerB = await registeredPackageSigner(t.db, t.dataDir);
    restarted = await buildApp({ ...t.deps, localIssuer: issuerB, verifier: createTokenVerifier(t.config, issuerB) });

    const issuerKidB = issuerB.jwks.keys[0]!.kid!;
    expect(issuerKidB).not.toBe(issuerA.jwks.keys[0]!.kid);
    expect(signerB.kid).not.toBe(signerA.kid);

    // New tokens are signed by the new key and accepted; the old key's tokens are refused.
    const tokenB = await tokenOf(issuerB, tenant);
    expect(decodeProtectedHeader(tokenB).kid).toBe(issuerKidB);
    expect((await listWith(restarted, tokenB)).statusCode).toBe(200);
    expect(expectGraphError(await listWith(restarted, tokenA), 401, 'InvalidAuthenticationToken').message).toMatch(/unknown kid/);

    // The JWKS: the current issuer key only, and every package key ever registered.
    const jwks = await jwksOf(restarted);
    expect(kids(jwks)).toEqual([issuerKidB, signerA.kid, signerB.kid]);

    // New packages carry the new key; packages signed before the rotation still verify.
    const signatureB = await signerB.sign(manifestB);
    expect(decodeProtectedHeader(signatureB).kid).toBe(signerB.kid);
    expect(await verifyManifestSignature(manifestB, signatureB, jwks)).toEqual({ valid: true, kid: signerB.kid });
    expect(await verifyManifestSignature(manifestA, signatureA, jwks)).toEqual({ valid: true, kid: signerA.kid });
    // A restart without rotation keeps the key: registering it again publishes nothing new.
    expect((await registeredPackageSigner(t.db, t.dataDir)).kid).toBe(signerB.kid);
    expect(kids(await jwksOf(restarted))).toEqual([issuerKidB, signerA.kid, signerB.kid]);

    // Retiring a (compromised) package key: its packages fail verification, the others do not.
    await t.db.query('delete from package_signing_keys where kid = $1', [signerA.kid]);
    const afterRetirement = await jwksOf(restarted);
    expect(kids(afterRetirement)).toEqual([issuerKidB, signerB.kid]);
    expect(await verifyManifestSignature(manifestA, signatureA, afterRetirement)).toEqual({
      valid: false,
      reason: 'signed with a key that is not in the key set',
    });
    expect(await verifyManifestSignature(manifestB, signatureB, afterRetirement)).toEqual({ valid: true, kid: signerB.kid });
  });
});
