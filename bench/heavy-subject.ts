// Heavy subjects: one user with 10,000, 100,000 and 1,000,000 records, loaded by the seed's COPY
// path and exported by a fresh `dsr-export worker` process each, in two kinds per size:
//
// - records only: sign-ins and drive activity (5 : 4), no drive items, no files. Its baseline is
//   the literal one, in the same run and into an empty Azurite of its own: COPY (select … where
//   user_id = …) TO STDOUT of the same rows, table by table, piped into a raw uploadStream, the
//   floor of any export of those rows. The ≥ 0.5× records/s target is this row's.
// - the full subject of a long-tenured employee: drive items (each a small file, one blob in the
//   package), the rest sign-ins and drive activity 5 : 4, plus 20 ordinary files. Drive items are
//   a tenth of the records up to DRIVE_ITEMS_CAP (10,000): Azurite's in-memory store costs more
//   per blob the more blobs it holds (the raw uploads put 1,020 files at ≈400 files/s and 10,020
//   at ≈72 files/s, each into an empty Azurite), so the 100,000 files of an uncapped million
//   would take hours on each side and measure Azurite, not the export. Files dominate this
//   subject's time, which no COPY of rows covers: its row compares the export with the COPY of
//   its three tables plus the files' raw uploads (one Put Blob each, 8 at once, as the worker).
//
// Reported per size and kind: the seed's time and records/s (the records-only million is the
// "a million rows in well under a minute" of the seed), the worker's peak RSS (VmHWM), export
// records/s, the time from the claim to the first upload (RequestInfo.json written), and the time
// a headless Chromium takes to open the package's index.html; per kind, the spread of the peaks.
//
// Memory at a million: each Azurite lives only as long as its side (baseline, then export) and
// holds one package, ≈1–2 GB in memory at 1M records, well inside the machine's RAM;
// BENCH_AZURITE_DISK=1 keeps the blobs on disk (`--location`) instead.
//
//   npx tsx bench/heavy-subject.ts      BENCH_HEAVY_SIZES=10000,100000 (default 10000,100000,1000000),
//                                       BENCH_HEAVY_KINDS=records,full (default both),
//                                       BENCH_HEAVY_DRIVE_ITEMS_CAP=10000, BENCH_AZURITE_DISK=1
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
import { emit, memoryOf, tempDir, type BenchRow } from './lib.ts';
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
  postgresCpuSeconds,
  queueAndNotify,
  startWorkerProcess,
  type BenchEnvironment,
  type BenchUser,
} from './export-support.ts';

type Kind = 'records' | 'full';

const SIZES = (process.env.BENCH_HEAVY_SIZES ?? '10000,100000,1000000').split(',').map(Number);
const KINDS = (process.env.BENCH_HEAVY_KINDS ?? 'records,full').split(',') as Kind[];
const DRIVE_ITEMS_CAP = Number(process.env.BENCH_HEAVY_DRIVE_ITEMS_CAP ?? 10_000);
const ON_DISK = process.env.BENCH_AZURITE_DISK === '1';
const ORDINARY_FILES = 20;
// uploadStream as the worker uploads: 4 MiB blocks, 2 in flight.
const BLOCK_SIZE = 4 * 1024 * 1024;
const PARALLEL_BLOCKS = 2;
const EXPORT_TIMEOUT_MS = 60 * 60_000;
// The worker's DSR_UPLOAD_CONCURRENCY.
const FILE_CONCURRENCY = 8;
const KIND_LABEL: Record<Kind, string> = { records: 'records only', full: 'with drive files' };

const log = (line: string) => process.stderr.write(`heavy-subject: ${line}\n`);
const cleanup = new Cleanup();

for (const size of SIZES) if (!Number.isInteger(size) || size < 1000) throw new Error(`BENCH_HEAVY_SIZES: ${size} is not a whole number ≥ 1000`);
for (const kind of KINDS) if (!(kind in KIND_LABEL)) throw new Error(`BENCH_HEAVY_KINDS: "${kind}" is neither records nor full`);

