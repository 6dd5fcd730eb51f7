import { ContainerClient } from '@azure/storage-blob';
import { createHash, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { QuickXorHash } from '../src/content/quick-xor-hash.ts';
import { createLocalContentStore } from '../src/content/local-content-store.ts';
import type { Db } from '../src/db/pool.ts';
import { insertDirectoryAudit } from '../src/db/queries/directory-audits.ts';
import { auditRecord } from '../src/domain/directory-audit.ts';
import { verifyPackage } from '../src/export/verify-package.ts';
import { createMetrics } from '../src/metrics.ts';
import { createContainerSas, startAzurite, type Azurite } from '../src/embedded/azurite.ts';
import { startWorker, type Worker, type WorkerEvent } from '../src/worker/worker.ts';
import { queueExport, readContainer, REQUESTER, seedUser, startStorageProxy, viaOrigin, waitForStatus } from './support/export-fixtures.ts';
import { createTestDatabase, tempDir } from './support/harness.ts';

let db: Db;
let azurite: Azurite;
let proxy: Awaited<ReturnType<typeof startStorageProxy>>;
let worker: Worker;
const events: WorkerEvent[] = [];
const metrics = createMetrics();
const store = createLocalContentStore(await tempDir('dsr-export-content-'));

beforeAll(async () => {
  ({ db } = await createTestDatabase());
  azurite = await startAzurite();
  proxy = await startStorageProxy(azurite.origin);
  const config = loadConfig({ DSR_STORAGE_ALLOW: `${proxy.origin},${azurite.origin}`, DSR_UPLOAD_CONCURRENCY: '3' });
  // 1 MiB blocks so that a 2.5 MiB file goes up as staged blocks plus a commit.
  worker = await startWorker({ config, db, contentStore: store, metrics, pollIntervalMs: 200, blockSize: 1024 * 1024, onEvent: (e) => events.push(e) });
});

afterAll(async () => {
  await worker?.stop(1000);
  await proxy?.close();
  await azurite?.stop();
  await db?.end();
});

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const bytes = (n: number, seed: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + seed * 7) & 255));

