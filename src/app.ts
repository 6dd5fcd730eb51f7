import cors from '@fastify/cors';
import Fastify, { type FastifyInstance } from 'fastify';
import { randomUUID } from 'node:crypto';
import type { AppDeps } from './http/app-deps.ts';
import { authenticateHook } from './http/authenticate.ts';
import { rewriteGraphAlias } from './http/graph-aliases.ts';
import { installErrorHandling } from './http/error-handler.ts';
import { QuotaCounter } from './quota/quota-counter.ts';
import type { ResourceRoutes, RouteRegistration } from './http/resource-routes.ts';
import { auditLogRoutes } from './http/routes/audit-logs/index.ts';
import { dataPolicyOperationRoutes } from './http/routes/data-policy-operations/index.ts';
import { directoryRoutes } from './http/routes/directory/index.ts';
import { driveRoutes } from './http/routes/drive/index.ts';
import { securityRoutes } from './http/routes/security/index.ts';
import { serviceRoutes } from './http/routes/service/index.ts';
import { subscriptionRoutes } from './http/routes/subscriptions/index.ts';
import { userRoutes } from './http/routes/users/index.ts';
import { consoleRoutes } from './console/console-routes.ts';

export const GRAPH_VERSIONS = ['v1.0', 'beta'] as const;

/** Every resource's routes (src/http/routes/<resource>/index.ts). */
const RESOURCES: ResourceRoutes[] = [
  serviceRoutes,
  dataPolicyOperationRoutes,
  userRoutes,
  driveRoutes,
  auditLogRoutes,
  directoryRoutes,
  securityRoutes,
  subscriptionRoutes,
];

/** Builds the HTTP app without listening: entry points listen, tests use inject or listen on port 0. */
export async function buildApp(deps: AppDeps, extraGraphRoutes: RouteRegistration[] = []): Promise<FastifyInstance> {
  const app = Fastify({
    ...(deps.logger ? { loggerInstance: deps.logger } : { logger: false }),
    genReqId: () => randomUUID(),
    bodyLimit: deps.config.bodyLimitBytes,
    trustProxy: false,
    // Graph user keys are UPNs with '@' and dots; keep the router from treating them specially.
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 1024 },
    rewriteUrl: (req) => rewriteGraphAlias(req.url ?? '/'),
  });
  // Only JSON bodies on Graph routes (drive uploads add their own parser in their scope).
  app.removeContentTypeParser('text/plain');

  // A callback hook, not an async one: no promise per request for two headers.
  app.addHook('onRequest', (request, reply, done) => {
    const clientRequestId = request.headers['client-request-id'];
    reply.header('request-id', request.id);
    reply.header('client-request-id', typeof clientRequestId === 'string' && clientRequestId.length <= 200 ? clientRequestId : request.id);
    done();
  });
  await app.register(cors, {
    origin: '*',
    exposedHeaders: ['Location', 'Retry-After', 'request-id', 'client-request-id'],
    methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
  });
  installErrorHandling(app, deps);
  const quotas = new QuotaCounter(deps.db);
  app.addHook('onClose', () => quotas.close());

  for (const resource of RESOURCES) resource.root?.(app, deps, quotas);
  // Outside the versions too: the console's files, and the one call that gets it a token.
  consoleRoutes(app, deps);
  for (const version of GRAPH_VERSIONS) {
    await app.register(
      async (graph) => {
        // Each scope has its own request prototype: its routes' requests carry their version with no hook.
        graph.decorateRequest('graphVersion', version);
        graph.addHook('onRequest', authenticateHook(deps, quotas));
        for (const resource of RESOURCES) resource.graph?.(graph, deps, quotas);
        for (const route of extraGraphRoutes) route(graph, deps, quotas);
      },
      { prefix: `/${version}` },
    );
  }
  return app;
}
