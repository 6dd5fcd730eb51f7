import { createHash, randomUUID } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { loadConfig } from '../src/config.ts';
import type { ContentStore } from '../src/content/content-store.ts';
import { createLocalContentStore } from '../src/content/local-content-store.ts';
import type { Db } from '../src/db/pool.ts';
import { verifyPackage } from '../src/export/verify-package.ts';
import { createMetrics } from '../src/metrics.ts';
import { createContainerSas, startAzurite, type Azurite } from '../src/embedded/azurite.ts';
import type { WorkerEvent } from '../src/worker/run-export.ts';
import { startWorker, type Worker } from '../src/worker/worker.ts';
import { queueExport, readContainer, seedUser, waitForStatus } from './support/export-fixtures.ts';
import { createTestDatabase, tempDir } from './support/harness.ts';

// The service's own content store failing under an export: a body that no longer matches its
// hash, or that is gone, must fail the export rather than deliver a wrong package; a read error
// is the store's hiccup and is retried.

let db: Db;
let azurite: Azurite;
let worker: Worker;
let contentDir: string;
let store: ContentStore;
// Shas whose next reads fail with EIO, and how many times: a fault injected in front of the real
// local store (the one stand-in here; the store itself and its files are real).
const failingReads = new Map<string, number>();
const events: WorkerEvent[] = [];

beforeAll(async () => {
  ({ db } = await createTestDatabase());
  azurite = await startAzurite();
  contentDir = await tempDir('dsr-content-faults-');
  const real = createLocalContentStore(contentDir);
  const fail = (sha256: string) => {
    const left = failingReads.get(sha256) ?? 0;
    if (left === 0) return;
    failingReads.set(sha256, left - 1);
    throw Object.assign(new Error(`EIO: i/o error, read ${sha256}`), { code: 'EIO' });
  };
  store = {
    ...real,
    get: async (sha256, range) => {
      fail(sha256);
      return real.get(sha256, range);
    },
    open: async (sha256) => {
      fail(sha256);
      return real.open!(sha256);
    },
  };
  worker = await startWorker({
    config: loadConfig({ DSR_STORAGE_ALLOW: azurite.origin, DSR_MAX_ATTEMPTS: '3' }),
    db,
    contentStore: store,
    metrics: createMetrics(),
    pollIntervalMs: 100,
    retry: { baseMs: 50, maxMs: 200 },
    requestRetry: { tries: 2, baseMs: 10 },
    onEvent: (e) => events.push(e),
  });
});

afterAll(async () => {
  await worker?.stop(1000);
  await azurite?.stop();
  await db?.end();
});

const sha = (body: Buffer) => createHash('sha256').update(body).digest('hex');
const fileOf = (sha256: string) => path.join(contentDir, sha256.slice(0, 2), sha256.slice(2, 4), sha256);

async function exportWith(body: Buffer, beforeRun: (sha256: string) => Promise<void> | void) {
  const user = await seedUser(db, store, {
    files: [
      { path: 'Docs/a.bin', body },
      { path: 'Docs/b.txt', body: Buffer.from(`b-${randomUUID()}`) },
    ],
  });
  await beforeRun(sha(body));
  const sas = await createContainerSas(azurite, `cf-${randomUUID().slice(0, 8)}`);
  const op = await queueExport(db, user, sas, [azurite.origin]);
  worker.wake();
  return { op, sas, row: await waitForStatus(db, op.id, ['complete', 'failed'], 30_000) };
}

test('a body that no longer matches its hash fails the export; no manifest is written', async () => {
  const body = Buffer.from(`original-${randomUUID()}`);
  const { row, sas } = await exportWith(body, (s) => writeFile(fileOf(s), Buffer.alloc(body.length, 0x78)));
  expect([row.status, row.error_code]).toEqual(['failed', 'InternalServerError']);
  expect(row.error_message).toMatch(/does not match its recorded hash/);
  const blobs = await readContainer(sas);
  expect(blobs.has('manifest.json')).toBe(false);
  // The corrupt body was never committed under the file's name.
  expect([...blobs.keys()].filter((name) => name.endsWith('/a.bin'))).toEqual([]);
});

test('a body missing from the store fails the export with that reason', async () => {
  const body = Buffer.from(`gone-${randomUUID()}`);
  const { row, sas } = await exportWith(body, (s) => rm(fileOf(s)));
  expect([row.status, row.error_code]).toEqual(['failed', 'InternalServerError']);
  expect(row.error_message).toMatch(/missing from the content store/);
  expect((await readContainer(sas)).has('manifest.json')).toBe(false);
});

test('read errors of the store are retried: the export completes and verifies', async () => {
  const body = Buffer.from(`flaky-${randomUUID()}`);
  const { row, op, sas } = await exportWith(body, (s) => {
    failingReads.set(s, 1);
  });
  expect(row.status).toBe('complete');
  expect(row.attempts).toBe(1);
  expect(failingReads.get(sha(body))).toBe(0);
  expect(events.filter((e) => e.operationId === op.id && e.type === 'retryScheduled').map((e) => (e as { message: string }).message)).toEqual([
    'The content store could not be read.',
  ]);
  expect(await verifyPackage(sas)).toEqual([]);
});
