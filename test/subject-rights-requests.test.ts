import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertUser } from '../src/db/queries/users.ts';
import { expectGraphError } from './support/graph-assert.ts';
import { createTestApp, PUBLIC_URL, type TestApp } from './support/harness.ts';

// The case resource without case storage: CRUD, paging, filters, permissions, isolation, bad input.
const TENANT = randomUUID();
const OTHER = randomUUID();
let t: TestApp;
let writer: string;
let reader: string;
let otherWriter: string;

type Res = Awaited<ReturnType<TestApp['app']['inject']>>;
const json = (res: Res) => JSON.parse(res.body) as Record<string, any>;
const BASE = '/v1.0/security/subjectRightsRequests';

function call(method: 'GET' | 'POST' | 'PATCH' | 'PUT', url: string, token: string, payload?: unknown): Promise<Res> {
  return t.app.inject({ method, url, headers: { authorization: `Bearer ${token}` }, ...(payload !== undefined ? { payload: payload as object } : {}) });
}

function body(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: 'access',
    dataSubjectType: 'customer',
    displayName: 'Adele asks',
    description: 'by mail',
    regulations: ['GDPR'],
    dataSubject: { email: 'ADELE@contoso.com', firstName: 'Adele', residency: 'CH' },
    ...overrides,
  };
}

async function create(overrides: Record<string, unknown> = {}, token = writer): Promise<Record<string, any>> {
  const res = await call('POST', BASE, token, body(overrides));
  expect(res.statusCode, res.body).toBe(201);
  return json(res);
}

beforeAll(async () => {
  t = await createTestApp();
  writer = await t.appToken(TENANT, ['SubjectRightsRequest.ReadWrite.All']);
  reader = await t.appToken(TENANT, ['SubjectRightsRequest.Read.All']);
  otherWriter = await t.appToken(OTHER, ['SubjectRightsRequest.ReadWrite.All']);
  await insertUser(t.db, TENANT, randomUUID(), { user_principal_name: 'adele@contoso.com', display_name: 'Adele' }, new Date());
  await insertUser(t.db, TENANT, randomUUID(), { user_principal_name: 'twin1@contoso.com', display_name: 'Twin', mail: 'twin@contoso.com' }, new Date());
  await insertUser(t.db, TENANT, randomUUID(), { user_principal_name: 'twin2@contoso.com', display_name: 'Twin', mail: 'Twin@contoso.com' }, new Date());
});
afterAll(async () => {
  await t?.close();
});

