import type { FastifyRequest } from 'fastify';
import type { QuotaCounter } from '../quota/quota-counter.ts';
import { takeRequestQuota, type RequestQuotaKind } from '../quota/upload-quotas.ts';
import type { AppDeps } from './app-deps.ts';
import { resolveMeAlias } from './graph-aliases.ts';

/** Graph's 10,000 per hour is the dataPolicyOperations API's; drive and the other routes have their own quotas. */
export function requestQuotaKind(routeUrl: string): RequestQuotaKind {
  if (/^\/[^/]+\/dataPolicyOperations(?:\/|$)/.test(routeUrl)) return 'dataPolicy';
  if (/^\/[^/]+\/users\/:user\/drive(?:\/|$)/.test(routeUrl)) return 'drive';
  return 'directory';
}

/**
 * The one onRequest hook of every Graph route: verifies the token before the body is read (a 401
 * never waits for an upload), counts the request against the tenant's hourly quota (export POSTs
 * are counted by their own daily quotas instead, docs/architecture.md#quotas), then resolves a
 * `/me` URL to the caller. One hook rather than three: each async hook costs a promise and a
 * turn of the hook runner on every request.
 */
export function authenticateHook(deps: AppDeps, quotas: QuotaCounter) {
  return async (request: FastifyRequest): Promise<void> => {
    const caller = await deps.verifier.verify(request.headers.authorization);
    request.caller = caller;
    const { config, url } = request.routeOptions;
    if (config.quota !== 'export') {
      const pending = takeRequestQuota(quotas, deps.config, caller.tenantId, deps.clock(), requestQuotaKind(url ?? ''));
      if (pending) await pending;
    }
    resolveMeAlias(request);
  };
}
