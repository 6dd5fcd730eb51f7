import type { FastifyInstance } from 'fastify';
import { requirePermissions } from '../../../auth/permissions.ts';
import { inTransaction } from '../../../db/pool.ts';
import { insertDirectoryAudit } from '../../../db/queries/directory-audits.ts';
import { findUser, updateUser } from '../../../db/queries/users.ts';
import { auditRecord } from '../../../domain/directory-audit.ts';
import { changedProperties, parseUserChanges } from '../../../domain/user.ts';
import { GraphError } from '../../../graph-error.ts';
import type { AppDeps } from '../../app-deps.ts';
import { userNotFound } from './get-user.ts';
import { requesterOf } from '../../requester.ts';

/** PATCH /{version}/users/{id | userPrincipalName}: 204, as Graph. */
export function updateUserRoute(app: FastifyInstance, deps: AppDeps): void {
  app.patch<{ Params: { user: string } }>('/users/:user', async (request, reply) => {
    const caller = request.caller;
    requirePermissions(caller, ['User.ReadWrite.All']);
    const changes = parseUserChanges(request.body, 'update');
    const now = deps.clock();
    await inTransaction(deps.db, async (tx) => {
      const existing = await findUser(tx, caller.tenantId, request.params.user);
      if (!existing) throw userNotFound(request.params.user);
      const row = (await updateUser(tx, caller.tenantId, existing.id, changes))!;
      await insertDirectoryAudit(tx, auditRecord({
        tenantId: caller.tenantId, now, activity: 'Update user', operationType: 'Update', requester: requesterOf(caller),
        ipAddress: request.ip, target: { id: row.id, userPrincipalName: row.user_principal_name, displayName: row.display_name },
        modifiedProperties: changedProperties(changes),
      }));
    }).catch((err: { code?: string }) => {
      if (err.code === '23505') throw GraphError.badRequest('Another object with the same value for property userPrincipalName already exists.');
      throw err;
    });
    return reply.code(204).send();
  });
}
