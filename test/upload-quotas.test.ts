import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createDriveUser, pathUrl, testBytes } from './support/drive-helpers.ts';
import { expectGraphError } from './support/graph-assert.ts';
import { createTestApp, PUBLIC_URL, type TestApp } from './support/harness.ts';

let t: TestApp;

beforeAll(async () => {
  t = await createTestApp({
    DSR_QUOTA_DRIVE_REQUESTS_PER_TENANT_PER_HOUR: '7',
    DSR_QUOTA_UPLOAD_SESSIONS_PER_USER: '2',
    DSR_QUOTA_UPLOAD_SESSION_BYTES_PER_USER: '1000',
    DSR_QUOTA_STORAGE_BYTES_PER_TENANT: '1500',
  });
});
afterAll(async () => {
  await t?.close();
});

type Res = Awaited<ReturnType<TestApp['app']['inject']>>;

async function countRows(table: 'upload_sessions' | 'drive_items', tenant: string): Promise<number> {
  return (await t.db.query<{ n: number }>(`select count(*)::int as n from ${table} where tenant_id = $1`, [tenant])).rows[0]!.n;
}

async function tenantWithUser(): Promise<{ tenant: string; user: string; auth: { authorization: string } }> {
  const tenant = randomUUID();
  const user = await createDriveUser(t, tenant);
  return { tenant, user, auth: { authorization: `Bearer ${await t.appToken(tenant, ['Files.ReadWrite.All', 'User.Read.All'])}` } };
}

async function createSession(who: { user: string; auth: Record<string, string> }, path: string, fileSize?: number): Promise<Res> {
  return t.app.inject({
    method: 'POST',
    url: pathUrl(who.user, path, ':/createUploadSession'),
    headers: { ...who.auth, 'content-type': 'application/json' },
    payload: fileSize === undefined ? {} : { item: { fileSize } },
  });
}

function sessionPath(res: Res): string {
  expect(res.statusCode).toBe(200);
  return (res.json().uploadUrl as string).slice(PUBLIC_URL.length);
}

function putFragment(url: string, data: Buffer, first: number, total: number): Promise<Res> {
  return t.app.inject({
    method: 'PUT',
    url,
    payload: data,
    headers: { 'content-type': 'application/octet-stream', 'content-range': `bytes ${first}-${first + data.length - 1}/${total}` },
  });
}

function simpleUpload(who: { user: string; auth: Record<string, string> }, path: string, body: Buffer): Promise<Res> {
  return t.app.inject({
    method: 'PUT',
    url: pathUrl(who.user, path, ':/content'),
    payload: body,
    headers: { ...who.auth, 'content-type': 'application/octet-stream' },
  });
}

test('upload-session fragments count against the hourly drive request quota, and a refused one stages nothing', async () => {
  const who = await tenantWithUser(); // a directory request: not counted here
  const url = sessionPath(await createSession(who, 'q/frag.bin')); // drive request 1 of 7
  const body = testBytes(70);
  for (let i = 0; i < 6; i++) expect((await putFragment(url, body.subarray(i * 10, i * 10 + 10), i * 10, 70)).statusCode).toBe(202); // 2..7
  const refused = await putFragment(url, body.subarray(60), 60, 70);
  expectGraphError(refused, 429, 'TooManyRequests');
  expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
  const status = await t.app.inject({ method: 'GET', url });
  expect(status.json().nextExpectedRanges).toEqual(['60-69']);
});

test('upload sessions per user are capped in number (429) and in declared bytes (507 quotaLimitReached)', async () => {
  const who = await tenantWithUser();

  sessionPath(await createSession(who, 'a.bin', 600));
  // The declared bytes of the open sessions together: 600 + 500 > 1000.
  expectGraphError(await createSession(who, 'b.bin', 500), 507, 'quotaLimitReached');
  const second = sessionPath(await createSession(who, 'c.bin'));
  const third = await createSession(who, 'd.bin', 1);
  expectGraphError(third, 429, 'TooManyRequests');
  expect(Number(third.headers['retry-after'])).toBeGreaterThan(3600);
  expect(await countRows('upload_sessions', who.tenant)).toBe(2);
  // A session without fileSize is held to the same bytes when its first fragment names the total.
  expectGraphError(await putFragment(second, testBytes(10), 0, 401), 507, 'quotaLimitReached');
  expect((await putFragment(second, testBytes(10), 0, 400)).statusCode).toBe(202);
  // Cancelling one frees its place.
  expect((await t.app.inject({ method: 'DELETE', url: second })).statusCode).toBe(204);
  sessionPath(await createSession(who, 'e.bin', 10));
});

test("the tenant's storage quota: uploads past it answer 507 quotaLimitReached and store nothing; other tenants are not affected", async () => {
  const who = await tenantWithUser();
  expect((await simpleUpload(who, 'big.bin', testBytes(1000))).statusCode).toBe(201);
  const before = await countRows('drive_items', who.tenant);
  const refused = await simpleUpload(who, 'more.bin', testBytes(501));
  expectGraphError(refused, 507, 'quotaLimitReached');
  expect(await countRows('drive_items', who.tenant)).toBe(before);
  // A session declaring more than what is left is refused too; what fits is accepted.
  expectGraphError(await createSession(who, 's.bin', 501), 507, 'quotaLimitReached');
  expect((await simpleUpload(who, 'fits.bin', testBytes(500))).statusCode).toBe(201);
  const other = await tenantWithUser();
  expect((await simpleUpload(other, 'mine.bin', testBytes(1000))).statusCode).toBe(201);
});