describe('create and get', () => {
  it('answers 201 in Graph shape, with the GDPR default due date and the retrieval stage explaining why it cannot run', async () => {
    const before = new Date();
    const res = await call('POST', BASE, writer, body());
    expect(res.statusCode, res.body).toBe(201);
    const c = json(res);
    expect(res.headers.location).toBe(`${PUBLIC_URL}${BASE}/${c.id}`);
    expect(c['@odata.context']).toBe(`${PUBLIC_URL}/v1.0/$metadata#security/subjectRightsRequests/$entity`);
    expect(Object.keys(c).slice(1)).toEqual([
      'id',
      'displayName',
      'description',
      'type',
      'dataSubjectType',
      'dataSubject',
      'regulations',
      'status',
      'internalDueDateTime',
      'createdBy',
      'createdDateTime',
      'lastModifiedBy',
      'lastModifiedDateTime',
      'closedDateTime',
      'externalId',
      'history',
      'stages',
      'insight',
      'includeAllVersions',
      'includeAuthoredContent',
      'pauseAfterEstimate',
      'contentQuery',
    ]);
    expect(c.status).toBe('active');
    expect(c.dataSubject).toEqual({ email: 'ADELE@contoso.com', firstName: 'Adele', residency: 'CH' });
    const due = new Date(c.internalDueDateTime);
    const monthLater = new Date(before);
    monthLater.setUTCMonth(monthLater.getUTCMonth() + 1);
    expect(Math.abs(due.getTime() - monthLater.getTime())).toBeLessThan(4 * 86_400_000);
    expect(due.getTime()).toBeGreaterThan(before.getTime() + 27 * 86_400_000);
    expect(c.stages.map((s: any) => [s.stage, s.status])).toEqual([
      ['contentRetrieval', 'failed'],
      ['contentReview', 'notStarted'],
      ['generateReport', 'notStarted'],
      ['caseResolved', 'notStarted'],
    ]);
    expect(c.stages[0].error.code).toBe('caseStorageNotConfigured');
    expect(c.createdBy).toEqual({ application: { id: expect.any(String), displayName: null } });
    expect(c.history.map((h: any) => h.type)).toEqual(['created', 'retrievalFailed']);
    expect(c.insight).toMatchObject({ itemCount: 0, excludedItemCount: 0, totalItemSize: 0 });

    for (const version of ['v1.0', 'beta']) {
      const got = await call('GET', `/${version}/security/subjectRightsRequests/${c.id}?$select=displayName,status`, reader);
      expect(got.statusCode, got.body).toBe(200);
      expect(json(got)).toEqual({
        '@odata.context': `${PUBLIC_URL}/${version}/$metadata#security/subjectRightsRequests(displayName,status)/$entity`,
        displayName: 'Adele asks',
        status: 'active',
      });
    }
  });

  it('fails the retrieval stage with a clear error when no user or several users have the address', async () => {
    const none = await create({ dataSubject: { email: 'nobody@contoso.com' } });
    expect(none.stages[0]).toMatchObject({ stage: 'contentRetrieval', status: 'failed', error: { code: 'dataSubjectNotFound' } });
    expect(none.stages[0].error.message).toContain('nobody@contoso.com');
    const twins = await create({ dataSubject: { email: 'twin@CONTOSO.com' } });
    expect(twins.stages[0]).toMatchObject({ status: 'failed', error: { code: 'dataSubjectAmbiguous' } });
    expect(twins.status).toBe('active');
  });

  it('takes due dates from the regulation table: CCPA 45 days, LGPD 15 days, the earliest of several', async () => {
    const now = Date.now();
    const ccpa = await create({ regulations: ['ccpa'] });
    expect(Math.round((Date.parse(ccpa.internalDueDateTime) - now) / 86_400_000)).toBe(45);
    const both = await create({ regulations: ['GDPR', 'LGPD'] });
    expect(Math.round((Date.parse(both.internalDueDateTime) - now) / 86_400_000)).toBe(15);
    const explicit = await create({ regulations: ['Other'], internalDueDateTime: '2027-01-15T00:00:00Z' });
    expect(explicit.internalDueDateTime).toBe('2027-01-15T00:00:00Z');
    const res = await call('POST', BASE, writer, body({ regulations: ['Other'] }));
    expect(expectGraphError(res, 400, 'BadRequest').message).toContain('internalDueDateTime is required');
  });

  it('refuses delete and tagForAction: erasure is not supported yet', async () => {
    for (const type of ['delete', 'tagForAction']) {
      const res = await call('POST', BASE, writer, body({ type }));
      expect(expectGraphError(res, 400, 'BadRequest').message).toContain('erasure is not supported yet');
    }
  });

  it('answers bad input with a Graph 400 and creates nothing', async () => {
    const {
      rows: [before],
    } = await t.db.query<{ n: number }>('select count(*)::int as n from subject_rights_requests');
    const bad: unknown[] = [
      [],
      'x',
      body({ type: 'erase' }),
      body({ dataSubjectType: 'alien' }),
      body({ dataSubject: { firstName: 'no mail' } }),
      body({ dataSubject: { email: 'not an address' } }),
      body({ displayName: '' }),
      body({ displayName: 'x'.repeat(300) }),
      body({ regulations: 'GDPR' }),
      body({ internalDueDateTime: '2026-13-40T00:00:00Z' }),
      body({ internalDueDateTime: '2026-12-01' }),
      body({ status: 'closed' }),
      body({ id: randomUUID() }),
      body({ pauseAfterEstimate: 'no' }),
      body({ dataSubject: { email: 'a@b.c', blob: 'x'.repeat(9000) } }),
    ];
    for (const payload of bad) {
      const res = await t.app.inject({
        method: 'POST',
        url: BASE,
        headers: { authorization: `Bearer ${writer}`, 'content-type': 'application/json' },
        payload: JSON.stringify(payload),
      });
      expectGraphError(res, 400, 'BadRequest');
    }
    const {
      rows: [after],
    } = await t.db.query<{ n: number }>('select count(*)::int as n from subject_rights_requests');
    expect(after!.n).toBe(before!.n);
  });
});

