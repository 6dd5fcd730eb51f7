import type { FastifyInstance } from 'fastify';
import type { QuotaCounter } from '../quota/quota-counter.ts';
import type { AppDeps } from './app-deps.ts';

/** Registers routes on a Fastify scope (one route operation per file, each exporting one of these). */
export type RouteRegistration = (app: FastifyInstance, deps: AppDeps, quotas: QuotaCounter) => void;

/** What `src/http/routes/<resource>/index.ts` exports: that resource's routes, by where they are served. */
export interface ResourceRoutes {
  /** Under /v1.0 and /beta, identically, behind the bearer-token hook. */
  readonly graph?: RouteRegistration;
  /** At the root, outside the versions and the token hook: service endpoints, URLs that are their own credential. */
  readonly root?: RouteRegistration;
}

/** One registration that registers each of `routes`, in order. */
export function allRoutes(...routes: RouteRegistration[]): RouteRegistration {
  return (app, deps, quotas) => {
    for (const route of routes) route(app, deps, quotas);
  };
}
