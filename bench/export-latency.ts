// Export latency through the HTTP API of `dsr-export serve` (API and worker in one child process,
// the embedded default's shape): from the 202 to `running` with an idle worker, and from the 202
// to `complete` for a user with 10 small files. The status is read from the database every 2 ms
// (what GET /dataPolicyOperations/{id} would show, without the client's polling interval).
import { randomUUID } from 'node:crypto';
import { emit, type BenchRow } from './lib.ts';
import {
  assertComplete,
  Cleanup,
  containerSas,
  deterministicBytes,
  freshAzurite,
  insertFiles,
  insertUsers,
  median,
  openBenchEnvironment,
  percentile,
  pollOperation,
  postExport,
  startExportServer,
} from './export-support.ts';

const RUNNING_SAMPLES = Number(process.env.BENCH_LATENCY_POSTS ?? 20);
const COMPLETE_SAMPLES = Number(process.env.BENCH_LATENCY_RUNS ?? 5);
const log = (line: string) => process.stderr.write(`export-latency: ${line}\n`);
const cleanup = new Cleanup();

try {
  const env = await openBenchEnvironment(cleanup, 'dsr-bench-latency-');
  const azurite = await freshAzurite(cleanup);
  const tenantId = randomUUID();
  const [oneFile, tenFiles] = await insertUsers(env.db, tenantId, 2, 'latency');
  await insertFiles(env.db, env.contentStore, [
    { user: oneFile!, name: 'note.txt', body: () => deterministicBytes(2048, 'note') },
    ...Array.from({ length: 10 }, (_, i) => ({ user: tenFiles!, name: `doc-${i}.bin`, body: () => deterministicBytes(4096 + i * 1000, `doc${i}`) })),
  ]);
  const server = await startExportServer(cleanup, env, azurite, tenantId);
  const post = async (userId: string) => postExport(server, userId, await containerSas(azurite, `lat-${randomUUID().slice(0, 13)}`));

  // One untimed export first: connections, JIT and Azurite's first container are warm after it.
  const warm = await post(oneFile!.userId);
  assertComplete('warm-up', (await pollOperation(env.db, warm.id, (s) => s === 'complete' || s === 'failed', { timeoutMs: 60_000 })).state);

  const toRunning: number[] = [];
  for (let i = 0; i < RUNNING_SAMPLES; i++) {
    const { id, at } = await post(oneFile!.userId);
    const running = await pollOperation(env.db, id, (s) => s !== 'notStarted', { intervalMs: 2, timeoutMs: 30_000 });
    toRunning.push(running.at - at);
    // Let it finish: the next POST must find the worker idle.
    assertComplete(`sample ${i}`, (await pollOperation(env.db, id, (s) => s === 'complete' || s === 'failed', { timeoutMs: 60_000 })).state);
  }
  log(`202 → running (ms): ${toRunning.map((x) => x.toFixed(0)).join(' ')}`);

  const toComplete: number[] = [];
  for (let i = 0; i < COMPLETE_SAMPLES; i++) {
    const { id, at } = await post(tenFiles!.userId);
    const done = await pollOperation(env.db, id, (s) => s === 'complete' || s === 'failed', { intervalMs: 2, timeoutMs: 60_000 });
    assertComplete(`10-file sample ${i}`, done.state);
    toComplete.push(done.at - at);
  }
  log(`202 → complete, 10 files (ms): ${toComplete.map((x) => x.toFixed(0)).join(' ')}`);

  const p50Running = median(toRunning);
  const rows: BenchRow[] = [
    {
      figure: `202 → running, idle worker, p50 of ${RUNNING_SAMPLES}`,
      value: p50Running,
      unit: 'ms',
      target: '< 200 ms',
      met: p50Running < 200,
      note: `p90 ${percentile(toRunning, 90).toFixed(0)} ms, max ${Math.max(...toRunning).toFixed(0)} ms`,
    },
    {
      figure: `202 → complete, 10-file user, p50 of ${COMPLETE_SAMPLES}`,
      value: median(toComplete),
      unit: 'ms',
      note: `min ${Math.min(...toComplete).toFixed(0)} ms, max ${Math.max(...toComplete).toFixed(0)} ms; 21 blobs per package`,
    },
  ];
  emit(rows);
} finally {
  await cleanup.run();
}
