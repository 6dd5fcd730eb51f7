import { createMetrics } from '../../../metrics.ts';
import type { ResourceRoutes } from '../../resource-routes.ts';
import { healthz, readyz } from './health.ts';
import { jwks } from './jwks.ts';
import { metricsRoute } from './metrics.ts';

/** The service's own endpoints: /healthz, /readyz, /metrics and the local issuer's keys. */
export const serviceRoutes: ResourceRoutes = {
  root: (app, deps) => {
    healthz(app);
    readyz(app, deps);
    metricsRoute(app, deps, deps.metrics ?? createMetrics(), { token: deps.config.metricsToken, tokenRequired: true });
    jwks(app, deps);
  },
};
