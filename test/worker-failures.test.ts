import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { loadConfig } from '../src/config.ts';
import type { Db } from '../src/db/pool.ts';
import { systemResolver, type HostResolver } from '../src/export/guarded-agent.ts';
import { verifyPackage } from '../src/export/verify-package.ts';
import { createMetrics } from '../src/metrics.ts';
import { createContainerSas, startAzurite, type Azurite } from '../src/embedded/azurite.ts';
import { startWorker, type Worker } from '../src/worker/worker.ts';
import { createLocalContentStore } from '../src/content/local-content-store.ts';
import { queueExport, readContainer, seedUser, startStorageProxy, viaOrigin, waitFor, waitForStatus } from './support/export-fixtures.ts';
import { createTestDatabase, tempDir } from './support/harness.ts';

let db: Db;
let azurite: Azurite;
let flaky: Awaited<ReturnType<typeof startStorageProxy>>;
let dead: Awaited<ReturnType<typeof startStorageProxy>>;
let worker: Worker;
let trap: http.Server;
let trapPort: number;
let trapRequests = 0;
const metrics = createMetrics();
const store = createLocalContentStore(await tempDir('dsr-failures-content-'));

// Test DNS: names under .test resolve to loopback, as a rebinding attacker's would.
const resolve: HostResolver = async (hostname) => (hostname.endsWith('.test') ? [{ address: '127.0.0.1', family: 4 }] : systemResolver(hostname));

beforeAll(async () => {
  ({ db } = await createTestDatabase());
  azurite = await startAzurite();
  flaky = await startStorageProxy(azurite.origin);
  dead = await startStorageProxy(azurite.origin);
  // Stands in for an internal service: counts every request that reaches it.
  trap = http.createServer((_req, res) => {
    trapRequests++;
    res.writeHead(404, { 'x-ms-error-code': 'ContainerNotFound' }).end();
  });
  await new Promise<void>((r) => trap.listen(0, '127.0.0.1', r));
  trapPort = (trap.address() as { port: number }).port;
  const config = loadConfig({
    DSR_STORAGE_ALLOW: [azurite.origin, flaky.origin, dead.origin, `http://allowed.test:${trapPort}`].join(','),
    DSR_MAX_ATTEMPTS: '3',
  });
  worker = await startWorker({
    config,
    db,
    contentStore: store,
    metrics,
    pollIntervalMs: 100,
    resolve,
    retry: { baseMs: 50, maxMs: 200 },
    requestRetry: { tries: 2, baseMs: 10 },
  });
});

afterAll(async () => {
  await worker?.stop(1000);
  await flaky?.close();
  await dead?.close();
  await new Promise((r) => trap?.close(r));
  await azurite?.stop();
  await db?.end();
});

const name = (prefix: string) => `${prefix}-${randomUUID().slice(0, 8)}`;

async function exportTo(storageLocation: string, opts: { deleteUser?: boolean; files?: boolean } = {}) {
  const user = await seedUser(db, store, { files: opts.files === false ? [] : [{ path: 'a.txt', body: Buffer.from('alpha') }], signIns: 1, activities: 2 });
  if (opts.deleteUser) await db.query('delete from users where tenant_id = $1 and id = $2', [user.tenantId, user.userId]);
  const op = await queueExport(db, user, storageLocation, [new URL(storageLocation).origin]);
  worker.wake();
  return { user, op };
}

test('403 from storage: StorageLocationAccessDenied naming the missing permission', async () => {
  const sas = await createContainerSas(azurite, name('readonly'), { permissions: 'rl' });
  const { op } = await exportTo(sas);
  const row = await waitForStatus(db, op.id, ['complete', 'failed']);
  expect(row.status).toBe('failed');
  expect(row.error_code).toBe('StorageLocationAccessDenied');
  expect(row.error_message).toContain('create (c) and write (w)');
  expect(row.error_message).not.toContain('sig=');
  expect(row.storage_location).toMatch(/[?&]sig=REDACTED(&|$)/);
  expect(row.completed_at).not.toBeNull();
  expect(row.request_info_written).toBe(false);
  const audit = await db.query(
    `select result, result_reason from directory_audits where correlation_id = $1 and activity_display_name = 'Export personal data failed'`,
    [op.id],
  );
  expect(audit.rows).toEqual([{ result: 'failure', result_reason: 'StorageLocationAccessDenied' }]);
  expect((await db.query('select count(*)::int as n from content_pins where operation_id = $1', [op.id])).rows[0].n).toBe(0);
});

test('an expired SAS: StorageLocationExpired', async () => {
  const sas = await createContainerSas(azurite, name('expired'), { expiresInSeconds: 1 });
  const se = Date.parse(new URL(sas).searchParams.get('se')!);
  await waitFor(() => Date.now() > se + 50, { what: 'the SAS to expire' });
  const { op } = await exportTo(sas);
  const row = await waitForStatus(db, op.id, ['complete', 'failed']);
  expect([row.status, row.error_code]).toEqual(['failed', 'StorageLocationExpired']);
});

