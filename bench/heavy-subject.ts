// Heavy subjects: one user with 10,000, 100,000 (and, with BENCH_HEAVY_SIZES=…,1000000, a million)
// records, in the proportions of a long-tenured employee (half sign-ins, 40 % drive activity, 10 %
// drive items, plus a few ordinary files), loaded by the seed's COPY path and exported by a fresh
// `dsr-export worker` process each. Reported per size: the worker's peak RSS, export records/s,
// and the time from the claim to the first upload (RequestInfo.json written). The baseline, in
// the same run and into the same Azurite: COPY (select … where user_id = …) TO STDOUT of the same
// rows, table by table, piped into a raw uploadStream — the floor of any export of those rows.
//
//   npx tsx bench/heavy-subject.ts            (BENCH_HEAVY_SIZES=10000,100000,1000000 for all three)
import { ContainerClient } from '@azure/storage-blob';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { seedTenant } from '../src/seed/seed-tenant.ts';
import type { Azurite } from '../src/embedded/azurite.ts';
import { launchChromium } from './support/chromium.ts';
import { emit, memoryOf, type BenchRow } from './lib.ts';
import {
  assertComplete,
  childEnv,
  Cleanup,
  contentPath,
  containerSas,
  freshAzurite,
  mapConcurrent,
  openBenchEnvironment,
  pollOperation,
  queueAndNotify,
  startWorkerProcess,
  type BenchEnvironment,
  type BenchUser,
} from './export-support.ts';

const SIZES = (process.env.BENCH_HEAVY_SIZES ?? '10000,100000').split(',').map(Number);
const ORDINARY_FILES = 20;
// uploadStream as the worker uploads: 4 MiB blocks, 2 in flight.
const BLOCK_SIZE = 4 * 1024 * 1024;
const PARALLEL_BLOCKS = 2;
const EXPORT_TIMEOUT_MS = 60 * 60_000;
// The worker's DSR_UPLOAD_CONCURRENCY.
const FILE_CONCURRENCY = 8;
const FILE_SAMPLE = Number(process.env.BENCH_HEAVY_FILE_SAMPLE ?? 10_000);

const log = (line: string) => process.stderr.write(`heavy-subject: ${line}\n`);
const cleanup = new Cleanup();

interface Subject {
  user: BenchUser;
  records: number;
  seedSeconds: number;
}

/** The subject of `size` records (sign-ins : drive events : drive items = 5 : 4 : 1, plus files). */
async function seedSubject(env: BenchEnvironment, size: number): Promise<Subject> {
  const started = performance.now();
  const summary = await seedTenant({
    db: env.db,
    contentStore: env.contentStore,
    users: 1,
    filesPerUser: ORDINARY_FILES,
    seed: `bench-heavy-${size}`,
    now: new Date(),
    heavy: { signIns: Math.round(size * 0.5), driveEvents: Math.round(size * 0.4), driveItems: Math.round(size * 0.1) },
  });
  const seedSeconds = (performance.now() - started) / 1000;
  const u = summary.users[0]!;
  const root = await env.db.query<{ id: string }>('select id from drive_items where owner_user_id = $1 and parent_id is null', [u.id]);
  return {
    user: { tenantId: summary.tenantId, userId: u.id, upn: u.userPrincipalName, rootId: root.rows[0]!.id },
    records: u.signIns + u.driveActivities + u.files + u.folders,
    seedSeconds,
  };
}

