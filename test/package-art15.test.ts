import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { createLocalContentStore } from '../src/content/local-content-store.ts';
import type { Db } from '../src/db/pool.ts';
import { insertDirectoryAudit } from '../src/db/queries/directory-audits.ts';
import { upsertPrivacyStatement } from '../src/db/queries/privacy-statements.ts';
import { auditRecord } from '../src/domain/directory-audit.ts';
import { createContainerSas, startAzurite, type Azurite } from '../src/embedded/azurite.ts';
import { startWorker, type Worker } from '../src/worker/worker.ts';
import { queueExport, readContainer, seedUser, waitForStatus, type SeededUser } from './support/export-fixtures.ts';
import { createTestDatabase, tempDir } from './support/harness.ts';

// What GDPR Art. 15 asks of every package beside the data: the privacy statement, a data
// dictionary, and other people's IP addresses and user agents left out (Art. 15(4)).
let db: Db;
let azurite: Azurite;
let worker: Worker;
const store = createLocalContentStore(await tempDir('dsr-art15-content-'));

const STATEMENT = {
  controller: { name: 'Contoso', contact: 'privacy@contoso.test' },
  purposes: [{ purpose: 'HR', legalBasis: 'Art. 6(1)(b) GDPR' }],
  categories: ['Profile', 'Files'],
  recipients: ['Payroll'],
  retention: [{ category: 'Files', period: 'Employment + 1 year' }],
  source: 'The employee',
  automatedDecisionMaking: 'None',
  transfers: [],
  rights: { rectification: 'r', erasure: 'e', restriction: 'x', objection: 'o', complaint: { authority: 'EDÖB', contact: 'https://www.edoeb.admin.ch' } },
};
const COLLEAGUE = { user: { id: randomUUID(), displayName: 'Colleague' } };

beforeAll(async () => {
  ({ db } = await createTestDatabase());
  azurite = await startAzurite();
  worker = await startWorker({ config: loadConfig({ DSR_STORAGE_ALLOW: azurite.origin }), db, contentStore: store, pollIntervalMs: 200 });
});
afterAll(async () => {
  await worker?.stop(1000);
  await azurite?.stop();
  await db?.end();
});

/** A subject with their own activity, a colleague's activity on their drive and an audit by an administrator. */
async function subject(): Promise<SeededUser> {
  const user = await seedUser(db, store, { files: [{ path: 'a.txt', body: Buffer.from('a') }], activities: 2, signIns: 1 });
  await db.query(
    `insert into drive_activities (tenant_id, id, user_id, activity_at, activity_type, actor, item_id, item_path, client_ip, user_agent, app_id)
     values ($1, $2, $3, '2026-03-05T10:00:00Z', 'FileAccessed', $4, null, '/a.txt', '198.51.100.99', 'ColleagueBrowser/1.0', 'app-1')`,
    [user.tenantId, randomUUID(), user.userId, COLLEAGUE],
  );
  await insertDirectoryAudit(
    db,
    auditRecord({
      tenantId: user.tenantId,
      now: new Date('2026-03-06T10:00:00Z'),
      activity: 'Update user',
      operationType: 'Update',
      requester: { kind: 'delegated', appId: randomUUID(), oid: randomUUID(), upn: 'admin@contoso.test' },
      ipAddress: '192.0.2.55',
      target: { id: user.userId, userPrincipalName: user.upn },
    }),
  );
  return user;
}

async function exportOf(user: SeededUser): Promise<Map<string, { body: Buffer }>> {
  const sas = await createContainerSas(azurite, `art15-${randomUUID().slice(0, 8)}`);
  const op = await queueExport(db, user, sas, [azurite.origin]);
  worker.wake();
  const done = await waitForStatus(db, op.id, ['complete', 'failed']);
  expect(done.error_message ?? '').toBe('');
  return readContainer(sas);
}

const jsonOf = (files: Map<string, { body: Buffer }>, path: string) => JSON.parse(files.get(path)!.body.toString('utf8')) as Record<string, any>;

