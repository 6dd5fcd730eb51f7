import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.ts';
import { mintToken } from '../src/cli/token-command.ts';
import { createTestApp, type TestApp } from './support/harness.ts';
import { countRows, expectGraphError } from './support/graph-assert.ts';

// Which tokens are trusted at all (the local issuer beside an external one), and which count as
// an application's.

const TENANT = randomUUID();
const ROLES = ['User.Read.All', 'User.ReadWrite.All'];
let t: TestApp;

beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t?.close();
});

describe('the local issuer beside an external one', () => {
  const external = { DSR_AUTH_ISSUER: 'https://login.microsoftonline.com/{tenantid}/v2.0', DSR_AUTH_AUDIENCE: 'api://dsr', DSR_AUTH_ALLOWED_TENANTS: TENANT };

  it('is on alone, off by default with an external issuer, and kept only by an explicit true', () => {
    expect(loadConfig({}).auth.localIssuer).toBe(true);
    expect(loadConfig({ DSR_AUTH_LOCAL_ISSUER: '' }).auth.localIssuer).toBe(true);
    expect(loadConfig(external).auth.localIssuer).toBe(false);
    expect(loadConfig({ ...external, DSR_AUTH_LOCAL_ISSUER: '' }).auth.localIssuer).toBe(false);
    expect(loadConfig({ ...external, DSR_AUTH_LOCAL_ISSUER: 'true' }).auth.localIssuer).toBe(true);
    expect(loadConfig({ DSR_AUTH_LOCAL_ISSUER: 'false' }).auth.localIssuer).toBe(false);
    for (const raw of ['yes', '1', 'TRUE', 'off']) {
      expect(() => loadConfig({ ...external, DSR_AUTH_LOCAL_ISSUER: raw })).toThrow(ConfigError);
    }
  });

  it('a local token is refused (401) by a server with an external issuer, and nothing is written', async () => {
    const ext = await createTestApp(external);
    try {
      const token = await ext.issuer.sign({ tid: TENANT, oid: randomUUID(), idtyp: 'app', roles: ROLES }, 600);
      const before = await countRows(ext.db, 'users');
      const res = await ext.app.inject({
        method: 'POST',
        url: '/v1.0/users',
        headers: { authorization: `Bearer ${token}` },
        payload: { userPrincipalName: 'x@contoso.test', displayName: 'X' },
      });
      expect(expectGraphError(res, 401, 'InvalidAuthenticationToken').message).toMatch(/issuer/);
      expect(await countRows(ext.db, 'users')).toBe(before);
      const served = (await ext.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json<{ keys: { kid: string }[] }>();
      expect(served.keys.map((k) => k.kid)).not.toContain(ext.issuer.jwks.keys[0]!.kid);
    } finally {
      await ext.close();
    }
  });

  it('`dsr-export token` refuses to mint and says how to keep both', async () => {
    const config = loadConfig({ ...external, DSR_DATA_DIR: t.dataDir });
    await expect(mintToken(config, { tenant: TENANT, app: randomUUID(), roles: 'User.Read.All' })).rejects.toThrow(/DSR_AUTH_LOCAL_ISSUER/);
  });
});

describe('application or delegated: no user token passes as an application', () => {
  const sign = (claims: Record<string, unknown>) => t.issuer.sign({ tid: TENANT, oid: randomUUID(), roles: ROLES, ...claims }, 600);
  const listUsers = async (token: string) => t.app.inject({ method: 'GET', url: '/v1.0/users', headers: { authorization: `Bearer ${token}` } });

  it('neither scp nor idtyp and no user claim: an application', async () => {
    expect((await listUsers(await sign({}))).statusCode).toBe(200);
  });

  it('a user claim without scp or idtyp is refused (401), whatever roles it carries', async () => {
    for (const claim of ['upn', 'preferred_username', 'unique_name']) {
      const res = await listUsers(await sign({ [claim]: 'adele@contoso.test' }));
      expect(expectGraphError(res, 401, 'InvalidAuthenticationToken').message).toContain(claim);
    }
  });

  it('idtyp app together with a user claim is refused as contradictory (401)', async () => {
    for (const claim of ['scp', 'upn', 'preferred_username', 'unique_name']) {
      const res = await listUsers(await sign({ idtyp: 'app', [claim]: 'User.Read.All' }));
      expect(expectGraphError(res, 401, 'InvalidAuthenticationToken').message).toMatch(/contradictory/);
    }
  });

  it('an unknown idtyp is refused (401)', async () => {
    for (const idtyp of ['device', 'APP', 42]) expectGraphError(await listUsers(await sign({ idtyp })), 401, 'InvalidAuthenticationToken');
  });

  it('scp without idtyp, or idtyp user, is delegated: app roles in it count for nothing', async () => {
    expectGraphError(await listUsers(await sign({ scp: 'User.Read' })), 403, 'Authorization_RequestDenied');
    expectGraphError(await listUsers(await sign({ idtyp: 'user' })), 403, 'Authorization_RequestDenied');
    expectGraphError(await listUsers(await sign({ idtyp: 'user', upn: 'adele@contoso.test' })), 403, 'Authorization_RequestDenied');
  });
});
