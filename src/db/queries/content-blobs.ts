import type { Queryable } from '../pool.ts';

/**
 * Records stored content, or refreshes created_at when the hash is known: the garbage collector
 * leaves blobs alone for a grace period after this, long enough for the drive change that
 * references them to commit.
 */
export async function touchContentBlob(q: Queryable, blob: { sha256: string; size: number; quickXorHash: string | null }, now: Date): Promise<void> {
  await q.query(
    `insert into content_blobs (sha256, size, created_at, quick_xor_hash) values ($1, $2, $3, $4)
     on conflict (sha256) do update set created_at = greatest(content_blobs.created_at, excluded.created_at),
       quick_xor_hash = coalesce(content_blobs.quick_xor_hash, excluded.quick_xor_hash)`,
    [blob.sha256, blob.size, now, blob.quickXorHash],
  );
}

/**
 * Deletes up to `limit` blobs that no drive item references, no export pins and that are older
 * than `olderThan`; returns their hashes. The rows stay locked until the caller's transaction
 * ends, so the caller deletes the bytes first and commits after.
 */
export async function deleteUnreferencedContentBlobs(q: Queryable, olderThan: Date, limit: number): Promise<string[]> {
  const { rows } = await q.query<{ sha256: string }>(
    `delete from content_blobs b
     where b.sha256 in (
       select c.sha256 from content_blobs c
       where c.created_at < $1
         and not exists (select 1 from drive_items d where d.content_sha256 = c.sha256)
         and not exists (select 1 from content_pins p where p.sha256 = c.sha256)
       order by c.created_at
       limit $2
       for update skip locked
     )
     and b.created_at < $1
     returning b.sha256`,
    [olderThan, limit],
  );
  return rows.map((r) => r.sha256);
}

export async function pinContent(q: Queryable, operationId: string, sha256s: readonly string[]): Promise<void> {
  await q.query('insert into content_pins (sha256, operation_id) select unnest($1::text[]), $2 on conflict do nothing', [sha256s, operationId]);
}

export async function unpinContent(q: Queryable, operationId: string): Promise<void> {
  await q.query('delete from content_pins where operation_id = $1', [operationId]);
}

/** Of these hashes, the ones with neither a content_blobs row nor an export pin. */
export async function unrecordedContent(q: Queryable, sha256s: readonly string[]): Promise<string[]> {
  const { rows } = await q.query<{ sha256: string }>(
    `select s.sha256 from unnest($1::text[]) as s(sha256)
     where not exists (select 1 from content_blobs b where b.sha256 = s.sha256)
       and not exists (select 1 from content_pins p where p.sha256 = s.sha256)`,
    [sha256s],
  );
  return rows.map((r) => r.sha256);
}

/**
 * Inside the caller's transaction, holds the row of a hash that has none: inserted here and
 * deleted again before commit, it makes an upload recording the same hash meanwhile wait, and
 * then find the bytes gone (see recordStoredContent). False when a row appeared meanwhile.
 */
export async function lockUnrecordedContent(q: Queryable, sha256: string): Promise<boolean> {
  const { rowCount } = await q.query(`insert into content_blobs (sha256, size, created_at) values ($1, 0, '-infinity') on conflict (sha256) do nothing`, [
    sha256,
  ]);
  return rowCount === 1;
}

/** Drops the placeholder row of lockUnrecordedContent. */
export async function deleteContentBlobRow(q: Queryable, sha256: string): Promise<void> {
  await q.query(`delete from content_blobs where sha256 = $1 and created_at = '-infinity'`, [sha256]);
}
