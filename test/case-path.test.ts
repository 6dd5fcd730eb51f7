import { createHash, randomUUID } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import yauzl from 'yauzl';
import { createCaseStorage } from '../src/cases/case-storage.ts';
import { purgeCasePackages } from '../src/cases/purge-packages.ts';
import { AZURITE_ACCOUNT, AZURITE_KEY, startAzurite, type Azurite } from '../src/embedded/azurite.ts';
import type { Worker, WorkerEvent } from '../src/worker/worker.ts';
import { seedUser, waitFor } from './support/export-fixtures.ts';
import { expectGraphError } from './support/graph-assert.ts';
import { workerFleet } from './support/workers.ts';
import { createTestApp, PUBLIC_URL, tempDir, type TestApp } from './support/harness.ts';

// The whole case path over HTTP with real workers, Azurite and an independent zip reader.
let azurite: Azurite;
let t: TestApp;
const fleet = workerFleet();
const BASE = '/v1.0/security/subjectRightsRequests';

type Res = Awaited<ReturnType<TestApp['app']['inject']>>;
const json = (res: Res) => JSON.parse(res.body) as Record<string, any>;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function call(method: 'GET' | 'POST' | 'PATCH' | 'PUT', url: string, token: string, payload?: unknown): Promise<Res> {
  return t.app.inject({ method, url, headers: { authorization: `Bearer ${token}` }, ...(payload !== undefined ? { payload: payload as object } : {}) });
}

function worker(onEvent?: (e: WorkerEvent) => void): Promise<Worker> {
  return fleet.start(t.dbUrl, { config: t.config, contentStore: t.deps.contentStore, pollIntervalMs: 100, onEvent });
}

/** Every entry of a zip, read by yauzl (not the library that wrote it). */
function readZip(buffer: Buffer): Promise<Map<string, Buffer>> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(buffer, { lazyEntries: true, validateEntrySizes: true }, (err, zip) => {
      if (err || !zip) return reject(err ?? new Error('no zip'));
      const out = new Map<string, Buffer>();
      zip.on('error', reject);
      zip.on('end', () => resolve(out));
      zip.on('entry', (entry: yauzl.Entry) => {
        zip.openReadStream(entry, (e, stream) => {
          if (e || !stream) return reject(e ?? new Error('no stream'));
          const chunks: Buffer[] = [];
          stream.on('data', (c: Buffer) => chunks.push(c));
          stream.on('error', reject);
          stream.on('end', () => {
            out.set(entry.fileName, Buffer.concat(chunks));
            zip.readEntry();
          });
        });
      });
      zip.readEntry();
    });
  });
}

const STATEMENT = {
  controller: { name: 'Contoso Ltd', contact: 'privacy@contoso.test' },
  dataProtectionOfficer: { name: 'D. P. Officer', contact: 'dpo@contoso.test' },
  purposes: [{ purpose: 'Employment administration', legalBasis: 'Art. 6(1)(b) GDPR' }],
  categories: ['Directory profile', 'Files', 'Sign-in records'],
  recipients: ['Payroll processor'],
  retention: [{ category: 'Sign-in records', period: '90 days' }],
  source: 'Collected from the data subject and from their use of company systems',
  automatedDecisionMaking: 'None',
  transfers: [],
  rights: {
    rectification: 'Ask privacy@contoso.test',
    erasure: 'Ask privacy@contoso.test',
    restriction: 'Ask privacy@contoso.test',
    objection: 'Ask privacy@contoso.test',
    complaint: { authority: 'Federal Data Protection and Information Commissioner', contact: 'https://www.edoeb.admin.ch' },
  },
};

beforeAll(async () => {
  azurite = await startAzurite();
  t = await createTestApp({
    DSR_STORAGE_ALLOW: azurite.origin,
    DSR_LEASE_SECONDS: '3',
    DSR_UPLOAD_CONCURRENCY: '1',
    DSR_QUOTA_EXPORTS_PER_USER_PER_DAY: '1',
    DSR_CASES_STORAGE: `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};BlobEndpoint=${azurite.accountUrl};`,
  });
});
afterAll(async () => {
  await fleet.stopAll();
  await t?.close();
  await azurite?.stop();
});

