import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importActivity } from '../src/activity/import-activity.ts';
import { createTestApp, PUBLIC_URL, type TestApp } from './support/harness.ts';

let t: TestApp;
const tenant = randomUUID();
const otherTenant = randomUUID();
let adminToken: string;
let readerToken: string;
let alice: { id: string; userPrincipalName: string };
let bob: { id: string; userPrincipalName: string };
let eve: { id: string; userPrincipalName: string };
const base = new Date('2026-11-01T00:00:00Z').getTime();

async function createUser(tenantId: string, upn: string): Promise<{ id: string; userPrincipalName: string }> {
  const token = await t.appToken(tenantId, ['User.ReadWrite.All']);
  const res = await t.app.inject({
    method: 'POST',
    url: '/v1.0/users',
    headers: { authorization: `Bearer ${token}` },
    payload: { userPrincipalName: upn, displayName: upn.split('@')[0], accountEnabled: true },
  });
  expect(res.statusCode).toBe(201);
  return res.json();
}

function signIn(user: { id: string; userPrincipalName: string }, minutes: number, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    id: randomUUID(),
    createdDateTime: new Date(base + minutes * 60_000).toISOString(),
    userId: user.id,
    userPrincipalName: user.userPrincipalName,
    appDisplayName: 'Microsoft Teams',
    ipAddress: '198.51.100.4',
    status: { errorCode: 0, failureReason: null },
    location: { city: 'Oslo', state: null, countryOrRegion: 'NO' },
    ...extra,
  });
}

async function get(url: string, token = readerToken) {
  return t.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } });
}

/** Follows @odata.nextLink to the end; returns every page. */
async function allPages(url: string): Promise<Record<string, unknown>[][]> {
  const pages: Record<string, unknown>[][] = [];
  let next: string | undefined = url;
  while (next) {
    const res = await get(next);
    expect(res.statusCode).toBe(200);
    const body = res.json();
    pages.push(body.value);
    next = body['@odata.nextLink'] ? String(body['@odata.nextLink']).slice(PUBLIC_URL.length) : undefined;
    expect(pages.length).toBeLessThan(100);
  }
  return pages;
}

beforeAll(async () => {
  t = await createTestApp();
  alice = await createUser(tenant, 'alice@contoso.test');
  bob = await createUser(tenant, 'bob@contoso.test');
  eve = await createUser(otherTenant, 'eve@fabrikam.test');
  adminToken = await t.appToken(tenant, ['User.ReadWrite.All']);
  readerToken = await t.appToken(tenant, ['AuditLog.Read.All']);
  // 15 for alice (three of them in one millisecond, to prove the keyset has no gaps), 6 for bob,
  // and one with alice's UPN as recorded before a rename, attached to bob by id.
  const lines = [
    ...Array.from({ length: 12 }, (_, i) => signIn(alice, i * 10)),
    signIn(alice, 500),
    signIn(alice, 500),
    signIn(alice, 500),
    ...Array.from({ length: 6 }, (_, i) => signIn(bob, i * 10 + 5)),
  ];
  expect((await importActivity(t.db, tenant, lines)).imported).toBe(21);
  expect((await importActivity(t.db, otherTenant, [signIn(eve, 1000)])).imported).toBe(1);
});

afterAll(async () => {
  await t.close();
});

