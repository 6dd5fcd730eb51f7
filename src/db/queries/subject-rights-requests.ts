import type { IdentitySet, NoteRow, RequestRow, RequestStatus, RequestView, Stage, StageStatus } from '../../cases/subject-rights-request.ts';
import type { NewRequestInput } from '../../cases/request-input.ts';
import type { Queryable } from '../pool.ts';

// A case with its export's state, its package counts and the history people wrote.
const VIEW = `
  select r.*, o.status as op_status, o.error_code as op_error_code, o.error_message as op_error_message,
    o.completed_at as op_completed_at,
    to_char(r.internal_due_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as due_cursor,
    to_char(r.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as created_cursor,
    coalesce(f.item_count, 0)::bigint as item_count, coalesce(f.total_size, 0)::bigint as total_size,
    (select count(*) from subject_rights_request_exclusions e where e.tenant_id = r.tenant_id and e.request_id = r.id)::bigint as excluded_count,
    (select coalesce(jsonb_agg(jsonb_build_object('event_at', h.event_at, 'type', h.type, 'stage', h.stage,
        'stage_status', h.stage_status, 'changed_by', h.changed_by) order by h.seq), '[]'::jsonb)
       from subject_rights_request_history h where h.tenant_id = r.tenant_id and h.request_id = r.id) as stored_history
  from subject_rights_requests r
  left join data_policy_operations o on o.id = r.operation_id
  left join lateral (
    select count(*) as item_count, sum(x.size) as total_size from export_files x where x.operation_id = r.operation_id
  ) f on true`;

export type RequestListRow = RequestView & { due_cursor: string; created_cursor: string };

export interface NewRequestRow extends NewRequestInput {
  tenantId: string;
  id: string;
  createdBy: IdentitySet;
  now: Date;
  subjectUserId: string | null;
  operationId: string | null;
  storageContainer: string | null;
  retrievalError: { code: string; message: string } | null;
}

export async function insertRequest(q: Queryable, r: NewRequestRow): Promise<void> {
  await q.query(
    `insert into subject_rights_requests (tenant_id, id, display_name, description, type, data_subject_type, data_subject,
       regulations, status, internal_due_at, created_by, created_at, last_modified_by, last_modified_at, external_id,
       include_all_versions, include_authored_content, pause_after_estimate, content_query, subject_user_id, operation_id,
       storage_container, retrieval_error_code, retrieval_error_message)
     values ($1, $2, $3, $4, $5, $6, $7, $8, 'active', $9, $10, $11, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)`,
    [
      r.tenantId,
      r.id,
      r.displayName,
      r.description,
      r.type,
      r.dataSubjectType,
      r.dataSubject,
      r.regulations,
      r.internalDueAt,
      r.createdBy,
      r.now,
      r.externalId,
      r.includeAllVersions,
      r.includeAuthoredContent,
      r.pauseAfterEstimate,
      r.contentQuery,
      r.subjectUserId,
      r.operationId,
      r.storageContainer,
      r.retrievalError?.code ?? null,
      r.retrievalError?.message ?? null,
    ],
  );
}

export async function insertHistory(
  q: Queryable,
  tenantId: string,
  requestId: string,
  e: { at: Date; type: string; stage: Stage; stageStatus: StageStatus; changedBy: IdentitySet },
): Promise<void> {
  await q.query(
    `insert into subject_rights_request_history (tenant_id, request_id, event_at, type, stage, stage_status, changed_by)
     values ($1, $2, $3, $4, $5, $6, $7)`,
    [tenantId, requestId, e.at, e.type, e.stage, e.stageStatus, e.changedBy],
  );
}

export async function findRequestView(q: Queryable, tenantId: string, id: string): Promise<RequestView | undefined> {
  const { rows } = await q.query<RequestView>(`${VIEW} where r.tenant_id = $1 and r.id = $2`, [tenantId, id]);
  return rows[0];
}

/** The row alone, locked until the transaction ends: changes to one case are serialised. */
export async function lockRequest(q: Queryable, tenantId: string, id: string): Promise<RequestRow | undefined> {
  const { rows } = await q.query<RequestRow>('select * from subject_rights_requests where tenant_id = $1 and id = $2 for update', [tenantId, id]);
  return rows[0];
}

export interface RequestListFilter {
  status?: RequestStatus;
  type?: string;
  /** internalDueDateTime compared with a SQL operator (lt, le, gt, ge, eq are mapped by the caller). */
  due?: { op: '<' | '<=' | '>' | '>=' | '='; at: Date }[];
  /** Case-insensitive text in the name or the data subject's mail, first or last name. */
  text?: string;
}

