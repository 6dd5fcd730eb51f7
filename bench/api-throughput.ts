// API throughput: POST exportPersonalData and GET dataPolicyOperations/{id} of a real server
// (`serve --no-worker` so the queue only grows, embedded PostgreSQL owned by this process)
// against, in the same run:
// - the fair baselines (bare-jwt-server.ts with a database): the same JWT verification plus one
//   committed `INSERT … RETURNING` of an operation-wide row (POST) or one primary-key SELECT
//   (GET), through a pool of the service's size (20);
// - the bare JWT route without a database: the physical-limit reference.
// Every side runs as a user runs it: log level info (DSR_LOG_LEVEL's default; Fastify's default
// logger in the baselines), verified tokens kept until they expire. BENCH_API_ROUNDS alternating
// rounds of BENCH_API_SECONDS each; medians reported, with CPU-ms per request of the server
// process and of PostgreSQL (every backend, from /proc).
import autocannon from 'autocannon';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { loadLocalIssuer, tokenClaims } from '../src/auth/local-issuer.ts';
import {
  childEnv,
  Cleanup,
  cpuSeconds,
  insertUsers,
  median,
  nodeFlags,
  openBenchEnvironment,
  postgresCpuSeconds,
  startServerProcess,
  stopProcess,
  type BenchEnvironment,
} from './export-support.ts';
import { BASELINE_TABLE, emit, ROOT, startChild, type BenchRow } from './lib.ts';

const DURATION = Number(process.env.BENCH_API_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_API_ROUNDS ?? 3);
// `post` or `get`: measure only that route (quicker A/B checks); unset, both.
const ONLY = process.env.BENCH_API_ONLY?.toLowerCase();
const measurePost = ONLY !== 'get';
const measureGet = ONLY !== 'post';
const CONNECTIONS = 50;
const POOL = 20;
const log = (line: string) => process.stderr.write(`api-throughput: ${line}\n`);
const cleanup = new Cleanup();

interface Measured {
  rps: number;
  p99: number;
  non2xx: number;
  serverMs: number;
  pgMs: number;
}

async function measure(
  env: BenchEnvironment,
  server: { url: string; pid: number },
  token: string,
  method: 'POST' | 'GET',
  pathFor: () => string,
  bodyFor?: () => string,
): Promise<Measured> {
  const [server0, pg0] = [await cpuSeconds(server.pid), await postgresCpuSeconds(env)];
  const fromUs = process.hrtime.bigint() / 1000n;
  const result = await autocannon({
    url: server.url,
    connections: CONNECTIONS,
    duration: DURATION,
    requests: [
      {
        method,
        setupRequest: (req) => ({
          ...req,
          path: pathFor(),
          headers: { authorization: `Bearer ${token}`, ...(bodyFor ? { 'content-type': 'application/json' } : {}) },
          ...(bodyFor ? { body: bodyFor() } : {}),
        }),
      },
    ],
  });
  // The load phase's window, for `profile-summary.ts <profile> <top> <from> <to>` on a BENCH_CPU_PROF run.
  if (process.env.BENCH_CPU_PROF) log(`${method} on ${server.url}: load phase ${fromUs} ${process.hrtime.bigint() / 1000n}`);
  const [server1, pg1] = [await cpuSeconds(server.pid), await postgresCpuSeconds(env)];
  const total = Math.max(1, result.requests.total);
  return {
    rps: result.requests.average,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    serverMs: ((server1 - server0) * 1000) / total,
    pgMs: ((pg1 - pg0) * 1000) / total,
  };
}

async function startBare(env: BenchEnvironment, withDatabase: boolean): Promise<{ url: string; pid: number }> {
  const args = [
    ...nodeFlags(),
    '--import',
    'tsx',
    path.join(ROOT, 'bench', 'bare-jwt-server.ts'),
    env.dataDir,
    ...(withDatabase ? [env.database.url, String(POOL)] : []),
  ];
  const { child, match } = await startChild(process.execPath, args, {}, /listening on (http:\/\/\S+)/);
  cleanup.add(() => stopProcess(child));
  return { url: match[1]!, pid: child.pid! };
}

function medianOf(runs: Measured[]): Measured {
  const m = (k: keyof Measured) => median(runs.map((r) => r[k]));
  return { rps: m('rps'), p99: m('p99'), non2xx: runs.reduce((a, r) => a + r.non2xx, 0), serverMs: m('serverMs'), pgMs: m('pgMs') };
}

