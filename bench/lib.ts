import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** One line of the benchmark table: a figure, its same-run baseline, and the target. */
export interface BenchRow {
  figure: string;
  value: number;
  unit: string;
  baseline?: number;
  /** value / baseline, or baseline / value where lower is better. */
  ratio?: number;
  target?: string;
  met?: boolean;
  note?: string;
}

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const BIN = path.join(ROOT, 'bin', 'dsr-export.js');
/** The API benchmark's fair baseline writes and reads this table (shaped like data_policy_operations). */
export const BASELINE_TABLE = 'bench_baseline_operations';

export function tempDir(prefix: string): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), prefix));
}

/** Prints rows as the JSON line the runner collects, and as a table when run alone. */
export function emit(rows: BenchRow[]): void {
  process.stdout.write(`BENCH_ROWS ${JSON.stringify(rows)}\n`);
  if (!process.env.BENCH_QUIET) process.stdout.write(`${markdownTable(rows)}\n`);
}

function fmt(n: number | undefined): string {
  if (n === undefined) return '';
  return Math.abs(n) >= 100 ? n.toFixed(0) : Math.abs(n) >= 10 ? n.toFixed(1) : n.toFixed(2);
}

export function markdownTable(rows: BenchRow[]): string {
  const lines = ['| figure | value | baseline (same run) | ratio | target | met |', '|---|---|---|---|---|---|'];
  for (const r of rows) {
    lines.push(
      `| ${r.figure} | ${fmt(r.value)} ${r.unit} | ${r.baseline !== undefined ? `${fmt(r.baseline)} ${r.unit}` : ''} | ${r.ratio !== undefined ? `${r.ratio.toFixed(2)}×` : ''} | ${r.target ?? ''} | ${r.met === undefined ? '' : r.met ? 'yes' : '**no**'}${r.note ? ` (${r.note})` : ''} |`,
    );
  }
  return lines.join('\n');
}

/** Starts a child process and resolves with the first stdout match of `ready`; output() is all it printed. */
export async function startChild(
  cmd: string,
  args: string[],
  env: Record<string, string>,
  ready: RegExp,
): Promise<{ child: ChildProcess; match: RegExpMatchArray; output: () => string }> {
  const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  child.stderr.on('data', (d) => {
    output += String(d);
  });
  const match = await new Promise<RegExpMatchArray>((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      output += `${line}\n`;
      const m = ready.exec(line);
      if (m) resolve(m);
    });
    child.once('exit', (code) => reject(new Error(`${path.basename(args[0] ?? cmd)} ${args.slice(1).join(' ')} exited with ${code}: ${output}`)));
  });
  return { child, match, output: () => output };
}

export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

/** Peak resident set (VmHWM) and current RSS of a process, in MiB, from /proc. */
export async function memoryOf(pid: number): Promise<{ rssMiB: number; hwmMiB: number }> {
  const { readFile } = await import('node:fs/promises');
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { rssMiB: kb('VmRSS') / 1024, hwmMiB: kb('VmHWM') / 1024 };
}
