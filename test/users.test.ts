import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GLOBAL_ADMIN_ROLE } from '../src/config.ts';
import { createTestApp, PUBLIC_URL, type TestApp } from './support/harness.ts';
import { countRows, expectGraphError, GUID } from './support/graph-assert.ts';

const TENANT = randomUUID();
const OTHER = randomUUID();
let t: TestApp;
let writer: string;
let reader: string;

type Res = Awaited<ReturnType<TestApp['app']['inject']>>;
type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';

async function call(method: Method, url: string, tok: string, payload?: unknown): Promise<Res> {
  return t.app.inject({ method, url, headers: { authorization: `Bearer ${tok}` }, ...(payload === undefined ? {} : { payload: payload as object }) });
}
const json = (res: Res) => JSON.parse(res.body) as Record<string, unknown>;

async function create(body: Record<string, unknown>, tok = writer, version = 'v1.0'): Promise<Record<string, unknown>> {
  const res = await call('POST', `/${version}/users`, tok, body);
  expect(res.statusCode, res.body).toBe(201);
  return json(res);
}

async function audits(targetUserId: string): Promise<
  {
    activity_display_name: string;
    operation_type: string;
    target_resources: { modifiedProperties: { displayName: string }[] }[];
    initiated_by: Record<string, unknown>;
  }[]
> {
  return (await t.db.query('select * from directory_audits where target_user_id = $1 order by activity_at, activity_display_name', [targetUserId])).rows;
}

beforeAll(async () => {
  t = await createTestApp();
  writer = await t.appToken(TENANT, ['User.ReadWrite.All']);
  reader = await t.appToken(TENANT, ['User.Read.All']);
});
afterAll(async () => {
  await t?.close();
});

