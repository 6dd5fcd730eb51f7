import { ContainerClient } from '@azure/storage-blob';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { createLocalContentStore } from '../src/content/local-content-store.ts';
import type { Db } from '../src/db/pool.ts';
import { verifyPackage } from '../src/export/verify-package.ts';
import { createMetrics } from '../src/metrics.ts';
import { createContainerSas, startAzurite, type Azurite } from '../src/embedded/azurite.ts';
import { startWorker, type Worker } from '../src/worker/worker.ts';
import { queueExport, waitForStatus } from './support/export-fixtures.ts';
import { createTestDatabase, tempDir } from './support/harness.ts';
import { seedHeavySubject } from './support/heavy-seed.ts';

// A subject with 200,000 records (sign-ins and drive activity, loaded as `dsr-export seed
// --sign-ins --drive-events` loads them, over three years) and a colleague whose files the
// subject sometimes opens exports completely: the package verifies, and every section holds exactly the
// records the database holds for the subject. Memory and speed at this size and beyond are the
// benchmark's (bench/heavy-subject.ts); this proves the streamed sections are complete and exact.

let db: Db;
let azurite: Azurite;
let worker: Worker;
const store = createLocalContentStore(await tempDir('dsr-heavy-content-'));

beforeAll(async () => {
  ({ db } = await createTestDatabase());
  azurite = await startAzurite();
  const config = loadConfig({ DSR_STORAGE_ALLOW: azurite.origin, DSR_DATA_DIR: await tempDir('dsr-heavy-data-') });
  worker = await startWorker({ config, db, contentStore: store, metrics: createMetrics(), pollIntervalMs: 200 });
});

afterAll(async () => {
  await worker?.stop(1000);
  await azurite?.stop();
  await db?.end();
});

async function text(container: ContainerClient, path: string): Promise<string> {
  return (await container.getBlockBlobClient(path).downloadToBuffer()).toString('utf8');
}

async function count(sql: string, params: unknown[]): Promise<number> {
  return (await db.query<{ n: number }>(sql, params)).rows[0]!.n;
}

test('a subject with 200,000 records exports, verifies, and every section count equals the database count', async () => {
  const now = new Date();
  const { subject: user } = await seedHeavySubject(db, store, { signIns: 100_000, driveEvents: 100_000, files: 3, users: 2, now, seed: randomUUID() });

  const sas = await createContainerSas(azurite, `heavy-${randomUUID().slice(0, 8)}`);
  const op = await queueExport(db, user, sas, [azurite.origin]);
  worker.wake();
  const done = await waitForStatus(db, op.id, ['complete', 'failed'], 240_000);
  expect(done.error_message ?? '').toBe('');
  expect(done.status).toBe('complete');
  expect(await verifyPackage(sas)).toEqual([]);

  const container = new ContainerClient(sas);
  const manifest = JSON.parse(await text(container, 'manifest.json')) as { totals: Record<string, number>; files: { path: string; size: number }[] };
  const t = user.tenantId;
  const u = user.userId;
  const expected = {
    signIns: await count('select count(*)::int as n from sign_ins where tenant_id = $1 and user_id = $2', [t, u]),
    activities: await count('select count(*)::int as n from drive_activities where tenant_id = $1 and user_id = $2', [t, u]),
    activitiesOnOtherDrives: await count(
      `select count(*)::int as n from drive_activities where tenant_id = $1 and user_id <> $2 and actor -> 'user' ->> 'id' = $2::text`,
      [t, u],
    ),
    driveItems: await count('select count(*)::int as n from drive_items where tenant_id = $1 and owner_user_id = $2', [t, u]),
    driveFiles: await count('select count(*)::int as n from drive_items where tenant_id = $1 and owner_user_id = $2 and not is_folder', [t, u]),
    exportRequests: await count('select count(*)::int as n from data_policy_operations where tenant_id = $1 and user_id = $2', [t, u]),
    // Not the audit of this export's own completion, written after its snapshot.
    directoryAudits: await count(
      `select count(*)::int as n from directory_audits where tenant_id = $1
       and not (correlation_id is not distinct from $3 and activity_display_name = 'Export personal data completed')
       and (target_user_id = $2 or initiator_user_id = $2 or target_resources @> jsonb_build_array(jsonb_build_object('id', $2::text)))`,
      [t, u, op.id],
    ),
  };
  expect(expected.signIns + expected.activities + expected.activitiesOnOtherDrives).toBeGreaterThanOrEqual(200_000);
  expect(manifest.totals).toMatchObject(expected);

  // The files themselves hold exactly those records, in JSON and in CSV.
  const records = async (path: string) => (JSON.parse(await text(container, path)) as { value: unknown[] }).value.length;
  const lines = async (path: string) => (await text(container, path)).split('\r\n').length - 2; // header, final CRLF
  expect(await records('Directory/SignIns.json')).toBe(expected.signIns);
  expect(await lines('Directory/SignIns.csv')).toBe(expected.signIns);
  expect(await records('OneDrive/Activity.json')).toBe(expected.activities);
  expect(await lines('OneDrive/Activity.csv')).toBe(expected.activities);
  expect(await records('OneDrive/ActivityOnOtherDrives.json')).toBe(expected.activitiesOnOtherDrives);
  expect(await lines('OneDrive/ActivityOnOtherDrives.csv')).toBe(expected.activitiesOnOtherDrives);
  expect(await records('Directory/ExportRequests.json')).toBe(expected.exportRequests);
  const usage = (await text(container, 'OneDrive/UsageReport.csv')).trimEnd().split('\r\n').slice(1);
  expect(usage.reduce((a, line) => a + Number(line.split(',').pop()), 0)).toBe(expected.activities);

  // index.html stays small: totals, a timeline by week for this three-year history, first rows.
  const index = await text(container, 'index.html');
  expect(Buffer.byteLength(index)).toBeLessThan(256 * 1024);
  expect(index).toContain('per week');
  expect(index).toContain(`Sign-ins (${expected.signIns})`);
  // The large sections went through the content store, not into rows of the database.
  const bodies = await db.query<{ path: string }>(`select path from export_files where operation_id = $1 and source = 'rendered' order by path`, [op.id]);
  expect(bodies.rows.map((r) => r.path)).toEqual(expect.arrayContaining(['Directory/SignIns.json', 'OneDrive/Activity.csv']));
}, 300_000);
