import { randomUUID } from 'node:crypto';
import { tokenClaims, loadLocalIssuer } from '../../src/auth/local-issuer.ts';
import type { Db } from '../../src/db/pool.ts';
import { verifyPackage } from '../../src/export/verify-package.ts';
import { createContainerSas, type Azurite } from '../../src/embedded/azurite.ts';
import { startApiProcess, startWorkerProcess, type ChildDsr } from './processes.ts';

// The load driver (test/load.test.ts, test/graceful-shutdown.test.ts and the long form
// bench/load.ts): several `serve --no-worker` and `worker` processes on one PostgreSQL and one
// Azurite, export POSTs spread over the APIs as an SDK would send them (retrying the same body on
// another API after a network error, 429 or 503), then a ledger of what was accepted.

export interface Cluster {
  readonly apis: (ChildDsr & { url: string })[];
  readonly workers: ChildDsr[];
  readonly env: Record<string, string>;
  addWorker(extra?: Record<string, string>): Promise<ChildDsr>;
  addApi(extra?: Record<string, string>): Promise<ChildDsr & { url: string }>;
}

/** High quotas: the load is one tenant far above Graph's daily export quota. */
export const LOAD_QUOTAS = {
  DSR_QUOTA_EXPORTS_PER_TENANT_PER_DAY: '10000000',
  DSR_QUOTA_EXPORTS_PER_USER_PER_DAY: '10000000',
  DSR_QUOTA_REQUESTS_PER_TENANT_PER_HOUR: '10000000',
};

export async function startCluster(opts: {
  databaseUrl: string;
  dataDir: string;
  azurite: Pick<Azurite, 'origin'>;
  apis: number;
  workers: number;
  env?: Record<string, string>;
  workerEnv?: Record<string, string>;
}): Promise<Cluster> {
  // The local issuer key is created once here, before any API process reads it.
  await loadLocalIssuer(opts.dataDir);
  const env = {
    DSR_DATABASE_URL: opts.databaseUrl,
    DSR_DATA_DIR: opts.dataDir,
    DSR_STORAGE_ALLOW: opts.azurite.origin,
    ...LOAD_QUOTAS,
    ...opts.env,
  };
  const cluster: Cluster = {
    apis: [],
    workers: [],
    env,
    async addWorker(extra = {}) {
      const w = await startWorkerProcess({ ...env, ...opts.workerEnv, ...extra });
      cluster.workers.push(w);
      return w;
    },
    async addApi(extra = {}) {
      const a = await startApiProcess({ ...env, ...extra });
      cluster.apis.push(a);
      return a;
    },
  };
  // Started together: each process spends ~1 s loading TypeScript through tsx.
  await Promise.all([...Array.from({ length: opts.apis }, () => cluster.addApi()), ...Array.from({ length: opts.workers }, () => cluster.addWorker())]);
  return cluster;
}

/** `n` users with a profile only (tiny packages), written in one statement. */
export async function seedTinyUsers(db: Db, tenantId: string, n: number): Promise<{ id: string; upn: string }[]> {
  const users = Array.from({ length: n }, (_, i) => {
    const id = randomUUID();
    return { id, upn: `load-${i}-${id.slice(0, 8)}@contoso.test` };
  });
  await db.query(
    `insert into users (tenant_id, id, user_principal_name, display_name)
     select $1, u.id, u.upn, 'Load ' || u.upn from unnest($2::uuid[], $3::text[]) as u(id, upn)`,
    [tenantId, users.map((u) => u.id), users.map((u) => u.upn)],
  );
  return users;
}

export async function exportToken(dataDir: string, tenantId: string): Promise<string> {
  const issuer = await loadLocalIssuer(dataDir);
  return issuer.sign(tokenClaims({ tenant: tenantId, app: { id: randomUUID(), roles: ['User.Export.All', 'User.Read.All'] } }), 3600);
}

export interface LoadRequest {
  readonly userId: string;
  readonly sas: string;
}

/** `n` export requests over `users`, each into a fresh container. */
export async function loadRequests(azurite: Azurite, users: { id: string }[], n: number, prefix = 'load'): Promise<LoadRequest[]> {
  const out: LoadRequest[] = [];
  const run = randomUUID().slice(0, 6);
  for (let i = 0; i < n; i += 50) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(50, n - i) }, (_, j) =>
        createContainerSas(azurite, `${prefix}-${run}-${i + j}`).then((sas) => ({ userId: users[(i + j) % users.length]!.id, sas })),
      ),
    );
    out.push(...batch);
  }
  return out;
}

export interface LoadResult {
  /** Operation id of every request that got a 202, by request index. */
  readonly accepted: Map<number, string>;
  /** Every HTTP status seen, with how often (retries included). */
  readonly statuses: Map<number, number>;
  /** Responses ≥ 500, with the API that gave them. */
  readonly serverErrors: { index: number; status: number; api: string; body: string }[];
  /** Network errors (refused, reset) that were retried elsewhere. */
  readonly networkErrors: number;
  /** Requests that never got a 202 after every retry, with the last answer. */
  readonly unaccepted: { index: number; last: string }[];
  readonly latenciesMs: number[];
  readonly durationMs: number;
}

