import { auditRecord } from '../../domain/directory-audit.ts';
import type { OperationRow, OperationStatus, Requester } from '../../domain/operation.ts';
import { redactSasSignatures } from '../../domain/storage-location.ts';
import { SecretKeyError, secretKeys } from '../../secrets/secret-keys.ts';
import type { Queryable } from '../pool.ts';

export const OPERATIONS_CHANNEL = 'dsr_operations';

/**
 * The row with its full storageLocation, opened from the sealed copy. A row queued before sealing
 * existed holds the full URL already. A copy that no configured key opens (a key dropped too
 * early) leaves the redacted URL: storage then refuses the export, which fails instead of
 * stopping the worker's claim loop.
 */
export function openStorageLocation(row: OperationRow): OperationRow {
  if (row.storage_location_sealed === null) return row;
  try {
    return { ...row, storage_location: secretKeys().open(row.storage_location_sealed, row.id) };
  } catch (err) {
    if (err instanceof SecretKeyError) return row;
    throw err;
  }
}

export interface NewOperation {
  id: string;
  tenantId: string;
  userId: string;
  userPrincipalName: string;
  /** The full SAS URL: stored with its signature redacted, and sealed (src/secrets) for the worker. */
  storageLocation: string;
  storageContainer: string;
  requestedBy: Requester;
  submittedAt: Date;
}

function exportRequestedAudit(op: NewOperation, context: { ipAddress: string | null; userDisplayName?: string | null }) {
  return auditRecord({
    tenantId: op.tenantId, now: op.submittedAt, activity: 'Export personal data requested', operationType: 'Other',
    requester: op.requestedBy, ipAddress: context.ipAddress,
    target: { id: op.userId, userPrincipalName: op.userPrincipalName, displayName: context.userDisplayName ?? null },
    correlationId: op.id, details: { operationId: op.id },
  });
}

/** $1–$20 of both insert statements below: the operation's columns, then its audit's. */
function operationValues(op: NewOperation, audit: ReturnType<typeof auditRecord>): unknown[] {
  return [op.id, op.tenantId, op.userId, op.userPrincipalName, redactSasSignatures(op.storageLocation), op.storageContainer, op.requestedBy, op.submittedAt,
    audit.id, audit.category, audit.activityDisplayName, audit.operationType, audit.result, audit.resultReason,
    audit.initiatedBy, JSON.stringify(audit.targetResources), audit.initiatorUserId, audit.targetUserId, JSON.stringify(audit.additionalDetails),
    secretKeys().seal(op.storageLocation, op.id)];
}

const INSERT_OPERATION = `insert into data_policy_operations
  (id, tenant_id, user_id, user_principal_name, storage_location, storage_location_sealed, storage_container, status, requested_by, submitted_at, next_attempt_at)`;
const CLAIM_CONFLICT = `on conflict (tenant_id, storage_container) where status in ('notStarted', 'running') do nothing returning *`;
const INSERT_AUDIT = `insert into directory_audits
  (id, tenant_id, activity_at, category, activity_display_name, operation_type, result, result_reason,
   correlation_id, initiated_by, target_resources, initiator_user_id, target_user_id, additional_details)`;

/**
 * Inserts the operation and its "export requested" audit in one statement (one round trip, one
 * commit: the POST's cost is mostly round trips). Returns undefined, and writes nothing, when
 * another operation of the same tenant already claims the container (unique index in 008).
 * The row returned carries the full storageLocation, as claimOperations gives it to the worker.
 */
export async function insertOperationWithAudit(
  q: Queryable, op: NewOperation, context: { ipAddress: string | null; userDisplayName?: string | null },
): Promise<OperationRow | undefined> {
  const { rows } = await q.query<OperationRow>({
    // Named: PostgreSQL parses and plans this 20-parameter statement once per connection.
    name: 'insert-operation-with-audit',
    text: `with op as (
       ${INSERT_OPERATION} values ($1, $2, $3, $4, $5, $20, $6, 'notStarted', $7, $8, $8) ${CLAIM_CONFLICT}
     ), audit as (
       ${INSERT_AUDIT} select $9, $2, $8, $10, $11, $12, $13, $14, op.id, $15, $16, $17, $18, $19 from op
     )
     select * from op`,
    values: operationValues(op, exportRequestedAudit(op, context)),
  });
  return rows[0] && { ...rows[0], storage_location: op.storageLocation };
}

