import { ContainerClient } from '@azure/storage-blob';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { loadConfig, type Config } from '../src/config.ts';
import type { Db } from '../src/db/pool.ts';
import { verifyPackage } from '../src/export/verify-package.ts';
import { createMetrics, type Metrics } from '../src/metrics.ts';
import { createContainerSas, startAzurite, type Azurite } from '../src/embedded/azurite.ts';
import type { Worker, WorkerEvent } from '../src/worker/worker.ts';
import { createLocalContentStore } from '../src/content/local-content-store.ts';
import { operationRow, queueExport, seedUser, waitFor, waitForStatus } from './support/export-fixtures.ts';
import { workerFleet } from './support/workers.ts';
import { createTestDatabase, tempDir } from './support/harness.ts';

let db: Db;
let dbUrl: string;
let azurite: Azurite;
let config: Config;
const fleet = workerFleet();
const store = createLocalContentStore(await tempDir('dsr-resume-content-'));

beforeAll(async () => {
  ({ db, url: dbUrl } = await createTestDatabase());
  azurite = await startAzurite();
  // The shortest lease the configuration allows (3 s): a takeover after a crash waits that long.
  config = loadConfig({ DSR_STORAGE_ALLOW: azurite.origin, DSR_LEASE_SECONDS: '3', DSR_UPLOAD_CONCURRENCY: '1' });
});

afterAll(async () => {
  await fleet.stopAll();
  await azurite?.stop();
  await db?.end();
});

/** A worker with its own pool, as a separate process would have. */
function worker(opts: { onEvent?: (e: WorkerEvent) => void; pollIntervalMs?: number; metrics?: Metrics } = {}): Promise<Worker> {
  return fleet.start(dbUrl, { config, contentStore: store, pollIntervalMs: opts.pollIntervalMs ?? 100, onEvent: opts.onEvent, metrics: opts.metrics });
}

async function userWithFiles(n: number) {
  return seedUser(db, store, {
    files: Array.from({ length: n }, (_, i) => ({ path: `Docs/file-${i}.bin`, body: Buffer.alloc(40_000 + i, i) })),
    signIns: 2,
    activities: 3,
  });
}

async function etags(sas: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for await (const b of new ContainerClient(sas).listBlobsFlat()) out.set(b.name, b.properties.etag ?? '');
  return out;
}

async function donePaths(operationId: string): Promise<string[]> {
  const { rows } = await db.query<{ path: string }>('select path from export_files where operation_id = $1 and done order by seq', [operationId]);
  return rows.map((r) => r.path);
}

test('a worker that dies mid-export is replaced after its lease expires; finished files are not uploaded again', async () => {
  const user = await userWithFiles(8);
  const sas = await createContainerSas(azurite, `crash-${randomUUID().slice(0, 8)}`);
  const op = await queueExport(db, user, sas, [azurite.origin]);

  let uploaded = 0;
  let crashed: Promise<void> | undefined;
  const a: Worker = await worker({
    onEvent: (e) => {
      // Dies like a SIGKILLed process after its 5th file: no release, no further write.
      if (e.type === 'fileUploaded' && e.operationId === op.id && ++uploaded === 5) crashed = a.stopHard();
    },
  });
  a.wake();
  await waitFor(() => crashed !== undefined, { what: 'worker A to crash' });
  await crashed;

  const afterCrash = await operationRow(db, op.id);
  expect(afterCrash.status).toBe('running');
  expect(afterCrash.lease_owner).toBe(a.id);
  expect(afterCrash.lease_expires_at!.getTime()).toBeGreaterThan(Date.now() - 1000);
  expect(afterCrash.progress).toBeGreaterThan(0);
  expect(afterCrash.progress).toBeLessThan(100);
  const doneByA = await donePaths(op.id);
  expect(doneByA.length).toBeGreaterThanOrEqual(5);
  expect(doneByA[0]).toBe('RequestInfo.json');
  const tagsByA = await etags(sas);

  const uploadsByB: string[] = [];
  const b = await worker({
    onEvent: (e) => {
      if (e.type === 'fileUploaded' && e.operationId === op.id) uploadsByB.push(e.path);
    },
  });
  const done = await waitForStatus(db, op.id, ['complete', 'failed']);
  expect(done.status).toBe('complete');
  expect(done.lease_owner).toBeNull();
  // The takeover from a crashed owner counts as an attempt.
  expect(done.attempts).toBe(1);

  expect(uploadsByB.length).toBeGreaterThan(0);
  for (const path of doneByA) expect(uploadsByB).not.toContain(path);
  const tagsAfter = await etags(sas);
  for (const path of doneByA) expect(tagsAfter.get(path), path).toBe(tagsByA.get(path));
  expect(uploadsByB).toContain('manifest.json');
  expect(await verifyPackage(sas)).toEqual([]);
  await b.stop(500);
});

