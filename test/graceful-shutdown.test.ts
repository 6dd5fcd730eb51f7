import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { loadLocalIssuer, tokenClaims } from '../src/auth/local-issuer.ts';
import { createContentStore } from '../src/content/create-content-store.ts';
import type { Db } from '../src/db/pool.ts';
import { verifyPackage } from '../src/export/verify-package.ts';
import { createContainerSas, startAzurite, type Azurite } from '../src/embedded/azurite.ts';
import { queueExport, seedUser, waitFor } from './support/export-fixtures.ts';
import { createTestDatabase, tempDir } from './support/harness.ts';
import {
  exportToken,
  linesWithSecrets,
  loadRequests,
  runLoad,
  seedTinyUsers,
  startCluster,
  verifySample,
  waitForOperations,
  type Cluster,
} from '../bench/support/load.ts';
import { killAllChildren, leaseOwnerOf } from '../bench/support/processes.ts';

// Graceful shutdown. SIGTERM to an API process during load: the request it is serving finishes,
// and no accepted request is lost. SIGTERM to a worker in the middle of an export: it lets its
// uploads in flight finish and releases its leases at once, so the other worker finishes those
// exports. The lease is ten minutes, far beyond the test's timeout: an export taken over at all
// was handed back, not left to expire.

const LEASE_SECONDS = 600;

let db: Db;
let dbUrl: string;
let azurite: Azurite;
let dataDir: string;
let cluster: Cluster;
const tenant = randomUUID();

beforeAll(async () => {
  ({ db, url: dbUrl } = await createTestDatabase());
  azurite = await startAzurite();
  dataDir = await tempDir('dsr-graceful-');
  cluster = await startCluster({
    databaseUrl: dbUrl,
    dataDir,
    azurite,
    apis: 2,
    workers: 2,
    workerEnv: { DSR_LEASE_SECONDS: String(LEASE_SECONDS), DSR_WORKER_CONCURRENCY: '3', DSR_UPLOAD_CONCURRENCY: '2' },
  });
});

afterAll(async () => {
  await killAllChildren();
  await azurite?.stop();
  await db?.end();
});

/** A PUT upload that sends its headers with Expect: 100-continue and holds its body until told. */
function heldUpload(
  apiUrl: string,
  path: string,
  token: string,
  body: Buffer,
): { continued: Promise<void>; send(): void; response: Promise<{ status: number; body: string }> } {
  let send!: () => void;
  let continued!: () => void;
  const continuedP = new Promise<void>((r) => {
    continued = r;
  });
  const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = http.request(
      `${apiUrl}${path}`,
      {
        method: 'PUT',
        agent: false,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream', 'content-length': body.length, expect: '100-continue' },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          text += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    // The server answers 100 Continue once it has parsed the headers: the request is in flight.
    req.on('continue', () => continued());
    send = () => {
      req.write(body.subarray(0, body.length / 2));
      req.end(body.subarray(body.length / 2));
    };
    req.flushHeaders();
  });
  return { continued: continuedP, send: () => send(), response };
}

test('SIGTERM to an API process during load: its in-flight request finishes, it exits 0, every 202 completes', async () => {
  const users = await seedTinyUsers(db, tenant, 30);
  const token = await exportToken(dataDir, tenant);
  const issuer = await loadLocalIssuer(dataDir);
  const filesToken = await issuer.sign(tokenClaims({ tenant, app: { id: randomUUID(), roles: ['Files.ReadWrite.All'] } }), 3600);
  const requests = await loadRequests(azurite, users, 120, 'term');
  const [victim, survivor] = cluster.apis as [Cluster['apis'][0], Cluster['apis'][0]];
  let upload: ReturnType<typeof heldUpload> | undefined;
  let terminated: Promise<void> | undefined;

  const load = await runLoad({
    // Both APIs while the victim runs: requests that reach it while it closes are refused (or
    // 503) and retried on the other, as an SDK behind a load balancer would.
    apis: () => cluster.apis.filter((a) => a.alive()).map((a) => a.url),
    token,
    requests,
    concurrency: 8,
    onProgress: (n) => {
      if (n !== 40) return;
      upload = heldUpload(victim.url, `/v1.0/users/${users[0]!.id}/drive/root:/inflight.bin:/content`, filesToken, Buffer.alloc(2 * 1024 * 1024, 9));
      terminated = upload.continued.then(() => {
        victim.kill('SIGTERM');
        // The body goes out only after the signal: the request must still be served.
        upload!.send();
      });
    },
  });
  await terminated;
  const uploaded = await upload!.response;
  expect(uploaded.status, uploaded.body).toBe(201);
  expect((JSON.parse(uploaded.body) as { size: number }).size).toBe(2 * 1024 * 1024);
  expect(await victim.exited).toEqual({ code: 0, signal: null });
  expect(victim.lines.some((l) => l.includes('dsr-export: shutting down'))).toBe(true);
  expect(survivor.alive()).toBe(true);

  // No request left without a 202; the only 5xx allowed is the closing API's own 503.
  expect(load.unaccepted).toEqual([]);
  expect(load.serverErrors.filter((e) => !(e.status === 503 && e.api === victim.url))).toEqual([]);
  expect(load.accepted.size).toBe(requests.length);
  const ids = [...new Set(load.accepted.values())];
  expect(ids).toHaveLength(requests.length);
  const settled = await waitForOperations(db, ids, 45_000);
  expect(settled.missing).toEqual([]);
  expect(settled.byStatus).toEqual({ complete: requests.length });
  // Nothing accepted twice: one operation per container, none without a 202.
  const { rows } = await db.query<{ n: number }>(
    "select count(*)::int as n from data_policy_operations where tenant_id = $1 and storage_container like '%/term-%'",
    [tenant],
  );
  expect(rows[0]!.n).toBe(requests.length);
  expect((await verifySample(requests, 20)).bad).toEqual([]);
  expect(linesWithSecrets([...cluster.apis, ...cluster.workers], requests, token)).toEqual([]);
  console.info(
    `[graceful api] ${requests.length} POSTs, SIGTERM to one API after 40: held upload → ${uploaded.status}, API exit 0; ` +
      `${load.networkErrors} refused/reset + ${load.serverErrors.length} × 503 retried on the other API; ${settled.byStatus.complete} complete`,
  );
}, 90_000);

