import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertDirectoryAudit } from '../src/db/queries/directory-audits.ts';
import { auditRecord } from '../src/domain/directory-audit.ts';
import { createTestApp, PUBLIC_URL, type TestApp } from './support/harness.ts';

let t: TestApp;
const tenant = randomUUID();
const otherTenant = randomUUID();
const adminOid = randomUUID();
let appWriter: string;
let reader: string;
const users: { id: string; userPrincipalName: string }[] = [];
let stranger: { id: string };

async function get(url: string, token = reader) {
  return t.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } });
}
const filtered = (filter: string, extra = '') => `/v1.0/auditLogs/directoryAudits?$filter=${encodeURIComponent(filter)}${extra}`;

beforeAll(async () => {
  t = await createTestApp();
  appWriter = await t.appToken(tenant, ['User.ReadWrite.All']);
  reader = await t.appToken(tenant, ['AuditLog.Read.All']);
  for (let i = 0; i < 5; i++) {
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1.0/users',
      headers: { authorization: `Bearer ${appWriter}` },
      payload: { userPrincipalName: `user${i}@contoso.test`, displayName: `User ${i}` },
    });
    expect(res.statusCode).toBe(201);
    users.push(res.json());
  }
  // A delegated administrator renames user 0, then deletes user 1.
  const delegated = await t.userToken(tenant, adminOid, ['User.ReadWrite.All'], true);
  expect(
    (
      await t.app.inject({
        method: 'PATCH',
        url: `/v1.0/users/${users[0]!.id}`,
        headers: { authorization: `Bearer ${delegated}` },
        payload: { jobTitle: 'Engineer' },
      })
    ).statusCode,
  ).toBe(204);
  expect(
    (
      await t.app.inject({
        method: 'DELETE',
        url: `/v1.0/users/${users[1]!.id}`,
        headers: { authorization: `Bearer ${delegated}` },
      })
    ).statusCode,
  ).toBe(204);
  // An audit naming two targets: the filter must match the second one too.
  const record = auditRecord({
    tenantId: tenant,
    now: new Date(),
    activity: 'Add member to group',
    operationType: 'Add',
    requester: { kind: 'application', appId: randomUUID(), oid: randomUUID(), upn: undefined },
    ipAddress: null,
    target: { id: randomUUID(), userPrincipalName: 'group@contoso.test' },
  });
  await insertDirectoryAudit(t.db, {
    ...record,
    category: 'GroupManagement',
    targetResources: [...record.targetResources, { id: users[2]!.id, type: 'User' }],
  });
  const otherWriter = await t.appToken(otherTenant, ['User.ReadWrite.All']);
  const res = await t.app.inject({
    method: 'POST',
    url: '/v1.0/users',
    headers: { authorization: `Bearer ${otherWriter}` },
    payload: { userPrincipalName: 'eve@fabrikam.test', displayName: 'Eve' },
  });
  expect(res.statusCode).toBe(201);
  stranger = res.json();
});

afterAll(async () => {
  await t.close();
});

