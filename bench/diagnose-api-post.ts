// Diagnostic, not part of `npm run bench`: why POST exportPersonalData is far below the bare
// JWT route. Runs `dsr-export serve --no-worker` against a PostgreSQL owned by this process,
// drives the POST with autocannon (50 connections) and meanwhile samples pg_stat_activity every
// 10 ms and the CPU time of the server and of PostgreSQL from /proc. Then repeats the run with
// the database set to `synchronous_commit = off` (on this throwaway database only) to show what
// the per-request WAL flush costs. `npx tsx bench/diagnose-api-post.ts`.
import autocannon from 'autocannon';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { loadLocalIssuer, tokenClaims } from '../src/auth/local-issuer.ts';
import { createPool } from '../src/db/pool.ts';
import {
  childEnv,
  Cleanup,
  cpuSeconds,
  insertUsers,
  openBenchEnvironment,
  postgresCpuSeconds,
  startServerProcess,
  stopProcess,
  type BenchEnvironment,
} from './export-support.ts';
import { ROOT, startChild } from './lib.ts';

const SECONDS = Number(process.env.BENCH_API_SECONDS ?? 8);
const cleanup = new Cleanup();

async function run(env: BenchEnvironment, label: string): Promise<void> {
  const issuer = await loadLocalIssuer(env.dataDir);
  const tenant = randomUUID();
  const [user] = await insertUsers(env.db, tenant, 1, `diag-${label}`);
  const token = await issuer.sign(tokenClaims({ tenant, app: { id: randomUUID(), roles: ['User.Export.All', 'User.Read.All'] } }), 3600);
  const server = await startServerProcess(
    cleanup,
    childEnv(env, undefined, {
      DSR_LOG_LEVEL: 'warn',
      DSR_QUOTA_EXPORTS_PER_TENANT_PER_DAY: '100000000',
      DSR_QUOTA_EXPORTS_PER_USER_PER_DAY: '100000000',
      DSR_QUOTA_REQUESTS_PER_TENANT_PER_HOUR: '100000000',
    }),
    { noWorker: true },
  );
  const sampler = createPool(env.database.url, 1);
  try {
    const se = new Date(Date.now() + 86_400_000).toISOString();
    let n = 0;
    const body = () =>
      JSON.stringify({
        storageLocation: `https://acct.blob.core.windows.net/d${label.endsWith('on') ? 'a' : 'b'}${(n++).toString(36).padStart(7, '0')}?sr=c&sp=cw&se=${se}&sig=x`,
      });
    // Backends started during the run count from zero; every pool keeps its connections, so none is lost.
    const pg0 = await postgresCpuSeconds(env);
    const server0 = await cpuSeconds(server.pid);
    const waits = new Map<string, number>();
    let samples = 0;
    let sampling = true;
    const sampling$ = (async () => {
      while (sampling) {
        const { rows } = await sampler.query<{ state: string; wait: string }>(
          `select state, coalesce(wait_event_type || ':' || wait_event, 'CPU') as wait from pg_stat_activity
           where datname = current_database() and pid <> pg_backend_pid() and backend_type = 'client backend'`,
        );
        samples++;
        for (const r of rows) waits.set(`${r.state} ${r.wait}`, (waits.get(`${r.state} ${r.wait}`) ?? 0) + 1);
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    const loadFrom = process.hrtime.bigint() / 1000n;
    const result = await autocannon({
      url: server.url,
      connections: Number(process.env.BENCH_API_CONNECTIONS ?? 50),
      duration: SECONDS,
      requests: [
        {
          method: 'POST',
          setupRequest: (req) => ({
            ...req,
            path: `/v1.0/users/${user!.userId}/exportPersonalData`,
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
            body: body(),
          }),
        },
      ],
    });
    const loadTo = process.hrtime.bigint() / 1000n;
    sampling = false;
    await sampling$;
    const server1 = await cpuSeconds(server.pid);
    const pgSeconds = (await postgresCpuSeconds(env)) - pg0;
    const secs = SECONDS;
    process.stdout.write(
      `\n## ${label}\n${result.requests.average.toFixed(0)} req/s, p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, non-2xx ${result.non2xx}\n`,
    );
    process.stdout.write(
      `CPU over ${secs} s: server ${(((server1 - server0) / secs) * 100).toFixed(0)} % of a core (${(((server1 - server0) * 1000) / result.requests.total).toFixed(2)} CPU-ms per request), ` +
        `PostgreSQL (all processes, sampler included) ${((pgSeconds / secs) * 100).toFixed(0)} % (${((pgSeconds * 1000) / result.requests.total).toFixed(2)} CPU-ms per request)\n`,
    );
    process.stdout.write(`server pid ${server.pid}; load phase (CLOCK_MONOTONIC µs, for profile-summary.ts): ${loadFrom} ${loadTo}\n`);
    process.stdout.write(`client backends by state and wait event (mean count per sample, ${samples} samples):\n`);
    for (const [k, v] of [...waits].sort((a, b) => b[1] - a[1])) process.stdout.write(`  ${k.padEnd(40)} ${(v / samples).toFixed(2)}\n`);
  } finally {
    await sampler.end();
    await server.stop();
  }
}

/** The same load on bench/bare-jwt-server.ts (JWT verification, no database): req/s and CPU per request. */
async function runBare(env: BenchEnvironment): Promise<void> {
  const issuer = await loadLocalIssuer(env.dataDir);
  const token = await issuer.sign(tokenClaims({ tenant: randomUUID(), app: { id: randomUUID(), roles: ['User.Export.All'] } }), 3600);
  const { child, match } = await startChild(
    process.execPath,
    ['--import', 'tsx', path.join(ROOT, 'bench', 'bare-jwt-server.ts'), env.dataDir],
    {},
    /listening on (http:\/\/\S+)/,
  );
  cleanup.add(() => stopProcess(child));
  try {
    const cpu0 = await cpuSeconds(child.pid!);
    const result = await autocannon({
      url: match[1]!,
      connections: Number(process.env.BENCH_API_CONNECTIONS ?? 50),
      duration: SECONDS,
      requests: [
        {
          method: 'POST',
          setupRequest: (req) => ({
            ...req,
            path: `/v1.0/users/${randomUUID()}/exportPersonalData`,
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
            body: '{"storageLocation":"x"}',
          }),
        },
      ],
    });
    const cpu = (await cpuSeconds(child.pid!)) - cpu0;
    process.stdout.write(
      `\n## bare JWT route (no database)\n${result.requests.average.toFixed(0)} req/s, p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms; ` +
        `server ${((cpu / SECONDS) * 100).toFixed(0)} % of a core, ${((cpu * 1000) / result.requests.total).toFixed(2)} CPU-ms per request\n`,
    );
  } finally {
    await stopProcess(child);
  }
}

try {
  const env = await openBenchEnvironment(cleanup, 'dsr-bench-diag-');
  await runBare(env);
  const { rows } = await env.db.query<{ current_database: string }>('select current_database()');
  await run(env, 'synchronous_commit=on');
  await env.db.query(`alter database ${rows[0]!.current_database} set synchronous_commit = off`);
  await run(env, 'synchronous_commit=off');
} finally {
  await cleanup.run();
}