interface Subject {
  kind: Kind;
  user: BenchUser;
  records: number;
  seedSeconds: number;
  /** CPU seconds of the seed in this process (generating rows) and in PostgreSQL (loading them). */
  seedCpu: { node: number; postgres: number };
}

/**
 * The records-only subject of `size` records (sign-ins : drive activity = 5 : 4), or the full one:
 * a tenth drive items (at most DRIVE_ITEMS_CAP), the rest 5 : 4, plus the ordinary files.
 */
function subjectCounts(kind: Kind, size: number): { signIns: number; driveEvents: number; driveItems: number } {
  const driveItems = kind === 'full' ? Math.min(Math.round(size * 0.1), DRIVE_ITEMS_CAP) : 0;
  const signIns = Math.round(((size - driveItems) * 5) / 9);
  return { signIns, driveEvents: size - driveItems - signIns, driveItems };
}

async function seedSubject(env: BenchEnvironment, size: number, kind: Kind): Promise<Subject> {
  const nodeBefore = process.cpuUsage();
  const postgresBefore = await postgresCpuSeconds(env);
  const started = performance.now();
  const summary = await seedTenant({
    db: env.db,
    contentStore: env.contentStore,
    users: 1,
    filesPerUser: kind === 'full' ? ORDINARY_FILES : 0,
    seed: `bench-heavy-${kind}-${size}`,
    now: new Date(),
    heavy: subjectCounts(kind, size),
  });
  const seedSeconds = (performance.now() - started) / 1000;
  const node = process.cpuUsage(nodeBefore);
  const seedCpu = { node: (node.user + node.system) / 1e6, postgres: (await postgresCpuSeconds(env)) - postgresBefore };
  const u = summary.users[0]!;
  const root = await env.db.query<{ id: string }>('select id from drive_items where owner_user_id = $1 and parent_id is null', [u.id]);
  return {
    kind,
    user: { tenantId: summary.tenantId, userId: u.id, upn: u.userPrincipalName, rootId: root.rows[0]!.id },
    records: u.signIns + u.driveActivities + u.files + u.folders,
    seedSeconds,
    seedCpu,
  };
}

