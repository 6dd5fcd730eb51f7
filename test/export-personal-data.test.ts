import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.ts';
import { insertUser } from '../src/db/queries/users.ts';
import { createTestApp, fakeSasUrl, PUBLIC_URL, type TestApp } from './support/harness.ts';
import { countRows, expectGraphError, GUID } from './support/graph-assert.ts';

const SIG = 'c2VjcmV0LXNpZw'; // the signature fakeSasUrl() puts in every URL
const TENANT = randomUUID();

let t: TestApp;
let token: string;
let adele: { id: string; upn: string };
let bob: { id: string; upn: string };
const seen: string[] = [];

type Res = Awaited<ReturnType<TestApp['app']['inject']>>;

/** Every response of this file is kept, to check at the end that no signature ever left the service. */
function keep(res: Res): Res {
  seen.push(JSON.stringify(res.headers) + res.body);
  return res;
}

async function post(
  user: string,
  body: unknown,
  opts: { version?: string; headers?: Record<string, string>; app?: TestApp; token?: string } = {},
): Promise<Res> {
  const app = opts.app ?? t;
  return keep(
    await app.app.inject({
      method: 'POST',
      url: `/${opts.version ?? 'v1.0'}/users/${encodeURIComponent(user)}/exportPersonalData`,
      headers: { authorization: `Bearer ${opts.token ?? token}`, 'content-type': 'application/json', ...opts.headers },
      payload: typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body),
    }),
  );
}

function operationIdOf(res: Res): string {
  return String(res.headers.location).split('/').pop()!;
}

async function operationRows(): Promise<{ id: string; user_id: string; status: string; storage_location: string; tenant_id: string }[]> {
  return (await t.db.query('select id, user_id, status, storage_location, tenant_id from data_policy_operations order by submitted_at')).rows;
}

async function seedUser(app: TestApp, tenant: string, upn: string): Promise<{ id: string; upn: string }> {
  const row = await insertUser(app.db, tenant, randomUUID(), { user_principal_name: upn, display_name: upn }, new Date());
  return { id: row.id, upn };
}

beforeAll(async () => {
  t = await createTestApp();
  token = await t.appToken(TENANT, ['User.Export.All', 'User.Read.All']);
  adele = await seedUser(t, TENANT, 'AdeleV@contoso.com');
  bob = await seedUser(t, TENANT, 'bob@contoso.com');
});
afterAll(async () => {
  await t?.close();
});

describe('POST exportPersonalData: the 202', () => {
  for (const version of ['v1.0', 'beta']) {
    for (const by of ['id', 'upn'] as const) {
      it(`${version} by ${by}: 202, empty body, no content type, absolute Location of the same version`, async () => {
        const storageLocation = fakeSasUrl();
        const res = await post(by === 'id' ? adele.id : adele.upn, { storageLocation, unknownProperty: true }, { version });
        expect(res.statusCode, res.body).toBe(202);
        expect(res.body).toBe('');
        expect(res.headers['content-type']).toBeUndefined();
        expect(res.headers.location).toMatch(new RegExp(`^${PUBLIC_URL}/${version.replace('.', '\\.')}/dataPolicyOperations/[0-9a-f-]{36}$`));
        expect(res.headers['retry-after']).toBe(String(t.config.retryAfterSeconds));
        expect(res.headers['request-id']).toMatch(GUID);
        expect(res.headers['client-request-id']).toBe(res.headers['request-id']);
        const { rows } = await t.db.query('select * from data_policy_operations where id = $1', [operationIdOf(res)]);
        expect(rows).toHaveLength(1);
        expect(rows[0]).toMatchObject({
          status: 'notStarted',
          user_id: adele.id,
          tenant_id: TENANT,
          storage_location: storageLocation.replace(/([?&]sig=)[^&]+/, '$1REDACTED'),
          user_principal_name: adele.upn,
          progress: 0,
        });
      });
    }
  }

  it('finds the user by UPN case-insensitively and stores the object id', async () => {
    const res = await post('adelev@CONTOSO.com', { storageLocation: fakeSasUrl() });
    expect(res.statusCode, res.body).toBe(202);
    const rows = await operationRows();
    expect(rows.find((r) => r.id === operationIdOf(res))?.user_id).toBe(adele.id);
  });

  it('echoes client-request-id', async () => {
    const res = await post(bob.id, { storageLocation: fakeSasUrl() }, { headers: { 'client-request-id': 'my-correlation-42' } });
    expect(res.statusCode).toBe(202);
    expect(res.headers['client-request-id']).toBe('my-correlation-42');
    expect(res.headers['request-id']).toMatch(GUID);
    expect(res.headers['request-id']).not.toBe('my-correlation-42');
  });

  it('writes a directory audit for every accepted request', async () => {
    const res = await post(bob.upn, { storageLocation: fakeSasUrl() });
    expect(res.statusCode).toBe(202);
    const id = operationIdOf(res);
    const { rows } = await t.db.query('select * from directory_audits where correlation_id = $1', [id]);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ tenant_id: TENANT, activity_display_name: 'Export personal data requested', target_user_id: bob.id, result: 'success' });
    expect(rows[0].additional_details).toEqual([{ key: 'operationId', value: id }]);
    expect(JSON.stringify(rows[0])).not.toContain(SIG);
    const ops = await countRows(t.db, 'data_policy_operations');
    const { rows: audits } = await t.db.query<{ n: number }>(
      "select count(*)::int as n from directory_audits where activity_display_name = 'Export personal data requested'",
    );
    expect(audits[0]!.n).toBe(ops);
  });
});

