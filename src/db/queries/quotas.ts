import type { Queryable } from '../pool.ts';

export interface QuotaIncrement {
  tenantId: string;
  bucket: string;
  windowStart: Date;
  count: number;
}

/** Adds counts to quota windows in one statement; returns the totals in the order given. */
export async function addToQuotaCounters(q: Queryable, increments: QuotaIncrement[]): Promise<number[]> {
  const { rows } = await q.query<{ ord: number; count: number }>(
    `with input as (
       select * from unnest($1::uuid[], $2::text[], $3::timestamptz[], $4::int[]) with ordinality as i(tenant_id, bucket, window_start, count, ord)
     ), upserted as (
       insert into quota_counters (tenant_id, bucket, window_start, count)
       select tenant_id, bucket, window_start, count from input
       on conflict (tenant_id, bucket, window_start) do update set count = quota_counters.count + excluded.count
       returning tenant_id, bucket, window_start, count
     )
     select input.ord::int as ord, upserted.count from input
     join upserted using (tenant_id, bucket, window_start) order by input.ord`,
    [increments.map((i) => i.tenantId), increments.map((i) => i.bucket), increments.map((i) => i.windowStart), increments.map((i) => i.count)],
  );
  return rows.map((r) => r.count);
}

/** The shared count of one quota window (0 when nothing was counted yet). */
export async function readQuotaCounter(q: Queryable, tenantId: string, bucket: string, windowStart: Date): Promise<number> {
  const { rows } = await q.query<{ count: number }>('select count from quota_counters where tenant_id = $1 and bucket = $2 and window_start = $3', [
    tenantId,
    bucket,
    windowStart,
  ]);
  return rows[0]?.count ?? 0;
}

/** Drops windows that ended before `before`; they can never be counted again. */
export async function deleteExpiredQuotaCounters(q: Queryable, before: Date): Promise<number> {
  const { rowCount } = await q.query('delete from quota_counters where window_start < $1', [before]);
  return rowCount ?? 0;
}

/** The live upload sessions of one user: how many, the bytes they declare, and when the first expires. */
export async function uploadSessionUsage(
  q: Queryable,
  tenantId: string,
  ownerUserId: string,
  now: Date,
): Promise<{ sessions: number; declaredBytes: number; firstExpiry: Date | null }> {
  const { rows } = await q.query<{ sessions: number; declared_bytes: number; first_expiry: Date | null }>(
    `select count(*)::int as sessions, coalesce(sum(total_size), 0)::float8 as declared_bytes, min(expires_at) as first_expiry
     from upload_sessions where tenant_id = $1 and owner_user_id = $2 and expires_at > $3`,
    [tenantId, ownerUserId, now],
  );
  const row = rows[0]!;
  return { sessions: row.sessions, declaredBytes: row.declared_bytes, firstExpiry: row.first_expiry };
}

/**
 * Bytes a tenant stores: its files, plus what its live upload sessions (other than `exceptSession`)
 * have declared, so that parallel uploads cannot each fit and together overflow.
 */
export async function tenantStorageUsage(q: Queryable, tenantId: string, now: Date, exceptSession: string | null): Promise<number> {
  const { rows } = await q.query<{ bytes: number }>(
    `select (select coalesce(sum(size), 0) from drive_items where tenant_id = $1 and not is_folder)::float8
          + (select coalesce(sum(total_size), 0) from upload_sessions
             where tenant_id = $1 and expires_at > $2 and id is distinct from $3::uuid)::float8 as bytes`,
    [tenantId, now, exceptSession],
  );
  return rows[0]!.bytes;
}
