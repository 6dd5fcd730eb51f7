import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { Db } from '../src/db/pool.ts';
import { startAzurite, type Azurite } from '../src/embedded/azurite.ts';
import { createTestDatabase, tempDir } from './support/harness.ts';
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
  type Cluster,
} from '../bench/support/load.ts';
import { killAllChildren } from '../bench/support/processes.ts';

// Issue 7, item 3 (short form, for CI): 2 API processes and 2 worker processes on one PostgreSQL
// and one Azurite; 300 export requests spread over both APIs. Every 202 has an operation, every
// operation ends complete, the packages verify, no 5xx, and no process printed a SAS signature or
// the token. The long form is `npx tsx bench/load.ts` (5,000 requests).

// DSR_LOAD_REQUESTS overrides the count (e.g. a smaller run on a busy machine).
const REQUESTS = Number(process.env.DSR_LOAD_REQUESTS ?? 300);
const USERS = Math.max(1, Math.round(REQUESTS / 5));

let db: Db;
let dbUrl: string;
let azurite: Azurite;
let cluster: Cluster | undefined;

beforeAll(async () => {
  ({ db, url: dbUrl } = await createTestDatabase());
  azurite = await startAzurite();
});

afterAll(async () => {
  await killAllChildren();
  await azurite?.stop();
  await db?.end();
});

test(`${REQUESTS} exports over 2 APIs and 2 workers: every 202 completes, packages verify, no 5xx, no secret in any log`, async () => {
  const tStart = Date.now();
  const phase = (what: string) => console.info(`[load] ${((Date.now() - tStart) / 1000).toFixed(1)} s: ${what}`);
  const dataDir = await tempDir('dsr-load-');
  const tenant = randomUUID();
  const users = await seedTinyUsers(db, tenant, USERS);
  // The containers are made while the four processes load (each spends seconds in tsx).
  const [requests] = await Promise.all([
    loadRequests(azurite, users, REQUESTS),
    (async () => {
      cluster = await startCluster({ databaseUrl: dbUrl, dataDir, azurite, apis: 2, workers: 2, workerEnv: { DSR_WORKER_CONCURRENCY: '6' } });
    })(),
  ]);
  const token = await exportToken(dataDir, tenant);
  phase('cluster up, containers created');
  const t0 = Date.now();
  const load = await runLoad({ apis: () => cluster!.apis.map((a) => a.url), token, requests, concurrency: 16 });
  phase('load sent');
  expect(load.serverErrors).toEqual([]);
  expect(load.unaccepted).toEqual([]);
  expect(load.networkErrors).toBe(0);
  expect(load.accepted.size).toBe(REQUESTS);
  const ids = [...load.accepted.values()];
  expect(new Set(ids).size).toBe(REQUESTS);
  // Both APIs took part: round-robin over two processes.
  const perApi = cluster!.apis.map((a) => a.lines.filter((l) => l.includes('"msg":"export accepted"')).length);
  expect(
    perApi.every((n) => n > REQUESTS / 4),
    String(perApi),
  ).toBe(true);

  const settled = await waitForOperations(db, ids, 150_000);
  const drained = Date.now() - t0;
  phase(`settled ${JSON.stringify(settled.byStatus)}`);
  expect(settled.missing).toEqual([]);
  expect(settled.failed).toEqual([]);
  expect(settled.byStatus).toEqual({ complete: REQUESTS });
  // Both workers exported; each operation was claimed once (no takeovers without a fault).
  const { rows } = await db.query<{ attempts: number; n: number }>(
    'select attempts, count(*)::int as n from data_policy_operations where id = any($1::uuid[]) group by attempts',
    [ids],
  );
  expect(rows).toEqual([{ attempts: 0, n: REQUESTS }]);
  const perWorker = cluster!.workers.map((w) => w.lines.filter((l) => l.includes('"msg":"export complete"')).length);
  expect(perWorker.reduce((a, b) => a + b, 0)).toBe(REQUESTS);
  expect(
    perWorker.every((n) => n > 0),
    String(perWorker),
  ).toBe(true);

  const verified = await verifySample(requests, 60);
  phase('verified');
  expect(verified.bad).toEqual([]);
  expect(linesWithSecrets([...cluster!.apis, ...cluster!.workers], requests, token)).toEqual([]);

  console.info(
    `[load] ${REQUESTS} POSTs (${USERS} users) over 2 APIs ${perApi.join('/')}: ${load.accepted.size} × 202 in ${(load.durationMs / 1000).toFixed(1)} s ` +
      `(${(REQUESTS / (load.durationMs / 1000)).toFixed(0)} req/s, p50 ${percentile(load.latenciesMs, 50).toFixed(0)} ms, p99 ${percentile(load.latenciesMs, 99).toFixed(0)} ms); ` +
      `all complete ${(drained / 1000).toFixed(1)} s after the first POST, by workers ${perWorker.join('/')}; ${verified.checked} packages verified; ` +
      `log lines scanned: ${[...cluster!.apis, ...cluster!.workers].reduce((a, p) => a + p.lines.length, 0)}`,
  );
}, 240_000);
