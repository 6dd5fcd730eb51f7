import fc from 'fast-check';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createTestApp, fakeSasUrl, type TestApp } from './support/harness.ts';

// Property-based fuzzing of the public routes (issue 7): whatever the path, query, headers or
// body, the service answers without a 5xx, every error is Graph-shaped, and it stays healthy.

let t: TestApp;
let token: string;
let userId: string;
let operationPath: string;
const tenant = randomUUID();

beforeAll(async () => {
  t = await createTestApp({
    DSR_QUOTA_REQUESTS_PER_TENANT_PER_HOUR: '1000000',
    DSR_QUOTA_EXPORTS_PER_TENANT_PER_DAY: '1000000',
    DSR_QUOTA_EXPORTS_PER_USER_PER_DAY: '1000000',
  });
  token = await t.appToken(tenant, ['User.Export.All', 'User.Read.All', 'User.ReadWrite.All', 'AuditLog.Read.All', 'Files.ReadWrite.All']);
  const res = await t.app.inject({
    method: 'POST',
    url: '/v1.0/users',
    headers: { authorization: `Bearer ${token}` },
    payload: { userPrincipalName: 'fuzz@contoso.com', displayName: 'Fuzz' },
  });
  userId = res.json<{ id: string }>().id;
  const op = await t.app.inject({
    method: 'POST',
    url: `/v1.0/users/${userId}/exportPersonalData`,
    headers: { authorization: `Bearer ${token}` },
    payload: { storageLocation: fakeSasUrl() },
  });
  operationPath = new URL(op.headers.location as string).pathname;
});
afterAll(async () => {
  await t.close();
});

function expectGraphResponse(res: { statusCode: number; headers: Record<string, unknown>; body: string }): void {
  expect(res.statusCode, res.body).toBeLessThan(500);
  expect(res.headers['request-id']).toMatch(/^[0-9a-f-]{36}$/);
  if (res.statusCode >= 400) {
    expect(String(res.headers['content-type'])).toMatch(/^application\/json/);
    const body = JSON.parse(res.body) as { error: { code: string; message: string; innerError: Record<string, string> } };
    expect(typeof body.error.code).toBe('string');
    expect(typeof body.error.message).toBe('string');
    expect(body.error.innerError['request-id']).toBe(res.headers['request-id']);
    expect(body.error.innerError.date).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/);
  }
}

const segment = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.constantFrom(
    'users',
    'dataPolicyOperations',
    'exportPersonalData',
    'auditLogs',
    'signIns',
    'directoryAudits',
    'drive',
    'root',
    'items',
    'children',
    'content',
    '..',
    '%00',
    '%2F',
    "o'brien@contoso.com",
  ),
  fc.uuid(),
);
const queryValue = fc.oneof(
  fc.string({ maxLength: 60 }),
  fc.constantFrom("status eq 'running'", "userId eq '", '0', '-1', '99999999999', 'id,status', "userPrincipalName eq 'a''b'", '%', '$'),
);
const queryKey = fc.oneof(fc.constantFrom('$select', '$filter', '$top', '$skiptoken', '$expand', '$orderby', '$count'), fc.string({ maxLength: 10 }));

const json = fc.jsonValue({ maxDepth: 3 });
const storageLocation = fc.oneof(
  fc.string(),
  fc.webUrl({ withQueryParameters: true }),
  fc.constant(fakeSasUrl()),
  fc.constantFrom('file:///etc/passwd', 'https://127.0.0.1/c?sr=c&sp=cw&se=2099-01-01&sig=x', 'https://[::1]/c', 'http://acct.blob.core.windows.net/c'),
  fc.integer(),
  fc.constant(null),
);

test('random paths and query options on every method never produce a 5xx', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom('GET', 'POST', 'PATCH', 'PUT', 'DELETE'),
      fc.constantFrom('/v1.0', '/beta', '', '/v2.0'),
      fc.array(segment, { minLength: 0, maxLength: 5 }),
      fc.dictionary(queryKey, queryValue, { maxKeys: 3 }),
      async (method, version, segments, query) => {
        const path = `${version}/${segments.map((s) => encodeURIComponent(s)).join('/')}`;
        const qs = new URLSearchParams(query).toString();
        const res = await t.app.inject({ method, url: `${path}${qs ? `?${qs}` : ''}`, headers: { authorization: `Bearer ${token}` } });
        expectGraphResponse(res);
      },
    ),
    { numRuns: 300 },
  );
});

test('random bodies on the export, user and operation routes never produce a 5xx', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom(`/v1.0/users/${'USER'}/exportPersonalData`, '/v1.0/users', '/beta/users/USER', '/v1.0/users/fuzz@contoso.com/exportPersonalData'),
      fc.oneof(
        json,
        fc.record({ storageLocation }, { requiredKeys: [] }),
        fc.record({ userPrincipalName: fc.string(), displayName: fc.oneof(fc.string(), fc.integer()), accountEnabled: fc.jsonValue() }, { requiredKeys: [] }),
      ),
      fc.constantFrom('application/json', 'application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', undefined),
      async (route, body, contentType) => {
        const url = route.replace('USER', userId);
        const method = url.endsWith(userId) ? 'PATCH' : 'POST';
        const res = await t.app.inject({
          method,
          url,
          payload: JSON.stringify(body),
          headers: { authorization: `Bearer ${token}`, ...(contentType ? { 'content-type': contentType } : {}) },
        });
        expectGraphResponse(res);
      },
    ),
    { numRuns: 300 },
  );
});

test('random and malformed Authorization headers are 401, never 5xx', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(
        fc.string({ maxLength: 200 }),
        fc.string().map((s) => `Bearer ${s}`),
        fc.tuple(fc.base64String(), fc.base64String(), fc.base64String()).map((p) => `Bearer ${p.join('.')}`),
        fc.constant(`Bearer ${token.slice(0, -3)}abc`),
      ),
      async (authorization) => {
        const res = await t.app.inject({ method: 'GET', url: operationPath, headers: { authorization } });
        expectGraphResponse(res);
        expect(res.statusCode).toBe(401);
      },
    ),
    { numRuns: 200 },
  );
});

test('the service is healthy and its data intact after fuzzing', async () => {
  expect((await t.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
  const op = await t.app.inject({ method: 'GET', url: operationPath, headers: { authorization: `Bearer ${token}` } });
  expect(op.statusCode).toBe(200);
  const user = await t.app.inject({ method: 'GET', url: `/v1.0/users/${userId}`, headers: { authorization: `Bearer ${token}` } });
  expect(user.statusCode).toBe(200);
});
