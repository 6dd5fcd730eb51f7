import type { FastifyInstance } from 'fastify';
import { actsTenantWide, requireUserScopedAccess, USER_WRITE } from '../../../auth/permissions.ts';
import { inTransaction } from '../../../db/pool.ts';
import { insertDirectoryAudit } from '../../../db/queries/directory-audits.ts';
import { findUser, updateUser } from '../../../db/queries/users.ts';
import { auditRecord } from '../../../domain/directory-audit.ts';
import { changedProperties, parseUserChanges, type UserChanges } from '../../../domain/user.ts';
import { GraphError } from '../../../graph-error.ts';
import type { AppDeps } from '../../app-deps.ts';
import { userNotFound } from './get-user.ts';
import { requesterOf } from '../../requester.ts';

// What only an administrator changes, even on their own user: the sign-in name and whether the
// account may be used.
const ADMINISTRATIVE = ['userPrincipalName', 'accountEnabled'];

function refuseAdministrativeChanges(changes: UserChanges): void {
  const names = changedProperties(changes).filter((name) => ADMINISTRATIVE.includes(name));
  if (names.length > 0) {
    throw GraphError.forbidden(`Insufficient privileges to complete the operation. Only an administrator can change ${names.join(' and ')}.`);
  }
}

/** PATCH /{version}/users/{id | userPrincipalName}: 204, as Graph. */
export function updateUserRoute(app: FastifyInstance, deps: AppDeps): void {
  app.patch<{ Params: { user: string } }>('/users/:user', async (request, reply) => {
    const caller = request.caller;
    requireUserScopedAccess(caller, USER_WRITE, undefined);
    const changes = parseUserChanges(request.body, 'update');
    if (!actsTenantWide(caller)) refuseAdministrativeChanges(changes);
    const now = deps.clock();
    await inTransaction(deps.db, async (tx) => {
      const existing = await findUser(tx, caller.tenantId, request.params.user);
      requireUserScopedAccess(caller, USER_WRITE, existing?.id ?? request.params.user);
      if (!existing) throw userNotFound(request.params.user);
      const row = (await updateUser(tx, caller.tenantId, existing.id, changes))!;
      await insertDirectoryAudit(
        tx,
        auditRecord({
          tenantId: caller.tenantId,
          now,
          activity: 'Update user',
          operationType: 'Update',
          requester: requesterOf(caller),
          ipAddress: request.ip,
          target: { id: row.id, userPrincipalName: row.user_principal_name, displayName: row.display_name },
          modifiedProperties: changedProperties(changes),
        }),
      );
    }).catch((err: { code?: string }) => {
      if (err.code === '23505') throw GraphError.directoryBadRequest('Another object with the same value for property userPrincipalName already exists.');
      throw err;
    });
    return reply.code(204).send();
  });
}