describe('permissions and tenants', () => {
  it('reads need Read.All (or ReadWrite.All), writes need ReadWrite.All; delegated callers also an administrator role', async () => {
    const c = await create();
    const nothing = await t.appToken(TENANT, ['User.Read.All']);
    expectGraphError(await call('GET', BASE, nothing), 403, 'Authorization_RequestDenied');
    expectGraphError(await call('GET', `${BASE}/${c.id}`, nothing), 403, 'Authorization_RequestDenied');
    expectGraphError(await call('POST', BASE, reader, body()), 403, 'Authorization_RequestDenied');
    expectGraphError(await call('PATCH', `${BASE}/${c.id}`, reader, { displayName: 'x' }), 403, 'Authorization_RequestDenied');
    expectGraphError(await call('POST', `${BASE}/${c.id}/notes`, reader, { content: { content: 'x' } }), 403, 'Authorization_RequestDenied');
    expect((await call('GET', `${BASE}/${c.id}`, writer)).statusCode).toBe(200);
    const notAdmin = await t.userToken(TENANT, randomUUID(), ['SubjectRightsRequest.ReadWrite.All'], false);
    expectGraphError(await call('GET', BASE, notAdmin), 403, 'Authorization_RequestDenied');
    const officer = await t.userToken(TENANT, randomUUID(), ['SubjectRightsRequest.ReadWrite.All'], true);
    const made = await create({}, officer);
    expect(made.createdBy).toEqual({ user: { id: expect.any(String), displayName: null } });
    const delegatedReader = await t.userToken(TENANT, randomUUID(), ['SubjectRightsRequest.Read.All'], true);
    expectGraphError(await call('POST', BASE, delegatedReader, body()), 403, 'Authorization_RequestDenied');
  });

  it("never shows, changes or annotates another tenant's case", async () => {
    const c = await create();
    expectGraphError(await call('GET', `${BASE}/${c.id}`, otherWriter), 404, 'Request_ResourceNotFound');
    expectGraphError(await call('PATCH', `${BASE}/${c.id}`, otherWriter, { displayName: 'mine' }), 404, 'Request_ResourceNotFound');
    expectGraphError(await call('GET', `${BASE}/${c.id}/notes`, otherWriter), 404, 'Request_ResourceNotFound');
    expectGraphError(await call('POST', `${BASE}/${c.id}/notes`, otherWriter, { content: { content: 'x' } }), 404, 'Request_ResourceNotFound');
    const list = json(await call('GET', BASE, otherWriter));
    expect(list.value).toEqual([]);
    expect(json(await call('GET', `${BASE}/${c.id}`, writer)).displayName).toBe('Adele asks');
    expectGraphError(await call('GET', `${BASE}/not-a-guid`, writer), 404, 'Request_ResourceNotFound');
  });
});

