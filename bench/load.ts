// Long form of test/load.test.ts (issue 7, item 3), run by hand:
//   npx tsx bench/load.ts [--requests 5000] [--users 500] [--apis 2] [--workers 2] [--concurrency 32] [--verify 200] [--drain-minutes 30]
// Starts its own embedded PostgreSQL and in-memory Azurite, then `serve --no-worker` and `worker`
// processes on them; sends the export POSTs spread over the APIs, waits until every accepted
// operation has ended, verifies a sample of packages, scans every process's log for SAS
// signatures and the token, and prints the figures. Exit code 1 if anything was lost or broken.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startEmbeddedPostgres } from '../src/embedded/postgres.ts';
import { migrate } from '../src/db/migrate.ts';
import { createPool } from '../src/db/pool.ts';
import { startAzurite } from '../src/embedded/azurite.ts';
import {
  exportToken,
  linesWithSecrets,
  loadRequests,
  percentile,
  runLoad,
  seedTinyUsers,
  startCluster,
  verifySample,
  waitForOperations,
} from './support/load.ts';
import { killAllChildren } from './support/processes.ts';

const { values: args } = parseArgs({
  options: {
    requests: { type: 'string', default: '5000' },
    users: { type: 'string', default: '500' },
    apis: { type: 'string', default: '2' },
    workers: { type: 'string', default: '2' },
    concurrency: { type: 'string', default: '32' },
    'worker-concurrency': { type: 'string', default: '8' },
    verify: { type: 'string', default: '200' },
    'drain-minutes': { type: 'string', default: '30' },
  },
});
const n = (k: keyof typeof args) => Number(args[k]);

const dir = await mkdtemp(path.join(os.tmpdir(), 'dsr-bench-load-'));
// Its own temp folder: startEmbeddedPostgres opens that folder (not its parents) to the postgres user.
const pgDir = await mkdtemp(path.join(os.tmpdir(), 'dsr-bench-load-pg-'));
const pg = await startEmbeddedPostgres(pgDir);
const azurite = await startAzurite();
let exitCode = 0;
try {
  const admin = createPool(pg.url, 1);
  await admin.query('create database load');
  await admin.end();
  const dbUrl = pg.url.replace(/\/postgres$/, '/load');
  const db = createPool(dbUrl, 4);
  await migrate(db);
  const dataDir = path.join(dir, 'data');
  const tenant = randomUUID();
  const t0 = Date.now();
  const cluster = await startCluster({
    databaseUrl: dbUrl,
    dataDir,
    azurite,
    apis: n('apis'),
    workers: n('workers'),
    workerEnv: { DSR_WORKER_CONCURRENCY: String(n('worker-concurrency')) },
  });
  const users = await seedTinyUsers(db, tenant, n('users'));
  const token = await exportToken(dataDir, tenant);
  const requests = await loadRequests(azurite, users, n('requests'), 'bench');
  console.log(
    `setup: ${n('apis')} APIs, ${n('workers')} workers, ${users.length} users, ${requests.length} containers in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
  );

  const tLoad = Date.now();
  let lastPrint = 0;
  const load = await runLoad({
    apis: () => cluster.apis.filter((a) => a.alive()).map((a) => a.url),
    token,
    requests,
    concurrency: n('concurrency'),
    onProgress: (done) => {
      if (Date.now() - lastPrint > 5000) {
        lastPrint = Date.now();
        console.log(`  ${done}/${requests.length} POSTs answered after ${((Date.now() - tLoad) / 1000).toFixed(0)} s`);
      }
    },
  });
  const ids = [...new Set(load.accepted.values())];
  console.log(
    `POSTs: ${requests.length} in ${(load.durationMs / 1000).toFixed(1)} s = ${(requests.length / (load.durationMs / 1000)).toFixed(0)} req/s; ` +
      `latency p50 ${percentile(load.latenciesMs, 50).toFixed(0)} ms, p99 ${percentile(load.latenciesMs, 99).toFixed(0)} ms, max ${percentile(load.latenciesMs, 100).toFixed(0)} ms; ` +
      `statuses ${JSON.stringify(Object.fromEntries(load.statuses))}; network errors ${load.networkErrors}; 5xx ${load.serverErrors.length}; unaccepted ${load.unaccepted.length}`,
  );

  const settled = await waitForOperations(db, ids, n('drain-minutes') * 60_000);
  const drainedS = (Date.now() - tLoad) / 1000;
  console.log(
    `operations: ${JSON.stringify(settled.byStatus)} ${drainedS.toFixed(1)} s after the first POST = ${(settled.ended.size / drainedS).toFixed(1)} exports/s; missing ${settled.missing.length}`,
  );
  const perWorker = cluster.workers.map((w) => w.lines.filter((l) => l.includes('"msg":"export complete"')).length);
  console.log(`exports per worker: ${perWorker.join(' / ')}`);

  // Only packages whose export has ended: when the drain window closed early, the rest are unfinished by design.
  const verified = await verifySample(
    requests.filter((_, i) => settled.ended.has(load.accepted.get(i) ?? '')),
    n('verify'),
  );
  console.log(`verified ${verified.checked} packages: ${verified.bad.length} bad`);
  const leaks = linesWithSecrets([...cluster.apis, ...cluster.workers], requests, token);
  console.log(`log lines scanned: ${[...cluster.apis, ...cluster.workers].reduce((a, p) => a + p.lines.length, 0)}; with a secret: ${leaks.length}`);

  const lost = load.unaccepted.length + settled.missing.length + (settled.byStatus.notStarted ?? 0) + (settled.byStatus.running ?? 0);
  if (lost > 0 || load.serverErrors.length > 0 || settled.failed.length > 0 || verified.bad.length > 0 || leaks.length > 0 || ids.length !== requests.length) {
    exitCode = 1;
    console.log(
      'FAILED',
      JSON.stringify({
        unaccepted: load.unaccepted.slice(0, 5),
        serverErrors: load.serverErrors.slice(0, 5),
        failed: settled.failed.slice(0, 5),
        bad: verified.bad.slice(0, 3),
        leaks: leaks.slice(0, 3),
      }),
    );
  } else {
    console.log('OK: every request accepted once, every operation complete, sampled packages verify, no secret in any log');
  }
  await db.end();
} finally {
  await killAllChildren();
  await azurite.stop();
  await pg.stop();
  await rm(dir, { recursive: true, force: true });
  await rm(pgDir, { recursive: true, force: true });
}
process.exit(exitCode);
