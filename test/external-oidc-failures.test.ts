import { exportJWK, generateKeyPair, type JWK } from 'jose';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { createTokenVerifier, type TokenVerifier } from '../src/auth/verify-token.ts';
import { GraphError } from '../src/graph-error.ts';
import { createTestApp, type TestApp } from './support/harness.ts';
import { expectGraphError } from './support/graph-assert.ts';
import { startOidcProvider, type OidcFault, type TestOidcProvider } from './support/oidc-provider.ts';

// An identity provider that is down or broken: its discovery document or its key set unreachable,
// an error page, a body that is not JSON, keys that are no keys. The IdP is the real OpenID
// Connect provider of external-oidc.test.ts; the faults are answered in front of it.
// Outages answer a Graph-shaped 503 with Retry-After and back off (5 s, doubling); keys that
// cannot verify the token answer 401; nothing answers 500, and service resumes when the IdP does.

const audience = 'api://dsr-external-failures';
let idp: TestOidcProvider;
let app: TestApp;

const appClaims = (tid: string) => ({ tid, oid: randomUUID(), idtyp: 'app', roles: ['User.Export.All', 'User.Read.All'] });
const hitsOf = (tid: string, what: 'discovery' | 'jwks') =>
  idp.hits.filter((h) => h === `/${tid}/v2.0/${what === 'discovery' ? '.well-known/openid-configuration' : 'jwks'}`).length;

async function privateJwk(alg: 'ES256' | 'RS256', kid: string): Promise<JWK> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true });
  return { ...(await exportJWK(privateKey)), kid, alg, use: 'sig' };
}

function list(token: string) {
  return app.app.inject({ method: 'GET', url: '/v1.0/dataPolicyOperations', headers: { authorization: `Bearer ${token}` } });
}

/** A verifier whose clock the test moves, so that back-offs pass without waiting. */
function steppedVerifier(env: Record<string, string>): { verifier: TokenVerifier; advance: (ms: number) => void } {
  let now = Date.now();
  return {
    verifier: createTokenVerifier(loadConfig(env), undefined, fetch, () => new Date(now)),
    advance: (ms) => {
      now += ms;
    },
  };
}

/** A tenant allowed alone, whose IdP fails with `fault`, a token it issued, and a stepped verifier. */
async function failingTenant(fault: OidcFault) {
  const tid = randomUUID();
  const stepped = steppedVerifier({ DSR_AUTH_ISSUER: `${idp.base}/{tenantid}/v2.0`, DSR_AUTH_AUDIENCE: audience, DSR_AUTH_ALLOWED_TENANTS: tid });
  idp.faults.set(tid, fault);
  return { tid, ...stepped, token: await idp.token(tid, appClaims(tid)) };
}

/** What a verification ends in: the caller's tenant, or the status and Retry-After of the refusal. */
async function outcome(verifier: TokenVerifier, token: string): Promise<{ status: number; retryAfter?: number; message?: string } | { tenantId: string }> {
  try {
    return { tenantId: (await verifier.verify(`Bearer ${token}`)).tenantId };
  } catch (err) {
    if (!(err instanceof GraphError)) throw err;
    const retryAfter = err.headers?.['retry-after'];
    return { status: err.status, message: err.message, ...(retryAfter ? { retryAfter: Number(retryAfter) } : {}) };
  }
}

beforeAll(async () => {
  idp = await startOidcProvider(audience, [await privateJwk('ES256', 'es-1'), await privateJwk('RS256', 'rs-1')]);
  app = await createTestApp({ DSR_AUTH_ISSUER: `${idp.base}/{tenantid}/v2.0`, DSR_AUTH_AUDIENCE: audience, DSR_AUTH_ALLOWED_TENANTS: '*' });
});
afterAll(async () => {
  await app?.close();
  await idp?.close();
});

