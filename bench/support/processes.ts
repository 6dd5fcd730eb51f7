import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { BIN } from '../lib.ts';

/**
 * dsr-export child processes for the reliability tests and the load benchmark: every line they print is
 * kept (to scan logs for secrets), and every child is registered so that `killAllChildren()`
 * in afterAll/finally leaves nothing behind even when a test fails half-way.
 */
export interface ChildDsr {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Every stdout and stderr line so far. */
  readonly lines: string[];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  alive(): boolean;
  /** Resolves with the first line (already printed or to come) matching `re`. */
  waitForLine(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  kill(signal?: NodeJS.Signals): void;
}

const children = new Set<ChildDsr>();

/** `detached`: the child leads a process group of its own, which a test can SIGKILL as a whole. */
export function spawnDsr(args: string[], env: Record<string, string>, opts: { detached?: boolean } = {}): ChildDsr {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { ...process.env, DSR_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: opts.detached ?? false,
  });
  const lines: string[] = [];
  const watchers = new Set<(line: string) => void>();
  const onLine = (line: string) => {
    lines.push(line);
    for (const w of watchers) w(line);
  };
  createInterface({ input: child.stdout }).on('line', onLine);
  createInterface({ input: child.stderr }).on('line', onLine);
  const exited = once(child, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null }));
  const proc: ChildDsr = {
    child,
    pid: child.pid!,
    lines,
    exited,
    alive: () => child.exitCode === null && child.signalCode === null,
    waitForLine(re, timeoutMs = 60_000) {
      const seen = lines.map((l) => re.exec(l)).find(Boolean);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => done(new Error(`no line matching ${re} within ${timeoutMs} ms from dsr-export ${args.join(' ')}:\n${lines.slice(-30).join('\n')}`)),
          timeoutMs,
        );
        const watcher = (line: string) => {
          const m = re.exec(line);
          if (m) done(undefined, m);
        };
        const onExit = () =>
          done(new Error(`dsr-export ${args.join(' ')} exited (${child.exitCode ?? child.signalCode}) before printing ${re}:\n${lines.slice(-30).join('\n')}`));
        function done(err?: Error, m?: RegExpMatchArray) {
          clearTimeout(timer);
          watchers.delete(watcher);
          child.off('exit', onExit);
          if (err) reject(err);
          else resolve(m!);
        }
        watchers.add(watcher);
        child.once('exit', onExit);
      });
    },
    kill(signal = 'SIGTERM') {
      if (proc.alive()) child.kill(signal);
    },
  };
  children.add(proc);
  void exited.then(() => children.delete(proc));
  return proc;
}

/** `dsr-export worker`, resolved once it has claimed its LISTEN connection and started. */
export async function startWorkerProcess(env: Record<string, string>): Promise<ChildDsr> {
  const proc = spawnDsr(['worker'], env);
  await proc.waitForLine(/"msg":"worker started"/);
  return proc;
}

/** `dsr-export serve --no-worker --port 0`, resolved with the URL it listens on. */
export async function startApiProcess(env: Record<string, string>): Promise<ChildDsr & { url: string }> {
  const proc = spawnDsr(['serve', '--no-worker', '--port', '0'], env);
  const m = await proc.waitForLine(/dsr-export listening on (http:\/\/\S+)/);
  return Object.assign(proc, { url: m[1]! });
}

/** SIGKILLs every child still running (afterAll / finally). */
export async function killAllChildren(): Promise<void> {
  const all = [...children];
  for (const p of all) p.kill('SIGKILL');
  await Promise.all(all.map((p) => p.exited));
}

/** The lease_owner prefix a worker process records: `host:pid:`. */
export function leaseOwnerOf(proc: ChildDsr): RegExp {
  return new RegExp(`:${proc.pid}:[0-9a-f]{8}$`);
}
