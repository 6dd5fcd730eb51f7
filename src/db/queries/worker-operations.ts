import type { OperationRow, OperationStatus } from '../../domain/operation.ts';
import type { DirectoryAudit } from '../../domain/directory-audit.ts';
import { directoryAuditValues } from './directory-audits.ts';
import { INSERT_AUDIT, openStorageLocation } from './operations.ts';
import type { Queryable } from '../pool.ts';

// Lease times use the database clock (now()), not the worker's: workers on several machines
// compare expiries against one clock, so a skewed host cannot steal or keep a lease.

/** A row (as `o`) a worker may take now: waiting, or running under a lease that has run out, and due. */
const CLAIMABLE = `o.status in ('notStarted', 'running')
  and (o.status = 'notStarted' or o.lease_expires_at is null or o.lease_expires_at <= now())
  and o.next_attempt_at <= now()`;

/**
 * Claims up to `limit` operations for `owner` in one statement (docs/architecture.md#operation-lifecycle): rows `notStarted`,
 * or `running` whose lease has expired, and whose next attempt is due. Each gets a fresh
 * lease_token; every later write must match it. A takeover from an owner that never released
 * its lease (a crashed worker) counts as an attempt, so an export that kills workers ends.
 * The rows carry the full storageLocation, opened from its sealed copy.
 *
 * Fair by tenant, not first-in first-out: a tenant's n-th waiting operation (oldest first) waits
 * behind every other tenant's earlier ones, and exports a tenant already has running count as its
 * first turns. One tenant's backlog of thousands then delays another tenant's single export by at
 * most one claim round, instead of starving it.
 *
 * The backlog is never ranked whole. The oldest few dozen waiting rows are ranked first; when
 * they hold enough first turns (many tenants waiting) the claim is among them. Otherwise (a few
 * tenants with long queues) a loose scan of the index of unfinished rows
 * (data_policy_operations_waiting) visits each tenant that has some and takes only that tenant's
 * first $2 in claim order (only those can be among the $2 taken). Either way the cost does not
 * grow with the length of a tenant's queue.
 */
export async function claimOperations(q: Queryable, owner: string, limit: number, leaseSeconds: number): Promise<OperationRow[]> {
  const { rows } = await q.query<OperationRow>({
    // Named: parsed and planned once per connection, not on every claim.
    name: 'claim-operations',
    text: `with recursive busy as (
       select tenant_id, count(*) as running from data_policy_operations
       where status = 'running' and lease_expires_at > now()
       group by tenant_id
     ), oldest as (
       -- The oldest waiting rows of all tenants: a prefix of the queue in claim order, so each
       -- one's turn counted within it is its true turn.
       select o.id, o.tenant_id, o.next_attempt_at, o.submitted_at from data_policy_operations o
       where ${CLAIMABLE}
       order by o.next_attempt_at, o.submitted_at, o.id
       limit 32 * $2
     ), oldest_ranked as (
       select w.id, w.next_attempt_at, w.submitted_at,
              row_number() over (partition by w.tenant_id order by w.next_attempt_at, w.submitted_at, w.id) + coalesce(b.running, 0) as turn
       from oldest w left join busy b on b.tenant_id = w.tenant_id
     ), enough as (
       -- Twice $2 first turns among the oldest rows: no row after them can rank before the $2
       -- best of them (a first turn at best, and later), even with some of them locked.
       select count(*) >= 2 * $2 as yes from oldest_ranked where turn = 1
     ), tenants as (
       (select tenant_id from data_policy_operations
        where status in ('notStarted', 'running') and not (select yes from enough)
        order by tenant_id limit 1)
       union all
       select (select o.tenant_id from data_policy_operations o
               where o.status in ('notStarted', 'running') and o.tenant_id > t.tenant_id
               order by o.tenant_id limit 1)
       from tenants t
       where t.tenant_id is not null
     ), waiting as (
       select * from oldest_ranked where (select yes from enough)
       union all
       select w.id, w.next_attempt_at, w.submitted_at, w.turn + coalesce(b.running, 0)
       from tenants t
       left join busy b on b.tenant_id = t.tenant_id
       cross join lateral (
         select id, next_attempt_at, submitted_at, row_number() over (order by next_attempt_at, submitted_at, id) as turn
         from data_policy_operations o
         where o.tenant_id = t.tenant_id
           and ${CLAIMABLE}
         order by next_attempt_at, submitted_at, id
         limit $2
       ) w
       where t.tenant_id is not null
     ), candidates as (
       -- Ranked before the join: the rows are locked (and re-checked) in this order only until
       -- $2 are taken, not all of them.
       select o.id from (select * from waiting order by turn, next_attempt_at, submitted_at) w
       join data_policy_operations o on o.id = w.id
       -- Checked again: a row locked and changed since the snapshot above is skipped or re-read;
       -- skipped locked rows wait for the next claim.
       where ${CLAIMABLE}
       order by w.turn, w.next_attempt_at, w.submitted_at
       limit $2
       for update of o skip locked
     )
     update data_policy_operations o
     set status = 'running', lease_owner = $1, lease_token = gen_random_uuid(),
         lease_expires_at = now() + make_interval(secs => $3),
         attempts = o.attempts + case when o.status = 'running' and o.lease_owner is not null then 1 else 0 end
     from candidates c
     where o.id = c.id
     returning o.*`,
    values: [owner, limit, leaseSeconds],
  });
  return rows.map(openStorageLocation);
}

