import type { DirectoryAudit, DirectoryAuditRow } from '../../domain/directory-audit.ts';
import type { DateBounds } from '../../http/odata.ts';
import type { Queryable } from '../pool.ts';

/** An audit's 14 column values, in the order of the insert below (and of INSERT_AUDIT in operations.ts). */
export function directoryAuditValues(a: DirectoryAudit): unknown[] {
  return [
    a.id,
    a.tenantId,
    a.activityAt,
    a.category,
    a.activityDisplayName,
    a.operationType,
    a.result,
    a.resultReason,
    a.correlationId,
    a.initiatedBy,
    JSON.stringify(a.targetResources),
    a.initiatorUserId,
    a.targetUserId,
    JSON.stringify(a.additionalDetails),
  ];
}

export async function insertDirectoryAudit(q: Queryable, a: DirectoryAudit): Promise<void> {
  await q.query(
    `insert into directory_audits
       (id, tenant_id, activity_at, category, activity_display_name, operation_type, result, result_reason,
        correlation_id, initiated_by, target_resources, initiator_user_id, target_user_id, additional_details)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
    directoryAuditValues(a),
  );
}

/** A listing row: `cursor_at` is activity_at as PostgreSQL text, exact to the microsecond for the keyset. */
export type DirectoryAuditListRow = DirectoryAuditRow & { cursor_at: string };

/** The filters and order of a directory-audit listing. */
export interface DirectoryAuditQuery {
  limit: number;
  targetId?: string;
  initiatorUserId?: string;
  activityDisplayName?: string;
  category?: string;
  activity?: DateBounds;
  order?: 'asc' | 'desc';
  after?: { at: string; id: string };
}

/**
 * One page of the tenant's directory audits, newest first unless `order` is asc; `after` is the
 * (activity_at, id) of the last row of the previous page. `targetId` matches any entry of
 * targetResources (jsonb containment, GIN-indexed by 005); `initiatorUserId` the initiating user.
 */
export async function listDirectoryAudits(q: Queryable, tenantId: string, opts: DirectoryAuditQuery): Promise<DirectoryAuditListRow[]> {
  const desc = (opts.order ?? 'desc') === 'desc';
  const a = opts.activity ?? {};
  const { rows } = await q.query<DirectoryAuditListRow>(
    `select *, activity_at::text as cursor_at from directory_audits
     where tenant_id = $1
       and ($2::jsonb is null or target_resources @> $2)
       and ($3::uuid is null or initiator_user_id = $3)
       and ($4::text is null or activity_display_name = $4)
       and ($5::text is null or category = $5)
       and ($6::timestamptz is null or (activity_at, id) ${desc ? '<' : '>'} ($6, $7::uuid))
       and ($9::timestamptz is null or activity_at >= $9) and ($10::timestamptz is null or activity_at > $10)
       and ($11::timestamptz is null or activity_at <= $11) and ($12::timestamptz is null or activity_at < $12)
     order by activity_at ${desc ? 'desc' : 'asc'}, id ${desc ? 'desc' : 'asc'}
     limit $8`,
    [
      tenantId,
      opts.targetId === undefined ? null : JSON.stringify([{ id: opts.targetId }]),
      opts.initiatorUserId ?? null,
      opts.activityDisplayName ?? null,
      opts.category ?? null,
      opts.after?.at ?? null,
      opts.after?.id ?? null,
      opts.limit,
      a.ge ?? null,
      a.gt ?? null,
      a.le ?? null,
      a.lt ?? null,
    ],
  );
  return rows;
}
