import type { OperationRow, OperationStatus, Requester } from '../../domain/operation.ts';
import type { Queryable } from '../pool.ts';

export const OPERATIONS_CHANNEL = 'dsr_operations';

export interface NewOperation {
  id: string;
  tenantId: string;
  userId: string;
  userPrincipalName: string;
  storageLocation: string;
  storageContainer: string;
  requestedBy: Requester;
  submittedAt: Date;
}

/**
 * Serialises submissions naming the same container, so that the duplicate and already-used
 * checks below cannot race (two POSTs at once would otherwise both see an unused container).
 */
export async function lockStorageContainer(q: Queryable, container: string): Promise<void> {
  await q.query('select pg_advisory_xact_lock(hashtextextended($1, 0))', [container]);
}

/**
 * Operations that claim this container: all but failed ones that never wrote RequestInfo.json
 * (those left the container empty, so it may be used again).
 */
export async function findOperationsForContainer(q: Queryable, container: string): Promise<OperationRow[]> {
  const { rows } = await q.query<OperationRow>(
    `select * from data_policy_operations
     where storage_container = $1 and not (status = 'failed' and not request_info_written)
     order by submitted_at`,
    [container],
  );
  return rows;
}

export async function insertOperation(q: Queryable, op: NewOperation): Promise<OperationRow> {
  const { rows } = await q.query<OperationRow>(
    `insert into data_policy_operations
       (id, tenant_id, user_id, user_principal_name, storage_location, storage_container, status, requested_by, submitted_at, next_attempt_at)
     values ($1, $2, $3, $4, $5, $6, 'notStarted', $7, $8, $8) returning *`,
    [op.id, op.tenantId, op.userId, op.userPrincipalName, op.storageLocation, op.storageContainer, op.requestedBy, op.submittedAt],
  );
  return rows[0]!;
}

/** Wakes idle workers (LISTEN dsr_operations); delivered when the transaction commits. */
export async function notifyOperationQueued(q: Queryable, id: string): Promise<void> {
  await q.query('select pg_notify($1, $2)', [OPERATIONS_CHANNEL, id]);
}

export async function findOperation(q: Queryable, tenantId: string, id: string): Promise<OperationRow | undefined> {
  const { rows } = await q.query<OperationRow>('select * from data_policy_operations where tenant_id = $1 and id = $2', [tenantId, id]);
  return rows[0];
}

/** One page, newest first; `after` is the (submitted_at, id) of the previous page's last row. */
export async function listOperations(
  q: Queryable,
  tenantId: string,
  opts: { limit: number; after?: { submittedAt: string; id: string }; status?: OperationStatus; userId?: string },
): Promise<OperationRow[]> {
  const { rows } = await q.query<OperationRow>(
    `select * from data_policy_operations
     where tenant_id = $1
       and ($2::timestamptz is null or (submitted_at, id) < ($2::timestamptz, $3::uuid))
       and ($4::text is null or status = $4)
       and ($5::uuid is null or user_id = $5)
     order by submitted_at desc, id desc
     limit $6`,
    [tenantId, opts.after?.submittedAt ?? null, opts.after?.id ?? null, opts.status ?? null, opts.userId ?? null, opts.limit],
  );
  return rows;
}