describe('Art. 15 in every package', () => {
  it("carries the statement, the dictionary of every file, and leaves other people's IP and user agent out", async () => {
    const user = await subject();
    await upsertPrivacyStatement(db, user.tenantId, STATEMENT, { application: { id: 'x', displayName: null } }, new Date());
    const files = await exportOf(user);

    const statement = jsonOf(files, 'PrivacyStatement.json');
    expect(statement.statement).toEqual(STATEMENT);
    expect(statement.redaction).toMatchObject({ applied: true, redactedActivityRecords: 1, redactedAuditRecords: 1 });
    expect(statement.redaction.reason).toContain('Art. 15(4)');

    const activity = jsonOf(files, 'OneDrive/Activity.json').value as any[];
    const theirs = activity.filter((a) => a.actor.user?.id === COLLEAGUE.user.id);
    const own = activity.filter((a) => a.actor.user?.id === user.userId);
    expect(theirs).toHaveLength(1);
    expect(theirs[0]).toMatchObject({ clientIp: null, userAgent: null, activityType: 'FileAccessed' });
    expect(own.length).toBeGreaterThan(0);
    for (const a of own) expect(a.clientIp).toBe('203.0.113.7');
    const csv = files.get('OneDrive/Activity.csv')!.body.toString('utf8');
    expect(csv).not.toContain('198.51.100.99');
    expect(csv).not.toContain('ColleagueBrowser');
    const audits = jsonOf(files, 'Directory/AuditLogs.json').value as any[];
    const byAdmin = audits.find((a) => a.initiatedBy.user?.userPrincipalName === 'admin@contoso.test');
    expect(byAdmin.initiatedBy.user.ipAddress).toBeNull();

    const dictionary = jsonOf(files, 'DataDictionary.json');
    const described = new Set((dictionary.files as any[]).map((f) => f.path));
    for (const path of files.keys()) expect(described.has(path.startsWith('OneDrive/Files/') ? 'OneDrive/Files/…' : path), path).toBe(true);
    const activityEntry = (dictionary.files as any[]).find((f) => f.path === 'OneDrive/Activity.json');
    expect(activityEntry.fields.find((f: any) => f.name === 'activityType').codes.FileAccessed).toMatch(/opened/);
    const readme = files.get('README.txt')!.body.toString('utf8');
    expect(readme).toContain('status.errorCode');
    expect(readme).toContain('50126: wrong user name or password');
    const index = files.get('index.html')!.body.toString('utf8');
    expect(index).toContain('Privacy statement (GDPR Art. 15)');
    expect(index).toContain('EDÖB');
    const manifest = jsonOf(files, 'manifest.json');
    expect(JSON.stringify(manifest)).toContain('PrivacyStatement.json');
    expect(JSON.stringify(manifest)).toContain('DataDictionary.json');
  });

  it('says plainly when no statement is set; a tenant may turn the redaction off', async () => {
    const plain = await subject();
    const files = await exportOf(plain);
    const statement = jsonOf(files, 'PrivacyStatement.json');
    expect(statement.statement).toBeNull();
    expect(statement.note).toMatch(/No privacy statement has been set/);
    expect(files.get('index.html')!.body.toString('utf8')).toContain('No privacy statement has been set');

    const open = await subject();
    await upsertPrivacyStatement(db, open.tenantId, { ...STATEMENT, redactOtherActors: false }, { application: { id: 'x', displayName: null } }, new Date());
    const kept = await exportOf(open);
    expect(jsonOf(kept, 'PrivacyStatement.json').redaction).toMatchObject({ applied: false, redactedActivityRecords: 0 });
    const theirs = (jsonOf(kept, 'OneDrive/Activity.json').value as any[]).find((a) => a.actor.user?.id === COLLEAGUE.user.id);
    expect(theirs).toMatchObject({ clientIp: '198.51.100.99', userAgent: 'ColleagueBrowser/1.0' });
  });
});
