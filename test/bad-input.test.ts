import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDriveUser, pathUrl } from './support/drive-helpers.ts';
import { createTestApp, fakeSasUrl, type TestApp } from './support/harness.ts';
import { expectGraphError } from './support/graph-assert.ts';

// Bad input is a Graph-shaped 400 and changes nothing: never a 500.

const TENANT = randomUUID();
let t: TestApp;
let token: string;
let userId: string;

type Res = Awaited<ReturnType<TestApp['app']['inject']>>;

function call(method: 'GET' | 'POST' | 'PATCH' | 'PUT', url: string, payload?: string | object, headers: Record<string, string> = {}): Promise<Res> {
  return t.app.inject({ method, url, headers: { authorization: `Bearer ${token}`, ...headers }, ...(payload === undefined ? {} : { payload }) });
}

/** Every row of the tables a refused request could touch, as text. */
async function everything(): Promise<string> {
  const tables = ['users', 'directory_audits', 'drive_items', 'drive_activities', 'data_policy_operations'];
  const parts = await Promise.all(tables.map(async (name) => JSON.stringify((await t.db.query(`select * from ${name} order by 1, 2`)).rows)));
  return parts.join('\n');
}

async function expectRefusedUnchanged(send: () => Promise<Res>, message?: RegExp): Promise<void> {
  const before = await everything();
  const res = await send();
  const err = expectGraphError(res, 400, res.json().error.code as string);
  if (message) expect(err.message).toMatch(message);
  expect(await everything()).toBe(before);
}

beforeAll(async () => {
  t = await createTestApp();
  token = await t.appToken(TENANT, ['User.ReadWrite.All', 'Files.ReadWrite.All', 'User.Export.All']);
  userId = await createDriveUser(t, TENANT, 'adele');
});
afterAll(async () => {
  await t?.close();
});

describe('user bodies with keys of Object.prototype', () => {
  const json = { 'content-type': 'application/json' };

  it('toString, constructor, hasOwnProperty, __proto__ on create and update: 400, nothing written', async () => {
    for (const key of ['toString', 'constructor', 'hasOwnProperty', 'valueOf', '__proto__']) {
      const create = `{"userPrincipalName":"p-${key.replace(/_/g, '')}@contoso.test","displayName":"P","${key}":"x"}`;
      await expectRefusedUnchanged(() => call('POST', '/v1.0/users', create, json));
      const update = `{"${key}":"x"}`;
      await expectRefusedUnchanged(() => call('PATCH', `/v1.0/users/${userId}`, update, json));
      const nested = `{"jobTitle":"x","${key}":{"prototype":{"polluted":true}}}`;
      await expectRefusedUnchanged(() => call('PATCH', `/v1.0/users/${userId}`, nested, json));
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('storageLocation with a malformed escape', () => {
  it('%zz or a lone % in the path is 400 InvalidStorageLocation, no operation', async () => {
    for (const path of ['/c%zzontainer', '/container/dir%zz', '/container/%', '/container/%e0%a4%a']) {
      const storageLocation = fakeSasUrl().replace(/^(https:\/\/[^/]+)\/[^?]+/, `$1${path}`);
      await expectRefusedUnchanged(() => call('POST', `/v1.0/users/${userId}/exportPersonalData`, { storageLocation }), /storageLocation/);
    }
  });
});

describe('forged $skiptoken on children', () => {
  it('a cursor with a non-GUID id, a NUL, the wrong arity or not base64 JSON is 400', async () => {
    const file = await call('PUT', pathUrl(userId, 'docs/a.txt', ':/content'), 'a', { 'content-type': 'text/plain' });
    expect(file.statusCode).toBe(201);
    const folderId = file.json<{ parentReference: { id: string } }>().parentReference.id;
    const forged = (cursor: unknown) => Buffer.from(JSON.stringify(cursor)).toString('base64url');
    for (const skiptoken of [
      forged(['a.txt', 'not-a-guid']),
      forged(['a\u0000', randomUUID()]),
      forged(['a', randomUUID(), 'x']),
      forged([1, 2]),
      '%%%',
      'e30',
    ]) {
      for (const url of [`/v1.0/users/${userId}/drive/root/children`, `/v1.0/users/${userId}/drive/items/${folderId}/children`]) {
        const res = await call('GET', `${url}?$skiptoken=${encodeURIComponent(skiptoken)}`);
        expect(expectGraphError(res, 400, res.json().error.code as string).message).toMatch(/skiptoken/i);
      }
    }
  });
});

describe('text that PostgreSQL cannot store', () => {
  it('a NUL in a user property, a $filter value or a drive path is 400, nothing written', async () => {
    const upn = encodeURIComponent("userPrincipalName eq 'a\u0000@contoso.test'");
    await expectRefusedUnchanged(() => call('POST', '/v1.0/users', { userPrincipalName: 'nul@contoso.test', displayName: 'A\u0000B' }));
    await expectRefusedUnchanged(() => call('PATCH', `/v1.0/users/${userId}`, { jobTitle: '\u0000' }));
    await expectRefusedUnchanged(() => call('GET', `/v1.0/users?$filter=${upn}`));
    await expectRefusedUnchanged(() => call('GET', `/v1.0/users/a%00b@contoso.test`));
    await expectRefusedUnchanged(() => call('PUT', pathUrl(userId, 'a\u0000.txt', ':/content'), 'x', { 'content-type': 'text/plain' }));
  });
});

describe('bidirectional override and isolate characters in names', () => {
  const BIDI = ['\u202a', '\u202b', '\u202c', '\u202d', '\u202e', '\u2066', '\u2067', '\u2068', '\u2069'];

  it('are refused in user properties on create and update (400 naming the code point), nothing written', async () => {
    for (const c of BIDI) {
      await expectRefusedUnchanged(
        () => call('POST', '/v1.0/users', { userPrincipalName: `bidi${c.charCodeAt(0)}@contoso.test`, displayName: `Invoice ${c}fdp.exe` }),
        new RegExp(`U\\+${c.charCodeAt(0).toString(16).toUpperCase()}`),
      );
      await expectRefusedUnchanged(() => call('PATCH', `/v1.0/users/${userId}`, { surname: `x${c}y` }));
      await expectRefusedUnchanged(() => call('PATCH', `/v1.0/users/${userId}`, { businessPhones: [`+1${c}555`] }));
    }
  });

  it('are refused in drive item names, by upload and by upload session, nothing written', async () => {
    for (const c of BIDI) {
      await expectRefusedUnchanged(
        () => call('PUT', pathUrl(userId, `report${c}gpj.exe`, ':/content'), 'x', { 'content-type': 'text/plain' }),
        /bidirectional/,
      );
      await expectRefusedUnchanged(() => call('PUT', pathUrl(userId, `dir${c}/a.txt`, ':/content'), 'x', { 'content-type': 'text/plain' }));
      await expectRefusedUnchanged(() => call('POST', pathUrl(userId, `big${c}.bin`, ':/createUploadSession'), {}));
    }
  });

  it('other right-to-left text is a name like any other', async () => {
    expect((await call('PATCH', `/v1.0/users/${userId}`, { displayName: 'אדל ואנס' })).statusCode).toBe(204);
    expect((await call('PUT', pathUrl(userId, 'تقرير.txt', ':/content'), 'x', { 'content-type': 'text/plain' })).statusCode).toBe(201);
  });
});
