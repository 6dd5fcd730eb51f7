import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../src/db/pool.ts';
import { seedUser, waitFor } from './support/export-fixtures.ts';
import { expectGraphError } from './support/graph-assert.ts';
import { createTestApp, fakeSasUrl, type TestApp } from './support/harness.ts';
import { DIRECT_CONTENT } from './support/drive-helpers.ts';

// Issue 7, item 1: a token of tenant A never sees or touches anything of tenant B, through any
// route (docs/architecture.md#auth-model: "a resource of another tenant does not exist (404), it is never a 403").
// Every attempt below is made with tokens holding every permission the service knows, so a 403
// could only mean "it exists but you may not": that would leak B's existence.

const A = randomUUID();
const B = randomUUID();
const VERSIONS = ['v1.0', 'beta'] as const;
const ALL_ROLES = ['User.Export.All', 'User.Read.All', 'User.ReadWrite.All', 'Directory.ReadWrite.All', 'Files.ReadWrite.All', 'AuditLog.Read.All'];
const ALL_SCOPES = [...ALL_ROLES, 'Files.ReadWrite'];

/** Every table that holds tenant data, keyed by tenant_id. */
const TENANT_TABLES = [
  'users',
  'data_policy_operations',
  'directory_audits',
  'drive_items',
  'drive_activities',
  'sign_ins',
  'upload_sessions',
  'quota_counters',
] as const;

let t: TestApp;
let b: { userId: string; upn: string; fileId: string; folderId: string; operationId: string; sas: string; itemIds: string[] };
let aUserId: string;
let tokensOfA: { name: string; token: string }[];
let before: Record<string, unknown[]>;

async function rowsOf(db: Db, tenant: string): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const table of TENANT_TABLES) {
    // Ordered by the whole row's text: a stable order for any table without knowing its key.
    const { rows } = await db.query(`select to_jsonb(x) as row from ${table} x where tenant_id = $1 order by x::text`, [tenant]);
    out[table] = rows.map((r: { row: unknown }) => r.row);
  }
  return out;
}

async function call(method: string, url: string, token: string, payload?: unknown, headers: Record<string, string> = {}) {
  return t.app.inject({
    method: method as 'GET',
    url,
    payload: payload as string | undefined,
    headers: { authorization: `Bearer ${token}`, ...headers },
  });
}

beforeAll(async () => {
  t = await createTestApp();
  const bAdmin = await t.appToken(B, ALL_ROLES);
  // B's user through the API (with its audits), its drive through the upload route (with activity).
  const created = await call('POST', '/v1.0/users', bAdmin, { userPrincipalName: 'victim@fabrikam.test', displayName: 'Victim', jobTitle: 'CFO' });
  expect(created.statusCode, created.body).toBe(201);
  const userId = created.json<{ id: string }>().id;
  const file = await call('PUT', `/v1.0/users/${userId}/drive/root:/Secret/plans.txt:/content`, bAdmin, 'B confidential', { 'content-type': 'text/plain' });
  expect(file.statusCode, file.body).toBe(201);
  const fileItem = file.json<{ id: string; parentReference: { id: string } }>();
  const session = await call('POST', `/v1.0/users/${userId}/drive/root:/Secret/big.bin:/createUploadSession`, bAdmin, {});
  expect(session.statusCode, session.body).toBe(200);
  // Sign-ins and more activity straight into the tables (the import path is another test's).
  const extra = await seedUser(t.db, t.deps.contentStore, {
    tenantId: B,
    files: [{ path: 'x/y.txt', body: Buffer.from('more of B') }],
    signIns: 3,
    activities: 4,
  });
  const sas = fakeSasUrl();
  const exported = await call('POST', `/v1.0/users/${userId}/exportPersonalData`, bAdmin, { storageLocation: sas });
  expect(exported.statusCode, exported.body).toBe(202);
  b = {
    userId,
    upn: 'victim@fabrikam.test',
    fileId: fileItem.id,
    folderId: fileItem.parentReference.id,
    operationId: String(exported.headers.location).split('/').pop()!,
    sas,
    itemIds: [...extra.itemIds.values()],
  };
  // Tenant A has data of its own, so "empty" answers are filtered, not empty by accident.
  const aAdmin = await t.appToken(A, ALL_ROLES);
  const aUser = await call('POST', '/v1.0/users', aAdmin, { userPrincipalName: 'adele@contoso.test', displayName: 'Adele' });
  expect(aUser.statusCode, aUser.body).toBe(201);
  aUserId = aUser.json<{ id: string }>().id;
  expect((await call('POST', `/v1.0/users/${aUserId}/exportPersonalData`, aAdmin, { storageLocation: fakeSasUrl() })).statusCode).toBe(202);
  tokensOfA = [
    { name: 'application with every role', token: aAdmin },
    { name: 'delegated global admin', token: await t.userToken(A, aUserId, ALL_SCOPES, true) },
    // The nastiest one: a delegated token of tenant A whose oid is B's user, i.e. "my own drive".
    { name: "delegated token whose oid is B's user", token: await t.userToken(A, userId, ALL_SCOPES, true) },
  ];
  // Quota counts reach PostgreSQL in batches every 250 ms: wait for B's to land before the snapshot.
  await waitFor(
    async () => {
      const { rows } = await t.db.query<{ n: number }>(
        "select coalesce(sum(count), 0)::int as n from quota_counters where tenant_id = $1 and bucket = 'exports'",
        [B],
      );
      return rows[0]!.n === 1;
    },
    { what: "B's quota counters to be flushed" },
  );
  before = await rowsOf(t.db, B);
  expect(before.users!.length).toBe(2);
  expect(before.drive_items!.length).toBeGreaterThanOrEqual(5);
  expect(before.sign_ins!.length).toBe(3);
  expect(before.upload_sessions!.length).toBe(1);
  expect(before.data_policy_operations!.length).toBe(1);
});