/** An empty Azurite for one side of one subject: in memory, or on disk with BENCH_AZURITE_DISK=1. */
async function emptyAzurite(): Promise<Azurite> {
  if (!ON_DISK) return freshAzurite(cleanup);
  const dir = await tempDir('dsr-bench-azurite-');
  cleanup.add(() => rm(dir, { recursive: true, force: true }));
  return freshAzurite(cleanup, 0, dir);
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

interface ExportRun {
  seconds: number;
  /** The package's bytes (what Azurite holds once it completes). */
  bytes: number;
  firstUploadSeconds: number;
  hwmMiB: number;
  index: { bytes: number; ms: number };
}

/** One export by a fresh worker into an empty Azurite: seconds from the claim to completed_at, to the first upload, the worker's peak RSS, index.html. */
async function exportSubject(env: BenchEnvironment, subject: Subject, label: string): Promise<ExportRun> {
  const azurite = await emptyAzurite();
  try {
    const worker = await startWorkerProcess(cleanup, childEnv(env, azurite));
    let run: Omit<ExportRun, 'index'>;
    let sas: string;
    try {
      sas = await containerSas(azurite, `dsr-heavy-${subject.kind}-${label.toLowerCase()}-${randomUUID().slice(0, 8)}`);
      const id = await queueAndNotify(env.db, subject.user, sas, azurite.origin);
      const claimed = await pollOperation(env.db, id, (s) => s !== 'notStarted', { intervalMs: 5, timeoutMs: EXPORT_TIMEOUT_MS });
      const first = await firstUpload(env, id);
      const done = await pollOperation(env.db, id, (s) => s === 'complete' || s === 'failed', { intervalMs: 200, timeoutMs: EXPORT_TIMEOUT_MS });
      const hwmMiB = (await memoryOf(worker.pid)).hwmMiB;
      assertComplete(label, done.state);
      const claimedMs = performance.timeOrigin + claimed.at;
      run = {
        seconds: (done.state.completed_ms! - claimedMs) / 1000,
        bytes: Number(done.state.bytes_written),
        firstUploadSeconds: (first - claimed.at) / 1000,
        hwmMiB,
      };
    } finally {
      await worker.stop();
    }
    return { ...run, index: await openIndex(sas) };
  } finally {
    await azurite.stop();
  }
}

/** The subject's tables, as the baseline copies them. */
function tablesOf(subject: Subject): [string, string][] {
  const { tenantId, userId } = subject.user;
  const tables: [string, string][] = [
    ['Directory/SignIns.tsv', `select id, created_at, data from sign_ins where tenant_id = '${tenantId}' and user_id = '${userId}'`],
    ['OneDrive/Activity.tsv', `select * from drive_activities where tenant_id = '${tenantId}' and user_id = '${userId}'`],
  ];
  if (subject.kind === 'full') {
    tables.push(['OneDrive/DriveItems.tsv', `select * from drive_items where tenant_id = '${tenantId}' and owner_user_id = '${userId}'`]);
  }
  return tables;
}

/** The baseline: each table's rows of the subject through COPY … TO STDOUT into uploadStream. */
async function baselineRows(env: BenchEnvironment, container: ContainerClient, subject: Subject): Promise<{ seconds: number; rows: number }> {
  const client: pg.PoolClient = await env.db.connect();
  try {
    const started = performance.now();
    let rows = 0;
    for (const [name, sql] of tablesOf(subject)) {
      const stream = client.query(copyTo(`copy (${sql}) to stdout`));
      await container.getBlockBlobClient(name).uploadStream(stream, BLOCK_SIZE, PARALLEL_BLOCKS);
      rows += stream.rowCount;
    }
    return { seconds: (performance.now() - started) / 1000, rows };
  } finally {
    client.release();
  }
}

/**
 * The drive's files of the subject, each read from the content store and uploaded in one request,
 * 8 at once, as export-throughput's small-file baseline does: the part of an export that no COPY
 * of rows covers. Seconds.
 */
async function baselineFiles(env: BenchEnvironment, container: ContainerClient, subject: Subject): Promise<{ seconds: number; files: number }> {
  const { rows } = await env.db.query<{ sha256: string }>(
    'select content_sha256 as sha256 from drive_items where tenant_id = $1 and owner_user_id = $2 and content_sha256 is not null',
    [subject.user.tenantId, subject.user.userId],
  );
  const started = performance.now();
  await mapConcurrent(rows, FILE_CONCURRENCY, async ({ sha256 }, i) => {
    const body = await readFile(path.join(env.dataDir, 'content', contentPath(sha256)));
    await container.getBlockBlobClient(`OneDrive/Files/file-${String(i).padStart(7, '0')}.bin`).upload(body, body.length);
  });
  return { seconds: (performance.now() - started) / 1000, files: rows.length };
}

/** Both baselines of a subject into one empty Azurite, stopped before the export starts. */
async function baseline(env: BenchEnvironment, subject: Subject, label: string): Promise<{ rows: number; seconds: number; filesSeconds: number }> {
  const azurite = await emptyAzurite();
  try {
    const container = new ContainerClient(await containerSas(azurite, `base-heavy-${randomUUID().slice(0, 8)}`));
    const base = await baselineRows(env, container, subject);
    log(`${label}: baseline COPY → uploadStream, ${base.rows} rows in ${base.seconds.toFixed(2)} s`);
    if (subject.kind !== 'full') return { ...base, filesSeconds: 0 };
    const files = await baselineFiles(env, container, subject);
    log(`${label}: baseline ${files.files} drive files in ${files.seconds.toFixed(2)} s`);
    return { ...base, filesSeconds: files.seconds };
  } finally {
    await azurite.stop();
  }
}

function subjectRows(subject: Subject, label: string, base: { rows: number; seconds: number; filesSeconds: number }, run: ExportRun): BenchRow[] {
  const name = `heavy subject ${label} records, ${KIND_LABEL[subject.kind]}`;
  const dsrRate = subject.records / run.seconds;
  const seed: BenchRow = {
    figure: `${name}: seed (COPY)`,
    value: subject.seedSeconds,
    unit: 's',
    note: `${Math.round(subject.records / subject.seedSeconds)} records/s`,
    // "A million rows in well under a minute": the records-only million is that seed.
    ...(subject.kind === 'records' && subject.records >= 1e6 ? { target: '< 30 s (well under a minute)', met: subject.seedSeconds < 30 } : {}),
  };
  const exportRow: BenchRow =
    subject.kind === 'records'
      ? {
          figure: `${name}: export`,
          value: dsrRate,
          unit: 'records/s',
          baseline: base.rows / base.seconds,
          ratio: (dsrRate * base.seconds) / base.rows,
          target: '≥ 0.5× COPY → uploadStream',
          met: dsrRate * base.seconds >= 0.5 * base.rows,
        }
      : {
          // The export also uploads the drive's files, one blob each, which the rows' COPY does
          // not: the same records against the COPY plus those files' raw uploads.
          figure: `${name}: export vs COPY + the files' raw uploads`,
          value: dsrRate,
          unit: 'records/s',
          baseline: subject.records / (base.seconds + base.filesSeconds),
          ratio: (dsrRate * (base.seconds + base.filesSeconds)) / subject.records,
        };
  return [
    seed,
    { figure: `${name}: worker peak RSS`, value: run.hwmMiB, unit: 'MiB', target: '< 256 MiB', met: run.hwmMiB < 256 },
    exportRow,
    { figure: `${name}: claim → first upload`, value: run.firstUploadSeconds, unit: 's' },
    {
      figure: `${name}: index.html (${(run.index.bytes / 1024).toFixed(0)} KiB) opened in Chromium`,
      value: run.index.ms / 1000,
      unit: 's',
      target: '< 2 s',
      met: run.index.ms < 2000,
    },
  ];
}

try {
  const env = await openBenchEnvironment(cleanup, 'dsr-bench-heavy-');
  const rows: BenchRow[] = [];
  const peaks: Record<Kind, number[]> = { records: [], full: [] };
  for (const size of SIZES) {
    const label = size >= 1e6 ? `${size / 1e6}M` : `${size / 1e3}k`;
    for (const kind of KINDS) {
      const at = `${label} ${kind}`;
      const subject = await seedSubject(env, size, kind);
      log(
        `${at}: ${subject.records} records (${subjectCounts(kind, size).driveItems} drive items) seeded in ${subject.seedSeconds.toFixed(1)} s, ` +
          `CPU ${subject.seedCpu.node.toFixed(1)} s here, ${subject.seedCpu.postgres.toFixed(1)} s in PostgreSQL`,
      );
      // Each side gets an empty Azurite of its own: its in-memory store costs more per blob the
      // more blobs it holds, so a shared one would slow whichever side runs second.
      const base = await baseline(env, subject, at);
      const run = await exportSubject(env, subject, label);
      log(
        `${at}: export of ${(run.bytes / 2 ** 20).toFixed(0)} MiB in ${run.seconds.toFixed(2)} s, first upload ${run.firstUploadSeconds.toFixed(2)} s after the claim, peak RSS ${run.hwmMiB.toFixed(0)} MiB, ` +
          `index.html ${(run.index.bytes / 1024).toFixed(0)} KiB opened in ${run.index.ms.toFixed(0)} ms`,
      );
      peaks[kind].push(run.hwmMiB);
      rows.push(...subjectRows(subject, label, base, run));
    }
  }
  for (const kind of KINDS) {
    if (peaks[kind].length < 2) continue;
    const spread = Math.max(...peaks[kind]) - Math.min(...peaks[kind]);
    rows.push({
      figure: `heavy subject, ${KIND_LABEL[kind]}: peak RSS, largest − smallest (${SIZES.join(', ')})`,
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