test('a user with files, activity, sign-ins and audits gets the complete package (docs/architecture.md#package-layout)', async () => {
  const files = [
    { path: 'Docs/report.pdf', body: bytes(300_000, 1), mimeType: 'application/pdf' },
    { path: 'Docs/Notes: draft?.txt', body: Buffer.from('unsafe name\n'), mimeType: 'text/plain' },
    { path: 'Docs/notes_ draft_.txt', body: Buffer.from('collides after sanitising\n'), mimeType: 'text/plain' },
    { path: 'Photos/2026/big.bin', body: bytes(2_500_000, 2) },
    { path: 'empty.txt', body: Buffer.alloc(0), mimeType: 'text/plain' },
    { path: 'CON.txt', body: Buffer.from('reserved on Windows') },
    // Active content a browser would run on the storage origin, next to the SAS.
    { path: 'Web/report.html', body: Buffer.from('<script>alert(location.search)</script>'), mimeType: 'text/html' },
    { path: 'Web/logo.svg', body: Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'), mimeType: 'image/svg+xml' },
  ];
  const user = await seedUser(db, store, { files, signIns: 3, activities: 12 });
  await insertDirectoryAudit(
    db,
    auditRecord({
      tenantId: user.tenantId,
      now: new Date('2026-01-02T03:04:05Z'),
      activity: 'Add user',
      operationType: 'Add',
      requester: REQUESTER,
      ipAddress: null,
      target: { id: user.userId, userPrincipalName: user.upn },
    }),
  );
  // A user agent and an app name that a spreadsheet would run as formulas.
  await db.query(
    `update drive_activities set user_agent = '=HYPERLINK("https://evil.test","x")'
                  where id = (select id from drive_activities where user_id = $1 order by id limit 1)`,
    [user.userId],
  );
  await db.query(
    `update sign_ins set data = jsonb_set(data, '{appDisplayName}', '"@SUM(1+1)"')
                  where id = (select id from sign_ins where user_id = $1 order by id limit 1)`,
    [user.userId],
  );
  const sas = await createContainerSas(azurite, `pkg-${randomUUID().slice(0, 8)}`);
  const viaProxy = viaOrigin(sas, proxy.origin);
  const op = await queueExport(db, user, viaProxy, [proxy.origin]);
  worker.wake();

  const done = await waitForStatus(db, op.id, ['complete', 'failed']);
  expect(done.error_message ?? '').toBe('');
  expect(done.status).toBe('complete');
  expect(done.progress).toBe(100);
  expect(done.completed_at).not.toBeNull();
  expect(done.request_info_written).toBe(true);
  expect(done.bytes_written).toBe(done.bytes_planned);
  // The write credential is not kept once the export has ended; the rest of the URL is.
  expect(done.storage_location).not.toContain(encodeURIComponent(new URL(viaProxy).searchParams.get('sig')!));
  expect(done.storage_location).toBe(viaProxy.replace(/([?&]sig=)[^&]+/, '$1REDACTED'));

  const blobs = await readContainer(sas);
  const names = [...blobs.keys()].sort();
  for (const path of [
    'RequestInfo.json',
    'Directory/User.json',
    'Directory/SignIns.json',
    'Directory/SignIns.csv',
    'Directory/AuditLogs.json',
    'OneDrive/DriveItems.json',
    'OneDrive/Activity.json',
    'OneDrive/Activity.csv',
    'OneDrive/UsageReport.csv',
    'index.html',
    'manifest.json',
    'Directory/ExportRequests.json',
    'OneDrive/ActivityOnOtherDrives.json',
    'OneDrive/ActivityOnOtherDrives.csv',
  ]) {
    expect(names).toContain(path);
  }

  // Every drive file, byte for byte, where DriveItems.json says it is.
  const driveItems = JSON.parse(blobs.get('OneDrive/DriveItems.json')!.body.toString('utf8')).value as Record<string, any>[];
  for (const f of files) {
    const item = driveItems.find((i) => i.id === user.itemIds.get(f.path));
    expect(item, f.path).toBeDefined();
    expect(item!.packagePath.startsWith('OneDrive/Files/')).toBe(true);
    expect(item!.file.hashes.sha256Hash).toBe(sha(f.body).toUpperCase());
    expect(item!.file.hashes.quickXorHash).toBe(new QuickXorHash().update(f.body).digest());
    const blob = blobs.get(item!.packagePath);
    expect(blob, item!.packagePath).toBeDefined();
    expect(blob!.body.equals(f.body)).toBe(true);
  }
  const placed = new Map(driveItems.map((i) => [i.name, i.packagePath as string]));
  expect(placed.get('Notes: draft?.txt')).toBe('OneDrive/Files/Docs/Notes_ draft_.txt');
  expect(placed.get('notes_ draft_.txt')).toBe('OneDrive/Files/Docs/notes_ draft_ (2).txt');
  expect(placed.get('CON.txt')).toBe('OneDrive/Files/_CON.txt');
  expect(driveItems.find((i) => i.name === 'big.bin')!.parentReference.path).toBe('/drive/root:/Photos/2026');
  expect(driveItems.find((i) => i.name === 'root')!.root).toEqual({});

  // manifest.json: every other file with size, SHA-256 and content type; nothing else but its own
  // signature, manifest.json.jws.
  expect(blobs.get('manifest.json.jws')!.contentType).toBe('application/jose');
  const manifest = JSON.parse(blobs.get('manifest.json')!.body.toString('utf8'));
  expect(manifest.schemaVersion).toBe('1.0');
  expect(manifest.operation.id).toBe(op.id);
  expect(manifest.generatedDateTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
  expect(manifest.files.map((f: { path: string }) => f.path).sort()).toEqual(names.filter((n) => n !== 'manifest.json' && n !== 'manifest.json.jws'));
  for (const f of manifest.files as { path: string; size: number; sha256: string; contentType: string }[]) {
    const blob = blobs.get(f.path)!;
    expect(blob.body.length, f.path).toBe(f.size);
    expect(sha(blob.body), f.path).toBe(f.sha256);
    expect(blob.contentType, f.path).toBe(f.contentType);
  }
  expect(manifest.totals).toMatchObject({ driveFiles: 8, signIns: 3, activities: 12, directoryAudits: 2, files: manifest.files.length });

  // Drive files are downloads with a type no browser runs: read back from the storage itself.
  const container = new ContainerClient(sas);
  for (const f of files) {
    const packagePath = driveItems.find((i) => i.id === user.itemIds.get(f.path))!.packagePath as string;
    const props = await container.getBlobClient(packagePath).getProperties();
    expect(props.contentDisposition, f.path).toBe('attachment');
    const expectedType = f.mimeType === 'application/pdf' || f.mimeType === 'text/plain' ? f.mimeType : 'application/octet-stream';
    expect(props.contentType, f.path).toBe(expectedType);
  }
  // The package's own files are not attachments: index.html opens as a page, JSON and CSV as data.
  expect((await container.getBlobClient('index.html').getProperties()).contentDisposition).toBeUndefined();

  // The subject's export requests, this one as it stood at the snapshot, without the SAS query.
  const requests = JSON.parse(blobs.get('Directory/ExportRequests.json')!.body.toString('utf8'));
  expect(requests['@odata.context']).toMatch(/\$metadata#dataPolicyOperations$/);
  expect(requests.value).toEqual([expect.objectContaining({ id: op.id, status: 'running', storageLocation: viaProxy.slice(0, viaProxy.indexOf('?')) })]);

  const requestInfo = JSON.parse(blobs.get('RequestInfo.json')!.body.toString('utf8'));
  expect(requestInfo).toMatchObject({ operationId: op.id, tenantId: user.tenantId, userId: user.userId, userPrincipalName: user.upn, schemaVersion: '1.0' });
  expect(requestInfo.requestedBy.appId).toBe(REQUESTER.appId);

  const userJson = JSON.parse(blobs.get('Directory/User.json')!.body.toString('utf8'));
  expect(userJson).toMatchObject({ id: user.userId, userPrincipalName: user.upn, jobTitle: 'Engineer', createdDateTime: '2026-01-02T03:04:05Z' });

  const signInsCsv = blobs.get('Directory/SignIns.csv')!.body.toString('utf8');
  expect(signInsCsv.split('\r\n')[0]).toMatch(/^id,createdDateTime,userPrincipalName,/);
  expect(signInsCsv.split('\r\n').length).toBe(3 + 2);
  expect(signInsCsv).toContain('"Outlook, mobile"');
  expect(JSON.parse(blobs.get('Directory/SignIns.json')!.body.toString('utf8')).value).toHaveLength(3);
  expect(JSON.parse(blobs.get('Directory/AuditLogs.json')!.body.toString('utf8')).value[0].activityDisplayName).toBe('Add user');

  const activityCsv = blobs.get('OneDrive/Activity.csv')!.body.toString('utf8');
  expect(activityCsv).toContain('"Mozilla/5.0 (X11, ""quoted"")"');
  // Formula cells are neutralised with a leading apostrophe, and index.html says so.
  expect(activityCsv).toContain(`"'=HYPERLINK(""https://evil.test"",""x"")"`);
  expect(activityCsv).not.toMatch(/(^|,)"?=HYPERLINK/m);
  expect(signInsCsv).toContain(",'@SUM(1+1),");
  expect(JSON.parse(blobs.get('OneDrive/Activity.json')!.body.toString('utf8')).value).toHaveLength(12);
  const usage = blobs.get('OneDrive/UsageReport.csv')!.body.toString('utf8').trimEnd().split('\r\n');
  expect(usage[0]).toBe('Report Date,FileUploaded,FileModified,FileAccessed,FileDownloaded,FileDeleted,FolderCreated,Other,Total');
  expect(usage.slice(1).reduce((a, line) => a + Number(line.split(',').pop()), 0)).toBe(12);

  const index = blobs.get('index.html')!.body.toString('utf8');
  expect(blobs.get('index.html')!.contentType).toMatch(/^text\/html/);
  expect(index).toContain('<svg');
  expect(index).toContain('location.search');
  expect(index).toContain('href="Directory/SignIns.csv"');
  expect(index).toContain('href="OneDrive/Files/Docs/Notes_%20draft_.txt"');
  expect(index).toContain('Adele &quot;AV&quot; Vance, &lt;b&gt;');
  expect(index).not.toContain('<b>');
  expect(index).toContain('leading apostrophe');

  // No secret in the package: the SAS signature appears in no file.
  const sig = new URL(sas).searchParams.get('sig')!;
  for (const [name, blob] of blobs) {
    expect(blob.body.includes(Buffer.from(sig)), name).toBe(false);
    expect(blob.body.includes(Buffer.from(encodeURIComponent(sig))), name).toBe(false);
  }

  // RequestInfo.json first, with If-None-Match: *; manifest.json last.
  const writes = proxy.requests.filter((r) => r.method === 'PUT' && r.path.includes(new URL(sas).pathname));
  expect(writes[0]!.path.endsWith('/RequestInfo.json')).toBe(true);
  expect(writes[0]!.headers['if-none-match']).toBe('*');
  expect(writes[writes.length - 1]!.path.endsWith('/manifest.json')).toBe(true);
  expect(writes.filter((r) => r.path.endsWith('/manifest.json'))).toHaveLength(1);
  // The 2.5 MiB file went up as 1 MiB blocks and a block list.
  expect(writes.filter((r) => r.path.endsWith('/big.bin')).length).toBe(4);

  // Ended cleanly: pins gone, snapshot bodies dropped, an audit written.
  expect((await db.query('select count(*)::int as n from content_pins where operation_id = $1', [op.id])).rows[0].n).toBe(0);
  expect((await db.query('select count(*)::int as n from export_files where operation_id = $1 and body is not null', [op.id])).rows[0].n).toBe(0);
  const audits = await db.query(`select * from directory_audits where correlation_id = $1 and activity_display_name = 'Export personal data completed'`, [
    op.id,
  ]);
  expect(audits.rowCount).toBe(1);
  expect(audits.rows[0].target_user_id).toBe(user.userId);

  expect(await verifyPackage(sas)).toEqual([]);
  expect(events.filter((e) => e.type === 'fileUploaded' && e.operationId === op.id)).toHaveLength(manifest.files.length + 2); // and manifest.json, manifest.json.jws

  const text = await metrics.registry.metrics();
  expect(text).toMatch(/dsr_export_bytes_written_total \d+/);
  expect(text).toMatch(/dsr_export_duration_seconds_count\{status="complete"\} 1/);
});

test('a user with nothing but a profile still gets a complete, verifiable package', async () => {
  const user = await seedUser(db, store, {});
  const sas = await createContainerSas(azurite, `empty-${randomUUID().slice(0, 8)}`);
  const op = await queueExport(db, user, sas, [azurite.origin]);
  worker.wake();
  const done = await waitForStatus(db, op.id, ['complete', 'failed']);
  expect(done.status).toBe('complete');
  const blobs = await readContainer(sas);
  expect([...blobs.keys()].filter((n) => n.startsWith('OneDrive/Files/'))).toEqual([]);
  expect(blobs.get('index.html')!.body.toString('utf8')).toContain('The drive holds no files.');
  expect(await verifyPackage(sas)).toEqual([]);
});