afterAll(async () => {
  await t?.close();
});

describe('a token of tenant A against the data of tenant B', () => {
  it("operations: GET is 404; the list and its filters never show B; POST on B's user is 404 and queues nothing", async () => {
    for (const { name, token } of tokensOfA) {
      for (const v of VERSIONS) {
        expectGraphError(await call('GET', `/${v}/dataPolicyOperations/${b.operationId}`, token), 404, 'Request_ResourceNotFound');
        expectGraphError(await call('GET', `/${v}/dataPolicyOperations/${b.operationId.toUpperCase()}?$select=status`, token), 404, 'Request_ResourceNotFound');
        const list = await call('GET', `/${v}/dataPolicyOperations?$top=1000`, token);
        expect(list.statusCode, `${name}: ${list.body}`).toBe(200);
        const ids = list.json<{ value: { id: string; userId: string }[] }>().value;
        expect(ids.length, name).toBeGreaterThan(0);
        expect(ids.map((o) => o.id)).not.toContain(b.operationId);
        expect(ids.map((o) => o.userId)).not.toContain(b.userId);
        const filtered = await call('GET', `/${v}/dataPolicyOperations?$filter=${encodeURIComponent(`userId eq '${b.userId}'`)}`, token);
        expect(filtered.statusCode).toBe(200);
        expect(filtered.json<{ value: unknown[] }>().value).toEqual([]);
        for (const who of [b.userId, b.upn, encodeURIComponent(b.upn.toUpperCase())]) {
          // B's own container SAS, too: the 409 "already used" would reveal B's export.
          for (const storageLocation of [fakeSasUrl(), b.sas]) {
            expectGraphError(await call('POST', `/${v}/users/${who}/exportPersonalData`, token, { storageLocation }), 404, 'Request_ResourceNotFound');
          }
        }
      }
    }
  });

  it('users: GET, PATCH, DELETE are 404 by id and by UPN; the list and its filter never show B', async () => {
    for (const { name, token } of tokensOfA) {
      for (const v of VERSIONS) {
        for (const who of [b.userId, b.userId.toUpperCase(), b.upn, encodeURIComponent(b.upn.toUpperCase())]) {
          expectGraphError(await call('GET', `/${v}/users/${who}`, token), 404, 'Request_ResourceNotFound');
          expectGraphError(await call('GET', `/${v}/users/${who}?$select=id,jobTitle`, token), 404, 'Request_ResourceNotFound');
          expectGraphError(await call('PATCH', `/${v}/users/${who}`, token, { jobTitle: 'pwned' }), 404, 'Request_ResourceNotFound');
          expectGraphError(await call('DELETE', `/${v}/users/${who}`, token), 404, 'Request_ResourceNotFound');
        }
        const list = await call('GET', `/${v}/users?$top=999`, token);
        expect(list.statusCode, `${name}: ${list.body}`).toBe(200);
        const users = list.json<{ value: { id: string }[] }>().value;
        expect(users.map((u) => u.id)).toEqual([aUserId]);
        const byUpn = await call('GET', `/${v}/users?$filter=${encodeURIComponent(`userPrincipalName eq '${b.upn}'`)}`, token);
        expect(byUpn.statusCode).toBe(200);
        expect(byUpn.json<{ value: unknown[] }>().value).toEqual([]);
      }
    }
    // Creating a user with B's UPN in A is A's business: it must work (a 400 "duplicate" would leak B's UPN).
    const dup = await call('POST', '/v1.0/users', tokensOfA[0]!.token, { userPrincipalName: b.upn, displayName: 'Same UPN, other tenant' });
    expect(dup.statusCode, dup.body).toBe(201);
    expect(await call('DELETE', `/v1.0/users/${dup.json<{ id: string }>().id}`, tokensOfA[0]!.token).then((r) => r.statusCode)).toBe(204);
  });

  it("drive: list, get, download, upload, createUploadSession and delete on B's user are 404", async () => {
    for (const { token } of tokensOfA) {
      for (const v of VERSIONS) {
        for (const who of [b.userId, b.upn]) {
          const u = `/${v}/users/${who}/drive`;
          const attempts: [string, string, unknown?, Record<string, string>?][] = [
            ['GET', u],
            ['GET', `${u}/root`],
            ['GET', `${u}/root/children`],
            ['GET', `${u}/root:/Secret`],
            ['GET', `${u}/root:/Secret/plans.txt`],
            ['GET', `${u}/root:/Secret/plans.txt:/content`],
            ['GET', `${u}/items/${b.fileId}`],
            ['GET', `${u}/items/${b.folderId}/children`],
            ['GET', `${u}/items/${b.fileId}/content`],
            ['DELETE', `${u}/items/${b.fileId}`],
            ['DELETE', `${u}/items/${b.folderId}`],
            ['PUT', `${u}/root:/Secret/plans.txt:/content`, 'overwritten by A', { 'content-type': 'text/plain' }],
            ['PUT', `${u}/root:/dropped.txt:/content`, 'planted by A', { 'content-type': 'text/plain' }],
            ['POST', `${u}/root:/Secret/big.bin:/createUploadSession`, {}],
          ];
          for (const [method, url, payload, headers] of attempts) {
            const res = await call(method, url, token, payload, headers);
            expectGraphError(res, 404, 'Request_ResourceNotFound');
          }
        }
        // B's item ids under A's own user: the item does not exist for A either.
        for (const itemId of [b.fileId, b.folderId, ...b.itemIds]) {
          const u = `/${v}/users/${aUserId}/drive/items/${itemId}`;
          for (const [method, url] of [
            ['GET', u],
            ['GET', `${u}/content`],
            ['GET', `${u}/children`],
            ['DELETE', u],
          ] as const) {
            const res = await call(method, url, tokensOfA[0]!.token);
            expect(res.statusCode, `${method} ${url}: ${res.body}`).toBe(404);
            expect(res.json<{ error: { code: string } }>().error.code).toBe('itemNotFound');
          }
        }
      }
    }
  });

  it('audit logs: signIns and directoryAudits of A never hold a record of B, whatever the filter', async () => {
    for (const { name, token } of tokensOfA) {
      for (const v of VERSIONS) {
        const signIns = await call('GET', `/${v}/auditLogs/signIns?$top=1000`, token);
        expect(signIns.statusCode, `${name}: ${signIns.body}`).toBe(200);
        expect(signIns.body).not.toContain(b.userId);
        const mine = await call('GET', `/${v}/auditLogs/signIns?$filter=${encodeURIComponent(`userId eq '${b.userId}'`)}`, token);
        expect(mine.statusCode).toBe(200);
        expect(mine.json<{ value: unknown[] }>().value).toEqual([]);
        const byUpn = await call('GET', `/${v}/auditLogs/signIns?$filter=${encodeURIComponent(`userPrincipalName eq '${b.upn}'`)}`, token);
        expect(byUpn.json<{ value: unknown[] }>().value).toEqual([]);

        const audits = await call('GET', `/${v}/auditLogs/directoryAudits?$top=1000`, token);
        expect(audits.statusCode, audits.body).toBe(200);
        const values = audits.json<{ value: unknown[] }>().value;
        expect(values.length).toBeGreaterThan(0);
        expect(audits.body).not.toContain(b.userId);
        expect(audits.body).not.toContain(b.operationId);
        const targeted = await call(
          'GET',
          `/${v}/auditLogs/directoryAudits?$filter=${encodeURIComponent(`targetResources/any(t: t/id eq '${b.userId}')`)}`,
          token,
        );
        expect(targeted.statusCode).toBe(200);
        expect(targeted.json<{ value: unknown[] }>().value).toEqual([]);
      }
    }
  });

  it("B's rows are exactly as they were, and B still sees all of them", async () => {
    expect(await rowsOf(t.db, B)).toEqual(before);
    const bReader = await t.appToken(B, ALL_ROLES);
    expect((await call('GET', `/v1.0/dataPolicyOperations/${b.operationId}`, bReader)).statusCode).toBe(200);
    const user = await call('GET', `/v1.0/users/${b.userId}`, bReader);
    expect(user.statusCode).toBe(200);
    expect(user.json<{ jobTitle: string }>().jobTitle).toBe('CFO');
    const content = await call('GET', `/v1.0/users/${b.userId}/drive/items/${b.fileId}/content`, bReader, undefined, DIRECT_CONTENT);
    expect(content.statusCode).toBe(200);
    expect(content.body).toBe('B confidential');
  });
});