try {
  const env = await openBenchEnvironment(cleanup, 'dsr-bench-api-');
  await env.db.query(`create table ${BASELINE_TABLE} (like data_policy_operations including defaults including constraints including indexes)`);
  const serverEnv = childEnv(env, undefined, {
    DSR_QUOTA_EXPORTS_PER_TENANT_PER_DAY: '100000000',
    DSR_QUOTA_EXPORTS_PER_USER_PER_DAY: '100000000',
    DSR_QUOTA_REQUESTS_PER_TENANT_PER_HOUR: '100000000',
  });
  const server = await startServerProcess(cleanup, serverEnv, { noWorker: true });
  // BENCH_API_OTHER=<another checkout's bin/dsr-export.js>: its GET measured in the same rounds (A/B of a change).
  const otherBin = process.env.BENCH_API_OTHER;
  const other = otherBin ? await startServerProcess(cleanup, serverEnv, { noWorker: true, bin: otherBin }) : undefined;
  const bare = await startBare(env, false);
  const fair = await startBare(env, true);

  const issuer = await loadLocalIssuer(env.dataDir);
  const tenant = randomUUID();
  const token = await issuer.sign(tokenClaims({ tenant, app: { id: randomUUID(), roles: ['User.Export.All', 'User.Read.All'] } }), 3600);
  const [user] = await insertUsers(env.db, tenant, 1, 'api');
  const se = new Date(Date.now() + 86_400_000).toISOString();
  let n = 0;
  // A new container per request: every POST is a real new export, not the idempotent repeat.
  const body = () =>
    JSON.stringify({ storageLocation: `https://acct.blob.core.windows.net/bench${(n++).toString(36).padStart(6, '0')}?sr=c&sp=cw&se=${se}&sig=x` });
  const postPath = () => `/v1.0/users/${user!.userId}/exportPersonalData`;
  const post = (url: string) =>
    fetch(`${url}${postPath()}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body() });
  const opPath = new URL((await post(server.url)).headers.get('location')!).pathname;
  const fairOpPath = new URL((await post(fair.url)).headers.get('location')!).pathname;

  const runs = {
    barePost: [] as Measured[],
    fairPost: [] as Measured[],
    post: [] as Measured[],
    bareGet: [] as Measured[],
    fairGet: [] as Measured[],
    get: [] as Measured[],
    getOther: [] as Measured[],
  };
  for (let r = 0; r < ROUNDS; r++) {
    if (measurePost) {
      runs.barePost.push(await measure(env, bare, token, 'POST', postPath, body));
      runs.fairPost.push(await measure(env, fair, token, 'POST', postPath, body));
      runs.post.push(await measure(env, server, token, 'POST', postPath, body));
    }
    if (measureGet) {
      runs.bareGet.push(await measure(env, bare, token, 'GET', () => opPath));
      runs.fairGet.push(await measure(env, fair, token, 'GET', () => fairOpPath));
      // With another checkout, the two take turns going first.
      if (other && r % 2 === 1) runs.getOther.push(await measure(env, other, token, 'GET', () => opPath));
      runs.get.push(await measure(env, server, token, 'GET', () => opPath));
      if (other && r % 2 === 0) runs.getOther.push(await measure(env, other, token, 'GET', () => opPath));
    }
    log(
      `round ${r + 1}: ${Object.entries(runs)
        .filter(([, v]) => v.length > 0)
        .map(([k, v]) => `${k} ${v.at(-1)!.rps.toFixed(0)} (${v.at(-1)!.serverMs.toFixed(3)} server CPU-ms)`)
        .join(', ')} req/s; ratios ${measurePost ? `POST ${(runs.post.at(-1)!.rps / runs.fairPost.at(-1)!.rps).toFixed(3)}× ` : ''}${
        measureGet ? `GET ${(runs.get.at(-1)!.rps / runs.fairGet.at(-1)!.rps).toFixed(3)}×` : ''
      }${other && measureGet ? `, other checkout's GET ${(runs.getOther.at(-1)!.rps / runs.fairGet.at(-1)!.rps).toFixed(3)}×` : ''}`,
    );
  }
  const m = Object.fromEntries(
    Object.entries(runs)
      .filter(([, v]) => v.length > 0)
      .map(([k, v]) => [k, medianOf(v)]),
  ) as Record<keyof typeof runs, Measured>;
  const cpu = (x: Measured, base: Measured) =>
    `CPU-ms per request: server ${x.serverMs.toFixed(2)}, PostgreSQL ${x.pgMs.toFixed(2)}; baseline ${base.serverMs.toFixed(2)}, ${base.pgMs.toFixed(2)}`;
  // POST and GET report the same three rows: ours against the fair baseline, its p99, and the bare JWT route.
  const routeRows = (method: string, resource: string, ours: Measured, fair: Measured, bare: Measured, target: number): BenchRow[] => [
    {
      figure: `${method} ${resource} req/s`,
      value: ours.rps,
      unit: 'req/s',
      baseline: fair.rps,
      ratio: ours.rps / fair.rps,
      target: `≥ ${target}×`,
      met: ours.rps / fair.rps >= target,
      note: `${cpu(ours, fair)}; ${ours.non2xx + fair.non2xx} non-2xx`,
    },
    { figure: `${method} ${resource} p99`, value: ours.p99, unit: 'ms', baseline: fair.p99 },
    {
      figure: `${method} bare JWT route, no database (physical limit)`,
      value: bare.rps,
      unit: 'req/s',
      note: `server ${bare.serverMs.toFixed(2)} CPU-ms per request; ours is ${(ours.rps / bare.rps).toFixed(2)}× of it`,
    },
  ];
  const rows: BenchRow[] = [
    ...(measurePost ? routeRows('POST', 'exportPersonalData', m.post, m.fairPost, m.barePost, 0.7) : []),
    ...(measureGet ? routeRows('GET', 'dataPolicyOperations/{id}', m.get, m.fairGet, m.bareGet, 0.8) : []),
  ];
  emit(rows);
} finally {
  await cleanup.run();
}