describe('a case from creation to purge', () => {
  it('retrieves, reviews, reports, zips, closes and purges; isolated from other tenants', async () => {
    const tenant = randomUUID();
    const officer = await t.appToken(tenant, ['SubjectRightsRequest.ReadWrite.All']);
    const stranger = await t.appToken(randomUUID(), ['SubjectRightsRequest.ReadWrite.All']);
    const subject = await seedUser(t.db, t.deps.contentStore, {
      tenantId: tenant,
      signIns: 2,
      activities: 3,
      files: [
        { path: 'Docs/notes.txt', body: Buffer.from('my notes\n'.repeat(100)) },
        { path: 'Docs/colleague.bin', body: Buffer.alloc(200_000, 7) },
        { path: 'Photos/me.jpg', body: Buffer.alloc(50_000, 3) },
      ],
    });
    await worker();
    expect((await call('PUT', '/v1.0/security/privacyStatement', officer, STATEMENT)).statusCode).toBe(200);

    const created = await call('POST', BASE, officer, {
      type: 'access',
      dataSubjectType: 'currentEmployee',
      displayName: 'Access request',
      regulations: ['GDPR'],
      dataSubject: { email: subject.upn.toUpperCase() },
    });
    expect(created.statusCode, created.body).toBe(201);
    const id = json(created).id as string;
    expect(json(created).stages[0].status).toBe('current');
    // A case's export counts against the export quotas (here one per subject per day).
    const again = await call('POST', BASE, officer, {
      type: 'access',
      dataSubjectType: 'currentEmployee',
      displayName: 'Again',
      regulations: ['GDPR'],
      dataSubject: { email: subject.upn },
    });
    expectGraphError(again, 429, 'TooManyRequests');
    expect(json(await call('GET', BASE, officer)).value.map((c: any) => c.id)).toEqual([id]);

    const reviewing = await waitFor(
      async () => {
        const c = json(await call('GET', `${BASE}/${id}`, officer));
        expect(c.stages[0].status).not.toBe('failed');
        return c.stages[1].status === 'current' ? c : undefined;
      },
      { what: 'the retrieval to complete', timeoutMs: 30_000 },
    );
    const { rows: planned } = await t.db.query<{ path: string; size: number; sha256: string }>(
      'select f.path, f.size, f.sha256 from export_files f join subject_rights_requests r on r.operation_id = f.operation_id where r.id = $1 order by f.seq',
      [id],
    );
    expect(reviewing.stages.map((s: any) => s.status)).toEqual(['completed', 'current', 'notStarted', 'notStarted']);
    expect(reviewing.insight).toMatchObject({
      itemCount: planned.length,
      totalItemSize: planned.reduce((a, f) => a + f.size, 0),
      excludedItemCount: 0,
      itemNeedReview: planned.length,
    });
    expect(reviewing.history.map((h: any) => h.type)).toEqual(['created', 'retrievalStarted', 'retrievalCompleted']);
    expect(reviewing.history[2].changedBy).toEqual({ application: { id: null, displayName: 'dsr-export' } });

    expectGraphError(await call('GET', `${BASE}/${id}/getFinalReport`, officer), 400, 'BadRequest');
    expectGraphError(await call('GET', `${BASE}/${id}/packageFiles`, stranger), 404, 'Request_ResourceNotFound');

    const files = json(await call('GET', `${BASE}/${id}/packageFiles?$top=3`, officer));
    expect(files.value).toHaveLength(3);
    expect(files['@odata.nextLink']).toContain('%24skiptoken=');
    let all: any[] = files.value;
    let next: string | undefined = files['@odata.nextLink'];
    while (next) {
      const page = json(await call('GET', next.replace(PUBLIC_URL, ''), officer));
      all = all.concat(page.value);
      next = page['@odata.nextLink'];
    }
    expect(all.map((f) => f.path)).toEqual(planned.map((f) => f.path));
    const colleague = all.find((f) => f.path.endsWith('colleague.bin'));
    const manifestFile = all.find((f) => f.path === 'manifest.json');
    expect(manifestFile.excluded).toBe(true);

    const reason = "Another person's data (Art. 15(4))";
    expectGraphError(await call('PATCH', `${BASE}/${id}/packageFiles/${colleague.id}`, officer, { excluded: true }), 400, 'BadRequest');
    expectGraphError(await call('PATCH', `${BASE}/${id}/packageFiles/${manifestFile.id}`, officer, { excluded: false }), 400, 'BadRequest');
    expectGraphError(
      await call('PATCH', `${BASE}/${id}/packageFiles/99999`, officer, { excluded: true, exclusionReason: 'x' }),
      404,
      'Request_ResourceNotFound',
    );
    expectGraphError(
      await call('PATCH', `${BASE}/${id}/packageFiles/${colleague.id}`, stranger, { excluded: true, exclusionReason: 'x' }),
      404,
      'Request_ResourceNotFound',
    );
    const excluded = await call('PATCH', `${BASE}/${id}/packageFiles/${colleague.id}`, officer, { excluded: true, exclusionReason: reason });
    expect(excluded.statusCode, excluded.body).toBe(200);
    expect(json(excluded)).toMatchObject({ path: colleague.path, excluded: true, exclusionReason: reason });

    const reviewed = await call('POST', `${BASE}/${id}/completeReview`, officer);
    expect(reviewed.statusCode, reviewed.body).toBe(200);
    expect(json(reviewed).stages.map((s: any) => s.status)).toEqual(['completed', 'completed', 'completed', 'notStarted']);
    expect(json(reviewed).insight).toMatchObject({ excludedItemCount: 1, signedOffItemCount: planned.length - 1, itemNeedReview: 0 });
    expect(
      json(reviewed)
        .history.map((h: any) => h.type)
        .slice(-2),
    ).toEqual(['fileExcluded', 'reviewCompleted']);
    expectGraphError(await call('PATCH', `${BASE}/${id}/packageFiles/${colleague.id}`, officer, { excluded: false }), 400, 'BadRequest');

    // The report: one row per package file, then the statement.
    const report = await call('GET', `${BASE}/${id}/getFinalReport`, officer);
    expect(report.statusCode).toBe(200);
    expect(report.headers['content-type']).toBe('text/csv; charset=utf-8');
    const lines = report.body.split('\r\n');
    expect(lines[0]).toBe('path,section,size,sha256,status,reason');
    for (const [i, f] of planned.entries()) {
      const [path, section, size, hash, status] = lines[i + 1]!.replace(/"[^"]*"/g, 'Q').split(',');
      if (!f.path.includes('"') && !f.path.includes(',')) expect(path).toBe(f.path);
      expect([section, Number(size), hash]).toEqual([f.path.includes('/') ? f.path.split('/')[0] : 'package', f.size, f.sha256]);
      expect(status).toBe(f.path === colleague.path || f.path === 'manifest.json' ? 'excluded' : 'included');
    }
    expect(report.body).toContain(`${colleague.path},OneDrive,200000,${colleague.sha256},excluded,${reason}`);
    expect(report.body).toContain('GDPR Art. 15 statement');
    expect(report.body).toContain('Federal Data Protection and Information Commissioner');
    expectGraphError(await call('GET', `${BASE}/${id}/getFinalReport`, stranger), 404, 'Request_ResourceNotFound');

    // The attachment, read back by yauzl and checked against its own manifest.
    const attachment = await call('GET', `${BASE}/${id}/getFinalAttachment`, officer);
    expect(attachment.statusCode).toBe(200);
    expect(attachment.headers['content-type']).toBe('application/zip');
    const entries = await readZip(attachment.rawPayload);
    const manifest = JSON.parse(entries.get('manifest.json')!.toString('utf8')) as {
      subjectRightsRequestId: string;
      files: { path: string; size: number; sha256: string }[];
      excluded: { path: string; reason: string }[];
    };
    expect(manifest.subjectRightsRequestId).toBe(id);
    expect(manifest.excluded).toEqual([expect.objectContaining({ path: colleague.path, reason })]);
    expect([...entries.keys()].sort()).toEqual(['manifest.json', ...manifest.files.map((f) => f.path)].sort());
    for (const f of manifest.files) {
      expect(sha(entries.get(f.path)!), f.path).toBe(f.sha256);
      expect(entries.get(f.path)!.length).toBe(f.size);
    }
    expect(manifest.files.map((f) => f.path).sort()).toEqual(
      planned
        .map((f) => f.path)
        .filter((p) => p !== colleague.path && p !== 'manifest.json')
        .sort(),
    );
    expectGraphError(await call('GET', `${BASE}/${id}/getFinalAttachment`, stranger), 404, 'Request_ResourceNotFound');

    // Asked with Prefer: dsr.downloadUrl, the route answers a URL of that one file instead, which
    // serves the same zip without Authorization and cannot be bent to another case, tenant or file.
    const ask = (op: string, token: string) =>
      t.app.inject({
        method: 'GET',
        url: `${BASE}/${id}/${op}`,
        headers: { authorization: `Bearer ${token}`, prefer: 'odata.maxpagesize=5, dsr.downloadUrl' },
      });
    const asked = await ask('getFinalAttachment', officer);
    expect(asked.statusCode, asked.body).toBe(200);
    expect(asked.headers['preference-applied']).toBe('dsr.downloadUrl');
    expect(asked.headers['cache-control']).toBe('no-store');
    const downloadUrl = new URL(json(asked)['@microsoft.graph.downloadUrl'] as string);
    expect(downloadUrl.origin + downloadUrl.pathname).toMatch(new RegExp(`^${PUBLIC_URL}/downloads/requests/[\\w-]+\\.[\\w-]+$`));
    expect(Date.parse(json(asked).expirationDateTime as string) - Date.now()).toBeLessThanOrEqual(120_000);
    const viaUrl = await t.app.inject({ method: 'GET', url: downloadUrl.pathname });
    expect(viaUrl.statusCode).toBe(200);
    expect(viaUrl.headers['content-disposition']).toBe(`attachment; filename="subject-rights-request-${id}.zip"`);
    const viaUrlEntries = await readZip(viaUrl.rawPayload);
    expect([...viaUrlEntries.keys()].sort()).toEqual([...entries.keys()].sort());
    for (const f of manifest.files) expect(sha(viaUrlEntries.get(f.path)!), f.path).toBe(f.sha256);
    expectGraphError(await ask('getFinalAttachment', stranger), 404, 'Request_ResourceNotFound');
    const [payload, mac] = downloadUrl.pathname.split('/').pop()!.split('.') as [string, string];
    const grant = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, string | number>;
    expect(grant).toMatchObject({ tenantId: tenant, requestId: id, file: 'attachment' });
    for (const bent of [{ requestId: randomUUID() }, { tenantId: randomUUID() }, { file: 'report' }, { expires: Number(grant.expires) + 3600 }]) {
      const forged = `${Buffer.from(JSON.stringify({ ...grant, ...bent })).toString('base64url')}.${mac}`;
      expectGraphError(await t.app.inject({ method: 'GET', url: `/downloads/requests/${forged}` }), 401, 'InvalidAuthenticationToken');
    }
    // A drive download URL's key is another one: the token is no drive URL either.
    expectGraphError(await t.app.inject({ method: 'GET', url: `/downloads/${payload}.${mac}` }), 401, 'InvalidAuthenticationToken');
    const reportUrl = new URL(json(await ask('getFinalReport', officer))['@microsoft.graph.downloadUrl'] as string);
    expect((await t.app.inject({ method: 'GET', url: reportUrl.pathname })).body).toBe(report.body);

    // A package file changed in storage after the export: the attachment stops instead of
    // delivering it (the zip has no central directory), and the service keeps serving.
    const tampered = manifest.files.find((f) => f.path.endsWith('me.jpg'))!;
    await azurite.service.getContainerClient(`dsr-case-${id}`).getBlockBlobClient(tampered.path).upload(Buffer.alloc(50_000, 9), 50_000);
    const cut = await call('GET', `${BASE}/${id}/getFinalAttachment`, officer).catch((err: unknown) => err as Error);
    if (!(cut instanceof Error)) await expect(readZip(cut.rawPayload)).rejects.toThrow();
    expect((await call('GET', `${BASE}/${id}`, officer)).statusCode).toBe(200);

    // Close, then the purge after the retention: the container goes, an audit says so.
    const closed = await call('PATCH', `${BASE}/${id}`, officer, { status: 'closed' });
    expect(json(closed).stages[3].status).toBe('completed');
    const storage = createCaseStorage(t.config.cases.storage)!;
    expect(await purgeCasePackages(t.db, storage, new Date())).toBe(0);
    const container = azurite.service.getContainerClient(`dsr-case-${id}`);
    expect(await container.exists()).toBe(true);
    expect(await purgeCasePackages(t.db, storage, new Date(Date.now() + 31 * 86_400_000))).toBe(1);
    expect(await container.exists()).toBe(false);
    const { rows: audits } = await t.db.query('select * from directory_audits where tenant_id = $1 and correlation_id = $2', [tenant, id]);
    expect(audits).toHaveLength(1);
    expect(audits[0].activity_display_name).toBe('Subject rights request package purged');
    expectGraphError(await call('GET', `${BASE}/${id}/getFinalAttachment`, officer), 409, 'PackagePurged');
  });
});

