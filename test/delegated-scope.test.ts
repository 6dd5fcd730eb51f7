import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GLOBAL_ADMIN_ROLE } from '../src/config.ts';
import { createDriveUser, pathUrl } from './support/drive-helpers.ts';
import { createTestApp, fakeSasUrl, type TestApp } from './support/harness.ts';
import { countRows, expectGraphError } from './support/graph-assert.ts';

// A delegated token acts on the whole tenant only when its user holds an administrator role
// (wids ∩ DSR_ADMIN_ROLE_IDS); a `.All` scope alone reaches the user's own profile and drive only.

const TENANT = randomUUID();
const ALL_SCOPES = ['User.ReadWrite.All', 'Files.ReadWrite.All', 'AuditLog.Read.All', 'User.Export.All', 'User.Read.All', 'Directory.ReadWrite.All'];
const HELPDESK_ROLE = '729827e3-9c14-49f7-bb1b-9608f156bbb8';

let t: TestApp;
let alice: string;
let bob: string;
let aliceToken: string;
let adminToken: string;
let bobFolder: string;

type Res = Awaited<ReturnType<TestApp['app']['inject']>>;

function call(method: 'GET' | 'POST' | 'PATCH' | 'DELETE' | 'PUT', url: string, token: string, payload?: string | object): Promise<Res> {
  return t.app.inject({
    method,
    url,
    headers: { authorization: `Bearer ${token}`, ...(typeof payload === 'string' ? { 'content-type': 'text/plain' } : {}) },
    ...(payload === undefined ? {} : { payload }),
  });
}

async function snapshot(): Promise<unknown> {
  const { rows } = await t.db.query(`select
    (select count(*)::int from users) as users, (select count(*)::int from directory_audits) as audits,
    (select count(*)::int from drive_items) as items, (select count(*)::int from drive_activities) as activities,
    (select count(*)::int from data_policy_operations) as operations,
    (select string_agg(id || coalesce(job_title, '') || user_principal_name || account_enabled::text, ',' order by id) from users) as profiles`);
  return rows[0];
}

beforeAll(async () => {
  t = await createTestApp();
  alice = await createDriveUser(t, TENANT, 'alice');
  bob = await createDriveUser(t, TENANT, 'bob');
  aliceToken = await t.userToken(TENANT, alice, ALL_SCOPES, false);
  adminToken = await t.userToken(TENANT, randomUUID(), ALL_SCOPES, true);
  const app = await t.appToken(TENANT, ['Files.ReadWrite.All']);
  const salary = await call('PUT', pathUrl(bob, 'private/salary.txt', ':/content'), app, 'secret');
  expect(salary.statusCode).toBe(201);
  bobFolder = salary.json<{ parentReference: { id: string } }>().parentReference.id;
});
afterAll(async () => {
  await t?.close();
});

