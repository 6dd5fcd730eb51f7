import { ContainerClient } from '@azure/storage-blob';
import { randomUUID } from 'node:crypto';
import { mkdir, open, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadLocalIssuer } from '../src/auth/local-issuer.ts';
import type { ContentStore } from '../src/content/content-store.ts';
import { createContentStore } from '../src/content/create-content-store.ts';
import { freePort, startEmbeddedPostgres, type EmbeddedDatabase } from '../src/embedded/postgres.ts';
import { migrate } from '../src/db/migrate.ts';
import { createPool, type Db } from '../src/db/pool.ts';
import { loadPackageSigner } from '../src/export/package-signature.ts';
import { verifyPackage } from '../src/export/verify-package.ts';
import { createContainerSas, startAzurite, type Azurite } from '../src/embedded/azurite.ts';
import { queueExport, seedUser, waitFor, type SeededUser } from './support/export-fixtures.ts';
import { createTestApp, createTestDatabase, tempDir, type TestApp } from './support/harness.ts';
import { mountSmallTmpfs } from './support/small-tmpfs.ts';
import { killAllChildren, leaseOwnerOf, spawnDsr, startWorkerProcess, type ChildDsr } from '../bench/support/processes.ts';

// Issue 7, item 2: faults injected while exports run. Each case queues several exports, injects
// the fault, then polls (with a deadline) until every operation is complete — its package
// verified — or failed with a code of the Graph vocabulary: none stuck, none lost, none
// duplicated. Workers are real `dsr-export worker` processes, storage a real Azurite, the
// database a real PostgreSQL.

/** Codes a failed export may end with (docs/architecture.md#operation-lifecycle); InternalServerError is never "clear". */
const CLEAR_CODES = [
  'StorageLocationAccessDenied',
  'StorageLocationExpired',
  'StorageLocationNotFound',
  'StorageLocationAlreadyUsed',
  'UserNotFound',
  'InvalidStorageLocation',
  'ServiceUnavailable',
];

interface QueuedExport {
  user: SeededUser;
  sas: string;
  id: string;
}

interface OpState {
  id: string;
  status: string;
  attempts: number;
  error_code: string | null;
  error_message: string | null;
  files: number;
  done: number;
  lease_owner: string | null;
}

const tmpfs = await mountSmallTmpfs(2);
if ('reason' in tmpfs) console.warn(`[faults d] skipped: ${tmpfs.reason}`);

let db: Db;
let dbUrl: string;
let dataDir: string;
let store: ContentStore;
let azurite: Azurite;
const cleanups: (() => unknown)[] = [];

beforeAll(async () => {
  ({ db, url: dbUrl } = await createTestDatabase());
  dataDir = await tempDir('dsr-faults-');
  store = createContentStore({ contentStore: undefined, dataDir });
  azurite = await startAzurite();
});

afterAll(async () => {
  await killAllChildren();
  for (const c of cleanups.reverse())
    await Promise.resolve()
      .then(c)
      .catch(() => undefined);
  await azurite?.stop();
  await db?.end();
  if ('unmount' in tmpfs) await tmpfs.unmount();
});

function workerEnv(databaseUrl: string, storageOrigin: string, extra: Record<string, string> = {}): Record<string, string> {
  return { DSR_DATABASE_URL: databaseUrl, DSR_DATA_DIR: dataDir, DSR_LEASE_SECONDS: '3', DSR_STORAGE_ALLOW: storageOrigin, ...extra };
}

/** `n` users with `files` files of `size` bytes each, and one queued export per user into its own container. */
async function queueExports(on: Db, contentStore: ContentStore, storage: Azurite, n: number, files: number, size: number): Promise<QueuedExport[]> {
  const out: QueuedExport[] = [];
  for (let u = 0; u < n; u++) {
    const user = await seedUser(on, contentStore, {
      files: Array.from({ length: files }, (_, i) => ({ path: `Docs/f-${i}.bin`, body: Buffer.alloc(size + i, `${u}-${i}-${randomUUID()}`) })),
      signIns: 2,
      activities: 4,
    });
    const sas = await createContainerSas(storage, `fault-${randomUUID().slice(0, 13)}`);
    out.push({ user, sas, id: (await queueExport(on, user, sas, [storage.origin])).id });
  }
  return out;
}