describe('a restart mid-stage', () => {
  it('a worker crash during contentRetrieval leaves the case current; another worker finishes it', async () => {
    await fleet.stopAll();
    const tenant = randomUUID();
    const officer = await t.appToken(tenant, ['SubjectRightsRequest.ReadWrite.All']);
    const subject = await seedUser(t.db, t.deps.contentStore, {
      tenantId: tenant,
      files: Array.from({ length: 6 }, (_, i) => ({ path: `Docs/f-${i}.bin`, body: Buffer.alloc(30_000 + i, i) })),
    });
    let uploads = 0;
    let crashed: Promise<void> | undefined;
    const a = await worker((e) => {
      if (e.type === 'fileUploaded' && ++uploads === 3) crashed = a.stopHard();
    });
    const res = await call('POST', BASE, officer, {
      type: 'export',
      dataSubjectType: 'customer',
      displayName: 'Export',
      regulations: ['CCPA'],
      pauseAfterEstimate: false,
      dataSubject: { email: subject.upn },
    });
    expect(res.statusCode, res.body).toBe(201);
    const id = json(res).id as string;
    await waitFor(() => crashed !== undefined, { what: 'worker A to crash' });
    await crashed;
    expect(json(await call('GET', `${BASE}/${id}`, officer)).stages[0].status).toBe('current');
    await worker();
    const done = await waitFor(
      async () => {
        const c = json(await call('GET', `${BASE}/${id}`, officer));
        return c.stages[0].status === 'completed' ? c : undefined;
      },
      { what: 'the retrieval to be resumed', timeoutMs: 30_000 },
    );
    // pauseAfterEstimate false: no review wait; the report is ready at once.
    expect(done.stages.map((s: any) => s.status)).toEqual(['completed', 'completed', 'completed', 'notStarted']);
    expect(done.history.map((h: any) => h.type)).toEqual(['created', 'retrievalStarted', 'retrievalCompleted', 'reviewSkipped']);
    const report = await call('GET', `${BASE}/${id}/getFinalReport`, officer);
    expect(report.statusCode).toBe(200);
    expect(report.body).toContain('No privacy statement has been set for this tenant');
  });
});

