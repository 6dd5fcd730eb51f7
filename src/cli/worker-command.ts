import { setFlagsFromString } from 'node:v8';
import type { Config } from '../config.ts';
import { runWorker } from '../start/run-worker.ts';
import { untilSignal } from './until-signal.ts';

/** `dsr-export worker`: an export worker (and its /healthz, /readyz, /metrics) until SIGTERM or SIGINT. */
export async function runWorkerCommand(config: Config): Promise<void> {
  // An export allocates fast while it renders, over a live heap of about 40 MiB; by default V8
  // lets the heap grow to several times the live size between full collections, and that was
  // most of the worker's peak memory on large subjects. Heap sizing for memory keeps it near
  // the live size (see docs/benchmarks.md, heavy subjects).
  setFlagsFromString('--optimize-for-size');
  process.stdout.write('dsr-export worker started\n');
  await runWorker(config, untilSignal(), (url) => {
    process.stdout.write(`dsr-export worker endpoints on ${url}\n`);
  });
}
