import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, LOCAL_AUDIENCE, LOCAL_ISSUER, loadConfig } from '../src/config.ts';
import { createTokenVerifier } from '../src/auth/verify-token.ts';
import { createTestApp, fakeSasUrl, type TestApp } from './support/harness.ts';
import { expectGraphError } from './support/graph-assert.ts';
import { startOidcProvider, type TestOidcProvider } from './support/oidc-provider.ts';

// The identity provider is a real OpenID Connect provider (the oidc-provider package) with one
// issuer per tenant, as Entra ID has. Tokens it issues are the accepted ones; the refused ones are
// made here with keys an attacker would hold.

const audience = 'api://dsr-external';
const ALLOWED = randomUUID();
const ALSO_ALLOWED = randomUUID();
const FLAKY = randomUUID();
type Key = { privateKey: CryptoKey; jwk: JWK };

let idp: TestOidcProvider;
let base: string;
let hits: string[];
let attacker: Key;
let templated: TestApp;
let open: TestApp;
let fixed: TestApp;

const discoveryHits = (tid: string) => hits.filter((h) => h === `/${tid}/v2.0/.well-known/openid-configuration`).length;
const issuerOf = (tid: string) => `${base}/${tid}/v2.0`;
const appClaims = (tid: string, roles = ['User.Export.All', 'User.Read.All', 'User.ReadWrite.All']) => ({ tid, oid: randomUUID(), idtyp: 'app', roles });

async function makeKey(alg: 'ES256' | 'RS256', kid: string): Promise<Key & { privateJwk: JWK }> {
  const pair = await generateKeyPair(alg, { extractable: true });
  const meta = { kid, alg, use: 'sig' };
  return {
    privateKey: pair.privateKey,
    jwk: { ...(await exportJWK(pair.publicKey)), ...meta },
    privateJwk: { ...(await exportJWK(pair.privateKey)), ...meta },
  };
}

/** A token made outside the provider, with whatever key, header and claims an attacker chooses. */
function sign(
  key: Key,
  claims: Record<string, unknown>,
  iss: string,
  opts: { aud?: string; exp?: string | number; kid?: string | null } = {},
): Promise<string> {
  const header: Record<string, string> = { alg: key.jwk.alg!, typ: 'JWT' };
  if (opts.kid !== null) header.kid = opts.kid ?? key.jwk.kid!;
  return new SignJWT(claims)
    .setProtectedHeader(header as { alg: string })
    .setIssuer(iss)
    .setAudience(opts.aud ?? audience)
    .setIssuedAt()
    .setExpirationTime(opts.exp ?? '10m')
    .sign(key.privateKey);
}

function list(app: TestApp, token: string) {
  return app.app.inject({ method: 'GET', url: '/v1.0/dataPolicyOperations', headers: { authorization: `Bearer ${token}` } });
}

beforeAll(async () => {
  const es = await makeKey('ES256', 'es-1');
  const rs = await makeKey('RS256', 'rs-1');
  idp = await startOidcProvider(audience, [es.privateJwk, rs.privateJwk]);
  ({ base, hits } = idp);
  attacker = await makeKey('ES256', 'es-1');
  templated = await createTestApp({
    DSR_AUTH_ISSUER: `${base}/{tenantid}/v2.0`,
    DSR_AUTH_AUDIENCE: audience,
    DSR_AUTH_ALLOWED_TENANTS: `${ALLOWED},${ALSO_ALLOWED.toUpperCase()}`,
  });
  open = await createTestApp({ DSR_AUTH_ISSUER: `${base}/{tenantid}/v2.0`, DSR_AUTH_AUDIENCE: audience, DSR_AUTH_ALLOWED_TENANTS: '*' });
  fixed = await createTestApp({
    DSR_AUTH_ISSUER: `${base}/fixed/v2.0`,
    DSR_AUTH_AUDIENCE: audience,
    DSR_AUTH_JWKS_URI: `${base}/fixed/v2.0/jwks`,
    DSR_AUTH_LOCAL_ISSUER: 'true',
  });
});
afterAll(async () => {
  await templated?.close();
  await open?.close();
  await fixed?.close();
  await idp?.close();
});