describe('POST /users', () => {
  it('creates a user: 201 with the Graph user, on v1.0 and beta', async () => {
    for (const version of ['v1.0', 'beta']) {
      const upn = `megan.${version}@contoso.com`;
      const res = await call('POST', `/${version}/users`, writer, {
        userPrincipalName: upn,
        displayName: 'Megan Bowen',
        givenName: 'Megan',
        surname: 'Bowen',
        mail: upn,
        jobTitle: 'Auditor',
        department: 'Legal',
        officeLocation: '12/1110',
        mobilePhone: '+1 412 555 0109',
        businessPhones: ['+1 412 555 0109'],
        preferredLanguage: 'en-US',
        accountEnabled: true,
        passwordProfile: { password: 'Secr3t!', forceChangePasswordNextSignIn: true },
        mailNickname: 'megan',
        usageLocation: 'US',
      });
      expect(res.statusCode, res.body).toBe(201);
      expect(res.headers['content-type']).toMatch(/^application\/json;odata\.metadata=minimal/);
      const body = json(res);
      expect(Object.keys(body)).toEqual([
        '@odata.context',
        'id',
        'userPrincipalName',
        'displayName',
        'givenName',
        'surname',
        'mail',
        'jobTitle',
        'department',
        'officeLocation',
        'mobilePhone',
        'businessPhones',
        'preferredLanguage',
        'accountEnabled',
        'createdDateTime',
      ]);
      expect(body['@odata.context']).toBe(`${PUBLIC_URL}/${version}/$metadata#users/$entity`);
      expect(body.id).toMatch(GUID);
      expect(body).toMatchObject({ userPrincipalName: upn, displayName: 'Megan Bowen', businessPhones: ['+1 412 555 0109'], accountEnabled: true });
      expect(Date.parse(String(body.createdDateTime))).toBeGreaterThan(Date.now() - 60_000);
      const { rows } = await t.db.query('select * from users where id = $1', [body.id]);
      expect(JSON.stringify(rows[0])).not.toContain('Secr3t!');
    }
  });

  it('defaults: accountEnabled true, empty businessPhones, nulls', async () => {
    const body = await create({ userPrincipalName: 'min@contoso.com', displayName: 'Min' });
    expect(body).toMatchObject({ accountEnabled: true, businessPhones: [], givenName: null, mail: null });
  });

  it('400 for a duplicate userPrincipalName, in any case, and no second row or audit', async () => {
    await create({ userPrincipalName: 'dup@contoso.com', displayName: 'Dup' });
    const users = await countRows(t.db, 'users');
    const auditCount = await countRows(t.db, 'directory_audits');
    expect(
      expectGraphError(await call('POST', '/v1.0/users', writer, { userPrincipalName: 'DUP@contoso.com', displayName: 'Dup 2' }), 400, 'Request_BadRequest')
        .message,
    ).toMatch(/same value for property userPrincipalName/);
    expect(await countRows(t.db, 'users')).toBe(users);
    expect(await countRows(t.db, 'directory_audits')).toBe(auditCount);
    // The same UPN in another tenant is a different user.
    await create({ userPrincipalName: 'dup@contoso.com', displayName: 'Dup' }, await t.appToken(OTHER, ['User.ReadWrite.All']));
  });

  it('400 for unknown, read-only, mistyped and missing properties', async () => {
    const users = await countRows(t.db, 'users');
    const cases: [Record<string, unknown> | unknown[] | string, RegExp][] = [
      [{ userPrincipalName: 'a@contoso.com', displayName: 'A', favouriteColour: 'blue' }, /favouriteColour/],
      [{ userPrincipalName: 'a@contoso.com', displayName: 'A', id: randomUUID() }, /'id' is read-only/],
      [{ userPrincipalName: 'a@contoso.com', displayName: 'A', createdDateTime: '2020-01-01T00:00:00Z' }, /read-only/],
      [{ userPrincipalName: 'a@contoso.com', displayName: 'A', accountEnabled: 'yes' }, /boolean/],
      [{ userPrincipalName: 'a@contoso.com', displayName: 'A', businessPhones: '+1 555' }, /array of strings/],
      [{ userPrincipalName: 'a@contoso.com', displayName: 'A', jobTitle: 7 }, /must be a string/],
      [{ userPrincipalName: 'a@contoso.com', displayName: 'A', jobTitle: 'x'.repeat(257) }, /longer than 256/],
      [{ userPrincipalName: 'not-an-upn', displayName: 'A' }, /alias@domain/],
      [{ userPrincipalName: 'a@contoso.com', displayName: '  ' }, /non-empty/],
      [{ userPrincipalName: 'a@contoso.com' }, /'displayName' is required/],
      [{ displayName: 'A' }, /'userPrincipalName' is required/],
      [[], /JSON object/],
    ];
    for (const [body, message] of cases) {
      expect(expectGraphError(await call('POST', '/v1.0/users', writer, body), 400, 'Request_BadRequest').message).toMatch(message);
    }
    expectGraphError(
      await t.app.inject({
        method: 'POST',
        url: '/v1.0/users',
        headers: { authorization: `Bearer ${writer}`, 'content-type': 'application/json' },
        payload: '{"displayName":',
      }),
      400,
      'BadRequest',
    );
    expect(await countRows(t.db, 'users')).toBe(users);
  });
});