/** The list's orders; each ends in the id, so a keyset cursor is exact. */
export type RequestListOrder = 'due' | 'created' | 'status';

const ORDER_KEYS: Record<RequestListOrder, { sql: string; type: string }[]> = {
  due: [
    { sql: 'r.internal_due_at', type: 'timestamptz' },
    { sql: 'r.id', type: 'uuid' },
  ],
  created: [
    { sql: 'r.created_at', type: 'timestamptz' },
    { sql: 'r.id', type: 'uuid' },
  ],
  status: [
    { sql: 'r.status', type: 'text' },
    { sql: 'r.internal_due_at', type: 'timestamptz' },
    { sql: 'r.id', type: 'uuid' },
  ],
};

/**
 * One page in the given order; `after` is the previous page's last row's keys in that order
 * (e.g. [due, id], or [status, due, id]), as the caller read them from RequestListRow.
 */
export async function listRequestViews(
  q: Queryable,
  tenantId: string,
  opts: { limit: number; order?: RequestListOrder; descending?: boolean; after?: readonly string[] } & RequestListFilter,
): Promise<RequestListRow[]> {
  const keys = ORDER_KEYS[opts.order ?? 'due'];
  const direction = opts.descending ? 'desc' : 'asc';
  const values: unknown[] = [tenantId, opts.status ?? null, opts.type ?? null, opts.text ?? null, opts.limit];
  // Column names and operators come from fixed sets; only values are parameters.
  const due = (opts.due ?? [])
    .map((d) => {
      values.push(d.at);
      return ` and r.internal_due_at ${d.op} $${values.length}`;
    })
    .join('');
  let after = '';
  if (opts.after) {
    const params = keys.map((k, i) => {
      values.push(opts.after![i]);
      return `$${values.length}::${k.type}`;
    });
    after = ` and (${keys.map((k) => k.sql).join(', ')}) ${opts.descending ? '<' : '>'} (${params.join(', ')})`;
  }
  const { rows } = await q.query<RequestListRow>(
    `${VIEW}
     where r.tenant_id = $1
       and ($2::text is null or r.status = $2)
       and ($3::text is null or r.type = $3)
       and ($4::text is null or strpos(lower(concat_ws(chr(10), r.display_name, r.data_subject->>'email',
         r.data_subject->>'firstName', r.data_subject->>'lastName')), lower($4)) > 0)${due}${after}
     order by ${keys.map((k) => `${k.sql} ${direction}`).join(', ')}
     limit $5`,
    values,
  );
  return rows;
}

export async function updateRequest(
  q: Queryable,
  tenantId: string,
  id: string,
  c: { displayName?: string; description?: string | null; internalDueAt?: Date; closedAt?: Date; purgeAfter?: Date },
  by: IdentitySet,
  now: Date,
): Promise<void> {
  await q.query(
    `update subject_rights_requests set
       display_name = coalesce($3, display_name),
       description = case when $4 then $5 else description end,
       internal_due_at = coalesce($6, internal_due_at),
       status = case when $7::timestamptz is null then status else 'closed' end,
       closed_at = coalesce($7, closed_at),
       purge_after = coalesce($8, purge_after),
       last_modified_by = $9, last_modified_at = $10
     where tenant_id = $1 and id = $2`,
    [
      tenantId,
      id,
      c.displayName ?? null,
      c.description !== undefined,
      c.description ?? null,
      c.internalDueAt ?? null,
      c.closedAt ?? null,
      c.purgeAfter ?? null,
      by,
      now,
    ],
  );
}

export async function markReviewCompleted(q: Queryable, tenantId: string, id: string, by: IdentitySet, now: Date): Promise<void> {
  await q.query(
    `update subject_rights_requests set review_completed_at = $3, last_modified_by = $4, last_modified_at = $3
     where tenant_id = $1 and id = $2`,
    [tenantId, id, now, by],
  );
}

export async function insertNote(
  q: Queryable,
  tenantId: string,
  requestId: string,
  note: { id: string; author: IdentitySet; content: string; contentType: string; at: Date },
): Promise<NoteRow> {
  const { rows } = await q.query<NoteRow>(
    `insert into subject_rights_request_notes (tenant_id, request_id, id, author, content, content_type, created_at)
     values ($1, $2, $3, $4, $5, $6, $7) returning *`,
    [tenantId, requestId, note.id, note.author, note.content, note.contentType, note.at],
  );
  return rows[0]!;
}

