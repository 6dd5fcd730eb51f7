import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Db } from '../db/pool.ts';
import type { Metrics } from '../metrics.ts';
import { healthz, readyz } from './routes/service/health.ts';
import { metricsRoute } from './routes/service/metrics.ts';

/**
 * The HTTP side of a `dsr-export worker` process (DSR_WORKER_PORT): the API's /healthz, /readyz
 * and /metrics and nothing else, so that a worker running apart from the API is probed and
 * scraped like `serve` (docs/architecture.md#operating): its export durations, bytes, lease losses and retries
 * exist only in its own process. This port is the private one: /metrics needs no token unless
 * DSR_METRICS_TOKEN is set (the API port serves it only with that token).
 */
export function buildOpsApp(deps: {
  db: Db;
  metrics: Metrics;
  draining: () => boolean;
  logger?: FastifyBaseLogger;
  metricsToken?: string | undefined;
}): FastifyInstance {
  const app = Fastify(deps.logger ? { loggerInstance: deps.logger } : { logger: false });
  healthz(app);
  readyz(app, deps);
  metricsRoute(app, deps, deps.metrics, { token: deps.metricsToken, tokenRequired: false });
  return app;
}