describe('update, close and notes', () => {
  it('updates, extends only with a note, closes once and never reopens; history says who did what', async () => {
    const c = await create();
    const officer = await t.userToken(TENANT, randomUUID(), ['SubjectRightsRequest.ReadWrite.All'], true);
    let res = await call('PATCH', `${BASE}/${c.id}`, officer, { displayName: 'Renamed', description: null });
    expect(res.statusCode, res.body).toBe(200);
    expect(json(res)).toMatchObject({ displayName: 'Renamed', description: null });
    expect(json(res).lastModifiedBy).toEqual({ user: { id: expect.any(String), displayName: null } });

    const later = new Date(Date.parse(c.internalDueDateTime) + 60 * 86_400_000).toISOString().replace(/\.000Z$/, 'Z');
    res = await call('PATCH', `${BASE}/${c.id}`, officer, { internalDueDateTime: later });
    expect(expectGraphError(res, 400, 'BadRequest').message).toContain('@dsr.note');
    res = await call('PATCH', `${BASE}/${c.id}`, officer, { internalDueDateTime: later, '@dsr.note': 'Complex request: extended by two months (Art. 12(3)).' });
    expect(res.statusCode, res.body).toBe(200);
    expect(json(res).internalDueDateTime).toBe(later);

    const notes = json(await call('GET', `${BASE}/${c.id}/notes`, reader));
    expect(notes.value).toHaveLength(1);
    expect(notes.value[0].content).toEqual({ content: 'Complex request: extended by two months (Art. 12(3)).', contentType: 'text' });

    expectGraphError(await call('PATCH', `${BASE}/${c.id}`, officer, { assignedTo: { id: 'x' } }), 400, 'BadRequest');
    expectGraphError(await call('PATCH', `${BASE}/${c.id}`, officer, { status: 'paused' }), 400, 'BadRequest');
    res = await call('PATCH', `${BASE}/${c.id}`, officer, { status: 'closed' });
    expect(res.statusCode, res.body).toBe(200);
    const closed = json(res);
    expect(closed.status).toBe('closed');
    expect(closed.closedDateTime).toMatch(/^\d{4}-/);
    expect(closed.stages[3]).toEqual({ stage: 'caseResolved', status: 'completed', error: null });
    expect(closed.history.map((h: any) => h.type)).toEqual(['created', 'retrievalFailed', 'updated', 'dueDateExtended', 'closed']);
    expect(closed.history.at(-1).changedBy).toEqual(closed.lastModifiedBy);
    expectGraphError(await call('PATCH', `${BASE}/${c.id}`, officer, { status: 'active' }), 400, 'BadRequest');
    expectGraphError(await call('PATCH', `${BASE}/${c.id}`, officer, { displayName: 'after close' }), 400, 'BadRequest');
    const {
      rows: [row],
    } = await t.db.query<{ purge_after: Date; closed_at: Date }>('select purge_after, closed_at from subject_rights_requests where id = $1', [c.id]);
    expect(Math.round((row!.purge_after.getTime() - row!.closed_at.getTime()) / 86_400_000)).toBe(30);
  });

  it('creates and pages notes (authoredNote), oldest first', async () => {
    const c = await create();
    for (let i = 0; i < 3; i++) {
      const res = await call('POST', `${BASE}/${c.id}/notes`, writer, { content: { content: `note ${i}`, contentType: 'text' } });
      expect(res.statusCode, res.body).toBe(201);
      expect(Object.keys(json(res))).toEqual(['@odata.context', 'id', 'author', 'content', 'createdDateTime']);
    }
    expectGraphError(await call('POST', `${BASE}/${c.id}/notes`, writer, { content: 'plain' }), 400, 'BadRequest');
    expectGraphError(await call('POST', `${BASE}/${c.id}/notes`, writer, { content: { content: 'x', contentType: 'pdf' } }), 400, 'BadRequest');
    const first = json(await call('GET', `${BASE}/${c.id}/notes?$top=2`, reader));
    expect(first.value.map((n: any) => n.content.content)).toEqual(['note 0', 'note 1']);
    const next = String(first['@odata.nextLink']).replace(PUBLIC_URL, '');
    const second = json(await call('GET', next, reader));
    expect(second.value.map((n: any) => n.content.content)).toEqual(['note 2']);
    expect(second['@odata.nextLink']).toBeUndefined();
  });
});

