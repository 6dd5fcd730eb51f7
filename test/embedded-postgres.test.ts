import { spawn } from 'node:child_process';
import { symlink, readFile, writeFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { freePort, startEmbeddedPostgres } from '../src/db/embedded-postgres.ts';
import { createPool } from '../src/db/pool.ts';
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
  const [line] = await createInterface({ input: child.stdout! })[Symbol.asyncIterator]().next().then((r) => [r.value as string]);
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

test('a live process that is not this folder\'s postmaster in postmaster.pid: a fresh server starts', async () => {
  await writeStalePidFile(holder.pid);
  await startsFresh();
});
