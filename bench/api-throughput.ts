// API throughput: POST exportPersonalData and GET dataPolicyOperations/{id} of a real server
// (embedded PostgreSQL, worker off so the queue only grows) against a bare Fastify route doing
// the same JWT verification, each measured by autocannon in this run.
import autocannon from 'autocannon';
import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { BIN, emit, ROOT, startChild, stopChild, tempDir, type BenchRow } from './lib.ts';
import { loadLocalIssuer, tokenClaims } from '../src/auth/local-issuer.ts';

const DURATION = Number(process.env.BENCH_API_SECONDS ?? 8);
const CONNECTIONS = 50;

interface Measured { rps: number; p99: number; non2xx: number }

async function measure(url: string, token: string, method: 'POST' | 'GET', pathFor: () => string, bodyFor?: () => string): Promise<Measured> {
  const result = await autocannon({
    url, connections: CONNECTIONS, duration: DURATION,
    requests: [{
      method,
      setupRequest: (req) => ({
        ...req, path: pathFor(),
        headers: { authorization: `Bearer ${token}`, ...(bodyFor ? { 'content-type': 'application/json' } : {}) },
        ...(bodyFor ? { body: bodyFor() } : {}),
      }),
    }],
  });
  return { rps: result.requests.average, p99: result.latency.p99, non2xx: result.non2xx };
}

const dataDir = await tempDir('dsr-bench-api-');
const env = {
  DSR_DATA_DIR: dataDir, DSR_PORT: '0', DSR_LOG_LEVEL: 'warn',
  DSR_QUOTA_EXPORTS_PER_TENANT_PER_DAY: '100000000', DSR_QUOTA_EXPORTS_PER_USER_PER_DAY: '100000000',
  DSR_QUOTA_REQUESTS_PER_TENANT_PER_HOUR: '100000000',
};
const server = await startChild(process.execPath, [BIN, 'serve', '--no-worker'], env, /listening on (http:\/\/\S+)/);
const bare = await startChild(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench', 'bare-jwt-server.ts'), dataDir], {}, /listening on (http:\/\/\S+)/);
const url = server.match[1]!;
const bareUrl = bare.match[1]!;
try {
  const issuer = await loadLocalIssuer(dataDir);
  const tenant = randomUUID();
  const token = await issuer.sign(tokenClaims({ tenant, app: { id: randomUUID(), roles: ['User.Export.All', 'User.Read.All', 'User.ReadWrite.All'] } }), 3600);
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const user = await (await fetch(`${url}/v1.0/users`, { method: 'POST', headers, body: JSON.stringify({ userPrincipalName: 'bench@contoso.com', displayName: 'Bench' }) })).json() as { id: string };
  const se = new Date(Date.now() + 86_400_000).toISOString();
  let n = 0;
  // A new container per request: every POST is a real new export, not the idempotent repeat.
  const body = () => JSON.stringify({ storageLocation: `https://acct.blob.core.windows.net/bench${(n++).toString(36).padStart(6, '0')}?sr=c&sp=cw&se=${se}&sig=x` });
  const first = await fetch(`${url}/v1.0/users/${user.id}/exportPersonalData`, { method: 'POST', headers, body: body() });
  const opPath = new URL(first.headers.get('location')!).pathname;

  const barePost = await measure(bareUrl, token, 'POST', () => `/v1.0/users/${user.id}/exportPersonalData`, body);
  const post = await measure(url, token, 'POST', () => `/v1.0/users/${user.id}/exportPersonalData`, body);
  const bareGet = await measure(bareUrl, token, 'GET', () => opPath);
  const get = await measure(url, token, 'GET', () => opPath);
  const rows: BenchRow[] = [
    { figure: 'POST exportPersonalData req/s', value: post.rps, unit: 'req/s', baseline: barePost.rps, ratio: post.rps / barePost.rps, target: '≥ 0.4×', met: post.rps / barePost.rps >= 0.4, note: `${post.non2xx} non-2xx` },
    { figure: 'POST exportPersonalData p99', value: post.p99, unit: 'ms', baseline: barePost.p99 },
    { figure: 'GET dataPolicyOperations/{id} req/s', value: get.rps, unit: 'req/s', baseline: bareGet.rps, ratio: get.rps / bareGet.rps, target: '≥ 0.6×', met: get.rps / bareGet.rps >= 0.6, note: `${get.non2xx} non-2xx` },
    { figure: 'GET dataPolicyOperations/{id} p99', value: get.p99, unit: 'ms', baseline: bareGet.p99 },
  ];
  emit(rows);
} finally {
  await stopChild(server.child);
  await stopChild(bare.child);
  await rm(dataDir, { recursive: true, force: true });
}
