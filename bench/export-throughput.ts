// Export throughput: one user with one big file (1 GiB) and one user with 2,000 small files,
// exported by `dsr-export worker` in a child process, against a plain @azure/storage-blob upload
// of the same bytes (read from the same content-store files) to the same kind of Azurite at the
// same concurrency, in this run. Every case gets a fresh Azurite: its in-memory store slows as it
// fills. Also the worker's peak RSS during the 1 GiB export and during a 100 MiB export.
//
// An export's time runs from the poll that sees it `running` to its completed_at. The end is read
// from the row, so that poll can be slow: polling every 5 ms cost PostgreSQL and this process CPU
// on the two cores the worker and Azurite share, which the baseline never paid.
import { ContainerClient } from '@azure/storage-blob';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { emit, memoryOf, type BenchRow } from './lib.ts';
import type { Azurite } from '../src/embedded/azurite.ts';
import {
  assertComplete,
  childEnv,
  Cleanup,
  containerSas,
  deterministicBytes,
  freshAzurite,
  insertFiles,
  insertUsers,
  mapConcurrent,
  cpuSeconds,
  openBenchEnvironment,
  pollOperation,
  queueAndNotify,
  sampleWaits,
  startWorkerProcess,
  type BenchEnvironment,
  type BenchUser,
} from './export-support.ts';

