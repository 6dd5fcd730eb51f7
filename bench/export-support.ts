// Shared set-up of the export benchmarks: an embedded PostgreSQL owned by the bench process,
// worker (or server) child processes pointed at it through DSR_DATABASE_URL, users and content
// written straight into the tables and the content store, operations queued in SQL, and a
// cleanup stack that runs on success, failure and Ctrl-C alike.
import { createCipheriv, createHash, randomUUID } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { loadLocalIssuer, tokenClaims } from '../src/auth/local-issuer.ts';
import { loadConfig } from '../src/config.ts';
import type { ContentStore } from '../src/content/content-store.ts';
import { createLocalContentStore } from '../src/content/local-content-store.ts';
import type { Db, Queryable } from '../src/db/pool.ts';
import { insertOperationWithAudit, notifyOperationsQueued } from '../src/db/queries/operations.ts';
import { insertSeedContentBlobs, insertSeedDriveItems, type SeedDriveItem } from '../src/db/queries/seed.ts';
import type { Requester } from '../src/domain/operation.ts';
import { checkStorageLocation } from '../src/domain/storage-location.ts';
import { openDatabase, type OpenDatabase } from '../src/runtime/open-database.ts';
import { createContainerSas, startAzurite, type Azurite, type AzuriteOptions } from '../src/embedded/azurite.ts';
import { BIN, startChild, tempDir } from './lib.ts';
import { installSecretKeys, loadSecretKeys } from '../src/secrets/secret-keys.ts';
import { mapConcurrent } from '../src/seed/map-concurrent.ts';

export { mapConcurrent };
import path from 'node:path';

export const REQUESTER: Requester = { kind: 'application', appId: 'b0000000-0000-4000-8000-00000000be0c', oid: 'b0000000-0000-4000-8000-0000000000be' };

/** Undo actions, run last-in first-out; also on SIGINT/SIGTERM so a Ctrl-C leaves nothing behind. */
export class Cleanup {
  private readonly steps: (() => unknown)[] = [];
  private running: Promise<void> | undefined;

