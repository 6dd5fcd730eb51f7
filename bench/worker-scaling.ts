// Worker scaling: small exports (users with 1–2 tiny files) appear in the queue at once (one
// transaction, one NOTIFY at its commit) while 1, then 2, `dsr-export worker` processes sit
// idle; the figure is the time from the commit until every operation has ended, and its rate per
// 500 exports (does it fall as the store fills?). Each round gets a fresh Azurite and fresh
// containers; the users are shared.
//
// The baseline of each round writes the same blobs through the bare SDK: after the drain, every
// package's blob names and sizes are listed, then replayed into a fresh Azurite of the same kind
// with the worker's shape: `DSR_WORKER_CONCURRENCY` packages at once per worker process,
// RequestInfo.json first (If-None-Match: *), the rest `DSR_UPLOAD_CONCURRENCY` at once,
// manifest.json last; each Put Blob through the package's container SAS, as the worker sends it.
//
// BENCH_SCALING_EXPORTS (500), BENCH_SCALING_WORKERS (1,2), BENCH_AZURITE_DISK=1: Azurite keeps
// its blobs on disk (`--location`) instead of in memory. BENCH_AZURITE_KEYED=1: both sides' Azurite
// finds a blob without scanning every blob of the store (`keyedLookups`): that scan is what slows
// a long drain down as the store fills, on both sides, and a real account has none.
import { ContainerClient } from '@azure/storage-blob';
import { randomBytes, randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { loadConfig } from '../src/config.ts';
import type { Azurite } from '../src/embedded/azurite.ts';
import { inTransaction } from '../src/db/pool.ts';
import { notifyOperationsQueued } from '../src/db/queries/operations.ts';
import { emit, tempDir, type BenchRow } from './lib.ts';
import {
  childEnv,
  Cleanup,
  cpuSeconds,
  containerSas,
  deterministicBytes,
  freshAzurite,
  insertFiles,
  insertUsers,
  mapConcurrent,
  openBenchEnvironment,
  postgresCpuSeconds,
  queueOperation,
  sampleWaits,
  startWorkerProcess,
  type BenchEnvironment,
  type BenchUser,
} from './export-support.ts';

const EXPORTS = Number(process.env.BENCH_SCALING_EXPORTS ?? 500);
const WORKER_COUNTS = (process.env.BENCH_SCALING_WORKERS ?? '1,2').split(',').map(Number);
const ON_DISK = process.env.BENCH_AZURITE_DISK === '1';
const KEYED = process.env.BENCH_AZURITE_KEYED === '1';
const STEP = 500;
const workerConfig = loadConfig(process.env).worker;
const log = (line: string) => process.stderr.write(`worker-scaling: ${line}\n`);
const cleanup = new Cleanup();

interface Drain {
  seconds: number;
  perStep: number[];
  cpu: { writer: number; azurite: number; postgres: number };
}
interface Round extends Drain {
  complete: number;
  failed: number;
  errors: string[];
  packages: PackageBlobs[];
}
interface PackageBlobs {
  blobs: { name: string; size: number }[];
}

/** This process's CPU seconds: the baseline uploads from here. */
function selfCpu(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

async function azuriteOfKind(): Promise<Azurite> {
  if (!ON_DISK) return freshAzurite(cleanup, 0, undefined, { keyedLookups: KEYED });
  const dir = await tempDir('dsr-bench-azurite-');
  cleanup.add(() => rm(dir, { recursive: true, force: true }));
  return freshAzurite(cleanup, 0, dir, { keyedLookups: KEYED });
}

/** exports/s of each block of STEP completions, from the times at which the count crossed each multiple. */
function ratesPerStep(crossings: number[], total: number): number[] {
  const rates: number[] = [];
  let previous = 0;
  crossings.forEach((t, i) => {
    const n = Math.min(STEP, total - i * STEP);
    rates.push(n / (t - previous));
    previous = t;
  });
  return rates;
}

async function round(env: BenchEnvironment, users: readonly BenchUser[], workers: number): Promise<Round> {
  const azurite = await azuriteOfKind();
  const procs: { pid: number; stop(): Promise<void> }[] = [];
  try {
    const names = users.map(() => `scale-${randomUUID().slice(0, 13)}`);
    const sas = await mapConcurrent(names, 16, (name) => containerSas(azurite, name));
    for (let i = 0; i < workers; i++) procs.push(await startWorkerProcess(cleanup, childEnv(env, azurite)));
    const cpuNow = async () => ({
      writer: (await Promise.all(procs.map((p) => cpuSeconds(p.pid)))).reduce((a, b) => a + b, 0),
      azurite: await cpuSeconds(azurite.pid),
      postgres: await postgresCpuSeconds(env),
    });
    const ids = await inTransaction(env.db, async (tx) => {
      const out: string[] = [];
      for (let i = 0; i < users.length; i++) out.push(await queueOperation(tx, users[i]!, sas[i]!, azurite.origin));
      await notifyOperationsQueued(tx);
      return out;
    });
    const started = performance.now();
    const cpu0 = await cpuNow();
    const waits = sampleWaits(env.db);
    const deadline = started + 60_000 + ids.length * 1000;
    const crossings: number[] = [];
    // The count looks up every id: every 20 ms for 500, every 200 ms for 5,000, so that the
    // benchmark's own polling stays a small share of PostgreSQL's work.
    const pollMs = Math.max(20, ids.length / 25);
    for (;;) {
      const { rows } = await env.db.query<{ ended: number }>(
        `select count(*)::int as ended from data_policy_operations where id = any($1) and status in ('complete', 'failed')`,
        [ids],
      );
      const ended = rows[0]!.ended;
      const now = (performance.now() - started) / 1000;
      while ((crossings.length + 1) * STEP <= ended) crossings.push(now);
      if (ended === ids.length) {
        if (ids.length % STEP !== 0) crossings.push(now);
        break;
      }
      if (performance.now() > deadline) throw new Error(`${workers} worker(s): only ${ended} of ${ids.length} exports ended in time`);
      await new Promise((r) => setTimeout(r, pollMs));
    }
    const seconds = (performance.now() - started) / 1000;
    const cpu1 = await cpuNow();
    const histogram = await waits.stop();
    if (histogram) log(`${workers} worker(s): PostgreSQL backends during the drain: ${histogram}`);
    const { rows } = await env.db.query<{ status: string; error_code: string | null; n: number }>(
      'select status, error_code, count(*)::int as n from data_policy_operations where id = any($1) group by 1, 2',
      [ids],
    );
    const count = (s: string) => rows.filter((r) => r.status === s).reduce((a, r) => a + r.n, 0);
    // What the worker wrote, package by package, for the baseline to write again.
    const packages = await mapConcurrent(names, 8, async (name) => {
      const blobs: { name: string; size: number }[] = [];
      for await (const b of azurite.service.getContainerClient(name).listBlobsFlat()) blobs.push({ name: b.name, size: b.properties.contentLength ?? 0 });
      return { blobs };
    });
    return {
      seconds,
      perStep: ratesPerStep(crossings, ids.length),
      cpu: { writer: cpu1.writer - cpu0.writer, azurite: cpu1.azurite - cpu0.azurite, postgres: cpu1.postgres - cpu0.postgres },
      complete: count('complete'),
      failed: count('failed'),
      errors: rows.filter((r) => r.status === 'failed').map((r) => `${r.error_code} × ${r.n}`),
      packages,
    };
  } finally {
    for (const p of procs) await p.stop();
    await azurite.stop();
  }
}

/** The same blobs, the same names and sizes, with the worker's concurrency, through the bare SDK. */
async function baseline(packages: readonly PackageBlobs[], workers: number): Promise<Drain> {
  const azurite = await azuriteOfKind();
  try {
    const containers = await mapConcurrent(packages, 16, async () => new ContainerClient(await containerSas(azurite, `base-${randomUUID().slice(0, 13)}`)));
    const largest = Math.max(0, ...packages.flatMap((p) => p.blobs.map((b) => b.size)));
    const bytes = randomBytes(largest);
    const put = (container: ContainerClient, blob: { name: string; size: number }, conditions = {}) =>
      container.getBlockBlobClient(blob.name).upload(bytes.subarray(0, blob.size), blob.size, { conditions });
    const started = performance.now();
    const cpu0 = await cpuSeconds(azurite.pid);
    const self0 = selfCpu();
    const crossings: number[] = [];
    let done = 0;
    await mapConcurrent(packages, workers * workerConfig.concurrency, async (pkg, i) => {
      const container = containers[i]!;
      const first = pkg.blobs.find((b) => b.name.endsWith('RequestInfo.json'));
      const last = pkg.blobs.find((b) => b.name.endsWith('manifest.json'));
      if (first) await put(container, first, { ifNoneMatch: '*' });
      await mapConcurrent(
        pkg.blobs.filter((b) => b !== first && b !== last),
        workerConfig.uploadConcurrency,
        (b) => put(container, b),
      );
      if (last) await put(container, last);
      done++;
      if (done % STEP === 0 || done === packages.length) crossings.push((performance.now() - started) / 1000);
    });
    const seconds = (performance.now() - started) / 1000;
    return {
      seconds,
      perStep: ratesPerStep(crossings, packages.length),
      cpu: { writer: selfCpu() - self0, azurite: (await cpuSeconds(azurite.pid)) - cpu0, postgres: 0 },
    };
  } finally {
    await azurite.stop();
  }
}

try {
  const env = await openBenchEnvironment(cleanup, 'dsr-bench-scaling-');
  const users = await insertUsers(env.db, randomUUID(), EXPORTS, 'scaling');
  await insertFiles(
    env.db,
    env.contentStore,
    users.flatMap((user, i) =>
      Array.from({ length: 1 + (i % 2) }, (_, j) => ({
        user,
        name: `tiny-${j}.txt`,
        body: () => deterministicBytes(64 + ((i * 31 + j * 17) % 960), `t${i}.${j}`),
      })),
    ),
    16,
    { root: path.join(env.dataDir, 'content') },
  );

  const store = (ON_DISK ? 'Azurite on disk' : 'in-memory Azurite') + (KEYED ? ', keyed look-ups' : '');
  const rows: BenchRow[] = [];
  let oneWorker: number | undefined;
  let failed = 0;
  for (const workers of WORKER_COUNTS) {
    const ours = await round(env, users, workers);
    const raw = await baseline(ours.packages, workers);
    const blobs = ours.packages.reduce((a, p) => a + p.blobs.length, 0);
    const rate = EXPORTS / ours.seconds;
    const rawRate = EXPORTS / raw.seconds;
    const steps = (d: Drain) => d.perStep.map((r) => r.toFixed(1)).join(' / ');
    log(
      `${workers} worker(s): ${ours.seconds.toFixed(1)} s, ${ours.complete} complete, ${ours.failed} failed ${ours.errors.join(', ')}; ` +
        `CPU-s: workers ${ours.cpu.writer.toFixed(1)}, Azurite ${ours.cpu.azurite.toFixed(1)}, PostgreSQL ${ours.cpu.postgres.toFixed(1)}; ` +
        `baseline ${raw.seconds.toFixed(1)} s, CPU-s: uploader ${raw.cpu.writer.toFixed(1)}, Azurite ${raw.cpu.azurite.toFixed(1)}; ${blobs} blobs`,
    );
    log(`${workers} worker(s): exports/s per ${STEP}: ours ${steps(ours)}; baseline ${steps(raw)}`);
    failed += ours.failed;
    const failures = ours.failed > 0 ? `; ${ours.failed} FAILED: ${ours.errors.join(', ')}` : '';
    rows.push({
      figure: `drain ${EXPORTS} small exports, ${workers} worker process${workers > 1 ? 'es' : ''}, ${store}`,
      value: rate,
      unit: 'exports/s',
      baseline: rawRate,
      ratio: rate / rawRate,
      target: '≥ 0.7×',
      met: rate / rawRate >= 0.7,
      note: `${ours.seconds.toFixed(1)} s; ${(blobs / EXPORTS).toFixed(1)} blobs per package${oneWorker ? `; speed-up ${(rate / oneWorker).toFixed(2)}× over 1 process` : ''}${failures}`,
    });
    if (EXPORTS > STEP) {
      rows.push({
        figure: `  the same, exports/s per ${STEP} (ours; baseline)`,
        value: ours.perStep.at(-1)!,
        unit: 'exports/s (last block)',
        baseline: raw.perStep.at(-1)!,
        note: `ours ${steps(ours)}; baseline ${steps(raw)}`,
      });
    }
    if (workers === 1) oneWorker = rate;
  }
  emit(rows);
  if (failed > 0) process.exitCode = 1;
} finally {
  await cleanup.run();
}