describe('list', () => {
  it('orders by due date, pages with $skiptoken, filters on status, type and due date (overdue)', async () => {
    const tenant = randomUUID();
    const tok = await t.appToken(tenant, ['SubjectRightsRequest.ReadWrite.All']);
    const past = await create({ internalDueDateTime: '2026-01-01T00:00:00Z', type: 'export' }, tok);
    const soon = await create({ internalDueDateTime: '2026-12-05T00:00:00Z' }, tok);
    const far = await create({ internalDueDateTime: '2027-06-01T00:00:00Z' }, tok);
    const closedPast = await create({ internalDueDateTime: '2025-06-01T00:00:00Z' }, tok);
    await call('PATCH', `${BASE}/${closedPast.id}`, tok, { status: 'closed' });

    const ids = async (url: string) => (json(await call('GET', url, tok)).value as any[]).map((c) => c.id);
    expect(await ids(BASE)).toEqual([closedPast.id, past.id, soon.id, far.id]);
    const page1 = json(await call('GET', `${BASE}?$top=3&$select=id`, tok));
    expect(page1.value).toEqual([{ id: closedPast.id }, { id: past.id }, { id: soon.id }]);
    const page2 = json(await call('GET', String(page1['@odata.nextLink']).replace(PUBLIC_URL, ''), tok));
    expect(page2.value).toEqual([{ id: far.id }]);

    const now = new Date().toISOString();
    expect(await ids(`${BASE}?$filter=${encodeURIComponent(`status eq 'active' and internalDueDateTime lt ${now}`)}`)).toEqual([past.id]);
    expect(await ids(`${BASE}?$filter=${encodeURIComponent("type eq 'export'")}`)).toEqual([past.id]);
    expect(await ids(`${BASE}?$filter=${encodeURIComponent("status eq 'closed'")}`)).toEqual([closedPast.id]);
    expect(
      await ids(`${BASE}?$filter=${encodeURIComponent('internalDueDateTime ge 2026-12-01T00:00:00Z and internalDueDateTime lt 2027-01-01T00:00:00Z')}`),
    ).toEqual([soon.id]);

    for (const q of [
      "$filter=status eq 'open'",
      "$filter=displayName eq 'x'",
      "$filter=status eq 'active' or type eq 'access'",
      '$filter=internalDueDateTime lt yesterday',
      '$top=0',
      '$top=x',
      '$skiptoken=abc',
      '$orderby=displayName',
      '$expand=notes',
      '$orderby=status sideways',
      '$search=adele',
      '$search=""',
      `$orderby=status&$skiptoken=${Buffer.from('["open","2026-01-01T00:00:00.000000Z","x"]').toString('base64url')}`,
    ]) {
      expectGraphError(await call('GET', `${BASE}?${q.replace(/ /g, '%20')}`, tok), 400, 'BadRequest');
    }
  });

  it('sorts by createdDateTime or status either way and pages in that order; $search finds text in the name or subject', async () => {
    const tenant = randomUUID();
    const tok = await t.appToken(tenant, ['SubjectRightsRequest.ReadWrite.All']);
    const a = await create(
      { internalDueDateTime: '2027-03-01T00:00:00Z', displayName: 'Alpha', dataSubject: { email: 'zoe@contoso.com', lastName: 'Quist' } },
      tok,
    );
    const b = await create({ internalDueDateTime: '2027-01-01T00:00:00Z', displayName: 'Beta' }, tok);
    const c = await create({ internalDueDateTime: '2027-02-01T00:00:00Z', displayName: "Gamma 50% O'Neil" }, tok);
    await call('PATCH', `${BASE}/${b.id}`, tok, { status: 'closed' });
    const all = async (url: string) => {
      const seen: string[] = [];
      let next: string | undefined = url;
      while (next) {
        const res = await call('GET', next.replace(PUBLIC_URL, ''), tok);
        expect(res.statusCode, res.body).toBe(200);
        const page = json(res);
        seen.push(...(page.value as any[]).map((r) => r.id));
        next = page['@odata.nextLink'];
      }
      return seen;
    };
    expect(await all(`${BASE}?$top=1&$orderby=createdDateTime`)).toEqual([a.id, b.id, c.id]);
    expect(await all(`${BASE}?$top=2&$orderby=createdDateTime%20desc`)).toEqual([c.id, b.id, a.id]);
    expect(await all(`${BASE}?$top=1&$orderby=status`)).toEqual([c.id, a.id, b.id]);
    expect(await all(`${BASE}?$top=2&$orderby=status%20desc`)).toEqual([b.id, a.id, c.id]);
    expect(await all(`${BASE}?$top=1&$orderby=internalDueDateTime%20desc`)).toEqual([a.id, c.id, b.id]);
    const search = (text: string) => all(`${BASE}?$search=${encodeURIComponent(`"${text}"`)}`);
    expect(await search('ZOE@')).toEqual([a.id]);
    expect(await search('quist')).toEqual([a.id]);
    expect(await search('50%')).toEqual([c.id]);
    expect(await search("o'neil")).toEqual([c.id]);
    expect(await search('eta')).toEqual([b.id]);
    expect(await search('_')).toEqual([]);
    expect(await all(`${BASE}?$search=%22a%22&$filter=${encodeURIComponent("status eq 'active'")}&$orderby=createdDateTime%20desc`)).toEqual([c.id, a.id]);
  });
});