describe('GET, PATCH, DELETE /users/{id | userPrincipalName}', () => {
  it('GET by id and by UPN (case-insensitive), with $select', async () => {
    const u = await create({ userPrincipalName: 'Patti.F@contoso.com', displayName: 'Patti', jobTitle: 'CFO' });
    for (const key of [u.id, 'Patti.F@contoso.com', 'patti.f@CONTOSO.COM']) {
      const res = await call('GET', `/v1.0/users/${String(key)}`, reader);
      expect(res.statusCode).toBe(200);
      expect(json(res)).toEqual(u);
    }
    const sel = json(await call('GET', `/beta/users/${String(u.id)}?$select=displayName,id`, reader));
    expect(sel).toEqual({ '@odata.context': `${PUBLIC_URL}/beta/$metadata#users(id,displayName)/$entity`, id: u.id, displayName: 'Patti' });
    expectGraphError(await call('GET', `/v1.0/users/${String(u.id)}?$select=password`, reader), 400, 'BadRequest');
  });

  it('404 for unknown users', async () => {
    expectGraphError(await call('GET', `/v1.0/users/${randomUUID()}`, reader), 404, 'Request_ResourceNotFound');
    expectGraphError(await call('GET', '/v1.0/users/nobody@contoso.com', reader), 404, 'Request_ResourceNotFound');
    expectGraphError(await call('PATCH', `/v1.0/users/${randomUUID()}`, writer, { jobTitle: 'x' }), 404, 'Request_ResourceNotFound');
    expectGraphError(await call('DELETE', '/v1.0/users/nobody@contoso.com', writer), 404, 'Request_ResourceNotFound');
  });

  it('PATCH by id and by UPN: 204, changes stored, one audit each with the modified properties', async () => {
    const u = await create({ userPrincipalName: 'lee@contoso.com', displayName: 'Lee' });
    const id = String(u.id);
    const res = await call('PATCH', `/v1.0/users/${id}`, writer, { jobTitle: 'Engineer', businessPhones: ['+1 555 0100'], accountEnabled: false });
    expect(res.statusCode, res.body).toBe(204);
    expect(res.body).toBe('');
    expect(json(await call('GET', `/v1.0/users/${id}`, reader))).toMatchObject({
      jobTitle: 'Engineer',
      businessPhones: ['+1 555 0100'],
      accountEnabled: false,
      displayName: 'Lee',
    });
    expect((await call('PATCH', '/beta/users/LEE@contoso.com', writer, { userPrincipalName: 'lee.g@contoso.com', mail: null })).statusCode).toBe(204);
    expect(json(await call('GET', '/v1.0/users/lee.g@contoso.com', reader))).toMatchObject({ id, mail: null, jobTitle: 'Engineer' });
    expectGraphError(await call('GET', '/v1.0/users/lee@contoso.com', reader), 404, 'Request_ResourceNotFound');
    const trail = await audits(id);
    expect(trail.map((a) => a.activity_display_name)).toEqual(['Add user', 'Update user', 'Update user']);
    const updates = trail.filter((a) => a.activity_display_name === 'Update user');
    expect(updates.map((a) => a.operation_type)).toEqual(['Update', 'Update']);
    expect(updates.flatMap((a) => a.target_resources[0]!.modifiedProperties.map((p) => p.displayName)).sort()).toEqual(
      ['accountEnabled', 'businessPhones', 'jobTitle', 'mail', 'userPrincipalName'].sort(),
    );
  });

  it('PATCH: 400 for a duplicate UPN, unknown or read-only properties, an empty body; nothing changed', async () => {
    await create({ userPrincipalName: 'taken@contoso.com', displayName: 'Taken' });
    const u = await create({ userPrincipalName: 'free@contoso.com', displayName: 'Free' });
    const id = String(u.id);
    const auditsBefore = (await audits(id)).length;
    expectGraphError(await call('PATCH', `/v1.0/users/${id}`, writer, { userPrincipalName: 'Taken@contoso.com' }), 400, 'Request_BadRequest');
    expectGraphError(await call('PATCH', `/v1.0/users/${id}`, writer, { nickname: 'x' }), 400, 'Request_BadRequest');
    expectGraphError(await call('PATCH', `/v1.0/users/${id}`, writer, { id: randomUUID() }), 400, 'Request_BadRequest');
    expectGraphError(await call('PATCH', `/v1.0/users/${id}`, writer, { passwordProfile: { password: 'x' } }), 400, 'Request_BadRequest');
    expectGraphError(await call('PATCH', `/v1.0/users/${id}`, writer, {}), 400, 'Request_BadRequest');
    expect(json(await call('GET', `/v1.0/users/${id}`, reader))).toEqual(u);
    expect((await audits(id)).length).toBe(auditsBefore);
  });

  it('DELETE by id and by UPN: 204, gone, the audit stays', async () => {
    const a = await create({ userPrincipalName: 'gone1@contoso.com', displayName: 'Gone 1' });
    const b = await create({ userPrincipalName: 'gone2@contoso.com', displayName: 'Gone 2' });
    const r1 = await call('DELETE', `/v1.0/users/${String(a.id)}`, writer);
    expect(r1.statusCode).toBe(204);
    expect(r1.body).toBe('');
    expect((await call('DELETE', '/beta/users/GONE2@contoso.com', writer)).statusCode).toBe(204);
    for (const u of [a, b]) {
      expectGraphError(await call('GET', `/v1.0/users/${String(u.id)}`, reader), 404, 'Request_ResourceNotFound');
      expectGraphError(await call('DELETE', `/v1.0/users/${String(u.id)}`, writer), 404, 'Request_ResourceNotFound');
      const trail = await audits(String(u.id));
      expect(trail.map((x) => [x.activity_display_name, x.operation_type])).toEqual([
        ['Add user', 'Add'],
        ['Delete user', 'Delete'],
      ]);
      expect(trail[1]!.initiated_by).toMatchObject({ app: { servicePrincipalId: expect.any(String) }, user: null });
    }
    // As in Entra ID, the UPN stays taken while the user is in deletedItems, and is free after the permanent delete.
    expect((await call('POST', '/v1.0/users', writer, { userPrincipalName: 'gone1@contoso.com', displayName: 'Back' })).statusCode).toBe(400);
    expect((await call('DELETE', `/v1.0/directory/deletedItems/${String(a.id)}`, writer)).statusCode).toBe(204);
    await create({ userPrincipalName: 'gone1@contoso.com', displayName: 'Back' });
  });

  it('a delegated caller whose oid is not a GUID (external issuers) can still write; the audit keeps it in initiatedBy', async () => {
    const tok = await t.issuer.sign(
      { tid: TENANT, sub: 'auth0|5f7c8ec7c33c6c004bbafe82', idtyp: 'user', scp: 'User.ReadWrite.All', wids: [GLOBAL_ADMIN_ROLE] },
      600,
    );
    const u = await create({ userPrincipalName: 'ext-admin@contoso.com', displayName: 'Ext' }, tok);
    expect((await call('PATCH', `/v1.0/users/${String(u.id)}`, tok, { jobTitle: 'x' })).statusCode).toBe(204);
    expect((await call('DELETE', `/v1.0/users/${String(u.id)}`, tok)).statusCode).toBe(204);
    const trail = await audits(String(u.id));
    expect(trail).toHaveLength(3);
    expect(trail[0]!.initiated_by).toMatchObject({ user: { id: 'auth0|5f7c8ec7c33c6c004bbafe82' } });
  });

  it('a delegated caller is recorded as the audit initiator', async () => {
    const admin = randomUUID();
    const tok = await t.userToken(TENANT, admin, ['User.ReadWrite.All'], true);
    const u = await create({ userPrincipalName: 'by-user@contoso.com', displayName: 'By User' }, tok);
    const [audit] = await audits(String(u.id));
    expect(audit!.initiated_by).toMatchObject({ app: null, user: { id: admin } });
    expect(audit!.target_resources[0]!.modifiedProperties.map((p) => p.displayName)).toEqual(['userPrincipalName', 'displayName']);
  });
});

