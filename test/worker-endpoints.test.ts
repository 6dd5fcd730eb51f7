import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createLocalContentStore } from '../src/content/local-content-store.ts';
import type { Db } from '../src/db/pool.ts';
import { notifyOperationsQueued } from '../src/db/queries/operations.ts';
import { verifyPackage } from '../src/export/verify-package.ts';
import { buildOpsApp } from '../src/http/ops-app.ts';
import { createMetrics } from '../src/metrics.ts';
import { createContainerSas, startAzurite, type Azurite } from '../src/embedded/azurite.ts';
import { queueExport, seedUser, waitFor, waitForStatus } from './support/export-fixtures.ts';
import { createTestDatabase, tempDir } from './support/harness.ts';
import { killAllChildren, spawnDsr } from '../bench/support/processes.ts';
import { sample } from './support/prometheus.ts';

let db: Db;
let dbUrl: string;
let azurite: Azurite;

beforeAll(async () => {
  ({ db, url: dbUrl } = await createTestDatabase());
  azurite = await startAzurite();
});

afterAll(async () => {
  await killAllChildren();
  await azurite?.stop();
  await db?.end();
});

test('the worker endpoints: health, readiness that turns 503 while draining, metrics, and nothing else', async () => {
  let draining = false;
  const app = buildOpsApp({ db, metrics: createMetrics(), draining: () => draining });
  try {
    expect((await app.inject({ url: '/healthz' })).json()).toEqual({ status: 'ok' });
    const ready = await app.inject({ url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toMatchObject({ status: 'ready', database: true, migrations: true, draining: false });
    draining = true;
    const drained = await app.inject({ url: '/readyz' });
    expect(drained.statusCode).toBe(503);
    expect(drained.json()).toMatchObject({ status: 'not ready', draining: true });

    const metrics = await app.inject({ url: '/metrics' });
    expect(metrics.headers['content-type']).toMatch(/^text\/plain/);
    expect(sample(metrics.body, 'dsr_queue_depth')).toBeGreaterThanOrEqual(0);
    expect(metrics.body).toContain('# TYPE dsr_export_bytes_written_total counter');
    // No Graph route on this port: it has no authentication in front of it.
    expect((await app.inject({ url: '/v1.0/users' })).statusCode).toBe(404);
  } finally {
    await app.close();
  }
});

test('`dsr-export worker --port 0` serves its own export metrics, and stops cleanly on SIGTERM', async () => {
  const dataDir = await tempDir('dsr-worker-endpoints-');
  const store = createLocalContentStore(`${dataDir}/content`);
  const user = await seedUser(db, store, {
    files: [
      { path: 'Docs/a.txt', body: Buffer.from('hello') },
      { path: 'Docs/b.bin', body: Buffer.alloc(70_000, 7) },
    ],
  });
  const proc = spawnDsr(['worker', '--port', '0'], {
    DSR_DATABASE_URL: dbUrl,
    DSR_DATA_DIR: dataDir,
    DSR_STORAGE_ALLOW: azurite.origin,
  });
  const url = (await proc.waitForLine(/dsr-export worker endpoints on (http:\/\/\S+)/))[1]!;
  await proc.waitForLine(/"msg":"worker started"/);

  const before = await (await fetch(`${url}/metrics`)).text();
  expect(sample(before, 'dsr_export_files_written_total')).toBe(0);

  const sas = await createContainerSas(azurite, `endpoints-${randomUUID().slice(0, 8)}`);
  const op = await queueExport(db, user, sas, [azurite.origin]);
  await notifyOperationsQueued(db);
  expect((await waitForStatus(db, op.id, ['complete', 'failed'])).status).toBe('complete');
  expect(await verifyPackage(sas)).toEqual([]);

  const after = await (await fetch(`${url}/metrics`)).text();
  // Every file of the package, RequestInfo.json and manifest.json included, counted by this process.
  const files = Number((await db.query<{ n: string }>('select count(*) as n from export_files where operation_id = $1', [op.id])).rows[0]!.n);
  expect(sample(after, 'dsr_export_files_written_total')).toBe(files);
  expect(sample(after, 'dsr_export_bytes_written_total')).toBeGreaterThan(70_005);
  expect(sample(after, 'dsr_export_duration_seconds_count{status="complete"}')).toBe(1);
  // The queue gauges are read at most every few seconds: the first scrape's may still be served.
  await waitFor(async () => (sample(await (await fetch(`${url}/metrics`)).text(), 'dsr_operations{status="complete"}') ?? 0) >= 1, {
    timeoutMs: 20_000,
    intervalMs: 250,
    what: 'the queue gauges to show the completed export',
  });
  expect((await fetch(`${url}/readyz`)).status).toBe(200);

  proc.kill('SIGTERM');
  expect(await proc.exited).toEqual({ code: 0, signal: null });
});
