import cors from '@fastify/cors';
import Fastify, { type FastifyInstance } from 'fastify';
import { randomUUID } from 'node:crypto';
import type { AppDeps } from './http/app-deps.ts';
import { authenticateHook } from './http/authenticate.ts';
import { resolveMeAlias, rewriteGraphAlias } from './http/graph-aliases.ts';
import { installErrorHandling } from './http/error-handler.ts';
import { QuotaCounter } from './quota/quota-counter.ts';
import { listDirectoryAuditsRoute } from './http/routes/audit-logs/list-directory-audits.ts';
import { listSignInsRoute } from './http/routes/audit-logs/list-sign-ins.ts';
import { deleteDeletedItemRoute } from './http/routes/directory/delete-deleted-item.ts';
import { getDeletedItemRoute } from './http/routes/directory/get-deleted-item.ts';
import { listDeletedUsersRoute } from './http/routes/directory/list-deleted-users.ts';
import { restoreDeletedItemRoute } from './http/routes/directory/restore-deleted-item.ts';
import { exportPersonalData } from './http/routes/data-policy-operations/export-personal-data.ts';
import { createUploadSessionRoute } from './http/routes/drive/create-upload-session.ts';
import { deleteItemRoute } from './http/routes/drive/delete-item.ts';
import { downloadContentRoute } from './http/routes/drive/download-content.ts';
import { downloadUrlRoute } from './http/routes/drive/download-url.ts';
import { getDriveRoute } from './http/routes/drive/get-drive.ts';
import { getItemByPathRoute } from './http/routes/drive/get-item-by-path.ts';
import { getItemRoute } from './http/routes/drive/get-item.ts';
import { getRootRoute } from './http/routes/drive/get-root.ts';
import { listItemChildrenRoute } from './http/routes/drive/list-item-children.ts';
import { listRootChildrenRoute } from './http/routes/drive/list-root-children.ts';
import { uploadContentRoute } from './http/routes/drive/upload-content.ts';
import { uploadSessionRoutes } from './http/routes/drive/upload-session-routes.ts';
import { getOperation } from './http/routes/data-policy-operations/get-operation.ts';
import { listOperationsRoute } from './http/routes/data-policy-operations/list-operations.ts';
import { subjectRightsRequestRoutes } from './http/routes/security/index.ts';
import { downloadFinalFileRoute } from './http/routes/security/download-final-file.ts';
import { healthz, readyz } from './http/routes/service/health.ts';
import { metricsRoute } from './http/routes/service/metrics.ts';
import { createMetrics } from './metrics.ts';
import { jwks } from './http/routes/service/jwks.ts';
import { createUser } from './http/routes/users/create-user.ts';
import { deleteUserRoute } from './http/routes/users/delete-user.ts';
import { getUser } from './http/routes/users/get-user.ts';
import { listUsersRoute } from './http/routes/users/list-users.ts';
import { updateUserRoute } from './http/routes/users/update-user.ts';
import { SUBSCRIPTION_ROUTES } from './http/routes/subscriptions/index.ts';
import { consoleRoutes } from './console/console-routes.ts';

export const GRAPH_VERSIONS = ['v1.0', 'beta'] as const;

/** The Graph routes, registered once per version with identical behaviour. */
type GraphRoute = (app: FastifyInstance, deps: AppDeps, quotas: QuotaCounter) => void;
const GRAPH_ROUTES: GraphRoute[] = [
  exportPersonalData, getOperation, listOperationsRoute,
  createUser, listUsersRoute, getUser, updateUserRoute, deleteUserRoute,
  getDriveRoute, getRootRoute, listRootChildrenRoute, getItemRoute, listItemChildrenRoute, downloadContentRoute,
  getItemByPathRoute, uploadContentRoute, createUploadSessionRoute, deleteItemRoute,
  listSignInsRoute, listDirectoryAuditsRoute,
  listDeletedUsersRoute, getDeletedItemRoute, restoreDeletedItemRoute, deleteDeletedItemRoute,
  subjectRightsRequestRoutes,
  ...SUBSCRIPTION_ROUTES,
];

/** Builds the HTTP app without listening: entry points listen, tests use inject or listen on port 0. */
export async function buildApp(deps: AppDeps, extraGraphRoutes: typeof GRAPH_ROUTES = []): Promise<FastifyInstance> {
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

  app.addHook('onRequest', async (request, reply) => {
    const clientRequestId = request.headers['client-request-id'];
    reply.header('request-id', request.id);
    reply.header('client-request-id', typeof clientRequestId === 'string' && clientRequestId.length <= 200 ? clientRequestId : request.id);
  });
  await app.register(cors, {
    origin: '*',
    exposedHeaders: ['Location', 'Retry-After', 'request-id', 'client-request-id'],
    methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
  });
  installErrorHandling(app, deps);
  const quotas = new QuotaCounter(deps.db);
  app.addHook('onClose', () => quotas.close());

  healthz(app);
  readyz(app, deps);
  metricsRoute(app, deps, deps.metrics ?? createMetrics(), { token: deps.config.metricsToken, tokenRequired: true });
  jwks(app, deps);
  // Outside the versions and the token hook: an uploadUrl is its own credential.
  uploadSessionRoutes(app, deps, quotas);
  downloadUrlRoute(app, deps);
  downloadFinalFileRoute(app, deps);
  // Outside the versions too: the console's files, and the one call that gets it a token.
  consoleRoutes(app, deps);
  for (const version of GRAPH_VERSIONS) {
    await app.register(async (graph) => {
      graph.decorateRequest('graphVersion', version);
      graph.addHook('onRequest', async (request) => {
        request.graphVersion = version;
      });
      graph.addHook('onRequest', authenticateHook(deps, quotas));
      graph.addHook('onRequest', resolveMeAlias);
      for (const route of [...GRAPH_ROUTES, ...extraGraphRoutes]) route(graph, deps, quotas);
    }, { prefix: `/${version}` });
  }
  return app;
}