/** Heartbeat: pushes the lease out again. False when the lease is no longer ours (taken, or handed back: a heartbeat in flight during a release must not extend it). */
export async function renewLease(q: Queryable, id: string, token: string, leaseSeconds: number): Promise<boolean> {
  const { rowCount } = await q.query(
    `update data_policy_operations set lease_expires_at = now() + make_interval(secs => $3)
     where id = $1 and lease_token = $2 and status = 'running' and lease_owner is not null`,
    [id, token, leaseSeconds],
  );
  return rowCount === 1;
}

/**
 * Graceful shutdown: the lease ends now so another worker takes over at once. An operation that
 * has not fixed its plan nor touched storage goes back to notStarted.
 */
export async function releaseLease(q: Queryable, id: string, token: string): Promise<boolean> {
  const { rowCount } = await q.query(
    `update data_policy_operations
     set lease_expires_at = now(), lease_owner = null,
         status = case when bytes_planned is null and not request_info_written then 'notStarted' else status end
     where id = $1 and lease_token = $2 and status = 'running'`,
    [id, token],
  );
  return rowCount === 1;
}

/** Fenced: locks the row inside a transaction and proves the lease is still ours. */
export async function lockLeasedOperation(q: Queryable, id: string, token: string): Promise<OperationRow | undefined> {
  const { rows } = await q.query<OperationRow>(`select * from data_policy_operations where id = $1 and lease_token = $2 and status = 'running' for update`, [
    id,
    token,
  ]);
  return rows[0];
}

/**
 * Fixes the plan: sets bytes_planned once, fenced by the lease. False when the lease is not ours
 * or the plan was fixed before (the caller tells which apart only in that rare case).
 */
export async function fixBytesPlanned(q: Queryable, id: string, token: string, bytesPlanned: number): Promise<boolean> {
  const { rowCount } = await q.query(
    `update data_policy_operations set bytes_planned = $3
     where id = $1 and lease_token = $2 and status = 'running' and bytes_planned is null`,
    [id, token, bytesPlanned],
  );
  return rowCount === 1;
}

/** Progress never goes backwards, even when a resumed export recounts a half-written file. */
export async function updateProgress(q: Queryable, id: string, token: string, bytesWritten: number, progress: number): Promise<boolean> {
  const { rowCount } = await q.query(
    `update data_policy_operations
     set bytes_written = greatest(bytes_written, $3), progress = greatest(progress, least($4, 99.9))
     where id = $1 and lease_token = $2 and status = 'running'`,
    [id, token, bytesWritten, progress],
  );
  return rowCount === 1;
}

/** From now on the container counts as used, whatever happens to this operation. */
export async function markRequestInfoWritten(q: Queryable, id: string, token: string): Promise<boolean> {
  const { rowCount } = await q.query(
    `update data_policy_operations set request_info_written = true where id = $1 and lease_token = $2 and status = 'running'`,
    [id, token],
  );
  return rowCount === 1;
}

