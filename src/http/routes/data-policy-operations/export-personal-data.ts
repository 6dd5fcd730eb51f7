import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { requireExportPermissions } from '../../../auth/permissions.ts';
import { BLOB_SUFFIX_BY_CLOUD } from '../../../config.ts';
import { inTransaction, type Queryable } from '../../../db/pool.ts';
import { insertDirectoryAudit } from '../../../db/queries/directory-audits.ts';
import {
  findOperationsForContainer, insertOperation, lockStorageContainer, notifyOperationQueued,
} from '../../../db/queries/operations.ts';
import { incrementQuotaCounter } from '../../../db/queries/quotas.ts';
import { findUser } from '../../../db/queries/users.ts';
import { auditRecord } from '../../../domain/directory-audit.ts';
import type { OperationRow } from '../../../domain/operation.ts';
import { quotaWindow } from '../../../domain/quota.ts';
import { checkStorageLocation } from '../../../domain/storage-location.ts';
import { GraphError } from '../../../graph-error.ts';
import { graphBase, type AppDeps } from '../../app-deps.ts';
import { requesterOf } from '../../requester.ts';

/** Counts one accepted export against the tenant's and the subject's daily quotas. */
async function countExportQuotas(q: Queryable, deps: AppDeps, tenantId: string, userId: string, now: Date): Promise<void> {
  const day = quotaWindow(now, 'day');
  const { exportsPerTenantPerDay, exportsPerUserPerDay } = deps.config.quotas;
  if (await incrementQuotaCounter(q, tenantId, 'exports', day.start) > exportsPerTenantPerDay) {
    throw GraphError.tooManyRequests(`The tenant exceeded its quota of ${exportsPerTenantPerDay} export requests per day.`, day.retryAfterSeconds);
  }
  if (await incrementQuotaCounter(q, tenantId, `exports:${userId}`, day.start) > exportsPerUserPerDay) {
    throw GraphError.tooManyRequests(`The user exceeded the quota of ${exportsPerUserPerDay} export requests per day.`, day.retryAfterSeconds);
  }
}

/** POST /{version}/users/{id | userPrincipalName}/exportPersonalData (DESIGN.md §3.1). */
export function exportPersonalData(app: FastifyInstance, deps: AppDeps): void {
  app.post<{ Params: { user: string } }>('/users/:user/exportPersonalData', { config: { quota: 'export' } }, async (request, reply) => {
    const caller = request.caller;
    requireExportPermissions(caller, ['User.Export.All'], deps.config.auth.adminRoleIds);
    const body = request.body;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw GraphError.badRequest('The request body must be a JSON object.');
    const now = deps.clock();
    const target = checkStorageLocation((body as Record<string, unknown>).storageLocation, {
      blobSuffix: BLOB_SUFFIX_BY_CLOUD[deps.config.cloud],
      allowedOrigins: deps.config.storageAllow,
      minValiditySeconds: deps.config.sasMinValiditySeconds,
    }, now);
    const user = await findUser(deps.db, caller.tenantId, request.params.user);
    if (!user) throw GraphError.notFound(`Resource '${request.params.user}' does not exist or one of its queried reference-property objects are not present.`);

    const requester = requesterOf(caller);
    const operation = await inTransaction(deps.db, async (tx): Promise<OperationRow> => {
      await lockStorageContainer(tx, target.container);
      const claimed = await findOperationsForContainer(tx, target.container);
      // SDKs retry POSTs on 429/503/504: the same request again must not start a second export.
      const same = claimed.find((op) => op.tenant_id === caller.tenantId && op.user_id === user.id
        && op.storage_location === target.url && (op.status === 'notStarted' || op.status === 'running'));
      if (same) return same;
      if (claimed.length > 0) throw GraphError.storageLocationAlreadyUsed();
      await countExportQuotas(tx, deps, caller.tenantId, user.id, now);
      const op = await insertOperation(tx, {
        id: randomUUID(), tenantId: caller.tenantId, userId: user.id, userPrincipalName: user.user_principal_name,
        storageLocation: target.url, storageContainer: target.container, requestedBy: requester, submittedAt: now,
      });
      await insertDirectoryAudit(tx, auditRecord({
        tenantId: caller.tenantId, now, activity: 'Export personal data requested', operationType: 'Other', requester,
        ipAddress: request.ip, target: { id: user.id, userPrincipalName: user.user_principal_name, displayName: user.display_name },
        correlationId: op.id, details: { operationId: op.id },
      }));
      await notifyOperationQueued(tx, op.id);
      return op;
    });
    request.log.info({ operationId: operation.id, tenantId: caller.tenantId }, 'export accepted');
    // Graph's JavaScript client fails on a JSON content type with an empty body: send neither.
    return reply.code(202)
      .header('location', `${graphBase(deps, request.graphVersion)}/dataPolicyOperations/${operation.id}`)
      .header('retry-after', String(deps.config.retryAfterSeconds))
      .send();
  });
}
