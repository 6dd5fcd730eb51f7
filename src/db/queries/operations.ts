import { auditRecord } from '../../domain/directory-audit.ts';
import type { OperationRow, OperationStatus, OperationView, Requester } from '../../domain/operation.ts';
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
    tenantId: op.tenantId,
    now: op.submittedAt,
    activity: 'Export personal data requested',
    operationType: 'Other',
    requester: op.requestedBy,
    ipAddress: context.ipAddress,
    target: { id: op.userId, userPrincipalName: op.userPrincipalName, displayName: context.userDisplayName ?? null },
    correlationId: op.id,
    details: { operationId: op.id },
  });
}

/** $1–$20 of both insert statements below: the operation's columns, then its audit's. */
function operationValues(op: NewOperation, audit: ReturnType<typeof auditRecord>): unknown[] {
  return [
    op.id,
    op.tenantId,
    op.userId,
    op.userPrincipalName,
    redactSasSignatures(op.storageLocation),
    op.storageContainer,
    op.requestedBy,
    op.submittedAt,
    audit.id,
    audit.category,
    audit.activityDisplayName,
    audit.operationType,
    audit.result,
    audit.resultReason,
    audit.initiatedBy,
    JSON.stringify(audit.targetResources),
    audit.initiatorUserId,
    audit.targetUserId,
    JSON.stringify(audit.additionalDetails),
    secretKeys().seal(op.storageLocation, op.id),
  ];
}

const INSERT_OPERATION = `insert into data_policy_operations
  (id, tenant_id, user_id, user_principal_name, storage_location, storage_location_sealed, storage_container, status, requested_by, submitted_at, next_attempt_at)`;
const CLAIM_CONFLICT = `on conflict (tenant_id, storage_container) where status in ('notStarted', 'running') do nothing returning *`;
export const INSERT_AUDIT = `insert into directory_audits
  (id, tenant_id, activity_at, category, activity_display_name, operation_type, result, result_reason,
   correlation_id, initiated_by, target_resources, initiator_user_id, target_user_id, additional_details)`;

/**
 * Inserts the operation and its "export requested" audit in one statement (one round trip, one
 * commit: the POST's cost is mostly round trips). Returns undefined, and writes nothing, when
 * another operation of the same tenant already claims the container (unique index in 008).
 * The row returned carries the full storageLocation, as claimOperations gives it to the worker.
 */
export async function insertOperationWithAudit(
  q: Queryable,
  op: NewOperation,
  context: { ipAddress: string | null; userDisplayName?: string | null },
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

export type ExportRequestInsert = { outcome: 'inserted'; operation: OperationRow } | { outcome: 'noUser' } | { outcome: 'containerClaimed' };

/** One export POST's row: the operation with its user given by id, not yet looked up. */
export type NewExportRequest = Omit<NewOperation, 'userPrincipalName'> & { ipAddress: string | null; deletedSince: Date };

/**
 * The export POSTs' statement, for one request or a group of them: looks each user up by id
 * (soft-deleted ones until `deletedSince` count, the package carries deletedDateTime) and inserts
 * each operation and its audit with the user's UPN and display name, in one round trip and one
 * commit. Nothing is written for an unknown user or a container another operation of the
 * tenant claims (also one claimed by an earlier request of the same group). Outcomes in the
 * order given.
 */
export async function insertExportRequests(q: Queryable, requests: readonly NewExportRequest[]): Promise<ExportRequestInsert[]> {
  const values: unknown[][] = Array.from({ length: 20 }, () => []);
  for (const r of requests) {
    const op = { ...r, userPrincipalName: '' };
    const row = operationValues(op, exportRequestedAudit(op, { ipAddress: r.ipAddress }));
    // The UPN comes from the users row: its place carries the deletion cut-off instead.
    row[3] = r.deletedSince;
    row.forEach((v, i) => values[i]!.push(v !== null && typeof v === 'object' && !(v instanceof Date) ? JSON.stringify(v) : v));
  }
  const { rows } = await q.query<OperationRow & { user_found: boolean }>({
    name: 'insert-export-requests',
    text: `with req as (
       select * from unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::timestamptz[], $5::text[], $6::text[], $7::jsonb[], $8::timestamptz[],
         $9::uuid[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::jsonb[], $16::jsonb[], $17::uuid[], $18::uuid[],
         $19::jsonb[], $20::text[])
       with ordinality as r (id, tenant_id, user_id, deleted_since, storage_location, storage_container, requested_by, submitted_at,
         audit_id, category, activity, operation_type, result, result_reason, initiated_by, target_resources, initiator_user_id,
         target_user_id, additional_details, sealed, ord)
     ), u as (
       select r.ord, users.user_principal_name, users.display_name from req r
       join users on users.tenant_id = r.tenant_id and users.id = r.user_id and (users.deleted_at is null or users.deleted_at > r.deleted_since)
     ), op as (
       ${INSERT_OPERATION}
       select r.id, r.tenant_id, r.user_id, u.user_principal_name, r.storage_location, r.sealed, r.storage_container, 'notStarted',
         r.requested_by, r.submitted_at, r.submitted_at
       from req r join u using (ord) order by r.ord
       ${CLAIM_CONFLICT}
     ), audit as (
       ${INSERT_AUDIT}
       select r.audit_id, r.tenant_id, r.submitted_at, r.category, r.activity, r.operation_type, r.result, r.result_reason, op.id, r.initiated_by,
         jsonb_set(jsonb_set(r.target_resources, '{0,userPrincipalName}', to_jsonb(u.user_principal_name)), '{0,displayName}', coalesce(to_jsonb(u.display_name), 'null')),
         r.initiator_user_id, r.target_user_id, r.additional_details
       from op join req r on r.id = op.id join u on u.ord = r.ord
     )
     select u.ord is not null as user_found, op.* from req r left join u on u.ord = r.ord left join op on op.id = r.id order by r.ord`,
    values,
  });
  return rows.map(({ user_found: userFound, ...row }, i): ExportRequestInsert => {
    if (!userFound) return { outcome: 'noUser' };
    if (row.id === null) return { outcome: 'containerClaimed' };
    return { outcome: 'inserted', operation: { ...row, storage_location: requests[i]!.storageLocation } };
  });
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
    name: 'find-operation',
    text: 'select * from data_policy_operations where tenant_id = $1 and id = $2',
    values: [tenantId, id],
  });
  return rows[0];
}

/**
 * The operation as GET dataPolicyOperations/{id} shows it: only the columns of its JSON. Not the
 * sealed SAS, the requester's JSON or the lease: a third of the row's columns, each of which pg
 * would describe, parse (JSON, dates) and copy on the API's most frequent request.
 */
export async function findOperationView(q: Queryable, tenantId: string, id: string): Promise<OperationView | undefined> {
  const { rows } = await q.query<OperationView>({
    name: 'find-operation-view',
    text: `select id, status, progress, user_id, storage_location, submitted_at, completed_at, error_code, error_message
           from data_policy_operations where tenant_id = $1 and id = $2`,
    values: [tenantId, id],
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
