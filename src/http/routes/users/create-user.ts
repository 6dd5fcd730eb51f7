import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { requirePermissions } from '../../../auth/permissions.ts';
import { inTransaction } from '../../../db/pool.ts';
import { insertDirectoryAudit } from '../../../db/queries/directory-audits.ts';
import { insertUser } from '../../../db/queries/users.ts';
import { auditRecord } from '../../../domain/directory-audit.ts';
import { changedProperties, parseUserChanges, toGraphUser } from '../../../domain/user.ts';
import { GraphError } from '../../../graph-error.ts';
import { graphBase, type AppDeps } from '../../app-deps.ts';
import { sendGraphJson } from '../../graph-reply.ts';
import { requesterOf } from '../../requester.ts';

/** POST /{version}/users */
export function createUser(app: FastifyInstance, deps: AppDeps): void {
  app.post('/users', async (request, reply) => {
    const caller = request.caller;
    requirePermissions(caller, ['User.ReadWrite.All']);
    const changes = parseUserChanges(request.body, 'create');
    const now = deps.clock();
    const user = await inTransaction(deps.db, async (tx) => {
      const row = await insertUser(tx, caller.tenantId, randomUUID(), changes, now);
      await insertDirectoryAudit(
        tx,
        auditRecord({
          tenantId: caller.tenantId,
          now,
          activity: 'Add user',
          operationType: 'Add',
          requester: requesterOf(caller),
          ipAddress: request.ip,
          target: { id: row.id, userPrincipalName: row.user_principal_name, displayName: row.display_name },
          modifiedProperties: changedProperties(changes),
        }),
      );
      return row;
    }).catch((err: { code?: string }) => {
      if (err.code === '23505') throw GraphError.directoryBadRequest('Another object with the same value for property userPrincipalName already exists.');
      throw err;
    });
    return sendGraphJson(reply, 201, { '@odata.context': `${graphBase(deps, request.graphVersion)}/$metadata#users/$entity`, ...toGraphUser(user) });
  });
}
