import { exportJWK, generateKeyPair, importJWK, SignJWT, type JWK } from 'jose';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GLOBAL_ADMIN_ROLE, LOCAL_AUDIENCE, LOCAL_ISSUER } from '../src/config.ts';
import { createTokenVerifier, PERSONAL_ACCOUNT_TENANT } from '../src/auth/verify-token.ts';
import { createTestApp, fakeSasUrl, type TestApp } from './support/harness.ts';
import { countRows, expectGraphError } from './support/graph-assert.ts';

const TENANT = randomUUID();
const OTHER_TENANT = randomUUID();
const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
const nowSec = () => Math.floor(Date.now() / 1000);

let t: TestApp;
let privateJwk: JWK;
let userId: string;
let otherTenantUserId: string;

async function createUser(tenant: string, upn: string): Promise<string> {
  const res = await t.app.inject({
    method: 'POST',
    url: '/v1.0/users',
    headers: { authorization: `Bearer ${await t.appToken(tenant, ['User.ReadWrite.All'])}` },
    payload: { userPrincipalName: upn, displayName: upn },
  });
  expect(res.statusCode, res.body).toBe(201);
  return (JSON.parse(res.body) as { id: string }).id;
}

/** Application claims of TENANT with export and read roles. */
function appClaims(extra: Record<string, unknown> = {}): Record<string, unknown> {
  const id = randomUUID();
  return { tid: TENANT, oid: id, sub: id, azp: id, idtyp: 'app', roles: ['User.Export.All', 'User.Read.All', 'User.ReadWrite.All'], ...extra };
}

/** Signs with the local issuer's own key; every time claim can be set (null drops it). */
async function signLocal(
  claims: Record<string, unknown>,
  opts: { iss?: string; aud?: string; iat?: number; exp?: number | null; nbf?: number; key?: JWK; kid?: string } = {},
): Promise<string> {
  const key = await importJWK(opts.key ?? privateJwk, 'RS256');
  const payload: Record<string, unknown> = { iss: opts.iss ?? LOCAL_ISSUER, aud: opts.aud ?? LOCAL_AUDIENCE, iat: opts.iat ?? nowSec(), ...claims };
  if (opts.exp !== null) payload.exp = opts.exp ?? nowSec() + 3600;
  if (opts.nbf !== undefined) payload.nbf = opts.nbf;
  return new SignJWT(payload).setProtectedHeader({ alg: 'RS256', kid: opts.kid ?? privateJwk.kid!, typ: 'JWT' }).sign(key);
}

async function exportPost(authorization: string | undefined, user = userId, storageLocation = fakeSasUrl()) {
  return t.app.inject({
    method: 'POST',
    url: `/v1.0/users/${user}/exportPersonalData`,
    headers: authorization === undefined ? {} : { authorization },
    payload: { storageLocation },
  });
}

/** A 401/403 on the export POST and the user POST, with nothing written. */
async function expectRefused(authorization: string | undefined, status: 401 | 403, code: string, message?: RegExp): Promise<void> {
  const before = {
    ops: await countRows(t.db, 'data_policy_operations'),
    users: await countRows(t.db, 'users'),
    audits: await countRows(t.db, 'directory_audits'),
  };
  const res = await exportPost(authorization);
  const err = expectGraphError(res, status, code);
  if (message) expect(err.message).toMatch(message);
  const u = await t.app.inject({
    method: 'POST',
    url: '/beta/users',
    headers: authorization === undefined ? {} : { authorization },
    payload: { userPrincipalName: `x${randomUUID().slice(0, 6)}@contoso.com`, displayName: 'X' },
  });
  expectGraphError(u, status, status === 401 ? code : u.statusCode === 403 ? 'Authorization_RequestDenied' : code);
  expect(await countRows(t.db, 'data_policy_operations')).toBe(before.ops);
  expect(await countRows(t.db, 'users')).toBe(before.users);
  expect(await countRows(t.db, 'directory_audits')).toBe(before.audits);
}