describe('external OIDC issuer failures', () => {
  it.each<OidcFault>(['discovery-reset', 'discovery-500', 'discovery-garbage', 'discovery-wrong-issuer', 'jwks-reset', 'jwks-500', 'jwks-garbage'])(
    "%s: a Graph-shaped 503 with Retry-After, nothing of the IdP's answer in it",
    async (fault) => {
      const tid = randomUUID();
      idp.faults.set(tid, fault);
      const res = await list(await idp.token(tid, appClaims(tid)));
      const error = expectGraphError(res, 503, 'ServiceUnavailable');
      expect(error.message).toMatch(/signing keys could not be obtained/);
      expect(error.message).not.toMatch(/html|temporarily/i);
      expect(Number(res.headers['retry-after'])).toBe(5);
      expect(hitsOf(tid, fault.startsWith('jwks') ? 'jwks' : 'discovery')).toBe(1);
    },
  );

  it('keys that are no keys: 401, and the service keeps serving other tenants', async () => {
    const tid = randomUUID();
    idp.faults.set(tid, 'jwks-bad-keys');
    expectGraphError(await list(await idp.token(tid, appClaims(tid))), 401, 'InvalidAuthenticationToken');
    expectGraphError(await list(await idp.token(tid, appClaims(tid), 'RS256')), 401, 'InvalidAuthenticationToken');
    const healthy = randomUUID();
    expect((await list(await idp.token(healthy, appClaims(healthy)))).statusCode).toBe(200);
  });

  it('an unreachable discovery backs off 5 s, then 10 s, asks nothing meanwhile, and recovers when the IdP is back', async () => {
    const { tid, verifier, advance, token } = await failingTenant('discovery-reset');
    expect(await outcome(verifier, token)).toMatchObject({ status: 503, retryAfter: 5 });
    advance(4_000);
    expect(await outcome(verifier, token)).toMatchObject({ status: 503, retryAfter: 1 });
    expect(hitsOf(tid, 'discovery')).toBe(1);
    advance(1_500);
    expect(await outcome(verifier, token)).toMatchObject({ status: 503, retryAfter: 10 });
    expect(hitsOf(tid, 'discovery')).toBe(2);
    idp.faults.delete(tid);
    advance(9_000);
    expect(await outcome(verifier, token)).toMatchObject({ status: 503 });
    expect(hitsOf(tid, 'discovery')).toBe(2);
    advance(1_500);
    expect(await outcome(verifier, token)).toEqual({ tenantId: tid });
    expect(hitsOf(tid, 'discovery')).toBe(3);
  });

  it('an unreachable key set backs off the same way, then recovers; discovery is not repeated for it', async () => {
    const { tid, verifier, advance, token } = await failingTenant('jwks-reset');
    expect(await outcome(verifier, token)).toMatchObject({ status: 503, retryAfter: 5 });
    advance(2_000);
    expect(await outcome(verifier, token)).toMatchObject({ status: 503, retryAfter: 3 });
    expect(hitsOf(tid, 'jwks')).toBe(1);
    advance(3_500);
    idp.faults.set(tid, 'jwks-500');
    expect(await outcome(verifier, token)).toMatchObject({ status: 503, retryAfter: 10 });
    expect(hitsOf(tid, 'jwks')).toBe(2);
    idp.faults.delete(tid);
    advance(10_500);
    expect(await outcome(verifier, token)).toEqual({ tenantId: tid });
    expect(hitsOf(tid, 'jwks')).toBe(3);
    expect(hitsOf(tid, 'discovery')).toBe(1);
  });

  it('a fixed DSR_AUTH_JWKS_URI that is down: 503, back-off, recovery', async () => {
    const { verifier, advance } = steppedVerifier({
      DSR_AUTH_ISSUER: `${idp.base}/fixed-down/v2.0`,
      DSR_AUTH_AUDIENCE: audience,
      DSR_AUTH_JWKS_URI: `${idp.base}/fixed-down/v2.0/jwks`,
    });
    idp.faults.set('fixed-down', 'jwks-garbage');
    const token = await idp.token('fixed-down', appClaims(randomUUID()));
    expect(await outcome(verifier, token)).toMatchObject({ status: 503, retryAfter: 5, message: expect.stringMatching(/not JSON/) });
    expect(await outcome(verifier, token)).toMatchObject({ status: 503 });
    expect(hitsOf('fixed-down', 'jwks')).toBe(1);
    idp.faults.delete('fixed-down');
    advance(5_500);
    expect(await outcome(verifier, token)).toMatchObject({ tenantId: expect.any(String) });
    expect(hitsOf('fixed-down', 'jwks')).toBe(2);
  });
});