describe('GET /auditLogs/directoryAudits', () => {
  it('lists the tenant’s audits newest first in Graph’s directoryAudit shape', async () => {
    for (const version of ['v1.0', 'beta']) {
      const res = await get(`/${version}/auditLogs/directoryAudits`);
      expect(res.statusCode).toBe(200);
      const body = res.json();
      expect(body['@odata.context']).toBe(`${PUBLIC_URL}/${version}/$metadata#auditLogs/directoryAudits`);
      expect(body.value).toHaveLength(8);
      const times = body.value.map((a: { activityDateTime: string }) => Date.parse(a.activityDateTime));
      expect(times).toEqual([...times].sort((a, b) => b - a));
      expect(Object.keys(body.value[0])).toEqual([
        'id',
        'category',
        'correlationId',
        'result',
        'resultReason',
        'activityDisplayName',
        'activityDateTime',
        'loggedByService',
        'operationType',
        'initiatedBy',
        'targetResources',
        'additionalDetails',
      ]);
    }
  });

  it('filters on targetResources/any, with any range variable, including a second target', async () => {
    const ofUser0 = (await get(filtered(`targetResources/any(t: t/id eq '${users[0]!.id}')`))).json().value;
    expect(ofUser0.map((a: { activityDisplayName: string }) => a.activityDisplayName)).toEqual(['Update user', 'Add user']);
    const deleted = (await get(filtered(`targetResources/any(x:x/id eq '${users[1]!.id.toUpperCase()}')`))).json().value;
    expect(deleted.map((a: { activityDisplayName: string }) => a.activityDisplayName)).toEqual(['Delete user', 'Add user']);
    expect(deleted[0].targetResources[0]).toMatchObject({ id: users[1]!.id, userPrincipalName: 'user1@contoso.test', type: 'User' });
    const second = (await get(filtered(`targetResources/any(t: t/id eq '${users[2]!.id}')`))).json().value;
    expect(second.map((a: { activityDisplayName: string }) => a.activityDisplayName)).toEqual(['Add member to group', 'Add user']);
  });

  it('filters on initiatedBy/user/id, activityDisplayName and category, joined by and', async () => {
    const byAdmin = (await get(filtered(`initiatedBy/user/id eq '${adminOid}'`))).json().value;
    expect(byAdmin.map((a: { activityDisplayName: string }) => a.activityDisplayName)).toEqual(['Delete user', 'Update user']);
    expect(byAdmin[0].initiatedBy).toMatchObject({ app: null, user: { id: adminOid } });
    expect((await get(filtered("activityDisplayName eq 'Add user'"))).json().value).toHaveLength(5);
    expect((await get(filtered("category eq 'GroupManagement'"))).json().value).toHaveLength(1);
    const combined = (
      await get(filtered(`targetResources/any(t: t/id eq '${users[0]!.id}') and activityDisplayName eq 'Add user' and category eq 'UserManagement'`))
    ).json().value;
    expect(combined).toHaveLength(1);
  });

  it('pages with $top and $skiptoken', async () => {
    const seen: string[] = [];
    let next: string | undefined = filtered("category eq 'UserManagement'", '&$top=3');
    let pages = 0;
    while (next) {
      const body: { value: { id: string }[]; '@odata.nextLink'?: string } = (await get(next)).json();
      seen.push(...body.value.map((a: { id: string }) => a.id));
      pages += 1;
      next = body['@odata.nextLink'] ? String(body['@odata.nextLink']).slice(PUBLIC_URL.length) : undefined;
      if (next) expect(next).toContain('%24filter=category+eq');
    }
    expect(pages).toBe(3);
    expect(new Set(seen).size).toBe(7);
    const all = (await get(filtered("category eq 'UserManagement'"))).json().value.map((a: { id: string }) => a.id);
    expect(seen).toEqual(all);
  });

  it('answers bad options with Graph-shaped 400s', async () => {
    for (const filter of [
      "targetResources/any(t: s/id eq 'x')",
      "targetResources/all(t: t/id eq 'x')",
      "initiatedBy/user/id eq 'nope'",
      "result eq 'success'",
      "category eq 'a' and category eq 'b'",
      "category eq 'a' or category eq 'b'",
    ]) {
      const res = await get(filtered(filter));
      expect(res.statusCode, filter).toBe(400);
      expect(res.json().error).toMatchObject({ code: 'BadRequest', innerError: { 'request-id': expect.any(String) } });
    }
    expect((await get('/v1.0/auditLogs/directoryAudits?$top=1001')).statusCode).toBe(400);
    expect((await get('/v1.0/auditLogs/directoryAudits?$top=0')).statusCode).toBe(400);
    expect((await get('/v1.0/auditLogs/directoryAudits?$skiptoken=abc')).statusCode).toBe(400);
  });

  it('shows only the token’s tenant and needs AuditLog.Read.All', async () => {
    expect((await get(filtered(`targetResources/any(t: t/id eq '${stranger.id}')`))).json().value).toEqual([]);
    const other = (await get('/v1.0/auditLogs/directoryAudits', await t.appToken(otherTenant, ['AuditLog.Read.All']))).json().value;
    expect(other).toHaveLength(1);
    expect(other[0].targetResources[0].id).toBe(stranger.id);
    expect((await get('/v1.0/auditLogs/directoryAudits', appWriter)).statusCode).toBe(403);
  });
});
