import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { verifyPackage } from '../src/export/verify-package.ts';
import { createContainerSas, startAzurite, type Azurite } from '../src/embedded/azurite.ts';
import { runCli } from './support/cli.ts';
import { waitFor } from './support/export-fixtures.ts';
import { tempDir } from './support/harness.ts';
import { exportToken } from '../bench/support/load.ts';
import { spawnDsr, type ChildDsr } from '../bench/support/processes.ts';

// `kill -9` of the whole `serve` process group, its embedded PostgreSQL included, then a restart
// 100 ms later, as a supervisor would do. The killed postmaster lingers as a zombie until its new
// parent reaps it (under a container runtime without an init, never), and its postmaster.pid
// still names it: the restart must start a fresh server instead of connecting to a dead port.

const KILLS = 3;

let azurite: Azurite;
let dataDir: string;
let env: Record<string, string>;
const groups = new Set<number>();

beforeAll(async () => {
  azurite = await startAzurite();
  dataDir = await tempDir('dsr-crash-');
  env = {
    DSR_DATA_DIR: dataDir,
    DSR_STORAGE_ALLOW: azurite.origin,
    // A short lease: the restarted worker takes the crashed export over after 3 s, not 30.
    DSR_LEASE_SECONDS: '3',
    DSR_MAX_ATTEMPTS: String(KILLS + 2),
    // One file at a time keeps the export in flight long enough to be killed in the middle.
    DSR_WORKER_CONCURRENCY: '1',
    DSR_UPLOAD_CONCURRENCY: '1',
  };
});

afterAll(async () => {
  for (const pgid of groups) killGroup(pgid);
  await azurite?.stop();
});

function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

/** `serve` as the leader of its own process group, resolved with its URL once it listens. */
async function startServe(): Promise<ChildDsr & { url: string }> {
  const proc = spawnDsr(['serve', '--port', '0'], env, { detached: true });
  groups.add(proc.pid);
  const m = await proc.waitForLine(/dsr-export listening on (http:\/\/\S+)/);
  return Object.assign(proc, { url: m[1]! });
}

test(`SIGKILL of the serve process group mid-export, restarted after 100 ms, ${KILLS} times: the export completes and verifies`, async () => {
  let serve = await startServe();
  const seeded = await runCli(['seed', '--users', '1', '--files', '60', '--seed', 'crash', '--json'], env);
  expect(seeded.code, seeded.stderr).toBe(0);
  const { tenantId, users } = JSON.parse(seeded.stdout) as { tenantId: string; users: { id: string }[] };
  const token = await exportToken(dataDir, tenantId);
  const sas = await createContainerSas(azurite, `crash-${randomUUID().slice(0, 8)}`);
  const posted = await fetch(`${serve.url}/v1.0/users/${users[0]!.id}/exportPersonalData`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ storageLocation: sas }),
  });
  expect(posted.status, await posted.clone().text()).toBe(202);
  const operationPath = new URL(posted.headers.get('location')!).pathname;
  const status = async () => {
    const res = await fetch(`${serve.url}${operationPath}`, { headers: { authorization: `Bearer ${token}` } }).catch(() => undefined);
    return res?.ok ? ((await res.json()) as { status: string; progress: number }) : undefined;
  };

  const progressAtKill: number[] = [];
  for (let i = 0; i < KILLS; i++) {
    // Mid-export: this process's worker has claimed the export (again, after the previous kill)
    // and it is still running. Progress cannot tell: it moves in checkpoint batches, and a small
    // export may finish between two polls of it.
    await serve.waitForLine(/"msg":"export claimed"/, 30_000);
    const seen = await status();
    expect(seen?.status, JSON.stringify(seen)).toBe('running');
    progressAtKill.push(seen!.progress);
    killGroup(serve.pid);
    expect(await serve.exited).toEqual({ code: null, signal: 'SIGKILL' });
    await delay(100); // the restart delay under test, not a wait for anything
    serve = await startServe();
  }

  const done = await waitFor(
    async () => {
      const s = await status();
      return s && (s.status === 'complete' || s.status === 'failed') ? s : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 100, what: 'the export to end' },
  );
  expect(done.status).toBe('complete');
  expect(await verifyPackage(sas)).toEqual([]);
  // Each restart started its own PostgreSQL rather than failing on the dead one's port.
  expect(serve.lines.some((l) => /ECONNREFUSED/.test(l))).toBe(false);
  serve.kill('SIGTERM');
  expect(await serve.exited).toEqual({ code: 0, signal: null });
  console.info(
    `[crash restart] ${KILLS} × SIGKILL of the serve process group at progress ${progressAtKill.join(', ')} %, restarted after 100 ms: complete and verified`,
  );
}, 150_000);
