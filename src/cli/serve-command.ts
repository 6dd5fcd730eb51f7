import type { Config } from '../config.ts';
import { startServer } from '../start/start-server.ts';
import { untilSignal } from './until-signal.ts';

/** `dsr-export serve`: the API (and a worker unless `withWorker` is false) until SIGTERM or SIGINT. */
export async function runServe(config: Config, opts: { withWorker: boolean }): Promise<void> {
  const server = await startServer(config, opts);
  process.stdout.write(`dsr-export listening on ${server.url}${server.worker ? ' (with a worker)' : ''}\n`);
  await untilSignal();
  process.stdout.write('dsr-export: shutting down\n');
  await server.stop();
}
