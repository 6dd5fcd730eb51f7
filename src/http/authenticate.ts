import type { FastifyRequest } from 'fastify';
import type { QuotaCounter } from '../quota/quota-counter.ts';
import { takeRequestQuota, type RequestQuotaKind } from '../quota/upload-quotas.ts';
import type { AppDeps } from './app-deps.ts';

/** Graph's 10,000 per hour is the dataPolicyOperations API's; drive and the other routes have their own quotas. */
export function requestQuotaKind(routeUrl: string): RequestQuotaKind {
  if (/^\/[^/]+\/dataPolicyOperations(?:\/|$)/.test(routeUrl)) return 'dataPolicy';
  if (/^\/[^/]+\/users\/:user\/drive(?:\/|$)/.test(routeUrl)) return 'drive';
  return 'directory';
}

/**
 * onRequest hook of every Graph route: verifies the token before the body is read (a 401 never
 * waits for an upload), then counts the request against the tenant's hourly quota. Export POSTs
 * are counted by their own daily quotas instead (docs/architecture.md#quotas).
 */
export function authenticateHook(deps: AppDeps, quotas: QuotaCounter) {
  return async (request: FastifyRequest): Promise<void> => {
    request.caller = await deps.verifier.verify(request.headers.authorization);
    if (request.routeOptions.config.quota === 'export') return;
    await takeRequestQuota(quotas, deps.config, request.caller.tenantId, deps.clock(), requestQuotaKind(request.routeOptions.url ?? ''));
  };
}
