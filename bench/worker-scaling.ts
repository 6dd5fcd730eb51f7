// Worker scaling: 500 small exports (users with 1–2 tiny files) appear in the queue at once (one
// transaction, one NOTIFY at its commit) while 1, then 2, `dsr-export worker` processes sit
// idle; the figure is the time from the commit until every operation has ended. Each round gets
// a fresh Azurite and fresh containers; the users are shared.
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { inTransaction } from '../src/db/pool.ts';
import { notifyOperationsQueued } from '../src/db/queries/operations.ts';
import { emit, type BenchRow } from './lib.ts';
import {
  childEnv, Cleanup, cpuSeconds, containerSas, deterministicBytes, freshAzurite, insertFiles, insertUsers, mapConcurrent,
  openBenchEnvironment, queueOperation, sampleWaits, startWorkerProcess, type BenchEnvironment, type BenchUser,
} from './export-support.ts';

const EXPORTS = Number(process.env.BENCH_SCALING_EXPORTS ?? 500);
const log = (line: string) => process.stderr.write(`worker-scaling: ${line}\n`);
const cleanup = new Cleanup();

interface Round { seconds: number; complete: number; failed: number; errors: string[] }

async function round(env: BenchEnvironment, users: readonly BenchUser[], workers: number): Promise<Round> {
  const azurite = await freshAzurite(cleanup);
  const procs: { pid: number; stop(): Promise<void> }[] = [];
  try {
    const sas = await mapConcurrent(users, 16, () => containerSas(azurite, `scale-${randomUUID().slice(0, 13)}`));
    for (let i = 0; i < workers; i++) procs.push(await startWorkerProcess(cleanup, childEnv(env, azurite)));
    const cpuNow = async () => ({ workers: (await Promise.all(procs.map((p) => cpuSeconds(p.pid)))).reduce((a, b) => a + b, 0), azurite: await cpuSeconds(azurite.pid) });
    const ids = await inTransaction(env.db, async (tx) => {
      const out: string[] = [];
      for (let i = 0; i < users.length; i++) out.push(await queueOperation(tx, users[i]!, sas[i]!, azurite.origin));
      await notifyOperationsQueued(tx);
      return out;
    });
    const started = performance.now();
    const cpu0 = await cpuNow();
    const waits = sampleWaits(env.db);
    const deadline = started + 600_000;
    for (;;) {
      const { rows } = await env.db.query<{ ended: number }>(
        `select count(*)::int as ended from data_policy_operations where id = any($1) and status in ('complete', 'failed')`, [ids]);
      if (rows[0]!.ended === ids.length) break;
      if (performance.now() > deadline) throw new Error(`${workers} worker(s): only ${rows[0]!.ended} of ${ids.length} exports ended within 10 minutes`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const seconds = (performance.now() - started) / 1000;
    const cpu1 = await cpuNow();
    log(`${workers} worker(s): CPU seconds during the drain: worker processes ${(cpu1.workers - cpu0.workers).toFixed(1)}, Azurite ${(cpu1.azurite - cpu0.azurite).toFixed(1)} (wall ${seconds.toFixed(1)} s)`);
    const histogram = await waits.stop();
    if (histogram) log(`${workers} worker(s): PostgreSQL backends during the drain: ${histogram}`);
    const { rows } = await env.db.query<{ status: string; error_code: string | null; n: number }>(
      'select status, error_code, count(*)::int as n from data_policy_operations where id = any($1) group by 1, 2', [ids]);
    const count = (s: string) => rows.filter((r) => r.status === s).reduce((a, r) => a + r.n, 0);
    return { seconds, complete: count('complete'), failed: count('failed'), errors: rows.filter((r) => r.status === 'failed').map((r) => `${r.error_code} × ${r.n}`) };
  } finally {
    for (const p of procs) await p.stop();
    await azurite.stop();
  }
}

try {
  const env = await openBenchEnvironment(cleanup, 'dsr-bench-scaling-');
  const users = await insertUsers(env.db, randomUUID(), EXPORTS, 'scaling');
  await insertFiles(env.db, env.contentStore, users.flatMap((user, i) => Array.from({ length: 1 + (i % 2) }, (_, j) => ({
    user, name: `tiny-${j}.txt`, body: () => deterministicBytes(64 + ((i * 31 + j * 17) % 960), `t${i}.${j}`),
  }))), 16, { root: path.join(env.dataDir, 'content') });

  const one = await round(env, users, 1);
  log(`1 worker: ${one.seconds.toFixed(1)} s, ${one.complete} complete, ${one.failed} failed ${one.errors.join(', ')}`);
  const two = await round(env, users, 2);
  log(`2 workers: ${two.seconds.toFixed(1)} s, ${two.complete} complete, ${two.failed} failed ${two.errors.join(', ')}`);
  const failures = (r: Round) => (r.failed > 0 ? `; ${r.failed} FAILED: ${r.errors.join(', ')}` : '');
  const rows: BenchRow[] = [
    { figure: `drain ${EXPORTS} small exports, 1 worker process`, value: one.seconds, unit: 's', note: `${(EXPORTS / one.seconds).toFixed(1)} exports/s${failures(one)}` },
    {
      figure: `drain ${EXPORTS} small exports, 2 worker processes`, value: two.seconds, unit: 's', baseline: one.seconds, ratio: one.seconds / two.seconds,
      note: `speed-up ${(one.seconds / two.seconds).toFixed(2)}× over 1 process; ${(EXPORTS / two.seconds).toFixed(1)} exports/s${failures(two)}`,
    },
  ];
  emit(rows);
  if (one.failed + two.failed > 0) process.exitCode = 1;
} finally {
  await cleanup.run();
}