describe('review, report and statement before there is a package', () => {
  it('refuses the report, the attachment, exclusions and completeReview while nothing was retrieved', async () => {
    const c = await create({ dataSubject: { email: 'nobody@contoso.com' } });
    expect(json(await call('GET', `${BASE}/${c.id}/packageFiles`, reader)).value).toEqual([]);
    for (const op of ['getFinalReport', 'getFinalAttachment']) expectGraphError(await call('GET', `${BASE}/${c.id}/${op}`, reader), 400, 'BadRequest');
    expectGraphError(await call('POST', `${BASE}/${c.id}/completeReview`, writer), 400, 'BadRequest');
    expectGraphError(await call('PATCH', `${BASE}/${c.id}/packageFiles/0`, writer, { excluded: true, exclusionReason: 'x' }), 400, 'BadRequest');
    expectGraphError(await call('POST', `${BASE}/${c.id}/completeReview`, reader), 403, 'Authorization_RequestDenied');
    expectGraphError(await call('GET', `${BASE}/${c.id}/packageFiles?$skiptoken=bad`, reader), 400, 'BadRequest');
    expectGraphError(await call('GET', `${BASE}/${c.id}/getFinalReport`, otherWriter), 404, 'Request_ResourceNotFound');
  });

  it('keeps one Art. 15 statement per tenant, validated, readable with Read.All and set with ReadWrite.All only', async () => {
    const url = '/v1.0/security/privacyStatement';
    expectGraphError(await call('GET', url, reader), 404, 'Request_ResourceNotFound');
    const statement = {
      controller: { name: 'Contoso', contact: 'privacy@contoso.com' },
      purposes: [{ purpose: 'HR', legalBasis: 'Art. 6(1)(b)' }],
      categories: ['Profile'],
      recipients: [],
      retention: [{ category: 'Profile', period: 'Employment + 2 years' }],
      source: 'The subject',
      automatedDecisionMaking: 'None',
      transfers: [{ destination: 'US', safeguards: 'Standard contractual clauses' }],
      rights: { rectification: 'r', erasure: 'e', restriction: 'x', objection: 'o', complaint: { authority: 'CNIL', contact: 'https://www.cnil.fr' } },
    };
    expectGraphError(await call('PUT', url, reader, statement), 403, 'Authorization_RequestDenied');
    for (const bad of [
      { ...statement, controller: 'Contoso' },
      { ...statement, extra: 1 },
      { ...statement, rights: { ...statement.rights, complaint: {} } },
      { ...statement, categories: Array.from({ length: 51 }, () => 'x') },
      { ...statement, source: '' },
      [],
      'text',
    ]) {
      expectGraphError(await call('PUT', url, writer, bad), 400, 'BadRequest');
    }
    const res = await call('PUT', url, writer, statement);
    expect(res.statusCode, res.body).toBe(200);
    const got = json(await call('GET', url, reader));
    expect(got).toMatchObject({ ...statement, lastModifiedBy: { application: { id: expect.any(String), displayName: null } } });
    expectGraphError(await call('GET', url, otherWriter), 404, 'Request_ResourceNotFound');
  });

  it('previews a draft statement as the package will show it, validated, without storing it', async () => {
    const tenant = randomUUID();
    const tok = await t.appToken(tenant, ['SubjectRightsRequest.Read.All']);
    const draft = {
      controller: { name: 'Contoso <script>', contact: 'privacy@contoso.com' },
      purposes: [{ purpose: 'HR', legalBasis: 'Art. 6(1)(b)' }],
      categories: ['Profile', 'Mail'],
      recipients: [],
      retention: [],
      source: 'The subject',
      automatedDecisionMaking: 'None',
      transfers: [],
      rights: { rectification: 'r', erasure: 'e', restriction: 'x', objection: 'o', complaint: { authority: 'CNIL', contact: 'https://www.cnil.fr' } },
      redactOtherActors: false,
    };
    const res = await call('POST', '/v1.0/security/privacyStatement/preview', tok, draft);
    expect(res.statusCode, res.body).toBe(200);
    const preview = json(res);
    expect(preview.title).toBe('Privacy statement (GDPR Art. 15)');
    expect(preview.lines).toContain('Controller: Contoso <script> (privacy@contoso.com)');
    expect(preview.lines).toContain('Categories of personal data: Profile; Mail');
    expect(preview.lines.at(-1)).toBe("Other people's IP addresses and user agents are included.");
    expectGraphError(await call('POST', '/v1.0/security/privacyStatement/preview', tok, { ...draft, source: '' }), 400, 'BadRequest');
    expectGraphError(
      await call('POST', '/v1.0/security/privacyStatement/preview', await t.appToken(tenant, ['User.Read.All']), draft),
      403,
      'Authorization_RequestDenied',
    );
    expectGraphError(await call('GET', '/v1.0/security/privacyStatement', tok), 404, 'Request_ResourceNotFound');
  });
});