/**
 * Sends every request, `concurrency` at a time, round-robin over the APIs that are still up.
 * A network error, 429 or 503 is retried with the same body on the next API (what SDKs do; the
 * service answers a retried POST with the operation already accepted). `onProgress` sees the
 * count of finished requests (to inject a fault part-way).
 */
export async function runLoad(opts: {
  apis: () => string[];
  token: string;
  requests: LoadRequest[];
  concurrency: number;
  onProgress?: (finished: number) => void;
  maxTries?: number;
}): Promise<LoadResult> {
  const accepted = new Map<number, string>();
  const statuses = new Map<number, number>();
  const serverErrors: LoadResult['serverErrors'] = [];
  const unaccepted: LoadResult['unaccepted'] = [];
  const latenciesMs: number[] = [];
  let networkErrors = 0;
  let next = 0;
  let finished = 0;
  let rr = 0;
  const t0 = performance.now();
  const one = async (index: number): Promise<void> => {
    const { userId, sas } = opts.requests[index]!;
    let last = '';
    for (let attempt = 0; attempt < (opts.maxTries ?? 6); attempt++) {
      const apis = opts.apis();
      // Spread first tries round-robin; a retry always goes to the next API, as a load balancer
      // takes a refusing backend out of rotation (a shared counter could send every retry back).
      const api = apis[(attempt === 0 ? rr++ : index + attempt) % apis.length]!;
      const started = performance.now();
      let res: Response;
      try {
        res = await fetch(`${api}/v1.0/users/${userId}/exportPersonalData`, {
          method: 'POST',
          headers: { authorization: `Bearer ${opts.token}`, 'content-type': 'application/json', 'client-request-id': `load-${index}-${attempt}` },
          body: JSON.stringify({ storageLocation: sas }),
        });
      } catch (err) {
        networkErrors++;
        last = `network: ${String((err as { cause?: { code?: string } }).cause?.code ?? err)}`;
        continue;
      }
      const body = await res.text();
      latenciesMs.push(performance.now() - started);
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      if (res.status >= 500) serverErrors.push({ index, status: res.status, api, body: body.slice(0, 300) });
      if (res.status === 202) {
        accepted.set(index, res.headers.get('location')!.split('/').pop()!);
        return;
      }
      last = `${res.status} ${body.slice(0, 200)}`;
      if (res.status !== 503 && res.status !== 429) break;
    }
    unaccepted.push({ index, last });
  };
  await Promise.all(
    Array.from({ length: opts.concurrency }, async () => {
      while (next < opts.requests.length) {
        await one(next++);
        opts.onProgress?.(++finished);
      }
    }),
  );
  return { accepted, statuses, serverErrors, networkErrors, unaccepted, latenciesMs, durationMs: performance.now() - t0 };
}

export interface Settled {
  readonly byStatus: Record<string, number>;
  readonly failed: { id: string; error_code: string | null; error_message: string | null }[];
  readonly missing: string[];
  /** Operations complete or failed when the wait ended. */
  readonly ended: ReadonlySet<string>;
}

/** Polls the database until every accepted operation has ended (or the deadline passes). */
export async function waitForOperations(db: Db, ids: string[], timeoutMs: number): Promise<Settled> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await db.query<{ id: string; status: string; error_code: string | null; error_message: string | null }>(
      'select id, status, error_code, error_message from data_policy_operations where id = any($1::uuid[])',
      [ids],
    );
    const byStatus: Record<string, number> = {};
    for (const r of rows) byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
    const ended = (byStatus.complete ?? 0) + (byStatus.failed ?? 0);
    if ((ended === ids.length && rows.length === ids.length) || Date.now() > deadline) {
      const found = new Set(rows.map((r) => r.id));
      return {
        byStatus,
        failed: rows.filter((r) => r.status === 'failed'),
        missing: ids.filter((id) => !found.has(id)),
        ended: new Set(rows.filter((r) => r.status === 'complete' || r.status === 'failed').map((r) => r.id)),
      };
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** verifyPackage on `sample` of the requests (all of them if sample ≥ length), a few at a time. */
export async function verifySample(requests: LoadRequest[], sample: number): Promise<{ checked: number; bad: { sas: string; differences: unknown[] }[] }> {
  const step = Math.max(1, Math.floor(requests.length / sample));
  const picked = requests.filter((_, i) => i % step === 0).slice(0, sample);
  const bad: { sas: string; differences: unknown[] }[] = [];
  let i = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (i < picked.length) {
        const r = picked[i++]!;
        // A storage error while reading one package is that package's finding, not the end of the run.
        const differences = await verifyPackage(r.sas).catch((err: unknown) => [{ error: String((err as Error).message ?? err) }]);
        if (differences.length > 0) bad.push({ sas: r.sas.split('?')[0]!, differences });
      }
    }),
  );
  return { checked: picked.length, bad };
}

/** Lines of these processes that hold any of the SAS signatures or the token's signature. */
export function linesWithSecrets(procs: ChildDsr[], requests: LoadRequest[], token: string): string[] {
  const secrets = new Set<string>([token.split('.')[2]!]);
  for (const r of requests) {
    secrets.add(new URL(r.sas).searchParams.get('sig')!);
    secrets.add(/[?&]sig=([^&]+)/.exec(r.sas)![1]!);
  }
  const bad: string[] = [];
  for (const line of procs.flatMap((p) => p.lines)) {
    for (const s of secrets) if (line.includes(s)) bad.push(line);
  }
  return bad;
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
