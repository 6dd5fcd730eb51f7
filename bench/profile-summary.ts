// Summarises a V8 .cpuprofile (from `BENCH_CPU_PROF=<dir>`, i.e. `node --cpu-prof`): the
// functions with the most self time, and the share of the run the process was idle.
// `npx tsx bench/profile-summary.ts <file.cpuprofile> [top=25] [fromUs toUs]`: with a window
// (CLOCK_MONOTONIC microseconds, as `process.hrtime.bigint() / 1000n` prints them in any process
// of the machine) only the samples inside it count, e.g. a load phase without the start-up.
import { readFile } from 'node:fs/promises';
import path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const [file, topArg, fromArg, toArg] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: npx tsx bench/profile-summary.ts <file.cpuprofile> [top]\n');
  process.exit(2);
}
const profile = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const from = fromArg ? Number(fromArg) : -Infinity;
const to = toArg ? Number(toArg) : Infinity;
const selfUs = new Map<number, number>();
let at = profile.startTime;
let total = 0;
profile.samples.forEach((id, i) => {
  const delta = profile.timeDeltas[i] ?? 0;
  at += delta;
  if (at < from || at > to) return;
  total += delta;
  selfUs.set(id, (selfUs.get(id) ?? 0) + delta);
});
const byFunction = new Map<string, number>();
for (const [id, us] of selfUs) {
  const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
  const where = url ? `${path.relative(process.cwd(), url.replace(/^file:\/\//, ''))}:${lineNumber + 1}` : '';
  const key = `${functionName || '(anonymous)'} ${where}`.trim();
  byFunction.set(key, (byFunction.get(key) ?? 0) + us);
}
const idle = byFunction.get('(idle)') ?? 0;
process.stdout.write(
  `${(total / 1e6).toFixed(1)} s profiled; idle ${((100 * idle) / total).toFixed(0)} %, ` +
    `program ${((100 * (byFunction.get('(program)') ?? 0)) / total).toFixed(0)} %, GC ${((100 * (byFunction.get('(garbage collector)') ?? 0)) / total).toFixed(0)} %\n`,
);
process.stdout.write('| self ms | % of run | function |\n|---|---|---|\n');
for (const [name, us] of [...byFunction]
  .filter(([k]) => k !== '(idle)')
  .sort((a, b) => b[1] - a[1])
  .slice(0, Number(topArg ?? 25))) {
  process.stdout.write(`| ${(us / 1000).toFixed(0)} | ${((100 * us) / total).toFixed(1)} | \`${name}\` |\n`);
}
