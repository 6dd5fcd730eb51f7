// `npm run bench`: runs every benchmark in its own process (so one's memory and CPU don't leak
// into the next), collects their rows, and prints one markdown table with machine facts.
// `--write` also writes it to docs/benchmarks-latest.md.
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { markdownTable, ROOT, type BenchRow } from './lib.ts';

export const BENCHMARKS = [
  'api-throughput.ts',
  'upload-memory.ts',
  'export-throughput.ts',
  'export-latency.ts',
  'notification-latency.ts',
  'worker-scaling.ts',
  'heavy-subject.ts',
];

async function runOne(file: string): Promise<{ rows: BenchRow[]; error?: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench', file)], {
      env: { ...process.env, BENCH_QUIET: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += String(d);
      process.stderr.write(`.`);
    });
    child.stderr.on('data', (d) => {
      err += String(d);
    });
    child.on('exit', (code) => {
      const rows = out
        .split('\n')
        .filter((l) => l.startsWith('BENCH_ROWS '))
        .flatMap((l) => JSON.parse(l.slice(11)) as BenchRow[]);
      resolve(code === 0 ? { rows } : { rows, error: `${file} exited with ${code}: ${err.trim().split('\n').slice(-3).join(' ')}` });
    });
  });
}

const only = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const rows: BenchRow[] = [];
const errors: string[] = [];
const started = Date.now();
for (const file of BENCHMARKS.filter((f) => only.length === 0 || only.some((o) => f.includes(o)))) {
  process.stderr.write(`bench: ${file} `);
  const result = await runOne(file);
  process.stderr.write(result.error ? ' failed\n' : ' done\n');
  rows.push(...result.rows);
  if (result.error) errors.push(result.error);
}
const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
const facts =
  `Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC on ${os.cpus().length} cores (${cpu}), ` +
  `${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Node ${process.version}, ${os.platform()} ${os.release()}; ` +
  `${((Date.now() - started) / 1000).toFixed(0)} s in all.`;
const table = `${facts}\n\n${markdownTable(rows)}\n${errors.length > 0 ? `\nFailed: ${errors.map((e) => `\n- ${e}`).join('')}\n` : ''}`;
process.stdout.write(`${table}\n`);
if (process.argv.includes('--write')) {
  const doc = path.join(ROOT, 'docs', 'benchmarks-latest.md');
  await writeFile(doc, `# Latest benchmark run\n\n${table}`);
  process.stderr.write(`bench: wrote ${path.relative(ROOT, doc)}\n`);
}
process.exitCode = errors.length > 0 ? 1 : 0;