/** Status and file checkpoints of the exports; undefined while the database cannot be reached. */
async function states(on: Db, exports: QueuedExport[]): Promise<OpState[] | undefined> {
  try {
    const { rows } = await on.query<OpState>(
      `select o.id, o.status, o.attempts, o.error_code, o.error_message, o.lease_owner,
              count(f.path)::int as files, count(f.path) filter (where f.done)::int as done
         from data_policy_operations o left join export_files f on f.operation_id = o.id
        where o.id = any($1::uuid[]) group by o.id`,
      [exports.map((e) => e.id)],
    );
    return rows;
  } catch {
    return undefined;
  }
}

async function filesDone(on: Db, exports: QueuedExport[], atLeast: number): Promise<OpState[]> {
  return waitFor(
    async () => {
      const s = await states(on, exports);
      return s && s.reduce((a, r) => a + r.done, 0) >= atLeast ? s : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 20, what: `${atLeast} files uploaded` },
  );
}

/**
 * Waits until every export is complete or failed, then checks each outcome: a complete one's
 * package verifies against its manifest with nothing extra and names its own operation; a failed
 * one carries a clear code; one operation per container; one "completed"/"failed" audit each.
 */
async function settleAndCheck(on: Db, exports: QueuedExport[], timeoutMs: number): Promise<{ complete: number; failed: OpState[] }> {
  const final = await waitFor(
    async () => {
      const s = await states(on, exports);
      return s && s.length === exports.length && s.every((r) => r.status === 'complete' || r.status === 'failed') ? s : undefined;
    },
    { timeoutMs, intervalMs: 100, what: 'every export to end' },
  ).catch(async (err: Error) => {
    throw new Error(`${err.message}: ${JSON.stringify(await states(on, exports))}`);
  });
  expect(final).toHaveLength(exports.length);
  const failed = final.filter((r) => r.status === 'failed');
  for (const f of failed) {
    expect(CLEAR_CODES, `${f.id}: ${f.error_code} ${f.error_message}`).toContain(f.error_code);
    expect(f.error_message).toBeTruthy();
  }
  for (const e of exports) {
    const row = final.find((r) => r.id === e.id)!;
    if (row.status !== 'complete') continue;
    expect(row.lease_owner).toBeNull();
    expect(await verifyPackage(e.sas), e.id).toEqual([]);
    const requestInfo = JSON.parse((await new ContainerClient(e.sas).getBlockBlobClient('RequestInfo.json').downloadToBuffer()).toString('utf8')) as Record<
      string,
      unknown
    >;
    expect(JSON.stringify(requestInfo)).toContain(e.id);
  }
  const perContainer = await on.query<{ n: number }>(
    'select count(*)::int as n from data_policy_operations where storage_container in (select storage_container from data_policy_operations where id = any($1::uuid[])) group by storage_container',
    [exports.map((e) => e.id)],
  );
  expect(perContainer.rows.map((r) => r.n)).toEqual(exports.map(() => 1));
  const audits = await on.query<{ correlation_id: string; n: number }>(
    `select correlation_id, count(*)::int as n from directory_audits
      where correlation_id = any($1::uuid[]) and activity_display_name in ('Export personal data completed', 'Export personal data failed')
      group by correlation_id`,
    [exports.map((e) => e.id)],
  );
  expect(audits.rows.map((r) => r.n)).toEqual(exports.map(() => 1));
  return { complete: final.length - failed.length, failed };
}

/** No SAS signature of these exports in any line a process printed. */
function expectNoSignatures(procs: ChildDsr[], exports: QueuedExport[]): void {
  const lines = procs.flatMap((p) => p.lines);
  expect(lines.length).toBeGreaterThan(0);
  for (const e of exports) {
    const sig = new URL(e.sas).searchParams.get('sig')!;
    const raw = /[?&]sig=([^&]+)/.exec(e.sas)![1]!;
    for (const line of lines) {
      expect(line).not.toContain(sig);
      expect(line).not.toContain(raw);
    }
  }
}

const since = (t0: number) => `${((Date.now() - t0) / 1000).toFixed(1)} s`;