test(`SIGTERM to a worker mid-export: leases released at once, the other worker finishes long before the ${LEASE_SECONDS} s lease could expire`, async () => {
  const store = createContentStore({ contentStore: undefined, dataDir });
  const exports: { id: string; sas: string }[] = [];
  for (let i = 0; i < 6; i++) {
    const user = await seedUser(db, store, {
      tenantId: tenant,
      signIns: 2,
      activities: 3,
      files: Array.from({ length: 12 }, (_, j) => ({ path: `Docs/f-${j}.bin`, body: Buffer.alloc(150_000 + j, `${i}-${j}-${randomUUID()}`) })),
    });
    const sas = await createContainerSas(azurite, `wterm-${randomUUID().slice(0, 12)}`);
    exports.push({ id: (await queueExport(db, user, sas, [azurite.origin])).id, sas });
  }
  const ids = exports.map((e) => e.id);
  const [w1, w2] = cluster.workers as [Cluster['workers'][0], Cluster['workers'][0]];
  const owner = leaseOwnerOf(w1);
  type Row = { id: string; status: string; lease_owner: string | null; attempts: number; done: number; files: number };
  const rowsNow = async () =>
    (
      await db.query<Row>(
        `select o.id, o.status, o.lease_owner, o.attempts, count(f.path)::int as files, count(f.path) filter (where f.done)::int as done
       from data_policy_operations o left join export_files f on f.operation_id = o.id where o.id = any($1::uuid[]) group by o.id`,
        [ids],
      )
    ).rows;
  const held = await waitFor(
    async () => {
      const r = (await rowsNow()).filter((x) => x.status === 'running' && owner.test(x.lease_owner ?? '') && x.done > 0 && x.done < x.files);
      return r.length > 0 ? r : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 20, what: 'worker 1 to be in the middle of an export' },
  );

  const tTerm = Date.now();
  w1.kill('SIGTERM');
  expect(await w1.exited).toEqual({ code: 0, signal: null });
  const exitedAfter = Date.now() - tTerm;
  // Released, not left to expire: nothing is still leased to worker 1.
  const afterExit = await rowsNow();
  expect(afterExit.filter((r) => owner.test(r.lease_owner ?? ''))).toEqual([]);
  expect(w1.lines.some((l) => l.includes('export handed back for another worker'))).toBe(true);

  const settled = await waitForOperations(db, ids, 60_000);
  const doneAfter = Date.now() - tTerm;
  expect(settled.byStatus).toEqual({ complete: exports.length });
  // A graceful hand-over is not a failed attempt.
  for (const r of await rowsNow()) expect(r.attempts, r.id).toBe(0);
  for (const e of exports) expect(await verifyPackage(e.sas), e.id).toEqual([]);
  expect(w2.alive()).toBe(true);
  console.info(
    `[graceful worker] SIGTERM to a worker holding ${held.length} export(s) mid-way: exited 0 in ${(exitedAfter / 1000).toFixed(1)} s with its leases released; ` +
      `all ${exports.length} complete ${(doneAfter / 1000).toFixed(1)} s after the signal (lease ${LEASE_SECONDS} s), attempts 0, packages verified`,
  );
}, 90_000);
