import type { FastifyInstance } from 'fastify';
import { requirePermissions } from '../../../auth/permissions.ts';
import { inTransaction } from '../../../db/pool.ts';
import { insertDirectoryAudit } from '../../../db/queries/directory-audits.ts';
import { findUser, softDeleteUser } from '../../../db/queries/users.ts';
import { auditRecord } from '../../../domain/directory-audit.ts';
import type { AppDeps } from '../../app-deps.ts';
import { userNotFound } from './get-user.ts';
import { requesterOf } from '../../requester.ts';

/**
 * DELETE /{version}/users/{id | userPrincipalName}: 204, a soft delete as in Entra ID. The user
 * moves to /directory/deletedItems/microsoft.graph.user, where it can be restored or deleted
 * for good; 30 days later it is purged, and its drive, activity and sign-ins go with it. Until
 * then its data stays, and an export of the user still works.
 */
export function deleteUserRoute(app: FastifyInstance, deps: AppDeps): void {
  app.delete<{ Params: { user: string } }>('/users/:user', async (request, reply) => {
    const caller = request.caller;
    requirePermissions(caller, ['User.ReadWrite.All']);
    const now = deps.clock();
    await inTransaction(deps.db, async (tx) => {
      const existing = await findUser(tx, caller.tenantId, request.params.user);
      if (!existing || !(await softDeleteUser(tx, caller.tenantId, existing.id, now))) throw userNotFound(request.params.user);
      await insertDirectoryAudit(
        tx,
        auditRecord({
          tenantId: caller.tenantId,
          now,
          activity: 'Delete user',
          operationType: 'Delete',
          requester: requesterOf(caller),
          ipAddress: request.ip,
          target: { id: existing.id, userPrincipalName: existing.user_principal_name, displayName: existing.display_name },
        }),
      );
    });
    return reply.code(204).send();
  });
}