describe('a delegated user without an administrator role, holding every .All scope', () => {
  it("is refused a colleague's drive (403), read and write, and changes nothing", async () => {
    const before = await snapshot();
    for (const url of [
      `/v1.0/users/${bob}/drive`,
      `/v1.0/users/${bob}/drive/root`,
      `/v1.0/users/${bob}/drive/root/children`,
      `/v1.0/users/${bob}/drive/items/${bobFolder}`,
      `/v1.0/users/${bob}/drive/items/${bobFolder}/children`,
      pathUrl(bob, 'private/salary.txt', ':'),
      pathUrl(bob, 'private/salary.txt', ':/content'),
    ]) {
      expectGraphError(await call('GET', url, aliceToken), 403, 'accessDenied');
    }
    expectGraphError(await call('PUT', pathUrl(bob, 'planted.txt', ':/content'), aliceToken, 'x'), 403, 'accessDenied');
    expectGraphError(await call('POST', pathUrl(bob, 'big.bin', ':/createUploadSession'), aliceToken, {}), 403, 'accessDenied');
    expectGraphError(await call('DELETE', `/v1.0/users/${bob}/drive/items/${bobFolder}`, aliceToken), 403, 'accessDenied');
    expect(await snapshot()).toEqual(before);
  });

  it('the /drives/{driveId} and /me aliases follow the same rule', async () => {
    expectGraphError(await call('GET', `/v1.0/drives/${bob}/root/children`, aliceToken), 403, 'accessDenied');
    expectGraphError(await call('GET', `/v1.0/drives/${bob}/items/${bobFolder}/children`, aliceToken), 403, 'accessDenied');
    expect((await call('GET', '/v1.0/me/drive/root/children', aliceToken)).statusCode).toBe(200);
    expect((await call('GET', `/v1.0/drives/${alice}/root/children`, aliceToken)).statusCode).toBe(200);
    expect((await call('GET', '/v1.0/me', aliceToken)).json()).toMatchObject({ id: alice });
  });

  it('gets the same 403 for a user that does not exist, so it learns nothing of who exists', async () => {
    const err = expectGraphError(await call('GET', `/v1.0/users/${randomUUID()}/drive/root`, aliceToken), 403, 'accessDenied');
    expect(err.message).toMatch(/administrator/);
    expectGraphError(await call('GET', '/v1.0/users/nobody@contoso.test', aliceToken), 403, 'Authorization_RequestDenied');
  });

  it('cannot create, delete, list or read other users, nor change them (403, nothing written)', async () => {
    const before = await snapshot();
    expectGraphError(
      await call('POST', '/v1.0/users', aliceToken, { userPrincipalName: 'mallory@contoso.test', displayName: 'M' }),
      403,
      'Authorization_RequestDenied',
    );
    expectGraphError(await call('DELETE', `/v1.0/users/${bob}`, aliceToken), 403, 'Authorization_RequestDenied');
    expectGraphError(await call('PATCH', `/v1.0/users/${bob}`, aliceToken, { jobTitle: 'fired' }), 403, 'Authorization_RequestDenied');
    expectGraphError(await call('GET', `/v1.0/users/${bob}`, aliceToken), 403, 'Authorization_RequestDenied');
    expectGraphError(await call('GET', '/v1.0/users', aliceToken), 403, 'Authorization_RequestDenied');
    // Deleting one's own user would take the drive, sign-ins and activity with it: administrators only.
    expectGraphError(await call('DELETE', `/v1.0/users/${alice}`, aliceToken), 403, 'Authorization_RequestDenied');
    expect(await snapshot()).toEqual(before);
  });

  it('cannot read audit logs, operations, or start an export', async () => {
    const before = await snapshot();
    for (const url of [
      '/v1.0/auditLogs/signIns',
      '/v1.0/auditLogs/directoryAudits',
      '/v1.0/dataPolicyOperations',
      `/v1.0/dataPolicyOperations/${randomUUID()}`,
    ]) {
      expectGraphError(await call('GET', url, aliceToken), 403, 'Authorization_RequestDenied');
    }
    expectGraphError(
      await call('POST', `/v1.0/users/${alice}/exportPersonalData`, aliceToken, { storageLocation: fakeSasUrl() }),
      403,
      'Authorization_RequestDenied',
    );
    expect(await snapshot()).toEqual(before);
  });

  it('a directory role that is not an administrator role grants nothing more', async () => {
    const helpdesk = await t.issuer.sign({ tid: TENANT, oid: alice, sub: alice, idtyp: 'user', scp: ALL_SCOPES.join(' '), wids: [HELPDESK_ROLE] }, 600);
    expectGraphError(await call('GET', `/v1.0/users/${bob}/drive/root/children`, helpdesk), 403, 'accessDenied');
    expectGraphError(
      await call('POST', '/v1.0/users', helpdesk, { userPrincipalName: 'm2@contoso.test', displayName: 'M' }),
      403,
      'Authorization_RequestDenied',
    );
  });

  it('works on its own drive and its own profile', async () => {
    expect((await call('PUT', pathUrl(alice, 'notes/mine.txt', ':/content'), aliceToken, 'mine')).statusCode).toBe(201);
    const children = await call('GET', `/v1.0/users/${alice}/drive/root/children`, aliceToken);
    expect(children.statusCode, children.body).toBe(200);
    expect(children.json<{ value: { name: string }[] }>().value.map((i) => i.name)).toEqual(['notes']);
    // Content answers 302 to a short-lived download URL, as OneDrive does.
    expect((await call('GET', pathUrl(alice, 'notes/mine.txt', ':/content'), aliceToken)).statusCode).toBe(302);
    const me = await call('GET', `/v1.0/users/${alice}`, aliceToken);
    expect(me.statusCode, me.body).toBe(200);
    expect((await call('PATCH', `/v1.0/users/${alice}`, aliceToken, { jobTitle: 'Auditor' })).statusCode).toBe(204);
    expect((await call('GET', `/v1.0/users/${alice}`, aliceToken)).json()).toMatchObject({ id: alice, jobTitle: 'Auditor' });
  });

  it('the narrow own scopes do the same (User.Read, User.ReadWrite, Files.Read, Files.ReadWrite)', async () => {
    const narrow = await t.userToken(TENANT, alice, ['User.ReadWrite', 'Files.Read'], false);
    expect((await call('GET', `/v1.0/users/${alice}`, narrow)).statusCode).toBe(200);
    expect((await call('GET', `/v1.0/users/${alice}/drive/root/children`, narrow)).statusCode).toBe(200);
    expectGraphError(await call('PUT', pathUrl(alice, 'x.txt', ':/content'), narrow, 'x'), 403, 'accessDenied');
    expectGraphError(await call('GET', `/v1.0/users/${bob}`, narrow), 403, 'Authorization_RequestDenied');
  });

  it('cannot change its own sign-in name or enable state (administrative properties)', async () => {
    const before = await snapshot();
    const upn = expectGraphError(
      await call('PATCH', `/v1.0/users/${alice}`, aliceToken, { userPrincipalName: 'ceo@contoso.test' }),
      403,
      'Authorization_RequestDenied',
    );
    expect(upn.message).toMatch(/userPrincipalName/);
    expectGraphError(await call('PATCH', `/v1.0/users/${alice}`, aliceToken, { accountEnabled: false, jobTitle: 'x' }), 403, 'Authorization_RequestDenied');
    expect(await snapshot()).toEqual(before);
  });
});