describe('POST exportPersonalData: repeats and used containers', () => {
  it('a repeated POST while notStarted returns the same Location and makes one row and one audit', async () => {
    const storageLocation = fakeSasUrl();
    const first = await post(adele.id, { storageLocation });
    const before = await countRows(t.db, 'data_policy_operations');
    const audits = await countRows(t.db, 'directory_audits');
    const again = await post(adele.upn, { storageLocation });
    const beta = await post(adele.id, { storageLocation }, { version: 'beta' });
    expect(again.statusCode).toBe(202);
    expect(again.headers.location).toBe(first.headers.location);
    expect(operationIdOf(beta)).toBe(operationIdOf(first));
    expect(beta.headers.location).toMatch(/\/beta\/dataPolicyOperations\//);
    expect(await countRows(t.db, 'data_policy_operations')).toBe(before);
    expect(await countRows(t.db, 'directory_audits')).toBe(audits);
  });

  it('a repeated POST while running also returns the existing operation', async () => {
    const storageLocation = fakeSasUrl();
    const first = await post(adele.id, { storageLocation });
    await t.db.query("update data_policy_operations set status = 'running' where id = $1", [operationIdOf(first)]);
    const again = await post(adele.id, { storageLocation });
    expect(again.statusCode).toBe(202);
    expect(again.headers.location).toBe(first.headers.location);
  });

  it('the same container with another SAS or for another user of the tenant is 409 with no row', async () => {
    const container = `c${randomUUID().slice(0, 8)}`;
    const first = await post(adele.id, { storageLocation: fakeSasUrl(container) });
    expect(first.statusCode).toBe(202);
    const before = await countRows(t.db, 'data_policy_operations');
    expectGraphError(await post(adele.id, { storageLocation: fakeSasUrl(container, { sp: 'cw' }) }), 409, 'StorageLocationAlreadyUsed');
    expectGraphError(await post(bob.id, { storageLocation: fakeSasUrl(container) }), 409, 'StorageLocationAlreadyUsed');
    expect(await countRows(t.db, 'data_policy_operations')).toBe(before);
  });

  it("claims are per tenant: another tenant neither learns of this tenant's container nor can hold it with a fake SAS", async () => {
    const otherTenant = randomUUID();
    const stranger = await seedUser(t, otherTenant, 'adele@fabrikam.com');
    const otherToken = await t.appToken(otherTenant, ['User.Export.All']);
    // Tenant A used the container: tenant B's POST is accepted like any other (no 409 that tells).
    const used = `c${randomUUID().slice(0, 8)}`;
    expect((await post(adele.id, { storageLocation: fakeSasUrl(used) })).statusCode).toBe(202);
    expect((await post(stranger.id, { storageLocation: fakeSasUrl(used) }, { token: otherToken })).statusCode).toBe(202);
    // Tenant B squats a predictable name first: tenant A's real export is still accepted.
    const predictable = `dsr-${randomUUID().slice(0, 8)}`;
    expect((await post(stranger.id, { storageLocation: fakeSasUrl(predictable) }, { token: otherToken })).statusCode).toBe(202);
    const mine = await post(adele.id, { storageLocation: fakeSasUrl(predictable) });
    expect(mine.statusCode).toBe(202);
    const rows = await t.db.query('select tenant_id from data_policy_operations where storage_container like $1 order by tenant_id', [`%/${predictable}`]);
    expect(rows.rows.map((r) => r.tenant_id).sort()).toEqual([TENANT, otherTenant].sort());
  });

  it("a container whose export completed may be used again: the worker's If-None-Match: * on RequestInfo.json decides", async () => {
    const storageLocation = fakeSasUrl();
    const first = await post(adele.id, { storageLocation });
    await t.db.query("update data_policy_operations set status = 'complete', progress = 100, completed_at = now(), request_info_written = true where id = $1", [
      operationIdOf(first),
    ]);
    const again = await post(adele.id, { storageLocation });
    expect(again.statusCode).toBe(202);
    expect(operationIdOf(again)).not.toBe(operationIdOf(first));
    // While that one is queued, the container is claimed.
    expectGraphError(await post(bob.id, { storageLocation }), 409, 'StorageLocationAlreadyUsed');
  });

  it('a container whose export failed before writing anything may be used again', async () => {
    const storageLocation = fakeSasUrl();
    const first = await post(adele.id, { storageLocation });
    await t.db.query("update data_policy_operations set status = 'failed', error_code = 'StorageLocationAccessDenied' where id = $1", [operationIdOf(first)]);
    const again = await post(adele.id, { storageLocation });
    expect(again.statusCode).toBe(202);
    expect(operationIdOf(again)).not.toBe(operationIdOf(first));
  });

  it('concurrent identical POSTs make one operation', async () => {
    const storageLocation = fakeSasUrl();
    const before = await countRows(t.db, 'data_policy_operations');
    const results = await Promise.all(Array.from({ length: 6 }, () => post(adele.id, { storageLocation })));
    expect(results.map((r) => r.statusCode)).toEqual(Array(6).fill(202));
    expect(new Set(results.map((r) => r.headers.location)).size).toBe(1);
    expect(await countRows(t.db, 'data_policy_operations')).toBe(before + 1);
  });
});

describe('POST exportPersonalData: refusals before the 202', () => {
  it('400 InvalidStorageLocation with the rule in the message, and no row', async () => {
    const before = await countRows(t.db, 'data_policy_operations');
    const audits = await countRows(t.db, 'directory_audits');
    const cases: [unknown, RegExp][] = [
      [{}, /required/],
      [{ storageLocation: 42 }, /must be a string/],
      [{ storageLocation: 'nope' }, /not an absolute URL/],
      [{ storageLocation: fakeSasUrl(undefined, { sp: 'rl' }) }, /create \(c\) and write \(w\)/],
      [{ storageLocation: fakeSasUrl(undefined, { expiresInSeconds: 600 }) }, /expires too soon/],
      [{ storageLocation: fakeSasUrl().replace('acct.blob.core.windows.net', '169.254.169.254') }, /metadata/],
      [{ storageLocation: fakeSasUrl().replace('https:', 'http:') }, /https/],
    ];
    for (const [body, message] of cases) {
      expect(expectGraphError(await post(adele.id, body), 400, 'InvalidStorageLocation').message).toMatch(message);
    }
    // Checked before the user is looked up: an unknown user with a bad location is still a 400.
    expectGraphError(await post(randomUUID(), { storageLocation: 'nope' }), 400, 'InvalidStorageLocation');
    expect(await countRows(t.db, 'data_policy_operations')).toBe(before);
    expect(await countRows(t.db, 'directory_audits')).toBe(audits);
  });

  it('400 BadRequest for a body that is not a JSON object, malformed JSON, or the wrong content type', async () => {
    const before = await countRows(t.db, 'data_policy_operations');
    for (const body of ['[]', '"https://acct.blob.core.windows.net/c"', '42', 'null', 'true']) {
      expectGraphError(await post(adele.id, body), 400, 'BadRequest');
    }
    expectGraphError(await post(adele.id, '{"storageLocation": '), 400, 'BadRequest');
    expectGraphError(await post(adele.id, `{"storageLocation":"${fakeSasUrl()}"`), 400, 'BadRequest');
    expectGraphError(await post(adele.id, ''), 400, 'BadRequest');
    const json = JSON.stringify({ storageLocation: fakeSasUrl() });
    for (const type of ['text/plain', 'application/xml', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
      expectGraphError(await post(adele.id, json, { headers: { 'content-type': type } }), 400, 'BadRequest');
    }
    const noType = keep(
      await t.app.inject({ method: 'POST', url: `/v1.0/users/${adele.id}/exportPersonalData`, headers: { authorization: `Bearer ${token}` } }),
    );
    expectGraphError(noType, 400, 'BadRequest');
    expect(await countRows(t.db, 'data_policy_operations')).toBe(before);
  });

  it('413 for a body over 1 MiB', async () => {
    const before = await countRows(t.db, 'data_policy_operations');
    const big = JSON.stringify({ storageLocation: fakeSasUrl(), padding: 'x'.repeat(1024 * 1024) });
    expectGraphError(await post(adele.id, big), 413, 'RequestEntityTooLarge');
    expect(await countRows(t.db, 'data_policy_operations')).toBe(before);
  });

  it('404 for an unknown user, by id or UPN', async () => {
    const before = await countRows(t.db, 'data_policy_operations');
    expectGraphError(await post(randomUUID(), { storageLocation: fakeSasUrl() }), 404, 'Request_ResourceNotFound');
    expectGraphError(await post('nobody@contoso.com', { storageLocation: fakeSasUrl() }), 404, 'Request_ResourceNotFound');
    expectGraphError(await post('not-a-guid-nor-upn', { storageLocation: fakeSasUrl() }), 404, 'Request_ResourceNotFound');
    expect(await countRows(t.db, 'data_policy_operations')).toBe(before);
  });

  it('a signature spelled %73ig is stored but never served back', async () => {
    const storageLocation = fakeSasUrl().replace('&sig=', '&%73ig=');
    const res = await post(adele.id, { storageLocation });
    expect(res.statusCode, res.body).toBe(202);
    const get = keep(await t.app.inject({ method: 'GET', url: new URL(String(res.headers.location)).pathname, headers: { authorization: `Bearer ${token}` } }));
    expect(get.statusCode).toBe(200);
    expect(get.body).toContain('REDACTED');
  });
});

describe('quotas (docs/architecture.md#quotas)', () => {
  let q: TestApp;
  beforeAll(async () => {
    q = await createTestApp({
      DSR_QUOTA_EXPORTS_PER_USER_PER_DAY: '2',
      DSR_QUOTA_EXPORTS_PER_TENANT_PER_DAY: '3',
      DSR_QUOTA_REQUESTS_PER_TENANT_PER_HOUR: '3',
    });
  });
  afterAll(async () => {
    await q?.close();
  });

  function expect429(res: Res, message: RegExp): void {
    expect(expectGraphError(res, 429, 'TooManyRequests').message).toMatch(message);
    const retryAfter = Number(res.headers['retry-after']);
    expect(Number.isInteger(retryAfter)).toBe(true);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(86_400);
  }

  it('per user per day: the third export of one user is 429 with Retry-After and no row; retries of an accepted one still answer 202', async () => {
    const tenant = randomUUID();
    const tok = await q.appToken(tenant, ['User.Export.All']);
    const u = await seedUser(q, tenant, 'quota-user@contoso.com');
    const other = await seedUser(q, tenant, 'quota-other@contoso.com');
    const accepted = fakeSasUrl();
    expect((await post(u.id, { storageLocation: accepted }, { app: q, token: tok })).statusCode).toBe(202);
    expect((await post(u.id, { storageLocation: fakeSasUrl() }, { app: q, token: tok })).statusCode).toBe(202);
    const rows = await countRows(q.db, 'data_policy_operations');
    expect429(await post(u.id, { storageLocation: fakeSasUrl() }, { app: q, token: tok }), /user exceeded the quota of 2 export requests per day/);
    expect429(await post(u.upn, { storageLocation: fakeSasUrl() }, { app: q, token: tok }), /quota/);
    expect(await countRows(q.db, 'data_policy_operations')).toBe(rows);
    expect((await post(u.id, { storageLocation: accepted }, { app: q, token: tok })).statusCode).toBe(202);
    expect((await post(other.id, { storageLocation: fakeSasUrl() }, { app: q, token: tok })).statusCode).toBe(202);
  });

  it('per tenant per day: the fourth export of a tenant is 429, other tenants are not affected', async () => {
    const tenant = randomUUID();
    const tok = await q.appToken(tenant, ['User.Export.All']);
    const users = await Promise.all([1, 2, 3, 4].map((i) => seedUser(q, tenant, `t${i}@contoso.com`)));
    for (const u of users.slice(0, 3)) expect((await post(u.id, { storageLocation: fakeSasUrl() }, { app: q, token: tok })).statusCode).toBe(202);
    const rows = await countRows(q.db, 'data_policy_operations');
    expect429(await post(users[3]!.id, { storageLocation: fakeSasUrl() }, { app: q, token: tok }), /tenant exceeded its quota of 3 export requests per day/);
    expect(await countRows(q.db, 'data_policy_operations')).toBe(rows);
    const otherTenant = randomUUID();
    const v = await seedUser(q, otherTenant, 'v@fabrikam.com');
    expect((await post(v.id, { storageLocation: fakeSasUrl() }, { app: q, token: await q.appToken(otherTenant, ['User.Export.All']) })).statusCode).toBe(202);
  });

  it('the daily quotas hold across API processes sharing the database', async () => {
    const tenant = randomUUID();
    const tok = await q.appToken(tenant, ['User.Export.All']);
    const users = await Promise.all([1, 2, 3, 4].map((i) => seedUser(q, tenant, `p${i}@contoso.com`)));
    for (const u of users.slice(0, 3)) expect((await post(u.id, { storageLocation: fakeSasUrl() }, { app: q, token: tok })).statusCode).toBe(202);
    // Once the first process has recorded its count in PostgreSQL...
    const deadline = Date.now() + 10_000;
    for (;;) {
      const { rows } = await q.db.query<{ count: number }>("select count from quota_counters where tenant_id = $1 and bucket = 'exports'", [tenant]);
      if (rows[0]?.count === 3) break;
      if (Date.now() > deadline) throw new Error(`quota count not recorded: ${JSON.stringify(rows)}`);
      await new Promise((resolve) => setImmediate(resolve));
    }
    // ...a second process (its own app on the same database) refuses the tenant's fourth export.
    const second = await buildApp({ ...q.deps });
    try {
      const res = keep(
        await second.inject({
          method: 'POST',
          url: `/v1.0/users/${users[3]!.id}/exportPersonalData`,
          headers: { authorization: `Bearer ${tok}`, 'content-type': 'application/json' },
          payload: JSON.stringify({ storageLocation: fakeSasUrl() }),
        }),
      );
      expect429(res, /tenant exceeded its quota of 3/);
    } finally {
      await second.close();
    }
  });

  it('per tenant per hour: other requests are 429 past the limit; export POSTs are counted by their own quotas', async () => {
    const tenant = randomUUID();
    const tok = await q.appToken(tenant, ['User.Export.All', 'User.Read.All']);
    const u = await seedUser(q, tenant, 'hourly@contoso.com');
    const get = async () => keep(await q.app.inject({ method: 'GET', url: '/v1.0/dataPolicyOperations', headers: { authorization: `Bearer ${tok}` } }));
    for (let i = 0; i < 3; i++) expect((await get()).statusCode).toBe(200);
    const res = await get();
    expect429(res, /3 requests per hour/);
    expect(Number(res.headers['retry-after'])).toBeLessThanOrEqual(3600);
    expect((await post(u.id, { storageLocation: fakeSasUrl() }, { app: q, token: tok })).statusCode).toBe(202);
    // Another tenant has its own hour.
    expect(
      (
        await q.app.inject({
          method: 'GET',
          url: '/beta/dataPolicyOperations',
          headers: { authorization: `Bearer ${await q.appToken(randomUUID(), ['User.Export.All', 'User.Read.All'])}` },
        })
      ).statusCode,
    ).toBe(200);
  });
});

describe('secrets', () => {
  it('the signature never appeared in any response of this file', async () => {
    expect(seen.length).toBeGreaterThan(40);
    for (const text of seen) expect(text).not.toContain(SIG);
    // ... nor is it in the database in clear: the worker opens a sealed copy (secrets-at-rest.test.ts).
    expect((await operationRows()).some((r) => r.storage_location.includes(SIG))).toBe(false);
  });
});
