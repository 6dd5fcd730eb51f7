import type { Queryable } from '../pool.ts';

/** Counts one request in a quota window and returns the count including it. */
export async function incrementQuotaCounter(q: Queryable, tenantId: string, bucket: string, windowStart: Date): Promise<number> {
  const { rows } = await q.query<{ count: number }>(
    `insert into quota_counters (tenant_id, bucket, window_start, count) values ($1, $2, $3, 1)
     on conflict (tenant_id, bucket, window_start) do update set count = quota_counters.count + 1
     returning count`,
    [tenantId, bucket, windowStart],
  );
  return rows[0]!.count;
}

/** Drops windows that ended before `before`; they can never be counted again. */
export async function deleteExpiredQuotaCounters(q: Queryable, before: Date): Promise<number> {
  const { rowCount } = await q.query('delete from quota_counters where window_start < $1', [before]);
  return rowCount ?? 0;
}
