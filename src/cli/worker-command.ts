import type { Config } from '../config.ts';
import { runWorker } from '../start/run-worker.ts';
import { untilSignal } from './until-signal.ts';

/** `dsr-export worker`: an export worker (and its /healthz, /readyz, /metrics) until SIGTERM or SIGINT. */
export async function runWorkerCommand(config: Config): Promise<void> {
  process.stdout.write('dsr-export worker started\n');
  await runWorker(config, untilSignal(), (url) => {
    process.stdout.write(`dsr-export worker endpoints on ${url}\n`);
  });
}