describe('GET /users', () => {
  let tenant: string;
  let tok: string;
  let ids: string[];
  beforeAll(async () => {
    tenant = randomUUID();
    tok = await t.appToken(tenant, ['User.ReadWrite.All']);
    ids = [];
    for (let i = 0; i < 7; i++) ids.push(String((await create({ userPrincipalName: `u${i}@fabrikam.com`, displayName: `U ${i}` }, tok)).id));
    ids.sort();
  });

  async function listAll(first: string): Promise<{ ids: string[]; pages: number }> {
    const seen: string[] = [];
    let url: string | undefined = first;
    let pages = 0;
    while (url) {
      const res = await call('GET', url.replace(PUBLIC_URL, ''), tok);
      expect(res.statusCode, res.body).toBe(200);
      const body = json(res) as { value: { id: string }[]; '@odata.nextLink'?: string };
      seen.push(...body.value.map((v) => v.id));
      url = body['@odata.nextLink'];
      expect(++pages).toBeLessThan(50);
    }
    return { ids: seen, pages };
  }

  it('lists the tenant only, with the context', async () => {
    const body = json(await call('GET', '/v1.0/users', tok)) as { '@odata.context': string; value: { id: string }[] };
    expect(body['@odata.context']).toBe(`${PUBLIC_URL}/v1.0/$metadata#users`);
    expect(body.value.map((v) => v.id)).toEqual(ids);
    expect('@odata.nextLink' in body).toBe(false);
  });

  it('$top and paging through @odata.nextLink, no duplicates or omissions', async () => {
    for (const top of [1, 2, 3, 6, 7]) {
      const r = await listAll(`/beta/users?$top=${top}`);
      expect(r.ids, `top=${top}`).toEqual(ids);
      expect(r.pages).toBe(Math.ceil(7 / top));
    }
    for (const top of ['0', '1000', 'x']) expectGraphError(await call('GET', `/v1.0/users?$top=${top}`, tok), 400, 'BadRequest');
    expectGraphError(await call('GET', '/v1.0/users?$skiptoken=garbage', tok), 400, 'BadRequest');
    expectGraphError(await call('GET', `/v1.0/users?$skiptoken=${Buffer.from('["not-a-uuid"]').toString('base64url')}`, tok), 400, 'BadRequest');
  });

  it("$filter=userPrincipalName eq '…', case-insensitive, with quotes escaped", async () => {
    const res = json(await call('GET', `/v1.0/users?$filter=${encodeURIComponent("userPrincipalName eq 'U3@FABRIKAM.com'")}`, tok)) as {
      value: { userPrincipalName: string }[];
    };
    expect(res.value.map((v) => v.userPrincipalName)).toEqual(['u3@fabrikam.com']);
    await create({ userPrincipalName: "o'brien@fabrikam.com", displayName: "O'Brien" }, tok);
    const quoted = json(await call('GET', `/v1.0/users?$filter=${encodeURIComponent("userPrincipalName eq 'o''brien@fabrikam.com'")}`, tok)) as {
      value: { displayName: string }[];
    };
    expect(quoted.value.map((v) => v.displayName)).toEqual(["O'Brien"]);
    const none = json(await call('GET', `/v1.0/users?$filter=${encodeURIComponent("userPrincipalName eq 'nobody@fabrikam.com'")}`, tok)) as {
      value: unknown[];
    };
    expect(none.value).toEqual([]);
    await call('DELETE', `/v1.0/users/${encodeURIComponent("o'brien@fabrikam.com")}`, tok);
    for (const f of ["displayName eq 'U 1'", "userPrincipalName ne 'x'", 'userPrincipalName eq u1']) {
      expectGraphError(await call('GET', `/v1.0/users?$filter=${encodeURIComponent(f)}`, tok), 400, 'BadRequest');
    }
  });

  it('$filter=startswith(displayName, …) or startswith(mail, …): a look-up by name or partial address', async () => {
    const upns = async (f: string) => {
      const res = await call('GET', `/v1.0/users?$filter=${encodeURIComponent(f)}`, tok);
      expect(res.statusCode, res.body).toBe(200);
      return (json(res) as { value: { userPrincipalName: string }[] }).value.map((v) => v.userPrincipalName).sort();
    };
    const quoted = await create({ userPrincipalName: 'dee@fabrikam.com', displayName: "Dee O'Hara", mail: 'd.ohara@fabrikam.com' }, tok);
    try {
      expect(await upns("startswith(displayName,'dee o''h')")).toEqual(['dee@fabrikam.com']);
      expect(await upns("startswith(displayName,'u 3') or startswith(mail,'D.OH')")).toEqual(['dee@fabrikam.com', 'u3@fabrikam.com']);
      expect(await upns("startswith(userPrincipalName,'u') and startswith(displayName,'U 5')")).toEqual(['u5@fabrikam.com']);
      // LIKE's wildcards are plain characters here.
      expect(await upns("startswith(displayName,'%') or startswith(mail,'_')")).toEqual([]);
      for (const f of [
        "startswith(jobTitle,'x')",
        "startswith(displayName,'')",
        "startswith(displayName,'a') and startswith(mail,'b') or startswith(surname,'c')",
        "startswith(displayName,'a'') or 1 eq 1",
        "userPrincipalName eq 'a' or startswith(mail,'b')",
        "startswith(displayName,'a'",
      ]) {
        expectGraphError(await call('GET', `/v1.0/users?$filter=${encodeURIComponent(f)}`, tok), 400, 'BadRequest');
      }
    } finally {
      await call('DELETE', `/v1.0/users/${String(quoted.id)}`, tok);
    }
  });

  it('$search="prop:text" with ConsistencyLevel: eventual matches the start of any word, OR or AND', async () => {
    const search = (q: string, consistency: string | null = 'eventual') =>
      t.app.inject({
        method: 'GET',
        url: `/v1.0/users?$search=${encodeURIComponent(q)}`,
        headers: { authorization: `Bearer ${tok}`, ...(consistency ? { consistencylevel: consistency } : {}) },
      });
    const upns = async (q: string) => {
      const res = await search(q);
      expect(res.statusCode, res.body).toBe(200);
      return (json(res) as { value: { userPrincipalName: string }[] }).value.map((v) => v.userPrincipalName).sort();
    };
    const grace = await create({ userPrincipalName: 'grace.ivanova@fabrikam.com', displayName: 'Grace Ivanova-Smith', mail: 'g.ivanova@fabrikam.com' }, tok);
    try {
      expect(await upns('"displayName:IVA"')).toEqual(['grace.ivanova@fabrikam.com']);
      expect(await upns('"displayName:smi"')).toEqual(['grace.ivanova@fabrikam.com']);
      expect(await upns('"displayName:vanova"')).toEqual([]);
      expect(await upns('"mail:g.iva" OR "displayName:u 4"')).toEqual(['grace.ivanova@fabrikam.com', 'u4@fabrikam.com']);
      expect(await upns('"userPrincipalName:grace" AND "displayName:smith"')).toEqual(['grace.ivanova@fabrikam.com']);
      const missing = await search('"displayName:grace"', null);
      expectGraphError(missing, 400, 'Request_UnsupportedQuery');
      expect(missing.body).toContain('ConsistencyLevel: eventual');
      for (const q of ['grace', '"jobTitle:x"', '"displayName:a" OR "mail:b" AND "surname:c"', '"displayName:..."', '"displayName:a" or "mail:b"']) {
        expectGraphError(await search(q), 400, 'BadRequest');
      }
    } finally {
      await call('DELETE', `/v1.0/users/${String(grace.id)}`, tok);
    }
  });

  it('$select on the list, kept in the nextLink', async () => {
    const body = json(await call('GET', '/v1.0/users?$select=userPrincipalName,id&$top=3', tok)) as {
      '@odata.context': string;
      value: Record<string, unknown>[];
      '@odata.nextLink': string;
    };
    expect(body['@odata.context']).toBe(`${PUBLIC_URL}/v1.0/$metadata#users(id,userPrincipalName)`);
    for (const v of body.value) expect(Object.keys(v)).toEqual(['id', 'userPrincipalName']);
    const next = json(await call('GET', body['@odata.nextLink'].replace(PUBLIC_URL, ''), tok)) as { value: Record<string, unknown>[] };
    for (const v of next.value) expect(Object.keys(v)).toEqual(['id', 'userPrincipalName']);
    expectGraphError(await call('GET', '/v1.0/users?$select=nope', tok), 400, 'BadRequest');
    expectGraphError(await call('GET', '/v1.0/users?$orderby=displayName', tok), 400, 'BadRequest');
  });
});

