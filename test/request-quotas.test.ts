import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createDriveUser } from './support/drive-helpers.ts';
import { expectGraphError } from './support/graph-assert.ts';
import { createTestApp, type TestApp } from './support/harness.ts';

let t: TestApp;

beforeAll(async () => {
  t = await createTestApp({
    DSR_QUOTA_REQUESTS_PER_TENANT_PER_HOUR: '2',
    DSR_QUOTA_DRIVE_REQUESTS_PER_TENANT_PER_HOUR: '4',
    DSR_QUOTA_DIRECTORY_REQUESTS_PER_TENANT_PER_HOUR: '3',
  });
});
afterAll(async () => {
  await t?.close();
});

test("Graph's hourly limit counts dataPolicyOperations only; drive and directory routes have their own", async () => {
  const tenant = randomUUID();
  const user = await createDriveUser(t, tenant); // one directory request (POST /users)
  const token = await t.appToken(tenant, ['User.Export.All', 'User.Read.All', 'Files.ReadWrite.All']);
  const get = (url: string) => t.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } });
  for (let i = 0; i < 2; i++) expect((await get('/v1.0/dataPolicyOperations')).statusCode).toBe(200);
  expect(expectGraphError(await get('/v1.0/dataPolicyOperations'), 429, 'TooManyRequests').message).toMatch(/2 requests per hour/);
  // The drive and the directory still answer, each up to its own limit.
  for (const url of [`/v1.0/users/${user}/drive`, `/v1.0/drives/${user}/root`, `/v1.0/users/${user}/drive/root/children`, `/beta/users/${user}/drive`]) {
    expect((await get(url)).statusCode).toBe(200);
  }
  expect(expectGraphError(await get(`/v1.0/drives/${user}`), 429, 'TooManyRequests').message).toMatch(/4 drive requests per hour/);
  for (let i = 0; i < 2; i++) expect((await get(`/v1.0/users/${user}`)).statusCode).toBe(200);
  expect(expectGraphError(await get('/v1.0/auditLogs/signIns'), 429, 'TooManyRequests').message).toMatch(/3 directory requests per hour/);
});
