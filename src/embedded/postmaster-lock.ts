import { existsSync } from 'node:fs';
import { readFile, readlink, realpath, rm } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { StartError } from './start-error.ts';

// Whether postmaster.pid names a server this process can share, or a dead one to clear away.

// How long a live postmaster of this folder may take to answer (another command starting it).
const PEER_START_TIMEOUT_MS = 15_000;

/** True if something accepts TCP connections on 127.0.0.1:`port`. */
function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.setTimeout(1000);
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.once('timeout', () => done(false));
  });
}

/**
 * True if `pid` is a running (not zombie) postgres whose `-D` is `pgData`. `kill(pid, 0)` is not
 * enough: a SIGKILLed postmaster stays a zombie until its new parent reaps it (never, in a
 * container without an init), and after a reboot its pid may belong to any other process.
 */
async function isPostmasterOf(pid: number, pgData: string): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (stat === undefined) {
    // No procfs (macOS): liveness is all that can be checked; the port probe decides the rest.
    if (existsSync('/proc/self/stat')) return false;
    try {
      process.kill(pid, 0);
      return true;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'EPERM';
    }
  }
  // "pid (comm) S …": the command name may hold spaces or parentheses, so read from the last ')'.
  const close = stat.lastIndexOf(')');
  const comm = stat.slice(stat.indexOf('(') + 1, close);
  const state = stat.slice(close + 2, close + 3);
  if (state === 'Z' || state === 'X' || comm !== 'postgres') return false;
  // A postmaster works in its data folder; its `-D` argument says the same where cwd is unreadable.
  const [cwd, home] = await Promise.all([readlink(`/proc/${pid}/cwd`).catch(() => undefined), realpath(pgData).catch(() => pgData)]);
  if (cwd !== undefined) return cwd === home;
  const args = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0');
  return args.some((arg, i) => args[i - 1] === '-D' && path.resolve(arg) === path.resolve(pgData));
}

/** Processes still attached to the SysV segment a postmaster recorded (line 7: key and id). */
async function sharedMemoryAttachments(lockLines: string[]): Promise<number> {
  const shmid = lockLines[6]?.trim().split(/\s+/)[1];
  if (!shmid) return 0;
  const table = await readFile('/proc/sysvipc/shm', 'utf8').catch(() => '');
  // Columns: key shmid perms size cpid lpid nattch …
  const row = table
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .find((cols) => cols[1] === shmid);
  return row ? Number(row[6]) : 0;
}

/**
 * postmaster.pid holds the pid on line 1 and the port on line 4. A live server on this data
 * folder (another dsr-export command, or `serve` while `seed` runs) is shared instead of
 * started twice. A file left by a killed server is removed, since PostgreSQL itself refuses to
 * start while its pid answers `kill(pid, 0)`, which a zombie does; but only once no orphaned
 * backend still holds the old shared memory, the check PostgreSQL would otherwise have made.
 */
export async function runningServerPort(pgData: string): Promise<number | undefined> {
  const pidFile = path.join(pgData, 'postmaster.pid');
  const deadline = Date.now() + PEER_START_TIMEOUT_MS;
  for (;;) {
    const lines = await readFile(pidFile, 'utf8').then(
      (text) => text.split('\n'),
      () => undefined,
    );
    if (lines === undefined) return undefined;
    const pid = Number(lines[0]);
    const port = Number(lines[3]);
    if (!Number.isInteger(pid) || pid <= 0 || !(await isPostmasterOf(pid, pgData))) {
      if ((await sharedMemoryAttachments(lines)) === 0) {
        await rm(pidFile, { force: true });
        return undefined;
      }
    } else if (Number.isInteger(port) && port > 0 && (await portAnswers(port))) {
      return port;
    }
    if (Date.now() > deadline) {
      throw new StartError(
        `PostgreSQL still holds ${pgData} (postmaster.pid: pid ${lines[0]}, port ${lines[3] ?? '?'}) but does not answer: ` +
          'stop that process, or remove postmaster.pid if none is running, and try again',
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
