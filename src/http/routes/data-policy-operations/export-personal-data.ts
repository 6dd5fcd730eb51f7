import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { requirePermissions } from '../../../auth/permissions.ts';
import { BLOB_SUFFIX_BY_CLOUD } from '../../../config.ts';
import { findContainerClaim, insertOperationWithAudit } from '../../../db/queries/operations.ts';
import { findUserOrDeleted } from '../../../db/queries/users.ts';
import { deletedItemsSince } from '../../../domain/user.ts';
import type { QuotaCounter } from '../../../quota/quota-counter.ts';
import { exportQuotaBuckets } from '../../../domain/quota.ts';
import { checkStorageLocation } from '../../../domain/storage-location.ts';
import { GraphError } from '../../../graph-error.ts';
import { graphBase, type AppDeps } from '../../app-deps.ts';
import { OperationWakeUp } from '../../operation-wake-up.ts';
import { requesterOf } from '../../requester.ts';

/** POST /{version}/users/{id | userPrincipalName}/exportPersonalData (docs/architecture.md#export-data-flow). */
export function exportPersonalData(app: FastifyInstance, deps: AppDeps, quotas: QuotaCounter): void {
  const wakeUp = new OperationWakeUp(deps.db, deps.logger);
  app.addHook('onClose', async () => wakeUp.close());
  app.post<{ Params: { user: string } }>('/users/:user/exportPersonalData', { config: { quota: 'export' } }, async (request, reply) => {
    const caller = request.caller;
    requirePermissions(caller, ['User.Export.All']);
    const body = request.body;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw GraphError.badRequest('The request body must be a JSON object.');
    const now = deps.clock();
    const target = checkStorageLocation((body as Record<string, unknown>).storageLocation, {
      blobSuffix: BLOB_SUFFIX_BY_CLOUD[deps.config.cloud],
      allowedOrigins: deps.config.storageAllow,
      minValiditySeconds: deps.config.sasMinValiditySeconds,
    }, now);
    // A soft-deleted user is exported too, until the purge (the package carries deletedDateTime).
    const user = await findUserOrDeleted(deps.db, caller.tenantId, request.params.user, deletedItemsSince(now));
    if (!user) throw GraphError.notFound(`Resource '${request.params.user}' does not exist or one of its queried reference-property objects are not present.`);

    // SDKs retry POSTs on 429/503/504: the same request again must not start a second export,
    // nor cost quota, nor be refused for quota.
    const earlierSameRequest = async () => {
      const claim = await findContainerClaim(deps.db, caller.tenantId, target.container);
      const same = claim && claim.user_id === user.id
        && claim.storage_location === target.url && (claim.status === 'notStarted' || claim.status === 'running');
      return { claim, same: same ? claim : undefined };
    };
    const buckets = exportQuotaBuckets(deps.config.quotas, user.id);
    try {
      await quotas.takeAll(caller.tenantId, buckets, 'day', now);
    } catch (err) {
      const { same } = await earlierSameRequest();
      if (!same) throw err;
      return accepted(reply, same.id);
    }
    const operation = await insertOperationWithAudit(deps.db, {
      id: randomUUID(), tenantId: caller.tenantId, userId: user.id, userPrincipalName: user.user_principal_name,
      storageLocation: target.url, storageContainer: target.container, requestedBy: requesterOf(caller), submittedAt: now,
    }, { ipAddress: request.ip, userDisplayName: user.display_name });
    if (!operation) {
      quotas.giveBack(caller.tenantId, buckets, 'day', now);
      const { same } = await earlierSameRequest();
      if (!same) throw GraphError.storageLocationAlreadyUsed();
      return accepted(reply, same.id);
    }
    wakeUp.schedule();
    request.log.info({ operationId: operation.id, tenantId: caller.tenantId }, 'export accepted');
    return accepted(reply, operation.id);
  });

  function accepted(reply: FastifyReply, operationId: string): FastifyReply {
    // Graph's JavaScript client fails on a JSON content type with an empty body: send neither.
    return reply.code(202)
      .header('location', `${graphBase(deps, reply.request.graphVersion)}/dataPolicyOperations/${operationId}`)
      .header('retry-after', String(deps.config.retryAfterSeconds))
      .send();
  }
}