describe('faults during exports', () => {
  test('(a) a worker SIGKILLed mid-export: another worker resumes after the 3 s lease; every package complete, once', async () => {
    const t0 = Date.now();
    const exports = await queueExports(db, store, azurite, 5, 10, 40_000);
    // One file at a time and three exports at once: slow enough to be killed in the middle.
    const first = await startWorkerProcess(workerEnv(dbUrl, azurite.origin, { DSR_UPLOAD_CONCURRENCY: '1', DSR_WORKER_CONCURRENCY: '3' }));
    const atKill = await filesDone(db, exports, 8);
    first.kill('SIGKILL');
    const tFault = Date.now();
    expect(await first.exited).toMatchObject({ signal: 'SIGKILL' });
    const midway = (await states(db, exports))!.filter((s) => s.status === 'running' && s.done > 0 && s.done < s.files);
    expect(midway.length, JSON.stringify(atKill)).toBeGreaterThan(0);
    for (const m of midway) expect(m.lease_owner).toMatch(leaseOwnerOf(first));

    const second = await startWorkerProcess(workerEnv(dbUrl, azurite.origin, { DSR_WORKER_CONCURRENCY: '5' }));
    const { complete, failed } = await settleAndCheck(db, exports, 40_000);
    expect(failed).toEqual([]);
    expect(complete).toBe(exports.length);
    // The takeovers of the killed worker's exports counted as attempts.
    const after = (await states(db, exports))!;
    for (const m of midway) expect(after.find((s) => s.id === m.id)!.attempts).toBe(1);
    expectNoSignatures([first, second], exports);
    second.kill('SIGTERM');
    await second.exited;
    console.info(
      `[faults a] ${exports.length} exports, SIGKILL after ${atKill.reduce((a, s) => a + s.done, 0)} files with ${midway.length} mid-export: ${complete} complete, ${failed.length} failed; all settled ${since(tFault)} after the fault, ${since(t0)} in all`,
    );
  }, 60_000);

  test('(b) Azurite stopped and restarted on the same port: exports retry and complete; nothing duplicated', async () => {
    const dir = await tempDir('dsr-azurite-disk-');
    let storage = await startAzurite(0, dir);
    cleanups.push(
      () => storage.stop(),
      () => rm(dir, { recursive: true, force: true }),
    );
    const t0 = Date.now();
    const exports = await queueExports(db, store, storage, 5, 10, 32_000);
    const worker = await startWorkerProcess(workerEnv(dbUrl, storage.origin, { DSR_UPLOAD_CONCURRENCY: '2', DSR_WORKER_CONCURRENCY: '5' }));
    await filesDone(db, exports, 6);
    await storage.stop();
    const tFault = Date.now();
    // Down until a worker has recorded the outage as a failed attempt (3 tries in 0.75 s first).
    const hit = await waitFor(
      async () => {
        const s = (await states(db, exports))!.filter((r) => r.attempts > 0 && r.status !== 'complete');
        return s.length > 0 ? s : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 50, what: 'the storage outage to be recorded' },
    );
    expect(hit[0]!.error_message).toMatch(/Storage could not be reached/);
    storage = await startAzurite(storage.port, dir);

    const { complete, failed } = await settleAndCheck(db, exports, 45_000);
    expect(failed).toEqual([]);
    expect(complete).toBe(exports.length);
    expectNoSignatures([worker], exports);
    worker.kill('SIGTERM');
    await worker.exited;
    console.info(
      `[faults b] ${exports.length} exports, Azurite down until ${hit.length} had a failed attempt: ${complete} complete, ${failed.length} failed; all settled ${since(tFault)} after the fault, ${since(t0)} in all`,
    );
  }, 75_000);

  test('(c) PostgreSQL stopped and restarted: workers reconnect, exports resume and complete', async () => {
    const pgDir = await tempDir('dsr-faults-pg-');
    const port = await freePort();
    let server: EmbeddedDatabase = await startEmbeddedPostgres(pgDir, () => undefined, { port });
    cleanups.push(
      () => server.stop(),
      () => rm(pgDir, { recursive: true, force: true }),
    );
    const admin = createPool(server.url, 1);
    await admin.query('create database faults');
    await admin.end();
    const url = server.url.replace(/\/postgres$/, '/faults');
    const pool = createPool(url, 4);
    cleanups.push(() => pool.end());
    await migrate(pool);

    const t0 = Date.now();
    const exports = await queueExports(pool, store, azurite, 5, 10, 32_000);
    const worker = await startWorkerProcess(workerEnv(url, azurite.origin, { DSR_UPLOAD_CONCURRENCY: '1', DSR_WORKER_CONCURRENCY: '5' }));
    await filesDone(pool, exports, 6);
    await server.stop();
    const tFault = Date.now();
    // Down until the worker has noticed (a failed renewal, claim, checkpoint or LISTEN).
    const linesBefore = worker.lines.length;
    await waitFor(
      () =>
        worker.lines
          .slice(linesBefore)
          .some((l) => /lease renewal failed|claiming failed|LISTEN connection lost|could not record|export will be retried/.test(l)),
      {
        timeoutMs: 20_000,
        intervalMs: 50,
        what: 'the worker to notice the database outage',
      },
    );
    server = await startEmbeddedPostgres(pgDir, () => undefined, { port });

    const { complete, failed } = await settleAndCheck(pool, exports, 45_000);
    expect(failed).toEqual([]);
    expect(complete).toBe(exports.length);
    expect(worker.alive()).toBe(true);
    expectNoSignatures([worker], exports);
    worker.kill('SIGTERM');
    await worker.exited;
    console.info(
      `[faults c] ${exports.length} exports, PostgreSQL restarted on port ${port}: ${complete} complete, ${failed.length} failed; all settled ${since(tFault)} after the fault, ${since(t0)} in all`,
    );
  }, 75_000);

  test.skipIf(!('dir' in tmpfs))(
    `(d) the content store's disk is full: exports still complete; an upload fails cleanly and leaves nothing behind${'reason' in tmpfs ? ` — skipped: ${tmpfs.reason}` : ''}`,
    async () => {
      const fullDir = (tmpfs as { dir: string }).dir;
      let t: TestApp | undefined;
      try {
        t = await createTestApp({ DSR_DATA_DIR: fullDir, DSR_STORAGE_ALLOW: azurite.origin });
        const t0 = Date.now();
        const exports = await queueExports(t.db, t.deps.contentStore, azurite, 4, 6, 20_000);
        // A service fills its disk after its first start, not before: the keys it makes once exist.
        await loadLocalIssuer(fullDir);
        await loadPackageSigner(fullDir);
        // Fill the rest of the 2 MiB until the kernel says ENOSPC.
        await mkdir(path.join(fullDir, 'filler'), { recursive: true });
        const filler = await open(path.join(fullDir, 'filler', 'fill.bin'), 'w');
        const chunk = Buffer.alloc(64 * 1024, 1);
        let full = false;
        try {
          for (let i = 0; i < 64 && !full; i++) {
            await filler.write(chunk).catch((err: NodeJS.ErrnoException) => {
              if (err.code !== 'ENOSPC') throw err;
              full = true;
            });
          }
        } finally {
          await filler.close();
        }
        expect(full).toBe(true);

        // A worker that cannot make its keys on the full disk exits with the reason; it neither
        // hangs on its own pool nor claims exports it could not sign.
        const keyless = spawnDsr(['worker'], { ...workerEnv(t.dbUrl, azurite.origin), DSR_DATA_DIR: path.join(fullDir, 'keyless') });
        expect((await keyless.exited).code).not.toBe(0);
        expect(keyless.lines.join('\n')).toMatch(/ENOSPC/);

        const worker = await startWorkerProcess({ ...workerEnv(t.dbUrl, azurite.origin), DSR_DATA_DIR: fullDir });
        const tFault = Date.now();
        // The same 300 KB upload, on the full disk and again once space is back.
        const app = t;
        const uploadNewBin = async () =>
          app.app.inject({
            method: 'PUT',
            url: `/v1.0/users/${exports[0]!.user.userId}/drive/root:/Docs/new.bin:/content`,
            headers: {
              authorization: `Bearer ${await app.appToken(exports[0]!.user.tenantId, ['Files.ReadWrite.All'])}`,
              'content-type': 'application/octet-stream',
            },
            payload: Buffer.alloc(300_000, 7),
          });
        const upload = await uploadNewBin();
        // 507 as OneDrive answers a full drive, Graph-shaped, and no partial item.
        expect(upload.statusCode, upload.body).toBe(507);
        expect(upload.json<{ error: { code: string } }>().error.code).toBe('insufficientStorage');
        expect((await readdir(path.join(fullDir, 'content', 'tmp')).catch(() => [])).length).toBe(0);
        const item = await t.db.query("select 1 from drive_items where tenant_id = $1 and name = 'new.bin'", [exports[0]!.user.tenantId]);
        expect(item.rowCount).toBe(0);

        const { complete, failed } = await settleAndCheck(t.db, exports, 30_000);
        expect(failed).toEqual([]);
        expect(complete).toBe(exports.length);

        // Space back: the same upload works.
        await rm(path.join(fullDir, 'filler'), { recursive: true, force: true });
        const retry = await uploadNewBin();
        expect(retry.statusCode, retry.body).toBe(201);
        worker.kill('SIGTERM');
        await worker.exited;
        console.info(
          `[faults d] ${exports.length} exports with the content disk full (a 2 MiB tmpfs, ${(tmpfs as { how: string }).how}): ${complete} complete; upload → ${upload.statusCode} ${upload.json<{ error: { code: string } }>().error.code}, after freeing space → ${retry.statusCode}; all settled ${since(tFault)} after the fault, ${since(t0)} in all`,
        );
      } finally {
        await t?.close();
      }
    },
    45_000,
  );
});
