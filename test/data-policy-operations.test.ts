import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertUser } from '../src/db/queries/users.ts';
import { createTestApp, fakeSasUrl, PUBLIC_URL, type TestApp } from './support/harness.ts';
import { expectGraphError } from './support/graph-assert.ts';

const TENANT = randomUUID();
const OTHER = randomUUID();
let t: TestApp;
let token: string;
let userId: string;

type Res = Awaited<ReturnType<TestApp['app']['inject']>>;

async function get(url: string, tok = token): Promise<Res> {
  return t.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${tok}` } });
}
const json = (res: Res) => JSON.parse(res.body) as Record<string, unknown>;

async function submit(user = userId, storageLocation = fakeSasUrl()): Promise<string> {
  const res = await t.app.inject({
    method: 'POST',
    url: `/v1.0/users/${user}/exportPersonalData`,
    headers: { authorization: `Bearer ${token}` },
    payload: { storageLocation },
  });
  expect(res.statusCode, res.body).toBe(202);
  return String(res.headers.location).split('/').pop()!;
}

/** An operation row written directly, for states and times the API cannot produce. */
async function insertRow(o: { tenant?: string; user?: string; status?: string; submittedAt: string; progress?: number }): Promise<string> {
  const id = randomUUID();
  await t.db.query(
    `insert into data_policy_operations (id, tenant_id, user_id, user_principal_name, storage_location, storage_container, status, progress, requested_by, submitted_at)
     values ($1, $2, $3, 'x@contoso.com', $4, $5, $6, $7, '{"kind":"application","appId":"a","oid":"o"}', $8)`,
    [
      id,
      o.tenant ?? TENANT,
      o.user ?? userId,
      fakeSasUrl(),
      `https://acct.blob.core.windows.net/${id}`,
      o.status ?? 'notStarted',
      o.progress ?? 0,
      o.submittedAt,
    ],
  );
  return id;
}

beforeAll(async () => {
  t = await createTestApp();
  token = await t.appToken(TENANT, ['User.Export.All', 'User.Read.All']);
  userId = (await insertUser(t.db, TENANT, randomUUID(), { user_principal_name: 'adele@contoso.com', display_name: 'Adele' }, new Date())).id;
  await insertUser(t.db, TENANT, randomUUID(), { user_principal_name: 'bob@contoso.com', display_name: 'Bob' }, new Date());
});
afterAll(async () => {
  await t?.close();
});