describe('the cases and privacy-statement commands', () => {
  it('create, list (days left, overdue in red on a terminal), show, report and attachment downloads, close; statement set and get', async () => {
    if (fleet.running.length === 0) await worker();
    const cli = await import('../src/cli/cases-command.ts');
    const { ApiClient } = await import('../src/cli/api-client.ts');
    const server = await t.app.listen({ host: '127.0.0.1', port: 0 });
    const tenant = randomUUID();
    const api = new ApiClient(server, await t.appToken(tenant, ['SubjectRightsRequest.ReadWrite.All']));
    const subject = await seedUser(t.db, t.deps.contentStore, {
      tenantId: tenant,
      files: [
        { path: 'a.txt', body: Buffer.from('hello') },
        { path: 'b.txt', body: Buffer.from('not yours') },
      ],
    });
    const dir = await tempDir('dsr-cases-cli-');
    const statementFile = path.join(dir, 'statement.json');
    await writeFile(statementFile, JSON.stringify(STATEMENT));
    await cli.setPrivacyStatement(api, statementFile);
    expect(await cli.getPrivacyStatement(api)).toMatchObject({ controller: STATEMENT.controller });
    await writeFile(statementFile, '{"controller": 1}');
    await expect(cli.setPrivacyStatement(api, statementFile)).rejects.toThrow(/privacy statement failed: BadRequest: controller must be an object/);

    const c = await cli.createCase(api, { email: subject.upn, name: 'CLI case', type: 'export', subjectType: 'customer', regulation: ['LGPD'], pause: true });
    await cli.createCase(api, {
      email: 'nobody@contoso.test',
      name: 'Late case',
      type: 'access',
      subjectType: 'customer',
      regulation: [],
      due: '2026-01-02T00:00:00Z',
      pause: true,
    });
    const lines: string[] = [];
    const tty = { isTTY: true, write: (s: string) => lines.push(s) };
    expect(await cli.listCases(api, { out: tty, now: new Date() })).toBe(2);
    const text = lines.join('');
    expect(text.indexOf('Late case')).toBeLessThan(text.indexOf('CLI case'));
    // eslint-disable-next-line no-control-regex -- the escape codes of the terminal's colours are what is checked
    expect(text).toMatch(/\u001b\[31;1m2026-01-02 \(\d+ days overdue\)\u001b\[0m/);
    expect(text).toMatch(/due \d{4}-\d{2}-\d{2} \((14|15) days left\) {2}export {2}CLI case/);
    expect(text).toContain('contentRetrieval:FAILED');
    lines.length = 0;
    await cli.listCases(api, { overdue: true, out: { write: (s: string) => lines.push(s) } });
    expect(lines.join('')).toMatch(/Late case/);
    // eslint-disable-next-line no-control-regex -- no terminal escape code may reach a non-terminal
    expect(lines.join('')).not.toMatch(/CLI case|\u001b/);

    await waitFor(async () => (await cli.showCase(api, c.id, { json: true, out: { write: () => undefined } })).stages[1]!.status === 'current', {
      what: 'the CLI case to be retrieved',
      timeoutMs: 30_000,
    });
    lines.length = 0;
    await cli.listCaseFiles(api, c.id, { json: true, out: { write: (s: string) => lines.push(s) } });
    const b = (JSON.parse(lines.join('')) as { id: string; path: string }[]).find((f) => f.path === 'OneDrive/Files/b.txt')!;
    lines.length = 0;
    await cli.listCaseFiles(api, c.id, { out: { write: (s: string) => lines.push(s) } });
    expect(lines.join('')).toMatch(/included {2}OneDrive\/Files\/b\.txt \(9 bytes\)/);
    expect(await cli.setCaseFileExclusion(api, c.id, b.id, 'legal privilege')).toMatchObject({ excluded: true, exclusionReason: 'legal privilege' });
    await cli.completeCaseReview(api, c.id);
    lines.length = 0;
    await cli.showCase(api, c.id, { out: { write: (s: string) => lines.push(s) } });
    expect(lines.join('')).toContain('contentRetrieval:done > contentReview:done > generateReport:done > caseResolved:-');

    const zipFile = path.join(dir, 'case.zip');
    const bytes = await cli.downloadCaseFile(api, c.id, 'getFinalAttachment', zipFile, { out: tty });
    const entries = await readZip(await readFile(zipFile));
    expect((await stat(zipFile)).size).toBe(bytes);
    expect(entries.get('OneDrive/Files/a.txt')!.toString()).toBe('hello');
    expect(entries.has('OneDrive/Files/b.txt')).toBe(false);
    const reportFile = path.join(dir, 'report.csv');
    await cli.downloadCaseFile(api, c.id, 'getFinalReport', reportFile, { out: { write: () => undefined } });
    expect(await readFile(reportFile, 'utf8')).toContain('OneDrive/Files/a.txt,OneDrive,5,');
    const closed = await cli.closeCase(api, c.id, 'Answered by mail.');
    expect(closed.status).toBe('closed');
    await expect(cli.showCase(api, randomUUID(), { out: { write: () => undefined } })).rejects.toThrow(/case failed: Request_ResourceNotFound/);
  });

  it('--help lists the case commands', async () => {
    const { runCli } = await import('./support/cli.ts');
    const [cases, statement] = await Promise.all([runCli(['cases', '--help']), runCli(['privacy-statement', '--help'])]);
    for (const c of ['list', 'show', 'create', 'files', 'exclude', 'include', 'complete-review', 'close', 'report', 'attachment'])
      expect(cases.stdout).toMatch(new RegExp(`^  ${c}`, 'm'));
    for (const c of ['get', 'set']) expect(statement.stdout).toMatch(new RegExp(`^  ${c}`, 'm'));
  });
});