export type ExportRequestInsert =
  | { outcome: 'inserted'; operation: OperationRow }
  | { outcome: 'noUser' }
  | { outcome: 'containerClaimed' };

/**
 * The export POST's statement: looks the user up by id (soft-deleted ones until `deletedSince`
 * count, the package carries deletedDateTime), and inserts the operation and its audit with the
 * user's UPN and display name, in one round trip. Nothing is written for an unknown user or a
 * container another operation of the tenant claims.
 */
export async function insertExportRequest(
  q: Queryable, op: Omit<NewOperation, 'userPrincipalName'>, context: { ipAddress: string | null; deletedSince: Date },
): Promise<ExportRequestInsert> {
  const full = { ...op, userPrincipalName: '' };
  const values = operationValues(full, exportRequestedAudit(full, { ipAddress: context.ipAddress }));
  // $4 (the UPN) comes from the users row here: its place carries the deletion cut-off instead.
  values[3] = context.deletedSince;
  const { rows } = await q.query<OperationRow & { user_found: boolean }>({
    name: 'insert-export-request',
    text: `with u as (
       select id, user_principal_name, display_name from users
       where tenant_id = $2 and id = $3 and (deleted_at is null or deleted_at > $4)
     ), op as (
       ${INSERT_OPERATION} select $1, $2, u.id, u.user_principal_name, $5, $20, $6, 'notStarted', $7, $8, $8 from u ${CLAIM_CONFLICT}
     ), audit as (
       ${INSERT_AUDIT} select $9, $2, $8, $10, $11, $12, $13, $14, op.id, $15,
         jsonb_set(jsonb_set($16::jsonb, '{0,userPrincipalName}', to_jsonb(u.user_principal_name)), '{0,displayName}', coalesce(to_jsonb(u.display_name), 'null')),
         $17, $18, $19
       from op, u
     )
     select exists (select from u) as user_found, op.* from (values (1)) as one left join op on true`,
    values,
  });
  const { user_found: userFound, ...row } = rows[0]!;
  if (!userFound) return { outcome: 'noUser' };
  if (row.id === null) return { outcome: 'containerClaimed' };
  return { outcome: 'inserted', operation: { ...row, storage_location: op.storageLocation } };
}

/** The tenant's operation that claims this container (see the unique index), if any, with its full storageLocation. */
export async function findContainerClaim(q: Queryable, tenantId: string, container: string): Promise<OperationRow | undefined> {
  const { rows } = await q.query<OperationRow>(
    `select * from data_policy_operations
     where tenant_id = $1 and storage_container = $2 and status in ('notStarted', 'running')`,
    [tenantId, container],
  );
  return rows[0] && openStorageLocation(rows[0]);
}

/** Wakes idle workers (LISTEN dsr_operations). */
export async function notifyOperationsQueued(q: Queryable): Promise<void> {
  await q.query('select pg_notify($1, $2)', [OPERATIONS_CHANNEL, '']);
}

export async function findOperation(q: Queryable, tenantId: string, id: string): Promise<OperationRow | undefined> {
  // Named (prepared once per connection): status polling is the hottest read of the API.
  const { rows } = await q.query<OperationRow>({
    name: 'find-operation', text: 'select * from data_policy_operations where tenant_id = $1 and id = $2', values: [tenantId, id],
  });
  return rows[0];
}

/**
 * One page, newest first; `after` is the (submitted_at, id) of the previous page's last row.
 * `submitted_cursor` is submitted_at to the microsecond (a JS Date keeps only milliseconds, and
 * a cursor truncated to them would skip rows submitted within the same millisecond).
 */
export async function listOperations(
  q: Queryable,
  tenantId: string,
  opts: { limit: number; after?: { submittedAt: string; id: string }; status?: OperationStatus; userId?: string },
): Promise<(OperationRow & { submitted_cursor: string })[]> {
  const { rows } = await q.query<OperationRow & { submitted_cursor: string }>(
    `select *, to_char(submitted_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as submitted_cursor
     from data_policy_operations
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
