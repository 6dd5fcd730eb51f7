import type { FastifyInstance } from 'fastify';
import { createHash, timingSafeEqual } from 'node:crypto';
import { GraphError } from '../../../graph-error.ts';
import { queueGaugeReader, type Metrics } from '../../../metrics.ts';
import type { AppDeps } from '../../app-deps.ts';
import { sendGraphError } from '../../error-handler.ts';

export interface MetricsAccess {
  /** DSR_METRICS_TOKEN: scrapes must send `Authorization: Bearer <token>`. */
  readonly token: string | undefined;
  /**
   * True on the API port: without a token /metrics is not served there at all (404), since that
   * port faces every caller. False on the worker's own port, private by deployment: open without one.
   */
  readonly tokenRequired: boolean;
}

/**
 * GET /metrics in Prometheus text format (docs/architecture.md#operating), and the hook that times every request
 * by route pattern (not by URL: ids in paths would make a series per request).
 */
export function metricsRoute(app: FastifyInstance, deps: Pick<AppDeps, 'db'> & { clock?: () => Date }, metrics: Metrics, access: MetricsAccess): void {
  // A callback hook: every response passes here, and an async one would cost a promise each.
  app.addHook('onResponse', (request, reply, done) => {
    metrics.httpRequestDuration.observe(
      { method: request.method, route: request.routeOptions.url ?? 'unmatched', status_code: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
    done();
  });
  if (access.tokenRequired && access.token === undefined) return;
  const expected = access.token === undefined ? undefined : digest(access.token);
  const clock = deps.clock;
  const readQueueGauges = queueGaugeReader(metrics, deps.db, clock ? () => clock().getTime() : undefined);
  app.get('/metrics', async (request, reply) => {
    if (expected && !timingSafeEqual(digest(bearer(request.headers.authorization)), expected)) {
      // Answered here, not thrown: the worker's endpoints have no Graph error handler.
      reply.header('www-authenticate', 'Bearer');
      return sendGraphError(reply, request, GraphError.invalidToken('/metrics needs the DSR_METRICS_TOKEN bearer token.'), new Date());
    }
    // A scrape during a database outage still shows the rest.
    await readQueueGauges().catch(() => undefined);
    return reply.header('content-type', metrics.registry.contentType).send(await metrics.registry.metrics());
  });
}

function bearer(header: string | undefined): string {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return m?.[1] ?? '';
}

/** Fixed-length digests, so that the comparison takes the same time whatever the token's length. */
function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}
