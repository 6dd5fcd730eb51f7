import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { verifyPackage } from '../src/export/verify-package.ts';
import { createMetrics } from '../src/metrics.ts';
import { createContainerSas, startAzurite, type Azurite } from '../src/embedded/azurite.ts';
import type { Worker, WorkerEvent } from '../src/worker/worker.ts';
import { createLocalContentStore } from '../src/content/local-content-store.ts';
import { queueExport, seedUser, waitFor, waitForStatus } from './support/export-fixtures.ts';
import { workerFleet } from './support/workers.ts';
import { createTestApp, tempDir, type TestApp } from './support/harness.ts';

let t: TestApp;
let azurite: Azurite;
const fleet = workerFleet();
const store = createLocalContentStore(await tempDir('dsr-queue-content-'));

beforeAll(async () => {
  azurite = await startAzurite();
  t = await createTestApp({ DSR_STORAGE_ALLOW: azurite.origin, DSR_WORKER_CONCURRENCY: '8', DSR_UPLOAD_CONCURRENCY: '4', DSR_METRICS_TOKEN: 'metrics-token' });
});

afterAll(async () => {
  await fleet.stopAll(1000);
  await t?.close();
  await azurite?.stop();
});

function worker(opts: { onEvent?: (e: WorkerEvent) => void; pollIntervalMs?: number; metrics?: ReturnType<typeof createMetrics> } = {}): Promise<Worker> {
  return fleet.start(
    t.dbUrl,
    { config: t.config, contentStore: store, onEvent: opts.onEvent, pollIntervalMs: opts.pollIntervalMs ?? 250, metrics: opts.metrics },
    12,
  );
}

test('an idle worker is woken by the POST (LISTEN/NOTIFY), and GET and /metrics show the result', async () => {
  const metrics = createMetrics();
  const claimed: string[] = [];
  // No poll before the test's own timeout: a claim at all can only come from the NOTIFY.
  const w = await worker({
    pollIntervalMs: 3_600_000,
    metrics,
    onEvent: (e) => {
      if (e.type === 'claimed') claimed.push(e.operationId);
    },
  });
  const tenant = randomUUID();
  const user = await seedUser(t.db, store, { tenantId: tenant, files: [{ path: 'a.txt', body: Buffer.from('hello') }] });
  const sas = await createContainerSas(azurite, `wake-${randomUUID().slice(0, 8)}`);
  const token = await t.appToken(tenant, ['User.Export.All', 'User.Read.All']);
  const post = await t.app.inject({
    method: 'POST',
    url: `/v1.0/users/${user.userId}/exportPersonalData`,
    headers: { authorization: `Bearer ${token}` },
    payload: { storageLocation: sas },
  });
  expect(post.statusCode).toBe(202);
  const id = post.headers.location!.split('/').pop()!;
  await waitFor(() => claimed.includes(id), { timeoutMs: 30_000, intervalMs: 5, what: 'the NOTIFY to wake the worker' });

  await waitForStatus(t.db, id, ['complete', 'failed']);
  const get = await t.app.inject({ method: 'GET', url: `/v1.0/dataPolicyOperations/${id}`, headers: { authorization: `Bearer ${token}` } });
  expect(get.json()).toMatchObject({ id, status: 'complete', progress: 100, userId: user.userId });
  expect(get.json().completedDateTime).toMatch(/Z$/);
  expect(await verifyPackage(sas)).toEqual([]);
  await w.stop(500);

  const scrape = await t.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: 'Bearer metrics-token' } });
  expect(scrape.statusCode).toBe(200);
  expect(scrape.headers['content-type']).toMatch(/^text\/plain/);
  expect(scrape.body).toMatch(/dsr_operations\{status="complete"\} [1-9]/);
  expect(scrape.body).toMatch(/dsr_queue_depth \d+/);
  expect(scrape.body).toMatch(/dsr_queue_oldest_waiting_seconds \d/);
  expect(scrape.body).toMatch(/dsr_http_request_duration_seconds_count\{method="POST",route="\/v1.0\/users\/:user\/exportPersonalData",status_code="202"\} 1/);
  expect(scrape.body).toContain('dsr_worker_lease_losses_total');
  expect(scrape.body).toContain('dsr_storage_retries_total');
  expect(scrape.body).toContain('dsr_export_bytes_written_total');
  // The worker's own registry (shared with the app in `serve`) has the export's numbers.
  expect(await metrics.registry.metrics()).toMatch(/dsr_export_duration_seconds_count\{status="complete"\} 1/);
});

test('two workers on one database process each of 200 queued operations exactly once', async () => {
  const user = await seedUser(t.db, store, { files: [{ path: 'f.txt', body: Buffer.from('tiny') }] });
  const ops: string[] = [];
  const containers: string[] = [];
  for (let i = 0; i < 200; i++) {
    const name = `q${i}-${randomUUID().slice(0, 8)}`;
    const sas = await createContainerSas(azurite, name);
    containers.push(sas);
    ops.push((await queueExport(t.db, user, sas, [azurite.origin])).id);
  }
  const wanted = new Set(ops);
  const claims = new Map<string, string[]>();
  const completions: string[] = [];
  const onEvent = (e: WorkerEvent) => {
    if (!wanted.has(e.operationId)) return;
    if (e.type === 'claimed') claims.set(e.operationId, [...(claims.get(e.operationId) ?? []), e.workerId]);
    if (e.type === 'completed') completions.push(e.operationId);
  };
  const [a, b] = [await worker({ onEvent }), await worker({ onEvent })];
  await waitFor(
    async () => {
      const { rows } = await t.db.query<{ n: number }>(
        `select count(*)::int as n from data_policy_operations where id = any($1) and status in ('complete', 'failed')`,
        [ops],
      );
      return rows[0]!.n === ops.length;
    },
    { timeoutMs: 80_000, intervalMs: 200, what: 'all 200 operations to end' },
  );

  const { rows } = await t.db.query<{ status: string; n: number }>(
    'select status, count(*)::int as n from data_policy_operations where id = any($1) group by status',
    [ops],
  );
  expect(rows).toEqual([{ status: 'complete', n: 200 }]);
  expect(claims.size).toBe(200);
  for (const [, by] of claims) expect(by).toHaveLength(1);
  expect(completions.sort()).toEqual([...ops].sort());
  const byWorker = (id: string) => [...claims.values()].filter((by) => by[0] === id).length;
  expect(byWorker(a.id) + byWorker(b.id)).toBe(200);
  expect(byWorker(a.id)).toBeGreaterThan(0);
  expect(byWorker(b.id)).toBeGreaterThan(0);
  const audits = await t.db.query<{ n: number }>(
    `select count(*)::int as n from directory_audits where correlation_id = any($1) and activity_display_name = 'Export personal data completed'`,
    [ops],
  );
  expect(audits.rows[0]!.n).toBe(200);
  for (const sas of [containers[0]!, containers[99]!, containers[199]!]) expect(await verifyPackage(sas)).toEqual([]);
}, 90_000);
