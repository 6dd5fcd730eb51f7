import type { FastifyInstance } from 'fastify';
import { requirePermissions } from '../../../auth/permissions.ts';
import { inTransaction } from '../../../db/pool.ts';
import { findDeletedUser, purgeDeletedUser } from '../../../db/queries/users.ts';
import { deletedItemsSince } from '../../../domain/user.ts';
import type { AppDeps } from '../../app-deps.ts';
import { userNotFound } from '../users/get-user.ts';
import { auditDeletedItemChange, deletedItemId } from './deleted-items-shared.ts';

/**
 * DELETE /{version}/directory/deletedItems/{id}: 204, the permanent delete. The user's drive,
 * activity and sign-ins go with it; the directory audits stay.
 */
export function deleteDeletedItemRoute(app: FastifyInstance, deps: AppDeps): void {
  app.delete<{ Params: { id: string } }>('/directory/deletedItems/:id', async (request, reply) => {
    requirePermissions(request.caller, ['User.ReadWrite.All']);
    const id = deletedItemId(request.params.id);
    const now = deps.clock();
    await inTransaction(deps.db, async (tx) => {
      const user = await findDeletedUser(tx, request.caller.tenantId, id, deletedItemsSince(now));
      if (!user || !(await purgeDeletedUser(tx, user.tenant_id, user.id))) throw userNotFound(request.params.id);
      await auditDeletedItemChange(tx, request, user, 'Hard Delete user', 'Delete', now);
    });
    return reply.code(204).send();
  });
}