describe('GET /dataPolicyOperations/{id}', () => {
  it('serves the exact JSON of the operation resource (docs/architecture.md#the-operation-resource)', async () => {
    const storageLocation = fakeSasUrl();
    const before = Date.now();
    const id = await submit(userId, storageLocation);
    for (const version of ['v1.0', 'beta']) {
      const res = await get(`/${version}/dataPolicyOperations/${id}`);
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toMatch(/^application\/json;odata\.metadata=minimal/);
      const body = json(res);
      expect(Object.keys(body)).toEqual(['@odata.context', 'id', 'status', 'progress', 'userId', 'storageLocation', 'submittedDateTime', 'completedDateTime']);
      expect(body['@odata.context']).toBe(`${PUBLIC_URL}/${version}/$metadata#dataPolicyOperations/$entity`);
      expect(body.id).toBe(id);
      expect(body.status).toBe('notStarted');
      expect(body.progress).toBe(0);
      expect(typeof body.progress).toBe('number');
      expect(body.userId).toBe(userId);
      expect(body.storageLocation).toBe(storageLocation.replace(/sig=[^&]*/, 'sig=REDACTED'));
      expect(body.submittedDateTime).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,7})?Z$/);
      const submitted = Date.parse(String(body.submittedDateTime));
      expect(submitted).toBeGreaterThanOrEqual(before - 1000);
      expect(submitted).toBeLessThanOrEqual(Date.now());
      expect(body.completedDateTime).toBeNull();
      expect('error' in body).toBe(false);
    }
  });

  it('finds the operation with an upper-case id', async () => {
    const id = await submit();
    const res = await get(`/v1.0/dataPolicyOperations/${id.toUpperCase()}`);
    expect(res.statusCode).toBe(200);
    expect(json(res).id).toBe(id);
  });

  it('running: progress as a number below 100, even when the stored bytes say 100', async () => {
    const id = await submit();
    await t.db.query("update data_policy_operations set status = 'running', progress = 42.5 where id = $1", [id]);
    expect(json(await get(`/v1.0/dataPolicyOperations/${id}`))).toMatchObject({ status: 'running', progress: 42.5, completedDateTime: null });
    await t.db.query('update data_policy_operations set progress = 100 where id = $1', [id]);
    const body = json(await get(`/v1.0/dataPolicyOperations/${id}`));
    expect(body.progress).toBeLessThan(100);
  });

  it('complete: progress 100 and completedDateTime set', async () => {
    const id = await submit();
    await t.db.query("update data_policy_operations set status = 'complete', progress = 97, completed_at = '2026-03-04T05:06:07Z' where id = $1", [id]);
    const body = json(await get(`/v1.0/dataPolicyOperations/${id}`));
    expect(body).toMatchObject({ status: 'complete', progress: 100, completedDateTime: '2026-03-04T05:06:07Z' });
    expect('error' in body).toBe(false);
  });

  it('failed: the error extension, with code and message', async () => {
    const id = await submit();
    await t.db.query(
      "update data_policy_operations set status = 'failed', progress = 30, completed_at = now(), error_code = 'StorageLocationAccessDenied', error_message = 'The SAS lacks the write (w) permission.' where id = $1",
      [id],
    );
    const body = json(await get(`/v1.0/dataPolicyOperations/${id}`));
    expect(body.status).toBe('failed');
    expect(body.progress).toBe(30);
    expect(body.error).toEqual({ code: 'StorageLocationAccessDenied', message: 'The SAS lacks the write (w) permission.' });
    expect(Object.keys(body).pop()).toBe('error');
  });

  it('$select narrows the properties and the context', async () => {
    const id = await submit();
    const res = await get(`/v1.0/dataPolicyOperations/${id}?$select=status,progress`);
    expect(res.statusCode).toBe(200);
    expect(json(res)).toEqual({
      '@odata.context': `${PUBLIC_URL}/v1.0/$metadata#dataPolicyOperations(status,progress)/$entity`,
      status: 'notStarted',
      progress: 0,
    });
    const one = json(await get(`/beta/dataPolicyOperations/${id}?$select=userId`));
    expect(one).toEqual({ '@odata.context': `${PUBLIC_URL}/beta/$metadata#dataPolicyOperations(userId)/$entity`, userId });
  });

  it('400 for an unknown $select property or an unsupported option', async () => {
    const id = await submit();
    expect(expectGraphError(await get(`/v1.0/dataPolicyOperations/${id}?$select=status,sig`), 400, 'BadRequest').message).toMatch(/sig/);
    expectGraphError(await get(`/v1.0/dataPolicyOperations/${id}?$select=`), 400, 'BadRequest');
    expectGraphError(await get(`/v1.0/dataPolicyOperations/${id}?$expand=user`), 400, 'BadRequest');
  });

  it('404 for an unknown id, a non-GUID and an operation of another tenant', async () => {
    expectGraphError(await get(`/v1.0/dataPolicyOperations/${randomUUID()}`), 404, 'Request_ResourceNotFound');
    expectGraphError(await get('/v1.0/dataPolicyOperations/not-a-guid'), 404, 'Request_ResourceNotFound');
    expectGraphError(await get("/v1.0/dataPolicyOperations/'; drop table users; --"), 404, 'Request_ResourceNotFound');
    const theirs = await insertRow({ tenant: OTHER, submittedAt: new Date().toISOString() });
    expectGraphError(await get(`/v1.0/dataPolicyOperations/${theirs}`), 404, 'Request_ResourceNotFound');
    expect((await get(`/v1.0/dataPolicyOperations/${theirs}`, await t.appToken(OTHER, ['User.Export.All', 'User.Read.All']))).statusCode).toBe(200);
  });

  it('needs User.Export.All and User.Read.All', async () => {
    const id = await submit();
    expectGraphError(await get(`/v1.0/dataPolicyOperations/${id}`, await t.appToken(TENANT, ['User.Export.All'])), 403, 'Authorization_RequestDenied');
    expectGraphError(await get(`/v1.0/dataPolicyOperations/${id}`, await t.appToken(TENANT, ['User.Read.All'])), 403, 'Authorization_RequestDenied');
    expect((await get(`/v1.0/dataPolicyOperations/${id}`, await t.appToken(TENANT, ['User.Export.All', 'User.ReadWrite.All']))).statusCode).toBe(200);
    expectGraphError(await get('/v1.0/dataPolicyOperations', await t.appToken(TENANT, ['User.Read.All'])), 403, 'Authorization_RequestDenied');
  });
});

