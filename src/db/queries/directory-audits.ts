import type { DirectoryAudit, DirectoryAuditRow } from '../../domain/directory-audit.ts';
import type { Queryable } from '../pool.ts';

export async function insertDirectoryAudit(q: Queryable, a: DirectoryAudit): Promise<void> {
  await q.query(
    `insert into directory_audits
       (id, tenant_id, activity_at, category, activity_display_name, operation_type, result, result_reason,
        correlation_id, initiated_by, target_resources, initiator_user_id, target_user_id, additional_details)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
    [a.id, a.tenantId, a.activityAt, a.category, a.activityDisplayName, a.operationType, a.result, a.resultReason,
      a.correlationId, a.initiatedBy, JSON.stringify(a.targetResources), a.initiatorUserId, a.targetUserId,
      JSON.stringify(a.additionalDetails)],
  );
}

/** Audits where the user is initiator or target, newest first (for the API and the export). */
export async function listDirectoryAuditsForUser(q: Queryable, tenantId: string, userId: string, limit: number): Promise<DirectoryAuditRow[]> {
  const { rows } = await q.query<DirectoryAuditRow>(
    `select * from directory_audits
     where tenant_id = $1 and (target_user_id = $2 or initiator_user_id = $2)
     order by activity_at desc, id desc limit $3`,
    [tenantId, userId, limit],
  );
  return rows;
}