/** Polls until the worker has written RequestInfo.json (its first upload); performance.now() then. */
async function firstUpload(env: BenchEnvironment, id: string): Promise<number> {
  const deadline = performance.now() + EXPORT_TIMEOUT_MS;
  for (;;) {
    const { rows } = await env.db.query<{ written: boolean; status: string }>(
      'select request_info_written as written, status from data_policy_operations where id = $1',
      [id],
    );
    if (rows[0]?.written || rows[0]?.status === 'complete' || rows[0]?.status === 'failed') return performance.now();
    if (performance.now() > deadline) throw new Error(`operation ${id}: RequestInfo.json never written`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * index.html of a package: its size, and the time a headless Chromium takes from navigating to it
 * through the container SAS to its load event (the second of two opens, the browser warm).
 */
async function openIndex(sas: string): Promise<{ bytes: number; ms: number }> {
  const url = new URL(sas);
  url.pathname += '/index.html';
  const bytes = (await new ContainerClient(sas).getBlockBlobClient('index.html').getProperties()).contentLength ?? 0;
  const profile = await mkdtemp(path.join(os.tmpdir(), 'dsr-bench-chromium-'));
  const context = await launchChromium(profile);
  try {
    const page = await context.newPage();
    await page.goto(url.toString(), { waitUntil: 'load' });
    const started = performance.now();
    await page.goto(url.toString(), { waitUntil: 'load' });
    return { bytes, ms: performance.now() - started };
  } finally {
    await context.close();
    await rm(profile, { recursive: true, force: true });
  }
}

/** One export by a fresh worker: seconds from the claim to completed_at, to the first upload, and the worker's peak RSS. */
async function exportSubject(
  env: BenchEnvironment,
  azurite: Azurite,
  subject: Subject,
  label: string,
): Promise<{ seconds: number; firstUploadSeconds: number; hwmMiB: number; sas: string }> {
  const worker = await startWorkerProcess(cleanup, childEnv(env, azurite));
  try {
    const sas = await containerSas(azurite, `dsr-heavy-${label}-${randomUUID().slice(0, 8)}`);
    const id = await queueAndNotify(env.db, subject.user, sas, azurite.origin);
    const claimed = await pollOperation(env.db, id, (s) => s !== 'notStarted', { intervalMs: 5 });
    const first = await firstUpload(env, id);
    const done = await pollOperation(env.db, id, (s) => s === 'complete' || s === 'failed', { intervalMs: 200, timeoutMs: EXPORT_TIMEOUT_MS });
    const hwmMiB = (await memoryOf(worker.pid)).hwmMiB;
    assertComplete(label, done.state);
    const claimedMs = performance.timeOrigin + claimed.at;
    return { seconds: (done.state.completed_ms! - claimedMs) / 1000, firstUploadSeconds: (first - claimed.at) / 1000, hwmMiB, sas };
  } finally {
    await worker.stop();
  }
}

/**
 * The drive's files of the subject (a tenth of its records are files), each read from the content
 * store and uploaded in one request, 8 at once, as export-throughput's small-file baseline does:
 * the part of an export that no COPY of rows covers. Past FILE_SAMPLE files the time of the first
 * FILE_SAMPLE is scaled up (an Azurite that fills grows slower, so this errs towards a faster
 * baseline). Seconds.
 */
async function baselineFiles(env: BenchEnvironment, azurite: Azurite, subject: Subject): Promise<{ seconds: number; files: number }> {
  const container = new ContainerClient(await containerSas(azurite, `base-files-${randomUUID().slice(0, 8)}`));
  const { rows } = await env.db.query<{ sha256: string }>(
    'select content_sha256 as sha256 from drive_items where tenant_id = $1 and owner_user_id = $2 and content_sha256 is not null',
    [subject.user.tenantId, subject.user.userId],
  );
  const sample = rows.slice(0, FILE_SAMPLE);
  const started = performance.now();
  await mapConcurrent(sample, FILE_CONCURRENCY, async ({ sha256 }, i) => {
    const body = await readFile(path.join(env.dataDir, 'content', contentPath(sha256)));
    await container.getBlockBlobClient(`OneDrive/Files/file-${String(i).padStart(7, '0')}.bin`).upload(body, body.length);
  });
  return { seconds: ((performance.now() - started) / 1000) * (rows.length / Math.max(1, sample.length)), files: rows.length };
}

/** The baseline: each table's rows of the subject through COPY … TO STDOUT into uploadStream. */
async function baseline(env: BenchEnvironment, azurite: Azurite, subject: Subject): Promise<{ seconds: number; rows: number }> {
  const container = new ContainerClient(await containerSas(azurite, `base-heavy-${randomUUID().slice(0, 8)}`));
  const client: pg.PoolClient = await env.db.connect();
  const queries: [string, string][] = [
    ['Directory/SignIns.tsv', `select id, created_at, data from sign_ins where tenant_id = '${subject.user.tenantId}' and user_id = '${subject.user.userId}'`],
    ['OneDrive/Activity.tsv', `select * from drive_activities where tenant_id = '${subject.user.tenantId}' and user_id = '${subject.user.userId}'`],
    ['OneDrive/DriveItems.tsv', `select * from drive_items where tenant_id = '${subject.user.tenantId}' and owner_user_id = '${subject.user.userId}'`],
  ];
  try {
    const started = performance.now();
    let rows = 0;
    for (const [name, sql] of queries) {
      const stream = client.query(copyTo(`copy (${sql}) to stdout`));
      await container.getBlockBlobClient(name).uploadStream(stream, BLOCK_SIZE, PARALLEL_BLOCKS);
      rows += stream.rowCount;
    }
    return { seconds: (performance.now() - started) / 1000, rows };
  } finally {
    client.release();
  }
}

try {
  const env = await openBenchEnvironment(cleanup, 'dsr-bench-heavy-');
  const rows: BenchRow[] = [];
  const peaks: number[] = [];
  for (const size of SIZES) {
    const label = size >= 1e6 ? `${size / 1e6}M` : `${size / 1e3}k`;
    const subject = await seedSubject(env, size);
    log(`${label}: ${subject.records} records seeded in ${subject.seedSeconds.toFixed(1)} s`);
    // Each side gets an empty Azurite of its own: its in-memory store costs more per blob the
    // more blobs it holds (the files baseline's rate halves from 1,000 to 10,000 blobs), so a
    // shared one would slow whichever side runs second.
    const baseAzurite = await freshAzurite(cleanup);
    const azurite = await freshAzurite(cleanup);
    try {
      const base = await baseline(env, baseAzurite, subject);
      log(`${label}: baseline ${base.rows} rows in ${base.seconds.toFixed(2)} s`);
      const files = await baselineFiles(env, baseAzurite, subject);
      log(`${label}: baseline ${files.files} drive files in ${files.seconds.toFixed(2)} s`);
      await baseAzurite.stop();
      const run = await exportSubject(env, azurite, subject, label);
      log(
        `${label}: export ${run.seconds.toFixed(2)} s, first upload ${run.firstUploadSeconds.toFixed(2)} s after the claim, peak RSS ${run.hwmMiB.toFixed(0)} MiB`,
      );
      peaks.push(run.hwmMiB);
      const index = await openIndex(run.sas);
      log(`${label}: index.html ${(index.bytes / 1024).toFixed(0)} KiB, opened in Chromium in ${index.ms.toFixed(0)} ms`);
      const dsrRate = subject.records / run.seconds;
      const baseRate = base.rows / base.seconds;
      rows.push(
        { figure: `heavy subject ${label} records: seed (COPY)`, value: subject.records / subject.seedSeconds, unit: 'records/s' },
        { figure: `heavy subject ${label} records: worker peak RSS`, value: run.hwmMiB, unit: 'MiB', target: '< 256 MiB', met: run.hwmMiB < 256 },
        {
          figure: `heavy subject ${label} records: export`,
          value: dsrRate,
          unit: 'records/s',
          baseline: baseRate,
          ratio: dsrRate / baseRate,
          target: '≥ 0.5× COPY → uploadStream',
          met: dsrRate >= 0.5 * baseRate,
        },
        {
          // The export also uploads the drive's files, one blob each, which the rows' COPY does not:
          // the same records against the COPY plus those files' raw uploads.
          figure: `heavy subject ${label} records: export vs COPY + the files' raw uploads`,
          value: dsrRate,
          unit: 'records/s',
          baseline: subject.records / (base.seconds + files.seconds),
          ratio: (dsrRate * (base.seconds + files.seconds)) / subject.records,
        },
        { figure: `heavy subject ${label} records: claim → first upload`, value: run.firstUploadSeconds, unit: 's' },
        {
          figure: `heavy subject ${label} records: index.html (${(index.bytes / 1024).toFixed(0)} KiB) opened in Chromium`,
          value: index.ms / 1000,
          unit: 's',
          target: '< 2 s',
          met: index.ms < 2000,
        },
      );
    } finally {
      await azurite.stop();
    }
  }
  if (peaks.length > 1) {
    const spread = Math.max(...peaks) - Math.min(...peaks);
    rows.push({
      figure: `heavy subject: peak RSS, largest − smallest (${SIZES.join(', ')})`,
      value: spread,
      unit: 'MiB',
      target: '< 64 MiB',
      met: spread < 64,
    });
  }
  emit(rows);
} finally {
  await cleanup.run();
}
