import type { FastifyInstance } from 'fastify';
import { requirePermissions } from '../../../auth/permissions.ts';
import { requestExport } from '../../../operations/export-request-service.ts';
import { GroupedExportInserts } from '../../../operations/grouped-export-inserts.ts';
import { OperationWakeUp } from '../../../operations/operation-wake-up.ts';
import type { QuotaCounter } from '../../../quota/quota-counter.ts';
import { GraphError } from '../../../graph-error.ts';
import { graphBase, type AppDeps } from '../../app-deps.ts';
import { requesterOf } from '../../requester.ts';

/** POST /{version}/users/{id | userPrincipalName}/exportPersonalData (docs/architecture.md#export-data-flow). */
export function exportPersonalData(app: FastifyInstance, deps: AppDeps, quotas: QuotaCounter): void {
  const wakeUp = new OperationWakeUp(deps.db, deps.logger);
  app.addHook('onClose', async () => wakeUp.close());
  const ctx = { db: deps.db, config: deps.config, quotas, wakeUp, inserts: new GroupedExportInserts(deps.db) };
  app.post<{ Params: { user: string } }>('/users/:user/exportPersonalData', { config: { quota: 'export' } }, async (request, reply) => {
    const caller = request.caller;
    requirePermissions(caller, ['User.Export.All']);
    const body = request.body;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw GraphError.badRequest('The request body must be a JSON object.');
    const { operationId, created } = await requestExport(ctx, {
      caller,
      requester: requesterOf(caller),
      userKey: request.params.user,
      storageLocation: (body as Record<string, unknown>).storageLocation,
      ipAddress: request.ip,
      now: deps.clock(),
    });
    if (created) request.log.info({ operationId, tenantId: caller.tenantId }, 'export accepted');
    // Graph's JavaScript client fails on a JSON content type with an empty body: send neither.
    return reply
      .code(202)
      .header('location', `${graphBase(deps, request.graphVersion)}/dataPolicyOperations/${operationId}`)
      .header('retry-after', String(deps.config.retryAfterSeconds))
      .send();
  });
}
