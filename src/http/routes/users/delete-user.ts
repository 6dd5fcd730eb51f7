import type { FastifyInstance } from 'fastify';
import { requirePermissions } from '../../../auth/permissions.ts';
import { inTransaction } from '../../../db/pool.ts';
import { insertDirectoryAudit } from '../../../db/queries/directory-audits.ts';
import { deleteUser, findUser } from '../../../db/queries/users.ts';
import { auditRecord } from '../../../domain/directory-audit.ts';
import type { AppDeps } from '../../app-deps.ts';
import { userNotFound } from './get-user.ts';
import { requesterOf } from '../../requester.ts';

/**
 * DELETE /{version}/users/{id | userPrincipalName}: 204. The user's drive, activity and sign-ins
 * go with the row (foreign keys cascade); the audit of the deletion stays.
 */
export function deleteUserRoute(app: FastifyInstance, deps: AppDeps): void {
  app.delete<{ Params: { user: string } }>('/users/:user', async (request, reply) => {
    const caller = request.caller;
    requirePermissions(caller, ['User.ReadWrite.All']);
    const now = deps.clock();
    await inTransaction(deps.db, async (tx) => {
      const existing = await findUser(tx, caller.tenantId, request.params.user);
      if (!existing) throw userNotFound(request.params.user);
      await deleteUser(tx, caller.tenantId, existing.id);
      await insertDirectoryAudit(tx, auditRecord({
        tenantId: caller.tenantId, now, activity: 'Delete user', operationType: 'Delete', requester: requesterOf(caller),
        ipAddress: request.ip, target: { id: existing.id, userPrincipalName: existing.user_principal_name, displayName: existing.display_name },
      }));
    });
    return reply.code(204).send();
  });
}
