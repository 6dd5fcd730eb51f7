// Export latency through the HTTP API of `dsr-export serve` (API and worker in one child process,
// the embedded default's shape): from the 202 to `running` with an idle worker, and from the 202
// to `complete` for a user with 10 small files. The status is read from the database every 2 ms
// (what GET /dataPolicyOperations/{id} would show, without the client's polling interval).
import { randomUUID } from 'node:crypto';
import { loadLocalIssuer, tokenClaims } from '../src/auth/local-issuer.ts';
import { emit, type BenchRow } from './lib.ts';
import {
  assertComplete,
  childEnv,
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
  startServerProcess,
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
  // Created before the server starts, so that both processes read the same key file.
  const issuer = await loadLocalIssuer(env.dataDir);
  const token = await issuer.sign(tokenClaims({ tenant: tenantId, app: { id: randomUUID(), roles: ['User.Export.All', 'User.Read.All'] } }), 3600);
  const server = await startServerProcess(
    cleanup,
    childEnv(env, azurite, {
      DSR_QUOTA_EXPORTS_PER_TENANT_PER_DAY: '1000000',
      DSR_QUOTA_EXPORTS_PER_USER_PER_DAY: '1000000',
    }),
  );

  const post = async (userId: string): Promise<{ id: string; at: number }> => {
    const sas = await containerSas(azurite, `lat-${randomUUID().slice(0, 13)}`);
    const res = await fetch(`${server.url}/v1.0/users/${userId}/exportPersonalData`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ storageLocation: sas }),
    });
    const at = performance.now();
    if (res.status !== 202) throw new Error(`POST exportPersonalData answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
    return { id: res.headers.get('location')!.split('/').pop()!, at };
  };

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