  constructor() {
    // Ctrl-C or SIGTERM still runs the steps (temp folders, child processes, the embedded
    // server through database.close()) before exiting.
    const onSignal = (signal: NodeJS.Signals) => {
      void this.run().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  }

  add(step: () => unknown): void {
    this.steps.push(step);
  }

  run(): Promise<void> {
    return (this.running ??= (async () => {
      while (this.steps.length > 0) {
        const step = this.steps.pop()!;
        try {
          await step();
        } catch (err) {
          process.stderr.write(`cleanup step failed: ${String(err)}\n`);
        }
      }
    })());
  }
}

export interface BenchEnvironment {
  dataDir: string;
  database: OpenDatabase;
  db: Db;
  contentStore: ContentStore;
}

/** A temp data folder with an embedded PostgreSQL (migrated) and the local content store the children share. */
export async function openBenchEnvironment(cleanup: Cleanup, prefix: string): Promise<BenchEnvironment> {
  const dataDir = await tempDir(prefix);
  cleanup.add(() => rm(dataDir, { recursive: true, force: true }));
  const config = loadConfig({ DSR_DATA_DIR: dataDir });
  // The children load the same key file from dataDir: what this process queues, they open.
  installSecretKeys(await loadSecretKeys(config));
  const database = await openDatabase(config, undefined, 8);
  cleanup.add(() => database.close());
  return { dataDir, database, db: database.db, contentStore: createLocalContentStore(path.join(dataDir, 'content')) };
}

/**
 * An empty Azurite, in memory, or on disk under `dir` (`--location`, closer to a real account);
 * `port` to reuse the origin a running worker already allows.
 */
export async function freshAzurite(cleanup: Cleanup, port = 0, dir?: string, opts: AzuriteOptions = {}): Promise<Azurite> {
  const azurite = await startAzurite(port, dir, opts);
  cleanup.add(() => azurite.stop());
  return azurite;
}

/** Stops a child with SIGTERM, and SIGKILL if it is still there after `graceMs`. */
export async function stopProcess(child: ChildProcess, graceMs = 15_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Node flags for children: `BENCH_CPU_PROF=<dir>` writes a .cpuprofile per child into that folder on exit. */
export function nodeFlags(): string[] {
  const dir = process.env.BENCH_CPU_PROF;
  return dir ? ['--cpu-prof', '--cpu-prof-dir', path.resolve(dir)] : [];
}

export function childEnv(env: BenchEnvironment, azurite: Pick<Azurite, 'origin'> | undefined, extra: Record<string, string> = {}): Record<string, string> {
  return {
    DSR_DATA_DIR: env.dataDir,
    DSR_DATABASE_URL: env.database.url,
    DSR_LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info',
    ...(azurite ? { DSR_STORAGE_ALLOW: azurite.origin } : {}),
    ...extra,
  };
}

/** `dsr-export worker` in its own process; resolves once LISTEN is in place ("worker started"). */
export async function startWorkerProcess(cleanup: Cleanup, env: Record<string, string>): Promise<{ child: ChildProcess; pid: number; stop(): Promise<void> }> {
  const { child } = await startChild(process.execPath, [...nodeFlags(), BIN, 'worker'], env, /"msg":"worker started"/);
  const stop = () => stopProcess(child);
  cleanup.add(stop);
  return { child, pid: child.pid!, stop };
}

/** `dsr-export serve` (API and, unless noWorker, a worker) in its own process; `bin`: another checkout's, for A/B runs. */
export async function startServerProcess(
  cleanup: Cleanup,
  env: Record<string, string>,
  opts: { noWorker?: boolean; bin?: string } = {},
): Promise<{ child: ChildProcess; pid: number; url: string; stop(): Promise<void> }> {
  const args = [...nodeFlags(), opts.bin ?? BIN, 'serve', ...(opts.noWorker ? ['--no-worker'] : [])];
  const { child, match } = await startChild(process.execPath, args, { DSR_PORT: '0', ...env }, /listening on (http:\/\/\S+)/);
  const stop = () => stopProcess(child);
  cleanup.add(stop);
  return { child, pid: child.pid!, url: match[1]!, stop };
}

/**
 * `dsr-export serve` (API and worker) for a latency run: the export quotas out of the way, and an
 * app token of the local issuer for `tenantId`, its key file created before the server starts so
 * that both processes read the same one.
 */
export async function startExportServer(
  cleanup: Cleanup,
  env: BenchEnvironment,
  azurite: Azurite,
  tenantId: string,
  extra: Record<string, string> = {},
): Promise<{ url: string; token: string }> {
  const issuer = await loadLocalIssuer(env.dataDir);
  const token = await issuer.sign(tokenClaims({ tenant: tenantId, app: { id: randomUUID(), roles: ['User.Export.All', 'User.Read.All'] } }), 3600);
  const server = await startServerProcess(
    cleanup,
    childEnv(env, azurite, { DSR_QUOTA_EXPORTS_PER_TENANT_PER_DAY: '1000000', DSR_QUOTA_EXPORTS_PER_USER_PER_DAY: '1000000', ...extra }),
  );
  return { url: server.url, token };
}

/** POST exportPersonalData through `server` (anything but 202 throws): the operation's id, and performance.now() when the answer came. */
export async function postExport(server: { url: string; token: string }, userId: string, storageLocation: string): Promise<{ id: string; at: number }> {
  const res = await fetch(`${server.url}/v1.0/users/${userId}/exportPersonalData`, {
    method: 'POST',
    headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ storageLocation }),
  });
  const at = performance.now();
  if (res.status !== 202) throw new Error(`POST exportPersonalData answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
  return { id: res.headers.get('location')!.split('/').pop()!, at };
}

/** Deterministic incompressible bytes (AES-128-CTR of zeros under a key derived from `seed`), streamed in 1 MiB chunks. */
export function deterministicBytes(size: number, seed: string): Readable {
  const key = Buffer.alloc(16);
  key.write(seed.padEnd(16, '#').slice(0, 16), 'latin1');
  const cipher = createCipheriv('aes-128-ctr', key, Buffer.alloc(16));
  const zeros = Buffer.alloc(1 << 20);
  let left = size;
  return new Readable({
    read() {
      if (left <= 0) {
        this.push(null);
        return;
      }
      const n = Math.min(left, zeros.length);
      left -= n;
      this.push(cipher.update(n === zeros.length ? zeros : zeros.subarray(0, n)));
    },
  });
}

export interface BenchUser {
  tenantId: string;
  userId: string;
  upn: string;
  rootId: string;
}

const who = (userId: string) => ({ user: { id: userId, displayName: 'Bench User' } });

/** Users with an empty drive (root folder), in two statements whatever the count. */
export async function insertUsers(q: Queryable, tenantId: string, count: number, label: string): Promise<BenchUser[]> {
  const users = Array.from({ length: count }, (_, i) => {
    const userId = randomUUID();
    return { tenantId, userId, upn: `${label}-${i}-${userId.slice(0, 8)}@bench.test`, rootId: randomUUID() };
  });
  await q.query(
    `insert into users (tenant_id, id, user_principal_name, display_name, given_name, surname, mail, job_title, created_at)
     select $1, u.id, u.upn, 'Bench User', 'Bench', 'User', u.upn, 'Tester', now()
     from jsonb_to_recordset($2::jsonb) as u (id uuid, upn text)`,
    [tenantId, JSON.stringify(users.map((u) => ({ id: u.userId, upn: u.upn })))],
  );
  const now = new Date().toISOString();
  await insertSeedDriveItems(
    q,
    tenantId,
    users.map((u): SeedDriveItem => ({
      id: u.rootId,
      owner_user_id: u.userId,
      parent_id: null,
      name: 'root',
      is_folder: true,
      size: 0,
      mime_type: null,
      content_sha256: null,
      created_at: now,
      modified_at: now,
      created_by: who(u.userId),
      modified_by: who(u.userId),
    })),
  );
  return users;
}

export interface BenchFile {
  user: BenchUser;
  name: string;
  body: () => Readable;
}

/**
 * Streams every body into the content store (`concurrency` puts at once, each fsynced as the
 * store does) and records content_blobs and drive_items rows for them, files in each drive root.
 * `direct`: small bodies are written straight into the local store's layout instead, without
 * the fsync of each put (set-up time only; the worker reads them the same way).
 */
export async function insertFiles(
  db: Db,
  store: ContentStore,
  files: readonly BenchFile[],
  concurrency = 8,
  direct?: { root: string },
): Promise<{ bytes: number; paths: string[] }> {
  const stored = await mapConcurrent(files, concurrency, async (f) => {
    if (!direct) return store.put(f.body());
    const chunks: Buffer[] = [];
    for await (const chunk of f.body()) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const sha256 = createHash('sha256').update(body).digest('hex');
    const file = path.join(direct.root, contentPath(sha256));
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, body);
    return { sha256, size: body.length };
  });
  await insertSeedContentBlobs(
    db,
    [...new Map(stored.map((s) => [s.sha256, s])).values()].map((s) => ({ sha256: s.sha256, size: s.size })),
    new Date(),
  );
  const byTenant = new Map<string, SeedDriveItem[]>();
  const now = new Date().toISOString();
  files.forEach((f, i) => {
    const items = byTenant.get(f.user.tenantId) ?? [];
    items.push({
      id: randomUUID(),
      owner_user_id: f.user.userId,
      parent_id: f.user.rootId,
      name: f.name,
      is_folder: false,
      size: stored[i]!.size,
      mime_type: 'application/octet-stream',
      content_sha256: stored[i]!.sha256,
      created_at: now,
      modified_at: now,
      created_by: who(f.user.userId),
      modified_by: who(f.user.userId),
    });
    byTenant.set(f.user.tenantId, items);
  });
  for (const [tenantId, items] of byTenant) {
    for (let i = 0; i < items.length; i += 2000) await insertSeedDriveItems(db, tenantId, items.slice(i, i + 2000));
  }
  return { bytes: stored.reduce((a, s) => a + s.size, 0), paths: stored.map((s) => contentPath(s.sha256)) };
}

/** Where the local content store keeps a body (for the baselines, which read the same bytes). */
export function contentPath(sha256: string): string {
  return path.join(sha256.slice(0, 2), sha256.slice(2, 4), sha256);
}

/** Queues an export as the POST route does (operation + audit in one statement), without NOTIFY. */
export async function queueOperation(q: Queryable, user: BenchUser, sas: string, origin: string): Promise<string> {
  const now = new Date();
  const container = checkStorageLocation(sas, { blobSuffix: '.blob.core.windows.net', allowedOrigins: [origin], minValiditySeconds: 0 }, now).container;
  const id = randomUUID();
  const row = await insertOperationWithAudit(
    q,
    {
      id,
      tenantId: user.tenantId,
      userId: user.userId,
      userPrincipalName: user.upn,
      storageLocation: sas,
      storageContainer: container,
      requestedBy: REQUESTER,
      submittedAt: now,
    },
    { ipAddress: null },
  );
  if (!row) throw new Error('container already claimed');
  return id;
}

export async function queueAndNotify(db: Db, user: BenchUser, sas: string, origin: string): Promise<string> {
  const id = await queueOperation(db, user, sas, origin);
  await notifyOperationsQueued(db);
  return id;
}

export interface OperationState {
  status: string;
  error_code: string | null;
  error_message: string | null;
  bytes_written: number;
  /** completed_at in epoch milliseconds (PostgreSQL's clock, the machine's), null until it ends. */
  completed_ms: number | null;
}

/**
 * Polls the operation every `intervalMs` until `until(status)`; returns the state and the
 * performance.now() of the first poll that saw it (resolution ≈ interval + one round trip).
 */
export async function pollOperation(
  db: Db,
  id: string,
  until: (status: string) => boolean,
  opts: { intervalMs?: number; timeoutMs?: number } = {},
): Promise<{ state: OperationState; at: number }> {
  const deadline = performance.now() + (opts.timeoutMs ?? 120_000);
  for (;;) {
    const { rows } = await db.query<OperationState>(
      `select status, error_code, error_message, bytes_written, extract(epoch from completed_at)::float8 * 1000 as completed_ms
       from data_policy_operations where id = $1`,
      [id],
    );
    const at = performance.now();
    const state = rows[0];
    if (state && until(state.status)) return { state, at };
    if (at > deadline) throw new Error(`operation ${id} still ${state?.status ?? 'missing'} after ${opts.timeoutMs ?? 120_000} ms`);
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 5));
  }
}

/** Fails loudly when an export did not complete (a benchmark of a broken export is no benchmark). */
export function assertComplete(what: string, state: OperationState): void {
  if (state.status !== 'complete') throw new Error(`${what}: export ended ${state.status} ${state.error_code ?? ''}: ${state.error_message ?? ''}`);
}

export async function containerSas(azurite: Azurite, name: string): Promise<string> {
  return createContainerSas(azurite, name, { permissions: 'racwl' });
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

/**
 * `BENCH_PG_WAITS=1`: samples pg_stat_activity every 10 ms (client backends of the bench
 * database) until stop(), which returns the mean number of backends per state and wait event,
 * e.g. "idle Client:ClientRead 5.2, active IO:WalSync 0.8". Without the variable, a no-op.
 */
export function sampleWaits(db: Db): { stop(): Promise<string> } {
  if (!process.env.BENCH_PG_WAITS) return { stop: async () => '' };
  const counts = new Map<string, number>();
  let samples = 0;
  let running = true;
  const loop = (async () => {
    const client = await db.connect();
    try {
      while (running) {
        const { rows } = await client.query<{ key: string }>(
          `select state || ' ' || coalesce(wait_event_type || ':' || wait_event, 'CPU') as key from pg_stat_activity
           where datname = current_database() and pid <> pg_backend_pid() and backend_type = 'client backend'`,
        );
        samples++;
        for (const r of rows) counts.set(r.key, (counts.get(r.key) ?? 0) + 1);
        await new Promise((r) => setTimeout(r, 10));
      }
    } finally {
      client.release();
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return [...counts]
        .sort((a, b) => b[1] - a[1])
        .map(([k, n]) => `${k} ${(n / Math.max(1, samples)).toFixed(2)}`)
        .join(', ');
    },
  };
}

/** CPU seconds (user + system) a process has used so far, from /proc/PID/stat. */
export async function cpuSeconds(pid: number): Promise<number> {
  const { readFile } = await import('node:fs/promises');
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** CPU seconds of the bench's PostgreSQL so far: the postmaster and every process it forked (from /proc). */
export async function postgresCpuSeconds(env: BenchEnvironment): Promise<number> {
  const { readdir, readFile } = await import('node:fs/promises');
  const postmaster = Number((await readFile(path.join(env.dataDir, 'postgres', 'postmaster.pid'), 'utf8')).split('\n')[0]);
  let total = 0;
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(entry) === postmaster) {
      // The postmaster's cutime and cstime hold the CPU of the backends it has already reaped, so
      // a backend ending between two readings (an idle pooled connection timing out) keeps its share.
      total += (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / 100;
    } else if (Number(fields[1]) === postmaster) total += await cpuSeconds(Number(entry)).catch(() => 0);
  }
  return total;
}