/** How an export ends: complete with the bytes it wrote, or failed with a Graph error code. */
export type OperationEnding = { status: 'complete'; bytesWritten: number } | { status: 'failed'; code: string; message: string };

/**
 * The end of an export in one statement (one round trip and one commit for what a small export
 * otherwise spends five on), fenced by the lease: the row complete or failed; its pins and its
 * plan's inline bodies dropped; for a complete one, the files not checkpointed yet marked done
 * (manifest.json, written last, is checkpointed by this very statement); and its audit record.
 * Undefined, and nothing written, when the lease is no longer ours.
 *
 * `storageLocation`: the SAS URL with its signature redacted. Once the export has ended nothing
 * needs the signature: its sealed copy goes too, so even a leaked key opens nothing old.
 */
export async function endOperation(
  q: Queryable,
  id: string,
  token: string,
  ending: OperationEnding,
  storageLocation: string,
  audit: DirectoryAudit,
): Promise<OperationRow | undefined> {
  const complete = ending.status === 'complete';
  const { rows } = await q.query<OperationRow>({
    // Named: parsed and planned once per connection.
    name: 'end-operation',
    text: `with ended as (
       update data_policy_operations
       set status = $3, completed_at = now(), storage_location = $4, storage_location_sealed = null,
           lease_owner = null, lease_expires_at = null, error_code = $5, error_message = $6,
           progress = case when $3 = 'complete' then 100 else progress end, bytes_written = coalesce($7::bigint, bytes_written)
       where id = $1 and lease_token = $2 and status = 'running'
       returning *
     ), unpinned as (
       delete from content_pins where operation_id = $1 and exists (select 1 from ended)
     ), files as (
       update export_files
       set body = null, done = done or $3 = 'complete', done_at = case when not done and $3 = 'complete' then now() else done_at end
       where operation_id = $1 and (body is not null or ($3 = 'complete' and not done)) and exists (select 1 from ended)
     ), audit as (
       ${INSERT_AUDIT} select $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21 from ended
     )
     select * from ended`,
    values: [
      id,
      token,
      ending.status,
      storageLocation,
      complete ? null : ending.code,
      complete ? null : ending.message,
      complete ? ending.bytesWritten : null,
      ...directoryAuditValues(audit),
    ],
  });
  return rows[0];
}

/**
 * A transient failure: counts the attempt, releases the lease and makes the row claimable again
 * after `delayMs`. The status stays `running` (the export is under way, only paused).
 */
export async function scheduleRetry(q: Queryable, id: string, token: string, delayMs: number, message: string): Promise<boolean> {
  const { rowCount } = await q.query(
    `update data_policy_operations
     set attempts = attempts + 1, next_attempt_at = now() + make_interval(secs => $3::double precision / 1000),
         lease_owner = null, lease_expires_at = now(), error_message = $4
     where id = $1 and lease_token = $2 and status = 'running'`,
    [id, token, delayMs, message],
  );
  return rowCount === 1;
}

/** For /metrics: how many operations are in each status. */
export async function countOperationsByStatus(q: Queryable): Promise<Partial<Record<OperationStatus, number>>> {
  const { rows } = await q.query<{ status: OperationStatus; n: number }>('select status, count(*)::int as n from data_policy_operations group by status');
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}

/** For /metrics: operations waiting for a worker now, and how long the oldest has waited. */
export async function queueStats(q: Queryable): Promise<{ depth: number; oldestWaitSeconds: number }> {
  const { rows } = await q.query<{ depth: number; oldest: number | null }>(
    `select count(*)::int as depth, extract(epoch from now() - min(submitted_at))::float8 as oldest
     from data_policy_operations
     where next_attempt_at <= now()
       and (status = 'notStarted' or (status = 'running' and (lease_expires_at is null or lease_expires_at <= now())))`,
  );
  return { depth: rows[0]?.depth ?? 0, oldestWaitSeconds: rows[0]?.oldest ?? 0 };
}