const BIG_MIB = Number(process.env.BENCH_BIG_MIB ?? 1024);
const MID_MIB = Number(process.env.BENCH_MID_MIB ?? 100);
const SMALL_FILES = Number(process.env.BENCH_SMALL_FILES ?? 2000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
// What the worker uses (src/worker/worker.ts, src/config.ts): 4 MiB blocks with 2 in flight for
// one file, and DSR_UPLOAD_CONCURRENCY (8) files at once.
const BLOCK_SIZE = 4 * 1024 * 1024;
const PARALLEL_BLOCKS = 2;
const FILE_CONCURRENCY = 8;
const MB = 1e6;

const log = (line: string) => process.stderr.write(`export-throughput: ${line}\n`);
const logCpu = (label: string, cpu0: { self: NodeJS.CpuUsage; azurite: number }, azurite: number) => {
  const self = process.cpuUsage(cpu0.self);
  log(`${label}: CPU seconds: uploader ${((self.user + self.system) / 1e6).toFixed(2)}, Azurite ${(azurite - cpu0.azurite).toFixed(2)}`);
};
const cleanup = new Cleanup();

/** Queues one export of `user` into `sas` for the running worker; seconds from `running` to completed_at. */
async function timeExport(
  env: BenchEnvironment,
  worker: { pid: number },
  azurite: Azurite,
  user: BenchUser,
  sas: string,
  label: string,
): Promise<{ seconds: number; bytes: number }> {
  const cpu0 = { worker: await cpuSeconds(worker.pid), azurite: await cpuSeconds(azurite.pid) };
  const id = await queueAndNotify(env.db, user, sas, azurite.origin);
  const running = await pollOperation(env.db, id, (s) => s !== 'notStarted', { intervalMs: 2 });
  const runningMs = performance.timeOrigin + running.at;
  const waits = sampleWaits(env.db);
  const done = await pollOperation(env.db, id, (s) => s === 'complete' || s === 'failed', { intervalMs: 100, timeoutMs: 300_000 });
  const histogram = await waits.stop();
  if (histogram) log(`${label}: PostgreSQL backends during the export: ${histogram}`);
  log(
    `${label}: CPU seconds from queue to complete: worker ${((await cpuSeconds(worker.pid)) - cpu0.worker).toFixed(2)}, Azurite ${((await cpuSeconds(azurite.pid)) - cpu0.azurite).toFixed(2)}`,
  );
  assertComplete(label, done.state);
  return { seconds: (done.state.completed_ms! - runningMs) / 1000, bytes: done.state.bytes_written };
}

/** One export by a fresh worker process into a fresh Azurite, and the worker's peak RSS. */
async function exportOnce(env: BenchEnvironment, user: BenchUser, label: string): Promise<{ seconds: number; hwmMiB: number; bytes: number }> {
  const azurite = await freshAzurite(cleanup);
  try {
    const sas = await containerSas(azurite, `dsr-${label}-${randomUUID().slice(0, 8)}`);
    const worker = await startWorkerProcess(cleanup, childEnv(env, azurite));
    try {
      const result = await timeExport(env, worker, azurite, user, sas, label);
      return { ...result, hwmMiB: (await memoryOf(worker.pid)).hwmMiB };
    } finally {
      await worker.stop();
    }
  } finally {
    await azurite.stop();
  }
}

/** The same bytes through the SDK alone: uploadStream with the worker's block size and blocks in flight. */
async function baselineBig(env: BenchEnvironment, file: string): Promise<number> {
  const azurite = await freshAzurite(cleanup);
  try {
    const container = new ContainerClient(await containerSas(azurite, `base-big-${randomUUID().slice(0, 8)}`));
    const cpu0 = { self: process.cpuUsage(), azurite: await cpuSeconds(azurite.pid) };
    const started = performance.now();
    await container
      .getBlockBlobClient('OneDrive/Files/big.bin')
      .uploadStream(createReadStream(path.join(env.dataDir, 'content', file)), BLOCK_SIZE, PARALLEL_BLOCKS);
    const seconds = (performance.now() - started) / 1000;
    logCpu('baseline big', cpu0, await cpuSeconds(azurite.pid));
    return seconds;
  } finally {
    await azurite.stop();
  }
}

/** The same small files, each read from the content store and uploaded in one request, 8 at once. */
async function uploadSmall(azurite: Azurite, env: BenchEnvironment, files: readonly string[], label: string): Promise<number> {
  const container = new ContainerClient(await containerSas(azurite, `base-small-${randomUUID().slice(0, 8)}`));
  const cpu0 = { self: process.cpuUsage(), azurite: await cpuSeconds(azurite.pid) };
  const started = performance.now();
  await mapConcurrent(files, FILE_CONCURRENCY, async (file, i) => {
    const body = await readFile(path.join(env.dataDir, 'content', file));
    await container.getBlockBlobClient(`OneDrive/Files/small-${String(i).padStart(5, '0')}.bin`).upload(body, body.length);
  });
  const seconds = (performance.now() - started) / 1000;
  logCpu(label, cpu0, await cpuSeconds(azurite.pid));
  return seconds;
}

const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/**
 * The small files, both sides warm and measured alternately: one worker process stays up for
 * every round (as `serve` and `worker` do in service), and has exported the user once before
 * the rounds; the baseline has uploaded the files once too. That first export, which pays the
 * JIT compilation of the SDK and of the worker, is reported on its own. Until this was
 * measured this way, a fresh worker was compared with a baseline in this warm process: the
 * comparison paid the worker's start-up (≈0.5 s of 4–5) and nothing of the baseline's.
 * Every upload, warm-up or round, gets an empty Azurite, on one port that the worker allows.
 */
async function smallFilesRounds(env: BenchEnvironment, user: BenchUser, files: readonly string[]): Promise<{ cold: number; base: number[]; dsr: number[] }> {
  let azurite = await freshAzurite(cleanup);
  const { port } = azurite;
  const fresh = async () => {
    await azurite.stop();
    azurite = await freshAzurite(cleanup, port);
    return azurite;
  };
  const worker = await startWorkerProcess(cleanup, childEnv(env, azurite));
  try {
    const cold = (await timeExport(env, worker, azurite, user, await containerSas(azurite, `dsr-warm-up-${randomUUID().slice(0, 8)}`), 'small, first export'))
      .seconds;
    log(`dsr-export ${SMALL_FILES} small files, first export of the worker: ${cold.toFixed(2)} s`);
    await uploadSmall(await fresh(), env, files, 'baseline small, warm-up');
    const base: number[] = [];
    const dsr: number[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      base.push(await uploadSmall(await fresh(), env, files, `baseline small, round ${round}`));
      const az = await fresh();
      dsr.push((await timeExport(env, worker, az, user, await containerSas(az, `dsr-small-${randomUUID().slice(0, 8)}`), `small, round ${round}`)).seconds);
      log(`round ${round}: baseline ${base.at(-1)!.toFixed(2)} s, dsr-export ${dsr.at(-1)!.toFixed(2)} s`);
    }
    return { cold, base, dsr };
  } finally {
    await worker.stop();
    await azurite.stop();
  }
}

try {
  const env = await openBenchEnvironment(cleanup, 'dsr-bench-export-');
  const tenantId = randomUUID();
  const [bigUser, midUser, smallUser] = await insertUsers(env.db, tenantId, 3, 'throughput');

  let t = performance.now();
  const big = await insertFiles(env.db, env.contentStore, [{ user: bigUser!, name: 'big.bin', body: () => deterministicBytes(BIG_MIB << 20, 'big') }]);
  await insertFiles(env.db, env.contentStore, [{ user: midUser!, name: 'mid.bin', body: () => deterministicBytes(MID_MIB << 20, 'mid') }]);
  log(`wrote ${BIG_MIB} MiB + ${MID_MIB} MiB into the content store in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  t = performance.now();
  // 1–8 KiB each, sizes spread evenly, every body distinct.
  const small = await insertFiles(
    env.db,
    env.contentStore,
    Array.from({ length: SMALL_FILES }, (_, i) => ({
      user: smallUser!,
      name: `file-${String(i).padStart(5, '0')}.bin`,
      body: () => deterministicBytes(1024 + ((i * 7919) % 7169), `s${i}`),
    })),
    16,
    { root: path.join(env.dataDir, 'content') },
  );
  log(`wrote ${SMALL_FILES} small files (${(small.bytes / 1024 / 1024).toFixed(1)} MiB) in ${((performance.now() - t) / 1000).toFixed(1)} s`);

  const baseBigS = await baselineBig(env, big.paths[0]!);
  log(`baseline ${BIG_MIB} MiB: ${baseBigS.toFixed(2)} s`);
  const dsrBig = await exportOnce(env, bigUser!, 'big');
  log(`dsr-export ${BIG_MIB} MiB: ${dsrBig.seconds.toFixed(2)} s, worker peak RSS ${dsrBig.hwmMiB.toFixed(0)} MiB`);
  const dsrMid = await exportOnce(env, midUser!, 'mid');
  log(`dsr-export ${MID_MIB} MiB: ${dsrMid.seconds.toFixed(2)} s, worker peak RSS ${dsrMid.hwmMiB.toFixed(0)} MiB`);
  const rounds = await smallFilesRounds(env, smallUser!, small.paths);
  const baseSmallS = median(rounds.base);
  const dsrSmallS = median(rounds.dsr);

  const bigMBs = big.bytes / MB / dsrBig.seconds;
  const baseBigMBs = big.bytes / MB / baseBigS;
  const smallRate = SMALL_FILES / dsrSmallS;
  const coldRate = SMALL_FILES / rounds.cold;
  const secondsList = (xs: readonly number[]) => xs.map((x) => x.toFixed(1)).join(', ');
  const baseSmallRate = SMALL_FILES / baseSmallS;
  const rows: BenchRow[] = [
    {
      figure: `export 1 user × ${BIG_MIB} MiB file, throughput`,
      value: bigMBs,
      unit: 'MB/s',
      baseline: baseBigMBs,
      ratio: bigMBs / baseBigMBs,
      target: '≥ 0.95×',
      met: bigMBs / baseBigMBs >= 0.95,
      note: `running→complete ${dsrBig.seconds.toFixed(1)} s; baseline uploadStream 4 MiB × 2`,
    },
    {
      figure: `export 1 user × ${SMALL_FILES} files of 1–8 KiB, files/s`,
      value: smallRate,
      unit: 'files/s',
      baseline: baseSmallRate,
      ratio: smallRate / baseSmallRate,
      target: '≥ 0.95×',
      met: smallRate / baseSmallRate >= 0.95,
      note: `medians of ${ROUNDS} alternating rounds, both sides warm: running→complete ${secondsList(rounds.dsr)} s incl. 11 metadata files; baseline upload() × 8 ${secondsList(rounds.base)} s`,
    },
    {
      figure: `export 1 user × ${SMALL_FILES} files, first export of a fresh worker`,
      value: coldRate,
      unit: 'files/s',
      baseline: baseSmallRate,
      ratio: coldRate / baseSmallRate,
      note: `running→complete ${rounds.cold.toFixed(1)} s; includes the JIT warm-up of a new process`,
    },
    { figure: `worker peak RSS, ${BIG_MIB} MiB export`, value: dsrBig.hwmMiB, unit: 'MiB', target: '< 256 MiB', met: dsrBig.hwmMiB < 256 },
    { figure: `worker peak RSS, ${MID_MIB} MiB export`, value: dsrMid.hwmMiB, unit: 'MiB' },
    {
      figure: `worker peak RSS difference, ${BIG_MIB} vs ${MID_MIB} MiB`,
      value: Math.abs(dsrBig.hwmMiB - dsrMid.hwmMiB),
      unit: 'MiB',
      target: '< 64 MiB',
      met: Math.abs(dsrBig.hwmMiB - dsrMid.hwmMiB) < 64,
    },
  ];
  emit(rows);
} finally {
  await cleanup.run();
}