test('a container that is gone: StorageLocationNotFound', async () => {
  const sas = await createContainerSas(azurite, name('gone'), { create: false });
  const { op } = await exportTo(sas);
  const row = await waitForStatus(db, op.id, ['complete', 'failed']);
  expect([row.status, row.error_code]).toEqual(['failed', 'StorageLocationNotFound']);
});

test('a container that already holds RequestInfo.json: StorageLocationAlreadyUsed, nothing else written', async () => {
  const container = name('used');
  const sas = await createContainerSas(azurite, container);
  await azurite.service.getContainerClient(container).getBlockBlobClient('RequestInfo.json').upload('{"someone":"else"}', 18);
  const { op } = await exportTo(sas);
  const row = await waitForStatus(db, op.id, ['complete', 'failed']);
  expect([row.status, row.error_code]).toEqual(['failed', 'StorageLocationAlreadyUsed']);
  expect(row.request_info_written).toBe(false);
  const blobs = await readContainer(sas);
  expect([...blobs.keys()]).toEqual(['RequestInfo.json']);
  expect(blobs.get('RequestInfo.json')!.body.toString()).toBe('{"someone":"else"}');
});

test('a user deleted before the export ran: UserNotFound, storage untouched', async () => {
  const sas = await createContainerSas(azurite, name('nouser'));
  const { op } = await exportTo(sas, { deleteUser: true });
  const row = await waitForStatus(db, op.id, ['complete', 'failed']);
  expect([row.status, row.error_code]).toEqual(['failed', 'UserNotFound']);
  expect((await readContainer(sas)).size).toBe(0);
});

test('DNS rebinding: a blob host that resolves to loopback fails with InvalidStorageLocation and gets no byte', async () => {
  const sas = await createContainerSas(azurite, name('rebind'));
  const before = trapRequests;
  const { op } = await exportTo(viaOrigin(sas, `http://rebind.test:${trapPort}`));
  const row = await waitForStatus(db, op.id, ['complete', 'failed']);
  expect([row.status, row.error_code]).toEqual(['failed', 'InvalidStorageLocation']);
  expect(row.error_message).toContain('rebind.test');
  expect(trapRequests).toBe(before);

  // Control: the same resolver, an origin listed in DSR_STORAGE_ALLOW: the request does go out.
  const { op: allowed } = await exportTo(viaOrigin(sas, `http://allowed.test:${trapPort}`));
  const allowedRow = await waitForStatus(db, allowed.id, ['complete', 'failed']);
  expect(allowedRow.error_code).toBe('StorageLocationNotFound');
  expect(trapRequests).toBeGreaterThan(before);
});

test('an IP literal in a private range is refused by the worker too, before any connection', async () => {
  const { op } = await exportTo('https://10.1.2.3/c1?sv=2025-05-05&sr=c&sp=cw&se=2099-01-01T00:00:00Z&sig=abc');
  const row = await waitForStatus(db, op.id, ['complete', 'failed']);
  expect([row.status, row.error_code]).toEqual(['failed', 'InvalidStorageLocation']);
});

test('a transient storage outage is retried with backoff and the export completes', async () => {
  const sas = await createContainerSas(azurite, name('flaky'));
  const retriesBefore = (await metrics.storageRetries.get()).values.reduce((a, v) => a + v.value, 0);
  // 2 tries per request: 3 resets fail the first attempt; then 2 × 503 are absorbed by request retries.
  flaky.failNext(3, 'reset');
  const { op } = await exportTo(viaOrigin(sas, flaky.origin));
  await waitFor(async () => (await db.query('select attempts from data_policy_operations where id = $1', [op.id])).rows[0].attempts >= 1, { what: 'a retry' });
  flaky.failNext(2, 503);
  const row = await waitForStatus(db, op.id, ['complete', 'failed']);
  expect(row.error_code).toBeNull();
  expect(row.status).toBe('complete');
  expect(row.attempts).toBeGreaterThanOrEqual(1);
  expect((await metrics.storageRetries.get()).values.reduce((a, v) => a + v.value, 0)).toBeGreaterThan(retriesBefore);
  expect(await metrics.registry.metrics()).toMatch(/dsr_operation_retries_total\{cause="storage"\} [1-9]/);
  expect(await verifyPackage(sas)).toEqual([]);
});

test('storage that stays down: failed after DSR_MAX_ATTEMPTS with a clear message', async () => {
  const sas = await createContainerSas(azurite, name('down'));
  dead.failNext(1_000_000, 'reset');
  const { op } = await exportTo(viaOrigin(sas, dead.origin));
  const row = await waitForStatus(db, op.id, ['complete', 'failed']);
  expect(row.status).toBe('failed');
  expect(row.error_code).toBe('ServiceUnavailable');
  expect(row.error_message).toMatch(/did not finish after 3 attempts.*Storage could not be reached/);
  expect(row.attempts).toBe(2);
});
