import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { createLocalContentStore } from '../src/content/local-content-store.ts';
import type { Db } from '../src/db/pool.ts';
import { verifyPackage } from '../src/export/verify-package.ts';
import { createMetrics } from '../src/metrics.ts';
import { createContainerSas, startAzurite, type Azurite } from '../src/embedded/azurite.ts';
import { startWorker, type Worker } from '../src/worker/worker.ts';
import { queueExport, readContainer, seedUser, startStorageProxy, viaOrigin, waitForStatus } from './support/export-fixtures.ts';
import { createTestDatabase, tempDir } from './support/harness.ts';

// Edges of resuming an export: RequestInfo.json stored while its answer was lost (so it was never
// checkpointed), and an export whose attempts repeated crashes used up.

const MAX_ATTEMPTS = 3;
let db: Db;
let azurite: Azurite;
let proxy: Awaited<ReturnType<typeof startStorageProxy>>;
let worker: Worker;
const store = createLocalContentStore(await tempDir('dsr-resume-edges-'));

beforeAll(async () => {
  ({ db } = await createTestDatabase());
  azurite = await startAzurite();
  proxy = await startStorageProxy(azurite.origin);
  worker = await startWorker({
    config: loadConfig({ DSR_STORAGE_ALLOW: [azurite.origin, proxy.origin].join(','), DSR_MAX_ATTEMPTS: String(MAX_ATTEMPTS) }),
    db,
    contentStore: store,
    metrics: createMetrics(),
    pollIntervalMs: 100,
    retry: { baseMs: 50, maxMs: 200 },
    requestRetry: { tries: 2, baseMs: 10 },
  });
});

afterAll(async () => {
  await worker?.stop(1000);
  await proxy?.close();
  await azurite?.stop();
  await db?.end();
});

const seed = () => seedUser(db, store, { files: [{ path: 'a.txt', body: Buffer.from(`alpha-${randomUUID()}`) }], signIns: 1, activities: 2 });

test('RequestInfo.json stored but its answer lost: the retry finds its own file, not a conflict, and completes', async () => {
  const user = await seed();
  const sas = viaOrigin(await createContainerSas(azurite, `ri-${randomUUID().slice(0, 8)}`), proxy.origin);
  proxy.loseAnswerOnce('PUT', /\/RequestInfo\.json$/);
  const op = await queueExport(db, user, sas, [proxy.origin]);
  worker.wake();
  const row = await waitForStatus(db, op.id, ['complete', 'failed'], 30_000);
  expect([row.status, row.error_code]).toEqual(['complete', null]);
  const puts = proxy.requests.filter((r) => r.method === 'PUT' && r.path.endsWith('/RequestInfo.json'));
  // Stored by the first PUT (answer lost), then met again with If-None-Match: * (409).
  expect(puts.length).toBeGreaterThanOrEqual(2);
  expect(await verifyPackage(sas)).toEqual([]);
});

test(`attempts used up by repeated crashes: the next claim fails the export instead of trying a ${MAX_ATTEMPTS + 1}th time`, async () => {
  const user = await seed();
  const container = `crashes-${randomUUID().slice(0, 8)}`;
  const sas = await createContainerSas(azurite, container);
  const op = await queueExport(db, user, sas, [azurite.origin]);
  // As a worker that died mid-export leaves it, after MAX_ATTEMPTS - 1 earlier takeovers.
  await db.query(
    `update data_policy_operations
     set status = 'running', lease_owner = 'crashed-host:1:deadbeef', lease_token = gen_random_uuid(),
         lease_expires_at = now() - interval '1 second', attempts = $2
     where id = $1`,
    [op.id, MAX_ATTEMPTS - 1],
  );
  worker.wake();
  const row = await waitForStatus(db, op.id, ['complete', 'failed'], 30_000);
  expect([row.status, row.error_code]).toEqual(['failed', 'ServiceUnavailable']);
  expect(row.attempts).toBe(MAX_ATTEMPTS);
  expect(row.error_message).toMatch(new RegExp(`did not finish after ${MAX_ATTEMPTS} attempts.*stopped without finishing`));
  expect([...(await readContainer(sas)).keys()]).toEqual([]);
});