describe('permissions and tenants', () => {
  it('User.Read.All reads but cannot write (403, nothing written)', async () => {
    const u = await create({ userPrincipalName: 'perm@contoso.com', displayName: 'Perm' });
    const id = String(u.id);
    const users = await countRows(t.db, 'users');
    const auditCount = await countRows(t.db, 'directory_audits');
    expect((await call('GET', `/v1.0/users/${id}`, reader)).statusCode).toBe(200);
    expect((await call('GET', '/v1.0/users', reader)).statusCode).toBe(200);
    expect(
      expectGraphError(await call('POST', '/v1.0/users', reader, { userPrincipalName: 'x@contoso.com', displayName: 'X' }), 403, 'Authorization_RequestDenied')
        .message,
    ).toMatch(/User\.ReadWrite\.All/);
    expectGraphError(await call('PATCH', `/v1.0/users/${id}`, reader, { jobTitle: 'x' }), 403, 'Authorization_RequestDenied');
    expectGraphError(await call('DELETE', `/v1.0/users/${id}`, reader), 403, 'Authorization_RequestDenied');
    expect(await countRows(t.db, 'users')).toBe(users);
    expect(await countRows(t.db, 'directory_audits')).toBe(auditCount);
    expect(json(await call('GET', `/v1.0/users/${id}`, reader))).toEqual(u);
  });

  it('User.ReadWrite.All and Directory.ReadWrite.All read too; other permissions get 403', async () => {
    expect((await call('GET', '/v1.0/users', writer)).statusCode).toBe(200);
    expect((await call('GET', '/v1.0/users', await t.appToken(TENANT, ['Directory.ReadWrite.All']))).statusCode).toBe(200);
    expect((await call('GET', '/v1.0/users', await t.userToken(TENANT, randomUUID(), ['User.Read.All'], true))).statusCode).toBe(200);
    for (const roles of [[], ['User.Export.All'], ['Files.ReadWrite.All'], ['User.Read']]) {
      expectGraphError(await call('GET', '/v1.0/users', await t.appToken(TENANT, roles)), 403, 'Authorization_RequestDenied');
    }
    expectGraphError(
      await call('POST', '/v1.0/users', await t.userToken(TENANT, randomUUID(), ['User.Read.All'], true), {
        userPrincipalName: 'y@contoso.com',
        displayName: 'Y',
      }),
      403,
      'Authorization_RequestDenied',
    );
  });

  it("another tenant's user does not exist: 404 for GET, PATCH, DELETE; absent from lists", async () => {
    const theirs = await create({ userPrincipalName: 'secret@fabrikam.com', displayName: 'Secret' }, await t.appToken(OTHER, ['User.ReadWrite.All']));
    const id = String(theirs.id);
    expectGraphError(await call('GET', `/v1.0/users/${id}`, writer), 404, 'Request_ResourceNotFound');
    expectGraphError(await call('GET', '/v1.0/users/secret@fabrikam.com', writer), 404, 'Request_ResourceNotFound');
    expectGraphError(await call('PATCH', `/v1.0/users/${id}`, writer, { jobTitle: 'pwned' }), 404, 'Request_ResourceNotFound');
    expectGraphError(await call('DELETE', `/v1.0/users/${id}`, writer), 404, 'Request_ResourceNotFound');
    const list = json(await call('GET', `/v1.0/users?$filter=${encodeURIComponent("userPrincipalName eq 'secret@fabrikam.com'")}`, writer)) as {
      value: unknown[];
    };
    expect(list.value).toEqual([]);
    const still = json(await call('GET', `/v1.0/users/${id}`, await t.appToken(OTHER, ['User.Read.All'])));
    expect(still).toMatchObject({ id, jobTitle: null });
  });
});