describe('external OIDC issuer', () => {
  it('accepts ES256 and RS256 tokens of an allowed tenant, keys found by discovery; the local issuer is off', async () => {
    const esToken = await idp.token(ALLOWED, appClaims(ALLOWED));
    const ok = await list(templated, esToken);
    expect(ok.statusCode, ok.body).toBe(200);
    expect(discoveryHits(ALLOWED)).toBe(1);
    expect(hits).toContain(`/${ALLOWED}/v2.0/jwks`);
    expect((await list(templated, await idp.token(ALLOWED, appClaims(ALLOWED), 'RS256'))).statusCode).toBe(200);
    expect(discoveryHits(ALLOWED)).toBe(1);

    // The whole path: create a user and export it with the external token.
    const created = await templated.app.inject({
      method: 'POST',
      url: '/v1.0/users',
      headers: { authorization: `Bearer ${esToken}` },
      payload: { userPrincipalName: 'ext@contoso.com', displayName: 'Ext' },
    });
    expect(created.statusCode, created.body).toBe(201);
    const post = await templated.app.inject({
      method: 'POST',
      url: '/v1.0/users/ext@contoso.com/exportPersonalData',
      headers: { authorization: `Bearer ${esToken}` },
      payload: { storageLocation: fakeSasUrl() },
    });
    expect(post.statusCode, post.body).toBe(202);
    expectGraphError(await list(templated, await templated.appToken(ALLOWED, ['User.Export.All', 'User.Read.All'])), 401, 'InvalidAuthenticationToken');
  });

  it('refuses, before any fetch, a tenant outside DSR_AUTH_ALLOWED_TENANTS, a wrong audience, no kid, an expired token, a foreign issuer', async () => {
    const stranger = randomUUID();
    const before = hits.length;
    const refusals: [string, RegExp][] = [
      [await sign(attacker, appClaims(stranger), issuerOf(stranger)), /not allowed/],
      [await sign(attacker, appClaims(ALSO_ALLOWED), issuerOf(ALSO_ALLOWED), { aud: 'api://another-api' }), /audience/],
      [await sign(attacker, appClaims(ALSO_ALLOWED), issuerOf(ALSO_ALLOWED), { aud: LOCAL_AUDIENCE }), /audience/],
      [await sign(attacker, appClaims(ALSO_ALLOWED), issuerOf(ALSO_ALLOWED), { kid: null }), /kid/],
      [await sign(attacker, appClaims(ALSO_ALLOWED), issuerOf(ALSO_ALLOWED), { kid: 'k'.repeat(300) }), /kid/],
      [await sign(attacker, appClaims(ALSO_ALLOWED), issuerOf(ALSO_ALLOWED), { exp: Math.floor(Date.now() / 1000) - 3600 }), /expired/],
      [await sign(attacker, appClaims(ALSO_ALLOWED), issuerOf(randomUUID())), /issuer/],
      [await sign(attacker, appClaims(ALSO_ALLOWED), LOCAL_ISSUER, { aud: LOCAL_AUDIENCE }), /issuer/],
    ];
    for (const tid of ['evil', '../../discovery', 'x/y']) refusals.push([await sign(attacker, appClaims(tid), `${base}/${tid}/v2.0`), /issuer/]);
    for (const [token, message] of refusals) {
      expect(expectGraphError(await list(templated, token), 401, 'InvalidAuthenticationToken').message).toMatch(message);
    }
    expect(hits.slice(before)).toEqual([]);
  });

  it('refuses a key that is not in the JWKS, and ES256 signed by a stranger under a known kid', async () => {
    const impostor = await makeKey('ES256', 'es-1');
    expectGraphError(await list(templated, await sign(impostor, appClaims(ALLOWED), issuerOf(ALLOWED))), 401, 'InvalidAuthenticationToken');
    const unknownKid = await makeKey('ES256', 'es-unknown');
    expectGraphError(await list(templated, await sign(unknownKid, appClaims(ALLOWED), issuerOf(ALLOWED))), 401, 'InvalidAuthenticationToken');
  });

  it('tokens of made-up tenants cannot flush a working tenant: at most a bounded number of discoveries, and the working tenant needs none', async () => {
    const working = randomUUID();
    expect((await list(open, await idp.token(working, appClaims(working)))).statusCode).toBe(200);
    expect(discoveryHits(working)).toBe(1);
    const impostor = await makeKey('ES256', 'es-1');
    const before = hits.filter((h) => h.endsWith('/openid-configuration')).length;
    const statuses = new Set<number>();
    for (let i = 0; i < 100; i++) {
      const tid = randomUUID();
      statuses.add((await list(open, await sign(impostor, appClaims(tid), issuerOf(tid)))).statusCode);
    }
    // Signatures fail (401) until the discovery budget is spent, then unknown issuers wait (503).
    expect([...statuses].sort()).toEqual([401, 503]);
    const discoveries = hits.filter((h) => h.endsWith('/openid-configuration')).length - before;
    expect(discoveries).toBeLessThanOrEqual(60);
    // A new token of the working tenant (not in the verified-token cache) needs no discovery.
    expect((await list(open, await idp.token(working, appClaims(working), 'RS256'))).statusCode).toBe(200);
    expect(discoveryHits(working)).toBe(1);
  });

  it('a failed discovery answers 503 with Retry-After, is not retried during its back-off, and is retried after it', async () => {
    let now = new Date();
    const config = loadConfig({ DSR_AUTH_ISSUER: `${base}/{tenantid}/v2.0`, DSR_AUTH_AUDIENCE: audience, DSR_AUTH_ALLOWED_TENANTS: FLAKY });
    const verifier = createTokenVerifier(config, undefined, fetch, () => now);
    idp.faults.set(FLAKY, 'discovery-500');
    await expect(verifier.verify(`Bearer ${await idp.token(FLAKY, appClaims(FLAKY))}`)).rejects.toMatchObject({ status: 503 });
    expect(discoveryHits(FLAKY)).toBe(1);
    idp.faults.delete(FLAKY);
    await expect(verifier.verify(`Bearer ${await idp.token(FLAKY, appClaims(FLAKY))}`)).rejects.toMatchObject({ status: 503 });
    expect(discoveryHits(FLAKY)).toBe(1);
    now = new Date(now.getTime() + 6_000);
    const caller = await verifier.verify(`Bearer ${await idp.token(FLAKY, appClaims(FLAKY))}`);
    expect(caller).toMatchObject({ tenantId: FLAKY, kind: 'application' });
    expect(discoveryHits(FLAKY)).toBe(2);

    // Through HTTP the same failure is a Graph-shaped 503 with Retry-After.
    const down = randomUUID();
    idp.faults.set(down, 'discovery-500');
    const res = await list(open, await idp.token(down, appClaims(down)));
    expectGraphError(res, 503, 'ServiceUnavailable');
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
  });

  it('uses DSR_AUTH_JWKS_URI without discovery for a fixed issuer, and keeps the local issuer when asked to', async () => {
    const tid = randomUUID();
    const token = await idp.token('fixed', appClaims(tid));
    const before = hits.length;
    const ok = await list(fixed, token);
    expect(ok.statusCode, ok.body).toBe(200);
    expect(hits.slice(before)).toEqual(['/fixed/v2.0/jwks']);
    expectGraphError(await list(fixed, await idp.token(tid, appClaims(tid))), 401, 'InvalidAuthenticationToken');
    expect((await list(fixed, await fixed.appToken(tid, ['User.Export.All', 'User.Read.All']))).statusCode).toBe(200);
  });

  it('a multi-tenant issuer needs DSR_AUTH_ALLOWED_TENANTS (tenant ids or *)', () => {
    const env = { DSR_AUTH_ISSUER: 'https://login.microsoftonline.com/{tenantid}/v2.0', DSR_AUTH_AUDIENCE: audience };
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig({ ...env, DSR_AUTH_ALLOWED_TENANTS: 'contoso.com' })).toThrow(/GUID/);
    expect(loadConfig({ ...env, DSR_AUTH_ALLOWED_TENANTS: '*' }).auth.allowedTenants).toBe('*');
    expect(loadConfig({ ...env, DSR_AUTH_ALLOWED_TENANTS: ` ${ALLOWED.toUpperCase()} , ${FLAKY}` }).auth.allowedTenants).toEqual([ALLOWED, FLAKY]);
    expect(loadConfig({ DSR_AUTH_ISSUER: 'https://idp.example/realms/x', DSR_AUTH_AUDIENCE: audience }).auth.allowedTenants).toBe('*');
  });
});
