import type { FastifyInstance } from 'fastify';
import type { Config } from '../config.ts';
import { createContentStore } from '../content/create-content-store.ts';
import { buildOpsApp } from '../http/ops-app.ts';
import { createLogger } from '../logger.ts';
import { createMetrics } from '../metrics.ts';
import { openDatabase } from '../runtime/open-database.ts';
import { startWorker } from '../worker/worker.ts';
import { installKeys, SHUTDOWN_GRACE_MS } from './start-server.ts';

/**
 * `worker`: exports only, until SIGTERM/SIGINT; with DSR_WORKER_PORT, also /healthz, /readyz and
 * /metrics (`onListening` gets their base URL). They stay up while the leases are handed back,
 * so /readyz answers 503 during the drain.
 */
export async function runWorker(config: Config, stopped: Promise<void>, onListening?: (url: string) => void): Promise<void> {
  const logger = createLogger(config.logLevel);
  await installKeys(config, logger);
  const database = await openDatabase(config, (line) => logger.debug({ postgres: line }, 'postgres'));
  const metrics = createMetrics();
  let ops: FastifyInstance | undefined;
  try {
    const worker = await startWorker({ config, db: database.db, contentStore: createContentStore(config), logger, metrics });
    if (config.worker.port !== undefined) {
      ops = buildOpsApp({ db: database.db, metrics, draining: () => worker.draining(), logger, metricsToken: config.metricsToken });
      const url = await ops.listen({ host: config.host, port: config.worker.port });
      logger.info({ url }, 'worker endpoints listening');
      onListening?.(url);
    }
    logger.info({ workerId: worker.id }, 'worker started');
    await stopped;
    await worker.stop(SHUTDOWN_GRACE_MS);
  } finally {
    await ops?.close();
    await database.close();
  }
}