test('fencing: a worker whose lease was taken writes nothing more and another attempt finishes the export', async () => {
  const user = await userWithFiles(6);
  const sas = await createContainerSas(azurite, `fence-${randomUUID().slice(0, 8)}`);
  const op = await queueExport(db, user, sas, [azurite.origin]);
  const metrics = createMetrics();
  const events: WorkerEvent[] = [];
  let stolen: Promise<unknown> | undefined;
  const w = await worker({
    metrics,
    onEvent: (e) => {
      events.push(e);
      // Someone else holds the row now (as after a long pause past the lease): a new token.
      if (e.type === 'fileUploaded' && e.operationId === op.id && !stolen) {
        stolen = db.query('update data_policy_operations set lease_token = gen_random_uuid() where id = $1', [op.id]);
      }
    },
  });
  w.wake();
  await waitFor(() => events.some((e) => e.type === 'leaseLost' && e.operationId === op.id), { what: 'the lease loss' });
  expect((await metrics.leaseLosses.get()).values[0]!.value).toBe(1);
  const done = await waitForStatus(db, op.id, ['complete', 'failed']);
  expect(done.status).toBe('complete');
  expect(events.filter((e) => e.type === 'claimed' && e.operationId === op.id)).toHaveLength(2);
  expect(await verifyPackage(sas)).toEqual([]);
  await w.stop(500);
});

test('graceful stop (SIGTERM) releases the lease at once and another worker takes over immediately', async () => {
  const user = await userWithFiles(10);
  const sas = await createContainerSas(azurite, `term-${randomUUID().slice(0, 8)}`);
  const op = await queueExport(db, user, sas, [azurite.origin]);
  const events: WorkerEvent[] = [];
  let stopping: Promise<void> | undefined;
  const a: Worker = await worker({
    onEvent: (e) => {
      events.push(e);
      if (e.type === 'fileUploaded' && e.operationId === op.id && e.path.startsWith('Directory/') && !stopping) stopping = a.stop(10_000);
    },
  });
  a.wake();
  await waitFor(() => stopping !== undefined, { what: 'the stop to begin' });
  expect(a.draining()).toBe(true);
  await stopping;
  expect(events.some((e) => e.type === 'released' && e.operationId === op.id)).toBe(true);

  const released = await operationRow(db, op.id);
  expect(released.status).toBe('running');
  expect(released.lease_owner).toBeNull();
  expect((await db.query('select $1::timestamptz <= now() as expired', [released.lease_expires_at])).rows[0].expired).toBe(true);
  const doneByA = await donePaths(op.id);

  // A poll interval of a minute: only the immediate claim at start can pick the export up.
  const claimedByB: string[] = [];
  await worker({
    pollIntervalMs: 60_000,
    onEvent: (e) => {
      if (e.type === 'claimed') claimedByB.push(e.operationId);
    },
  });
  await waitFor(() => claimedByB.includes(op.id), { timeoutMs: 5000, what: 'worker B to claim at once' });
  const done = await waitForStatus(db, op.id, ['complete', 'failed']);
  expect(done.status).toBe('complete');
  // A graceful hand-over is not a failed attempt.
  expect(done.attempts).toBe(0);
  expect(doneByA.length).toBeGreaterThan(1);
  expect(await verifyPackage(sas)).toEqual([]);
});
