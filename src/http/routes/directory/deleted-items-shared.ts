import type { FastifyRequest } from 'fastify';
import type { Queryable } from '../../../db/pool.ts';
import { insertDirectoryAudit } from '../../../db/queries/directory-audits.ts';
import { auditRecord } from '../../../domain/directory-audit.ts';
import type { UserRow } from '../../../domain/user.ts';
import { GraphError } from '../../../graph-error.ts';
import { GUID_PATTERN } from '../../odata.ts';
import { requesterOf } from '../../requester.ts';

/** deletedItems are addressed by object id only; anything else is Entra's 400. */
export function deletedItemId(raw: string): string {
  if (!GUID_PATTERN.test(raw)) throw new GraphError(400, 'Request_BadRequest', `Invalid object identifier '${raw.slice(0, 100)}'.`);
  return raw.toLowerCase();
}

/** The directory audit of a change to a deleted user (Restore user, Hard Delete user), in the change's transaction. */
export async function auditDeletedItemChange(
  q: Queryable,
  request: FastifyRequest,
  user: UserRow,
  activity: string,
  operationType: 'Update' | 'Delete',
  now: Date,
): Promise<void> {
  await insertDirectoryAudit(
    q,
    auditRecord({
      tenantId: user.tenant_id,
      now,
      activity,
      operationType,
      requester: requesterOf(request.caller),
      ipAddress: request.ip,
      target: { id: user.id, userPrincipalName: user.user_principal_name, displayName: user.display_name },
    }),
  );
}
