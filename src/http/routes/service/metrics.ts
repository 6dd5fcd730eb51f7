import type { FastifyInstance } from 'fastify';
import { refreshQueueMetrics, type Metrics } from '../../../metrics.ts';
import type { AppDeps } from '../../app-deps.ts';

/**
 * GET /metrics in Prometheus text format (DESIGN.md §9), and the hook that times every request
 * by route pattern (not by URL: ids in paths would make a series per request).
 */
export function metricsRoute(app: FastifyInstance, deps: Pick<AppDeps, 'db'>, metrics: Metrics): void {
  app.addHook('onResponse', async (request, reply) => {
    metrics.httpRequestDuration.observe(
      { method: request.method, route: request.routeOptions.url ?? 'unmatched', status_code: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });
  app.get('/metrics', async (_request, reply) => {
    // Queue gauges come from PostgreSQL; a scrape during a database outage still shows the rest.
    await refreshQueueMetrics(metrics, deps.db).catch(() => undefined);
    return reply.header('content-type', metrics.registry.contentType).send(await metrics.registry.metrics());
  });
}