describe('a delegated administrator (wids names a DSR_ADMIN_ROLE_IDS role)', () => {
  it("reads and writes a colleague's drive and manages users", async () => {
    const children = await call('GET', `/v1.0/users/${bob}/drive/root/children`, adminToken);
    expect(children.statusCode, children.body).toBe(200);
    expect(children.json<{ value: { name: string }[] }>().value.map((i) => i.name)).toContain('private');
    expect((await call('PUT', pathUrl(bob, 'from-admin.txt', ':/content'), adminToken, 'hi')).statusCode).toBe(201);
    const created = await call('POST', '/v1.0/users', adminToken, { userPrincipalName: `temp-${randomUUID().slice(0, 6)}@contoso.test`, displayName: 'Temp' });
    expect(created.statusCode, created.body).toBe(201);
    const id = created.json<{ id: string }>().id;
    expect((await call('PATCH', `/v1.0/users/${id}`, adminToken, { accountEnabled: false })).statusCode).toBe(204);
    expect((await call('GET', '/v1.0/users', adminToken)).statusCode).toBe(200);
    expect((await call('GET', '/v1.0/auditLogs/directoryAudits', adminToken)).statusCode).toBe(200);
    const users = await countRows(t.db, 'users');
    expect((await call('DELETE', `/v1.0/users/${id}`, adminToken)).statusCode).toBe(204);
    expect((await call('DELETE', `/v1.0/directory/deletedItems/${id}`, adminToken)).statusCode).toBe(204);
    expect(await countRows(t.db, 'users')).toBe(users - 1);
  });

  it('counts any role listed in DSR_ADMIN_ROLE_IDS, and only those', async () => {
    const custom = await createTestApp({ DSR_ADMIN_ROLE_IDS: HELPDESK_ROLE });
    try {
      const sign = (wids: string[]) => custom.issuer.sign({ tid: TENANT, oid: randomUUID(), idtyp: 'user', scp: 'User.Read.All', wids }, 600);
      const list = async (token: string) => custom.app.inject({ method: 'GET', url: '/v1.0/users', headers: { authorization: `Bearer ${token}` } });
      expect((await list(await sign([HELPDESK_ROLE.toUpperCase()]))).statusCode).toBe(200);
      expectGraphError(await list(await sign([GLOBAL_ADMIN_ROLE])), 403, 'Authorization_RequestDenied');
    } finally {
      await custom.close();
    }
  });
});