describe('GET /auditLogs/signIns', () => {
  it('lists the tenant’s sign-ins newest first in Graph’s signIn shape, on both versions', async () => {
    for (const version of ['v1.0', 'beta']) {
      const res = await get(`/${version}/auditLogs/signIns`);
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toMatch(/^application\/json;odata.metadata=minimal/);
      const body = res.json();
      expect(body['@odata.context']).toBe(`${PUBLIC_URL}/${version}/$metadata#auditLogs/signIns`);
      expect(body.value).toHaveLength(21);
      expect(body['@odata.nextLink']).toBeUndefined();
      const times = body.value.map((s: { createdDateTime: string }) => Date.parse(s.createdDateTime));
      expect(times).toEqual([...times].sort((a, b) => b - a));
      const first = body.value[0];
      expect(first).toMatchObject({
        userId: alice.id,
        userPrincipalName: alice.userPrincipalName,
        createdDateTime: '2026-11-01T08:20:00Z',
        appDisplayName: 'Microsoft Teams',
        status: { errorCode: 0 },
        location: { countryOrRegion: 'NO' },
        appId: null,
        riskState: null,
        deviceDetail: null,
      });
      expect(Object.keys(first).slice(0, 5)).toEqual(['id', 'createdDateTime', 'userDisplayName', 'userPrincipalName', 'userId']);
    }
  });

  it('filters on userId and on userPrincipalName (case-insensitive), alone or together', async () => {
    const byId = (await get(`/v1.0/auditLogs/signIns?$filter=${encodeURIComponent(`userId eq '${bob.id.toUpperCase()}'`)}`)).json();
    expect(byId.value).toHaveLength(6);
    expect(byId.value.every((s: { userId: string }) => s.userId === bob.id)).toBe(true);
    const byUpn = (await get(`/v1.0/auditLogs/signIns?$filter=${encodeURIComponent("userPrincipalName eq 'ALICE@contoso.test'")}`)).json();
    expect(byUpn.value).toHaveLength(15);
    const both = await get(`/v1.0/auditLogs/signIns?$filter=${encodeURIComponent(`userId eq '${bob.id}' and userPrincipalName eq 'alice@contoso.test'`)}`);
    expect(both.json().value).toHaveLength(0);
  });

  it('pages with $top and $skiptoken without gaps or repeats, keeping the filter', async () => {
    const pages = await allPages(`/v1.0/auditLogs/signIns?$top=4&$filter=${encodeURIComponent(`userId eq '${alice.id}'`)}`);
    expect(pages.map((p) => p.length)).toEqual([4, 4, 4, 3]);
    const ids = pages.flat().map((s) => s.id);
    expect(new Set(ids).size).toBe(15);
    const all = (await get(`/v1.0/auditLogs/signIns?$filter=${encodeURIComponent(`userId eq '${alice.id}'`)}`)).json().value;
    expect(ids).toEqual(all.map((s: { id: string }) => s.id));
    // Page size 1 across the three sign-ins that share a millisecond.
    const ones = await allPages('/beta/auditLogs/signIns?$top=1');
    expect(ones).toHaveLength(21);
    expect(new Set(ones.flat().map((s) => s.id)).size).toBe(21);
  });

  it('bounds $top to 1..1000 and refuses a bad $skiptoken', async () => {
    expect((await get('/v1.0/auditLogs/signIns?$top=1000')).statusCode).toBe(200);
    for (const top of ['0', '1001', '-1', 'ten']) {
      const res = await get(`/v1.0/auditLogs/signIns?$top=${top}`);
      expect(res.statusCode).toBe(400);
      expect(res.json().error.code).toBe('BadRequest');
    }
    const forged = Buffer.from(JSON.stringify(['yesterday', 'x'])).toString('base64url');
    for (const token of ['not-a-token', forged]) {
      expect((await get(`/v1.0/auditLogs/signIns?$skiptoken=${token}`)).statusCode).toBe(400);
    }
  });

  it('answers a bad $filter with a Graph-shaped 400', async () => {
    for (const filter of [
      "appId eq 'x'",
      "userId eq 'not-a-guid'",
      "userId ne 'x'",
      'userId eq',
      `userId eq '${alice.id}' or userId eq '${bob.id}'`,
      `userId eq '${alice.id}' and userId eq '${bob.id}'`,
    ]) {
      const res = await get(`/v1.0/auditLogs/signIns?$filter=${encodeURIComponent(filter)}`);
      expect(res.statusCode, filter).toBe(400);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      const error = res.json().error;
      expect(error.code).toBe('BadRequest');
      expect(error.message).toMatch(/\$filter/);
      expect(error.innerError).toMatchObject({ 'request-id': expect.any(String), date: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/) });
    }
    expect((await get('/v1.0/auditLogs/signIns?$orderby=userPrincipalName')).statusCode).toBe(400);
  });

  it('narrows properties with $select', async () => {
    const res = await get('/v1.0/auditLogs/signIns?$select=id,userId&$top=2');
    const body = res.json();
    expect(body['@odata.context']).toBe(`${PUBLIC_URL}/v1.0/$metadata#auditLogs/signIns(id,userId)`);
    expect(Object.keys(body.value[0])).toEqual(['id', 'userId']);
    expect((await get('/v1.0/auditLogs/signIns?$select=password')).statusCode).toBe(400);
  });

  it('shows only the token’s tenant', async () => {
    const otherReader = await t.appToken(otherTenant, ['AuditLog.Read.All']);
    const other = (await get('/v1.0/auditLogs/signIns', otherReader)).json();
    expect(other.value.map((s: { userId: string }) => s.userId)).toEqual([eve.id]);
    const crossFilter = (await get(`/v1.0/auditLogs/signIns?$filter=${encodeURIComponent(`userId eq '${eve.id}'`)}`)).json();
    expect(crossFilter.value).toHaveLength(0);
    const emptyTenant = await t.appToken(randomUUID(), ['AuditLog.Read.All']);
    expect((await get('/v1.0/auditLogs/signIns', emptyTenant)).json().value).toEqual([]);
  });

  it('needs AuditLog.Read.All, as an application role or a delegated scope with an administrator role', async () => {
    const res = await get('/v1.0/auditLogs/signIns', adminToken);
    expect(res.statusCode).toBe(403);
    expect(res.json().error.code).toBe('Authorization_RequestDenied');
    expect((await t.app.inject({ method: 'GET', url: '/v1.0/auditLogs/signIns' })).statusCode).toBe(401);
    const delegated = await t.userToken(tenant, alice.id, ['AuditLog.Read.All'], true);
    expect((await get('/v1.0/auditLogs/signIns?$top=1', delegated)).statusCode).toBe(200);
    const notAdmin = await t.userToken(tenant, alice.id, ['AuditLog.Read.All'], false);
    expect((await get('/v1.0/auditLogs/signIns?$top=1', notAdmin)).statusCode).toBe(403);
  });
});