/** Oldest first; `after` is the (created_at to the microsecond, id) of the previous page's last note. */
export async function listNotes(
  q: Queryable,
  tenantId: string,
  requestId: string,
  opts: { limit: number; after?: { at: string; id: string } },
): Promise<(NoteRow & { cursor: string })[]> {
  const { rows } = await q.query<NoteRow & { cursor: string }>(
    `select *, to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as cursor
     from subject_rights_request_notes
     where tenant_id = $1 and request_id = $2 and ($3::timestamptz is null or (created_at, id) > ($3::timestamptz, $4::uuid))
     order by created_at, id limit $5`,
    [tenantId, requestId, opts.after?.at ?? null, opts.after?.id ?? null, opts.limit],
  );
  return rows;
}

/** Directory users whose mail or UPN is this address, case-insensitively; two at most (one is the only good answer). */
export async function findSubjectCandidates(q: Queryable, tenantId: string, email: string): Promise<{ id: string; user_principal_name: string }[]> {
  const { rows } = await q.query<{ id: string; user_principal_name: string }>(
    `select id, user_principal_name from users
     where tenant_id = $1 and (lower(mail) = lower($2) or lower(user_principal_name) = lower($2))
     order by id limit 2`,
    [tenantId, email],
  );
  return rows;
}

export interface PackageFileRow {
  seq: number;
  path: string;
  size: number;
  sha256: string;
  reason: string | null;
  excluded_by: IdentitySet | null;
  excluded_at: Date | null;
}

/** One page of the case's package files in package order, each with its exclusion if any. */
export async function listPackageFiles(
  q: Queryable,
  tenantId: string,
  requestId: string,
  operationId: string,
  opts: { afterSeq: number; limit: number },
): Promise<PackageFileRow[]> {
  const { rows } = await q.query<PackageFileRow>(
    `select f.seq, f.path, f.size, f.sha256, e.reason, e.excluded_by, e.excluded_at
     from export_files f
     left join subject_rights_request_exclusions e on e.tenant_id = $1 and e.request_id = $2 and e.path = f.path
     where f.operation_id = $3 and f.seq > $4
     order by f.seq limit $5`,
    [tenantId, requestId, operationId, opts.afterSeq, opts.limit],
  );
  return rows;
}

export async function findPackageFile(
  q: Queryable,
  tenantId: string,
  requestId: string,
  operationId: string,
  seq: number,
): Promise<PackageFileRow | undefined> {
  const { rows } = await q.query<PackageFileRow>(
    `select f.seq, f.path, f.size, f.sha256, e.reason, e.excluded_by, e.excluded_at
     from export_files f
     left join subject_rights_request_exclusions e on e.tenant_id = $1 and e.request_id = $2 and e.path = f.path
     where f.operation_id = $3 and f.seq = $4`,
    [tenantId, requestId, operationId, seq],
  );
  return rows[0];
}

export async function upsertExclusion(
  q: Queryable,
  tenantId: string,
  requestId: string,
  e: { path: string; reason: string; by: IdentitySet; at: Date },
): Promise<void> {
  await q.query(
    `insert into subject_rights_request_exclusions (tenant_id, request_id, path, reason, excluded_by, excluded_at)
     values ($1, $2, $3, $4, $5, $6)
     on conflict (tenant_id, request_id, path) do update set reason = excluded.reason, excluded_by = excluded.excluded_by, excluded_at = excluded.excluded_at`,
    [tenantId, requestId, e.path, e.reason, e.by, e.at],
  );
}

export async function deleteExclusion(q: Queryable, tenantId: string, requestId: string, path: string): Promise<void> {
  await q.query('delete from subject_rights_request_exclusions where tenant_id = $1 and request_id = $2 and path = $3', [tenantId, requestId, path]);
}

/** Closed cases whose package is due for deletion. */
export async function listPurgeableRequests(q: Queryable, now: Date, limit: number): Promise<RequestRow[]> {
  const { rows } = await q.query<RequestRow>(
    `select * from subject_rights_requests
     where purged_at is null and purge_after is not null and purge_after <= $1
     order by purge_after limit $2`,
    [now, limit],
  );
  return rows;
}

export async function markPurged(q: Queryable, tenantId: string, id: string, now: Date): Promise<boolean> {
  const { rowCount } = await q.query('update subject_rights_requests set purged_at = $3 where tenant_id = $1 and id = $2 and purged_at is null', [
    tenantId,
    id,
    now,
  ]);
  return rowCount === 1;
}
