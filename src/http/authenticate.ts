import type { FastifyRequest } from 'fastify';
import { incrementQuotaCounter } from '../db/queries/quotas.ts';
import { quotaWindow } from '../domain/quota.ts';
import { GraphError } from '../graph-error.ts';
import type { AppDeps } from './app-deps.ts';

/**
 * onRequest hook of every Graph route: verifies the token before the body is read (a 401 never
 * waits for an upload), then counts the request against the tenant's hourly quota. Export POSTs
 * are counted by their own daily quotas instead (DESIGN.md §3.5).
 */
export function authenticateHook(deps: AppDeps) {
  return async (request: FastifyRequest): Promise<void> => {
    request.caller = await deps.verifier.verify(request.headers.authorization);
    if (request.routeOptions.config.quota === 'export') return;
    const now = deps.clock();
    const window = quotaWindow(now, 'hour');
    const count = await incrementQuotaCounter(deps.db, request.caller.tenantId, 'requests', window.start);
    if (count > deps.config.quotas.requestsPerTenantPerHour) {
      throw GraphError.tooManyRequests(
        `The tenant exceeded its quota of ${deps.config.quotas.requestsPerTenantPerHour} requests per hour.`,
        window.retryAfterSeconds,
      );
    }
  };
}
