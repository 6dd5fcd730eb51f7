// Diagnostic, not part of `npm run bench`: why POST exportPersonalData is far below the bare
// JWT route. Runs `dsr-export serve --no-worker` against a PostgreSQL owned by this process,
// drives the POST with autocannon (50 connections) and meanwhile samples pg_stat_activity every
// 10 ms and the CPU time of the server and of PostgreSQL from /proc. Then repeats the run with
// the database set to `synchronous_commit = off` (on this throwaway database only) to show what
// the per-request WAL flush costs. `npx tsx bench/diagnose-api-post.ts`.
import autocannon from 'autocannon';
import { randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { loadLocalIssuer, tokenClaims } from '../src/auth/local-issuer.ts';
import { createPool } from '../src/db/pool.ts';
import { childEnv, Cleanup, insertUsers, openBenchEnvironment, startServerProcess, stopProcess, type BenchEnvironment } from './export-support.ts';
import { ROOT, startChild } from './lib.ts';

const SECONDS = Number(process.env.BENCH_API_SECONDS ?? 8);
const cleanup = new Cleanup();

/** CPU seconds (user + system) of a process. */
async function cpuOf(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11] ?? 0) + Number(f[12] ?? 0)) / 100;
}

/** The postmaster and every backend it forked (the pid is line 1 of postmaster.pid). */
async function postgresPids(env: BenchEnvironment): Promise<number[]> {
  const postmaster = Number((await readFile(path.join(env.dataDir, 'postgres', 'postmaster.pid'), 'utf8')).split('\n')[0]);
  const pids = [postmaster];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === postmaster) pids.push(Number(entry));
  }
  return pids;
}

async function run(env: BenchEnvironment, label: string): Promise<void> {
  const issuer = await loadLocalIssuer(env.dataDir);
  const tenant = randomUUID();
  const [user] = await insertUsers(env.db, tenant, 1, `diag-${label}`);
  const token = await issuer.sign(tokenClaims({ tenant, app: { id: randomUUID(), roles: ['User.Export.All', 'User.Read.All'] } }), 3600);
  const server = await startServerProcess(cleanup, childEnv(env, undefined, {
    DSR_LOG_LEVEL: 'warn', DSR_QUOTA_EXPORTS_PER_TENANT_PER_DAY: '100000000', DSR_QUOTA_EXPORTS_PER_USER_PER_DAY: '100000000',
    DSR_QUOTA_REQUESTS_PER_TENANT_PER_HOUR: '100000000',
  }), { noWorker: true });
  const sampler = createPool(env.database.url, 1);
  try {
    const se = new Date(Date.now() + 86_400_000).toISOString();
    let n = 0;
    const body = () => JSON.stringify({ storageLocation: `https://acct.blob.core.windows.net/d${label.endsWith('on') ? 'a' : 'b'}${(n++).toString(36).padStart(7, '0')}?sr=c&sp=cw&se=${se}&sig=x` });
    // Backends started during the run count from zero; every pool keeps its connections, so none is lost.
    const pgCpu = async () => new Map(await Promise.all((await postgresPids(env)).map(async (pid) => [pid, await cpuOf(pid)] as const)));
    const pg0 = await pgCpu();
    const server0 = await cpuOf(server.pid);
    const waits = new Map<string, number>();
    let samples = 0;
    let sampling = true;
    const sampling$ = (async () => {
      while (sampling) {
        const { rows } = await sampler.query<{ state: string; wait: string }>(
          `select state, coalesce(wait_event_type || ':' || wait_event, 'CPU') as wait from pg_stat_activity
           where datname = current_database() and pid <> pg_backend_pid() and backend_type = 'client backend'`);
        samples++;
        for (const r of rows) waits.set(`${r.state} ${r.wait}`, (waits.get(`${r.state} ${r.wait}`) ?? 0) + 1);
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    const loadFrom = process.hrtime.bigint() / 1000n;
    const result = await autocannon({
      url: server.url, connections: Number(process.env.BENCH_API_CONNECTIONS ?? 50), duration: SECONDS,
      requests: [{
        method: 'POST',
        setupRequest: (req) => ({ ...req, path: `/v1.0/users/${user!.userId}/exportPersonalData`, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body() }),
      }],
    });
    const loadTo = process.hrtime.bigint() / 1000n;
    sampling = false;
    await sampling$;
    const server1 = await cpuOf(server.pid);
    const pgSeconds = [...(await pgCpu())].reduce((a, [pid, c]) => a + c - (pg0.get(pid) ?? 0), 0);
    const secs = SECONDS;
    process.stdout.write(`\n## ${label}\n${result.requests.average.toFixed(0)} req/s, p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, non-2xx ${result.non2xx}\n`);
    process.stdout.write(`CPU over ${secs} s: server ${((server1 - server0) / secs * 100).toFixed(0)} % of a core (${((server1 - server0) * 1000 / result.requests.total).toFixed(2)} CPU-ms per request), `
      + `PostgreSQL (all processes, sampler included) ${(pgSeconds / secs * 100).toFixed(0)} % (${(pgSeconds * 1000 / result.requests.total).toFixed(2)} CPU-ms per request)\n`);
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
  const { child, match } = await startChild(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench', 'bare-jwt-server.ts'), env.dataDir], {}, /listening on (http:\/\/\S+)/);
  cleanup.add(() => stopProcess(child));
  try {
    const cpu0 = await cpuOf(child.pid!);
    const result = await autocannon({
      url: match[1]!, connections: Number(process.env.BENCH_API_CONNECTIONS ?? 50), duration: SECONDS,
      requests: [{ method: 'POST', setupRequest: (req) => ({ ...req, path: `/v1.0/users/${randomUUID()}/exportPersonalData`, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{"storageLocation":"x"}' }) }],
    });
    const cpu = await cpuOf(child.pid!) - cpu0;
    process.stdout.write(`\n## bare JWT route (no database)\n${result.requests.average.toFixed(0)} req/s, p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms; `
      + `server ${(cpu / SECONDS * 100).toFixed(0)} % of a core, ${(cpu * 1000 / result.requests.total).toFixed(2)} CPU-ms per request\n`);
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