beforeAll(async () => {
  t = await createTestApp();
  privateJwk = JSON.parse(await readFile(path.join(t.dataDir, 'keys', 'local-issuer.json'), 'utf8')) as JWK;
  userId = await createUser(TENANT, 'adele@contoso.com');
  otherTenantUserId = await createUser(OTHER_TENANT, 'adele@fabrikam.com');
});
afterAll(async () => {
  await t?.close();
});

describe('local issuer tokens (docs/architecture.md#auth-model)', () => {
  it('accepts a valid application token', async () => {
    const res = await exportPost(`Bearer ${await signLocal(appClaims())}`);
    expect(res.statusCode, res.body).toBe(202);
  });

  it('refuses a request without a token', async () => {
    await expectRefused(undefined, 401, 'InvalidAuthenticationToken', /empty/);
  });

  it('refuses malformed Authorization headers', async () => {
    const good = await signLocal(appClaims());
    for (const h of [
      '',
      'Basic dXNlcjpwdw==',
      'Bearer',
      'Bearer ',
      `Bearer ${good} extra`,
      `Token ${good}`,
      'Bearer abc.def',
      'Bearer not-a-jwt',
      `Bearer ${good.split('.').slice(0, 2).join('.')}`,
    ]) {
      await expectRefused(h, 401, 'InvalidAuthenticationToken');
    }
    await expectRefused('Bearer not-a-jwt', 401, 'InvalidAuthenticationToken', /malformed/);
  });

  it('refuses a token expired beyond the 60 s skew, accepts one within it', async () => {
    await expectRefused(`Bearer ${await signLocal(appClaims(), { iat: nowSec() - 3600, exp: nowSec() - 120 })}`, 401, 'InvalidAuthenticationToken', /expired/);
    const res = await exportPost(`Bearer ${await signLocal(appClaims(), { iat: nowSec() - 3600, exp: nowSec() - 30 })}`);
    expect(res.statusCode, res.body).toBe(202);
  });

  it('a token verified once stays accepted only until it expires (verified-token cache)', async () => {
    let now = new Date();
    const verifier = createTokenVerifier(t.config, t.issuer, fetch, () => now);
    const token = await signLocal(appClaims(), { exp: nowSec() + 120 });
    expect((await verifier.verify(`Bearer ${token}`)).kind).toBe('application');
    expect((await verifier.verify(`Bearer ${token}`)).kind).toBe('application');
    now = new Date(Date.now() + 200_000); // past exp + the 60 s skew
    await expect(verifier.verify(`Bearer ${token}`)).rejects.toMatchObject({ status: 401, message: expect.stringMatching(/expired/) });
    const tampered = `${token.slice(0, -4)}AAAA`;
    now = new Date();
    await expect(verifier.verify(`Bearer ${tampered}`)).rejects.toMatchObject({ status: 401 });
  });

  it('refuses a token without exp', async () => {
    await expectRefused(`Bearer ${await signLocal(appClaims(), { exp: null })}`, 401, 'InvalidAuthenticationToken');
  });

  it('refuses a token not yet valid (nbf beyond the skew), accepts one within it', async () => {
    await expectRefused(`Bearer ${await signLocal(appClaims(), { nbf: nowSec() + 300 })}`, 401, 'InvalidAuthenticationToken', /not yet valid/);
    const res = await exportPost(`Bearer ${await signLocal(appClaims(), { nbf: nowSec() + 30 })}`);
    expect(res.statusCode, res.body).toBe(202);
  });

  it('refuses a wrong audience and a wrong issuer', async () => {
    await expectRefused(`Bearer ${await signLocal(appClaims(), { aud: 'api://someone-else' })}`, 401, 'InvalidAuthenticationToken', /audience/);
    await expectRefused(
      `Bearer ${await signLocal(appClaims(), { iss: 'https://login.microsoftonline.com/x/v2.0' })}`,
      401,
      'InvalidAuthenticationToken',
      /issuer/,
    );
  });

  it('refuses a token signed by another key under the same kid', async () => {
    const { privateKey } = await generateKeyPair('RS256', { extractable: true });
    const other = await exportJWK(privateKey);
    await expectRefused(`Bearer ${await signLocal(appClaims(), { key: other })}`, 401, 'InvalidAuthenticationToken', /signature/);
  });

  it('refuses a token whose kid names an unknown key', async () => {
    const { privateKey } = await generateKeyPair('RS256', { extractable: true });
    const other = await exportJWK(privateKey);
    await expectRefused(`Bearer ${await signLocal(appClaims(), { key: other, kid: randomUUID() })}`, 401, 'InvalidAuthenticationToken', /unknown kid/);
    await expectRefused(`Bearer ${await signLocal(appClaims(), { kid: randomUUID() })}`, 401, 'InvalidAuthenticationToken');
  });

  it('refuses a tampered payload', async () => {
    const token = await signLocal(appClaims({ roles: ['User.Read.All'] }));
    const [h, p, s] = token.split('.');
    const payload = JSON.parse(Buffer.from(p!, 'base64url').toString()) as Record<string, unknown>;
    payload.roles = ['User.Export.All', 'User.ReadWrite.All'];
    await expectRefused(`Bearer ${h}.${b64(payload)}.${s}`, 401, 'InvalidAuthenticationToken', /signature/);
    // Also a different tenant, keeping the original signature.
    payload.tid = OTHER_TENANT;
    await expectRefused(`Bearer ${h}.${b64(payload)}.${s}`, 401, 'InvalidAuthenticationToken');
  });

  it('refuses alg none', async () => {
    const payload = { ...appClaims(), iss: LOCAL_ISSUER, aud: LOCAL_AUDIENCE, iat: nowSec(), exp: nowSec() + 3600 };
    for (const header of [{ alg: 'none', typ: 'JWT' }, { alg: 'none', kid: privateJwk.kid }, { alg: 'None' }, {}]) {
      await expectRefused(`Bearer ${b64(header)}.${b64(payload)}.`, 401, 'InvalidAuthenticationToken');
    }
  });

  it('refuses HS256 signed with the public key as the secret', async () => {
    const jwks = JSON.parse((await t.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).body) as { keys: JWK[] };
    const payload = { ...appClaims(), iss: LOCAL_ISSUER, aud: LOCAL_AUDIENCE, exp: nowSec() + 3600 };
    for (const secret of [JSON.stringify(jwks.keys[0]), jwks.keys[0]!.n!]) {
      const token = await new SignJWT(payload).setProtectedHeader({ alg: 'HS256', kid: privateJwk.kid! }).sign(new TextEncoder().encode(secret));
      await expectRefused(`Bearer ${token}`, 401, 'InvalidAuthenticationToken', /algorithm "HS256" is not supported/);
    }
  });

  it('refuses an oversized token before any crypto work', async () => {
    const token = await signLocal(appClaims({ padding: 'x'.repeat(20_000) }));
    await expectRefused(`Bearer ${token}`, 401, 'InvalidAuthenticationToken', /too large/);
  });

  it('refuses a token without tid or with a non-GUID tid', async () => {
    const noTid = appClaims();
    delete noTid.tid;
    await expectRefused(`Bearer ${await signLocal(noTid)}`, 401, 'InvalidAuthenticationToken', /tenant/);
    for (const tid of ['contoso', '', 42, `${TENANT}x`, [TENANT]]) {
      await expectRefused(`Bearer ${await signLocal(appClaims({ tid }))}`, 401, 'InvalidAuthenticationToken', /tenant/);
    }
  });

  it('refuses a token of the personal-account tenant with 403', async () => {
    const token = await signLocal(appClaims({ tid: PERSONAL_ACCOUNT_TENANT }));
    await expectRefused(`Bearer ${token}`, 403, 'Authorization_RequestDenied', /Personal Microsoft accounts/);
    const upper = await signLocal(appClaims({ tid: PERSONAL_ACCOUNT_TENANT.toUpperCase() }));
    await expectRefused(`Bearer ${upper}`, 403, 'Authorization_RequestDenied');
  });
});