describe('GET /dataPolicyOperations (list)', () => {
  let tenant: string;
  let tok: string;
  let expected: string[];
  let owner: string;

  beforeAll(async () => {
    // A tenant of its own with 23 operations: distinct times, ties on the same time (ordered by id),
    // and times that differ below the millisecond (rows not written through the API).
    tenant = randomUUID();
    tok = await t.appToken(tenant, ['User.Export.All', 'User.Read.All']);
    owner = randomUUID();
    const rows: { id: string; at: string; status: string; user: string }[] = [];
    const statuses = ['notStarted', 'running', 'complete', 'failed'];
    for (let i = 0; i < 23; i++) {
      const at =
        i < 8 ? `2026-01-01T00:00:${String(10 + i).padStart(2, '0')}.000Z` : i < 14 ? '2026-01-01T00:01:00.000Z' : `2026-01-01T00:02:00.123${String(100 + i)}Z`;
      const status = statuses[i % 4]!;
      const user = i % 3 === 0 ? owner : randomUUID();
      rows.push({ id: await insertRow({ tenant, user, status, submittedAt: at, progress: status === 'complete' ? 100 : 0 }), at, status, user });
    }
    // The query orders by (submitted_at, id) descending; compute the same order independently.
    const micros = (s: string) =>
      BigInt(Date.parse(s.replace(/(\.\d{3})\d+Z$/, '$1Z'))) * 1000n + BigInt((/\.\d{3}(\d+)Z$/.exec(s)?.[1] ?? '0').padEnd(3, '0'));
    rows.sort((a, b) => (micros(a.at) === micros(b.at) ? (a.id < b.id ? 1 : -1) : micros(a.at) < micros(b.at) ? 1 : -1));
    expected = rows.map((r) => r.id);
    await insertRow({ tenant: randomUUID(), submittedAt: '2026-01-01T00:05:00Z' });
  });

  async function listAll(first: string): Promise<{ ids: string[]; pages: number }> {
    const ids: string[] = [];
    let url: string | undefined = first;
    let pages = 0;
    while (url) {
      const res = await get(url.replace(PUBLIC_URL, ''), tok);
      expect(res.statusCode, res.body).toBe(200);
      const body = json(res) as { value: { id: string }[]; '@odata.nextLink'?: string };
      ids.push(...body.value.map((v) => v.id));
      url = body['@odata.nextLink'];
      if (url) expect(url.startsWith(`${PUBLIC_URL}/`)).toBe(true);
      expect(++pages).toBeLessThan(100);
    }
    return { ids, pages };
  }

  it('the tenant only, newest first, with the context and no nextLink under $top', async () => {
    const res = await get('/v1.0/dataPolicyOperations', tok);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json;odata\.metadata=minimal/);
    const body = json(res) as { '@odata.context': string; value: Record<string, unknown>[] };
    expect(body['@odata.context']).toBe(`${PUBLIC_URL}/v1.0/$metadata#dataPolicyOperations`);
    expect(body.value.map((v) => v.id)).toEqual(expected);
    expect('@odata.nextLink' in body).toBe(false);
    for (const v of body.value) expect(String(v.storageLocation)).toMatch(/sig=REDACTED$/);
  });

  it('pages with $top through @odata.nextLink to the end, without duplicates or omissions', async () => {
    for (const top of [1, 4, 5, 22, 23]) {
      const { ids, pages } = await listAll(`/beta/dataPolicyOperations?$top=${top}`);
      expect(ids, `top=${top}`).toEqual(expected);
      expect(pages).toBe(Math.ceil(23 / top));
    }
  });

  it('$top: default 100, max 1000, anything else 400', async () => {
    const many = randomUUID();
    const manyToken = await t.appToken(many, ['User.Export.All', 'User.Read.All']);
    await t.db.query(
      `insert into data_policy_operations (id, tenant_id, user_id, user_principal_name, storage_location, storage_container, status, requested_by, submitted_at)
       select gen_random_uuid(), $1, gen_random_uuid(), 'x@contoso.com', 'https://acct.blob.core.windows.net/c?sig=x', 'https://acct.blob.core.windows.net/c' || g, 'notStarted', '{}', now() - g * interval '1 second'
       from generate_series(1, 1005) g`,
      [many],
    );
    const first = json(await get('/v1.0/dataPolicyOperations', manyToken)) as { value: unknown[]; '@odata.nextLink'?: string };
    expect(first.value).toHaveLength(100);
    expect(first['@odata.nextLink']).toBeDefined();
    const max = json(await get('/v1.0/dataPolicyOperations?$top=1000', manyToken)) as { value: unknown[]; '@odata.nextLink'?: string };
    expect(max.value).toHaveLength(1000);
    const rest = json(await get(max['@odata.nextLink']!.replace(PUBLIC_URL, ''), manyToken)) as { value: unknown[]; '@odata.nextLink'?: string };
    expect(rest.value).toHaveLength(5);
    expect(rest['@odata.nextLink']).toBeUndefined();
    for (const top of ['1001', '0', '-1', 'ten', '1.5']) expectGraphError(await get(`/v1.0/dataPolicyOperations?$top=${top}`, tok), 400, 'BadRequest');
  });

  it('$filter on status, userId, and both; paging keeps the filter', async () => {
    const statusOf = async (s: string) =>
      (json(await get(`/v1.0/dataPolicyOperations?$filter=status eq '${s}'`, tok)) as { value: { status: string }[] }).value;
    for (const s of ['notStarted', 'running', 'complete', 'failed']) {
      const value = await statusOf(s);
      expect(value.length).toBeGreaterThan(0);
      expect(value.every((v) => v.status === s)).toBe(true);
    }
    expect(
      (await statusOf('notStarted')).length + (await statusOf('running')).length + (await statusOf('complete')).length + (await statusOf('failed')).length,
    ).toBe(23);
    // Graph's evolvable-enum sentinel is a valid value that no operation has.
    expect(await statusOf('unknownFutureValue')).toEqual([]);
    const mine = (json(await get(`/v1.0/dataPolicyOperations?$filter=userId eq '${owner.toUpperCase()}'`, tok)) as { value: { userId: string }[] }).value;
    expect(mine).toHaveLength(8);
    expect(mine.every((v) => v.userId === owner)).toBe(true);
    const both = (
      json(await get(`/v1.0/dataPolicyOperations?$filter=userId eq '${owner}' and status eq 'notStarted'`, tok)) as {
        value: { userId: string; status: string }[];
      }
    ).value;
    expect(both.length).toBeGreaterThan(0);
    expect(both.every((v) => v.userId === owner && v.status === 'notStarted')).toBe(true);
    const { ids } = await listAll(`/v1.0/dataPolicyOperations?$top=2&$filter=${encodeURIComponent(`userId eq '${owner}'`)}&$select=id,userId`);
    expect(ids).toEqual(expected.filter((id) => mine.some((m) => (m as unknown as { id: string }).id === id)));
    expect(ids).toHaveLength(8);
  });

  it('$select on the list', async () => {
    const body = json(await get('/v1.0/dataPolicyOperations?$top=2&$select=id,status', tok)) as {
      '@odata.context': string;
      value: Record<string, unknown>[];
      '@odata.nextLink': string;
    };
    expect(body['@odata.context']).toBe(`${PUBLIC_URL}/v1.0/$metadata#dataPolicyOperations(id,status)`);
    for (const v of body.value) expect(Object.keys(v)).toEqual(['id', 'status']);
    expect(body['@odata.nextLink']).toContain('select=id%2Cstatus');
  });

  it('400 for a bad $filter', async () => {
    for (const f of [
      "status eq 'done'",
      "status ne 'running'",
      "userId eq 'not-a-guid'",
      "submittedDateTime eq '2026-01-01'",
      "status eq 'running' or status eq 'failed'",
      'status eq running',
      "status eq 'running' and",
      "startswith(status,'r')",
    ]) {
      expectGraphError(await get(`/v1.0/dataPolicyOperations?$filter=${encodeURIComponent(f)}`, tok), 400, 'BadRequest');
    }
  });

  it('400 for a bad $skiptoken', async () => {
    for (const s of [
      'garbage',
      Buffer.from('["x"]').toString('base64url'),
      Buffer.from('{"a":1}').toString('base64url'),
      Buffer.from('["not a date","also not a uuid"]').toString('base64url'),
      ...[
        ['2026-02-30T00:00:00Z', randomUUID()],
        ['0000-01-01T00:00:00Z', randomUUID()],
        ['2026-01-01T00:00:00Z', 'x'],
        ['2026-01-01T00:00:00Z', randomUUID(), 'extra'],
      ].map((c) => Buffer.from(JSON.stringify(c)).toString('base64url')),
    ]) {
      expectGraphError(await get(`/v1.0/dataPolicyOperations?$skiptoken=${s}`, tok), 400, 'BadRequest');
    }
  });
});
