import { ContainerClient } from '@azure/storage-blob';
import { randomUUID } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { loadConfig, type Config } from '../src/config.ts';
import { createLocalContentStore } from '../src/content/local-content-store.ts';
import type { Db } from '../src/db/pool.ts';
import { verifyPackage } from '../src/export/verify-package.ts';
import { createContainerSas, startAzurite, type Azurite } from '../src/embedded/azurite.ts';
import type { Worker } from '../src/worker/worker.ts';
import { operationRow, queueExport, waitFor, waitForStatus } from './support/export-fixtures.ts';
import { workerFleet } from './support/workers.ts';
import { createTestDatabase, tempDir } from './support/harness.ts';
import { seedHeavySubject } from './support/heavy-seed.ts';

// A worker killed in the middle of a large section (20,000 sign-ins: Directory/SignIns.json is
// ~5 MiB, streamed into the content store and uploaded in 1 MiB blocks), once while the section
// is being rendered and once while it is being uploaded. Another worker takes over after the
// 3 s lease; the package is complete and verifies.

let db: Db;
let dbUrl: string;
let azurite: Azurite;
let config: Config;
const fleet = workerFleet();
const contentRoot = await tempDir('dsr-resume-sections-');
const store = createLocalContentStore(contentRoot);

beforeAll(async () => {
  ({ db, url: dbUrl } = await createTestDatabase());
  azurite = await startAzurite();
  config = loadConfig({
    DSR_STORAGE_ALLOW: azurite.origin,
    DSR_LEASE_SECONDS: '3',
    DSR_UPLOAD_CONCURRENCY: '1',
    DSR_DATA_DIR: await tempDir('dsr-resume-sections-data-'),
  });
});

afterAll(async () => {
  await fleet.stopAll();
  await azurite?.stop();
  await db?.end();
});

function worker(): Promise<Worker> {
  return fleet.start(dbUrl, { config, contentStore: store, pollIntervalMs: 100, blockSize: 1024 * 1024 });
}

async function heavyExport() {
  const { user: seeded, subject: user } = await seedHeavySubject(db, store, { signIns: 20_000, driveEvents: 2_000, files: 1, seed: randomUUID() });
  const sas = await createContainerSas(azurite, `big-${randomUUID().slice(0, 8)}`);
  const op = await queueExport(db, user, sas, [azurite.origin]);
  // The 20,000 heavy sign-ins and the ordinary ones of a seeded user.
  expect(seeded.signIns).toBeGreaterThan(20_000);
  return { user, sas, op, signIns: seeded.signIns };
}

async function signInsInPackage(sas: string): Promise<number> {
  const body = await new ContainerClient(sas).getBlockBlobClient('Directory/SignIns.json').downloadToBuffer();
  return (JSON.parse(body.toString('utf8')) as { value: unknown[] }).value.length;
}

test('killed while a large section is being rendered: the next worker renders a fresh snapshot and completes', async () => {
  const { sas, op, signIns } = await heavyExport();
  const a = await worker();
  a.wake();
  // A section larger than a plan row streams into the content store's tmp/ while it is rendered.
  await waitFor(
    async () => {
      const row = await operationRow(db, op.id);
      const rendering = (await readdir(path.join(contentRoot, 'tmp')).catch(() => [])).length > 0;
      return row.status === 'running' && row.bytes_planned === null && rendering;
    },
    { timeoutMs: 60_000, intervalMs: 5, what: 'a large section to be rendering' },
  );
  await a.stopHard();
  const afterCrash = await operationRow(db, op.id);
  expect(afterCrash.bytes_planned).toBeNull();

  const b = await worker();
  const done = await waitForStatus(db, op.id, ['complete', 'failed'], 120_000);
  expect(done.error_message ?? '').toBe('');
  expect(done.status).toBe('complete');
  expect(done.attempts).toBe(1);
  expect(await verifyPackage(sas)).toEqual([]);
  expect(await signInsInPackage(sas)).toBe(signIns);
  // One plan, not the crashed attempt's rows plus the new ones.
  const { rows } = await db.query<{ n: number }>(`select count(*)::int as n from export_files where operation_id = $1 and path = 'Directory/SignIns.json'`, [
    op.id,
  ]);
  expect(rows[0]!.n).toBe(1);
  await b.stop(500);
}, 180_000);

test('killed while a large section is being uploaded: the next worker uploads the rendered bytes, renders nothing again', async () => {
  const { sas, op, signIns } = await heavyExport();
  const a = await worker();
  a.wake();
  const blob = new ContainerClient(sas).getBlockBlobClient('Directory/SignIns.json');
  // Staged blocks of SignIns.json and no commit yet: the section is half uploaded.
  await waitFor(
    async () => {
      const list = await blob.getBlockList('uncommitted').catch(() => undefined);
      return (list?.uncommittedBlocks?.length ?? 0) >= 2;
    },
    { timeoutMs: 90_000, intervalMs: 5, what: 'SignIns.json to be half uploaded' },
  );
  await a.stopHard();
  const afterCrash = await operationRow(db, op.id);
  expect(afterCrash.bytes_planned).not.toBeNull();
  const planBefore = (
    await db.query<{ path: string; sha256: string; size: number }>('select path, sha256, size from export_files where operation_id = $1 order by seq', [op.id])
  ).rows;
  expect(planBefore.find((f) => f.path === 'Directory/SignIns.json')!.size).toBeGreaterThan(2 * 1024 * 1024);

  const b = await worker();
  const done = await waitForStatus(db, op.id, ['complete', 'failed'], 120_000);
  expect(done.error_message ?? '').toBe('');
  expect(done.status).toBe('complete');
  // The plan the first worker fixed is the package: same files, same bytes (nothing re-rendered).
  const planAfter = (
    await db.query<{ path: string; sha256: string; size: number }>('select path, sha256, size from export_files where operation_id = $1 order by seq', [op.id])
  ).rows;
  expect(planAfter).toEqual(planBefore);
  expect(done.bytes_planned).toBe(afterCrash.bytes_planned);
  expect(await verifyPackage(sas)).toEqual([]);
  expect(await signInsInPackage(sas)).toBe(signIns);
  await b.stop(500);
}, 180_000);