describe('authorization of the export POST', () => {
  it('refuses an application without User.Export.All (403), even with every other role', async () => {
    const token = await t.appToken(TENANT, ['User.Read.All', 'User.ReadWrite.All', 'Directory.ReadWrite.All', 'Files.ReadWrite.All']);
    const before = await countRows(t.db, 'data_policy_operations');
    const err = expectGraphError(await exportPost(`Bearer ${token}`), 403, 'Authorization_RequestDenied');
    expect(err.message).toMatch(/User\.Export\.All/);
    expect(await countRows(t.db, 'data_policy_operations')).toBe(before);
  });

  it('does not accept User.Export.All as a scope on an application token, nor as a role on a delegated one', async () => {
    const before = await countRows(t.db, 'data_policy_operations');
    const scopeOnApp = await signLocal(appClaims({ roles: [], scp: 'User.Export.All', idtyp: 'app' }));
    expectGraphError(await exportPost(`Bearer ${scopeOnApp}`), 401, 'InvalidAuthenticationToken');
    const roleOnUser = await signLocal({
      tid: TENANT,
      oid: randomUUID(),
      idtyp: 'user',
      scp: 'User.Read',
      roles: ['User.Export.All'],
      wids: [GLOBAL_ADMIN_ROLE],
    });
    expectGraphError(await exportPost(`Bearer ${roleOnUser}`), 403, 'Authorization_RequestDenied');
    expect(await countRows(t.db, 'data_policy_operations')).toBe(before);
  });

  it('refuses a delegated caller who is not a company administrator (403)', async () => {
    const before = await countRows(t.db, 'data_policy_operations');
    const token = await t.userToken(TENANT, randomUUID(), ['User.Export.All', 'User.Read.All'], false);
    const err = expectGraphError(await exportPost(`Bearer ${token}`), 403, 'Authorization_RequestDenied');
    expect(err.message).toMatch(/company administrator/);
    const otherRole = await signLocal({
      tid: TENANT,
      oid: randomUUID(),
      idtyp: 'user',
      scp: 'User.Export.All',
      wids: ['fe930be7-5e62-47db-91af-98c3a49a38b1'],
    });
    expectGraphError(await exportPost(`Bearer ${otherRole}`), 403, 'Authorization_RequestDenied');
    expect(await countRows(t.db, 'data_policy_operations')).toBe(before);
  });

  it('refuses a delegated administrator without the scope (403)', async () => {
    const token = await t.userToken(TENANT, randomUUID(), ['User.Read.All', 'User.ReadWrite.All'], true);
    expectGraphError(await exportPost(`Bearer ${token}`), 403, 'Authorization_RequestDenied');
  });

  it('accepts a delegated company administrator with the scope (202) and records who asked', async () => {
    const admin = randomUUID();
    const token = await t.userToken(TENANT, admin, ['User.Export.All'], true);
    const res = await exportPost(`Bearer ${token}`);
    expect(res.statusCode, res.body).toBe(202);
    const id = String(res.headers.location).split('/').pop();
    const { rows } = await t.db.query<{ requested_by: { kind: string; oid: string } }>('select requested_by from data_policy_operations where id = $1', [id]);
    expect(rows[0]?.requested_by).toMatchObject({ kind: 'delegated', oid: admin });
  });

  it('answers 404, never 403, for a user of another tenant', async () => {
    const before = await countRows(t.db, 'data_policy_operations');
    const token = await t.appToken(TENANT, ['User.Export.All', 'User.Read.All']);
    expectGraphError(await exportPost(`Bearer ${token}`, otherTenantUserId), 404, 'Request_ResourceNotFound');
    expectGraphError(await exportPost(`Bearer ${token}`, 'adele@fabrikam.com'), 404, 'Request_ResourceNotFound');
    const get = await t.app.inject({ method: 'GET', url: `/v1.0/users/${otherTenantUserId}`, headers: { authorization: `Bearer ${token}` } });
    expectGraphError(get, 404, 'Request_ResourceNotFound');
    expect(await countRows(t.db, 'data_policy_operations')).toBe(before);
  });
});
