import type { FastifyInstance } from 'fastify';
import { requirePermissions } from '../../../auth/permissions.ts';
import { inTransaction } from '../../../db/pool.ts';
import { restoreUser } from '../../../db/queries/users.ts';
import { deletedItemsSince, toGraphUser } from '../../../domain/user.ts';
import { graphBase, type AppDeps } from '../../app-deps.ts';
import { sendGraphJson } from '../../graph-reply.ts';
import { userNotFound } from '../users/get-user.ts';
import { auditDeletedItemChange, deletedItemId } from './deleted-items-shared.ts';

/** POST /{version}/directory/deletedItems/{id}/restore: the user is active again, with all its data; 200 with it. */
export function restoreDeletedItemRoute(app: FastifyInstance, deps: AppDeps): void {
  app.post<{ Params: { id: string } }>('/directory/deletedItems/:id/restore', async (request, reply) => {
    requirePermissions(request.caller, ['User.ReadWrite.All']);
    const id = deletedItemId(request.params.id);
    const now = deps.clock();
    const user = await inTransaction(deps.db, async (tx) => {
      const restored = await restoreUser(tx, request.caller.tenantId, id, deletedItemsSince(now));
      if (!restored) throw userNotFound(request.params.id);
      await auditDeletedItemChange(tx, request, restored, 'Restore user', 'Update', now);
      return restored;
    });
    return sendGraphJson(reply, 200, {
      '@odata.context': `${graphBase(deps, request.graphVersion)}/$metadata#directoryObjects/$entity`,
      '@odata.type': '#microsoft.graph.user',
      ...toGraphUser(user),
    });
  });
}
