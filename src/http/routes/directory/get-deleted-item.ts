import type { FastifyInstance } from 'fastify';
import { requirePermissions } from '../../../auth/permissions.ts';
import { findDeletedUser } from '../../../db/queries/users.ts';
import { deletedItemsSince, toGraphUser } from '../../../domain/user.ts';
import { graphBase, type AppDeps } from '../../app-deps.ts';
import { sendGraphJson } from '../../graph-reply.ts';
import { userNotFound } from '../users/get-user.ts';
import { deletedItemId } from './deleted-items-shared.ts';

/** GET /{version}/directory/deletedItems/{id}: a soft-deleted user (the only deleted objects this directory has). */
export function getDeletedItemRoute(app: FastifyInstance, deps: AppDeps): void {
  app.get<{ Params: { id: string } }>('/directory/deletedItems/:id', async (request, reply) => {
    requirePermissions(request.caller, ['User.Read.All']);
    const id = deletedItemId(request.params.id);
    const user = await findDeletedUser(deps.db, request.caller.tenantId, id, deletedItemsSince(deps.clock()));
    if (!user) throw userNotFound(request.params.id);
    return sendGraphJson(reply, 200, {
      '@odata.context': `${graphBase(deps, request.graphVersion)}/$metadata#directory/deletedItems/$entity`,
      '@odata.type': '#microsoft.graph.user',
      ...toGraphUser(user),
    });
  });
}
