import type { ConflictBehavior, IdentitySet } from '../../domain/drive-item.ts';
import type { Queryable } from '../pool.ts';

export interface UploadSessionRow {
  token_sha256: string;
  id: string;
  tenant_id: string;
  owner_user_id: string;
  item_path: string[];
  conflict_behavior: ConflictBehavior;
  total_size: number | null;
  next_offset: number;
  staged_parts: string[];
  created_by: IdentitySet;
  app_id: string | null;
  created_at: Date;
  expires_at: Date;
  /** `v1.0` or `beta`: the completed item's @odata.context names the version the session was made under. */
  graph_version: string;
  /** deferCommit: the last fragment does not create the file; an explicit commit request does. */
  defer_commit: boolean;
}

export async function insertUploadSession(q: Queryable, s: Omit<UploadSessionRow, 'next_offset' | 'staged_parts'>): Promise<UploadSessionRow> {
  const { rows } = await q.query<UploadSessionRow>(
    `insert into upload_sessions (token_sha256, id, tenant_id, owner_user_id, item_path, conflict_behavior, total_size,
       created_by, app_id, created_at, expires_at, graph_version, defer_commit)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) returning *`,
    [
      s.token_sha256,
      s.id,
      s.tenant_id,
      s.owner_user_id,
      s.item_path,
      s.conflict_behavior,
      s.total_size,
      JSON.stringify(s.created_by),
      s.app_id,
      s.created_at,
      s.expires_at,
      s.graph_version,
      s.defer_commit,
    ],
  );
  return rows[0]!;
}

export async function findUploadSession(q: Queryable, tokenSha256: string): Promise<UploadSessionRow | undefined> {
  const { rows } = await q.query<UploadSessionRow>('select * from upload_sessions where token_sha256 = $1', [tokenSha256]);
  return rows[0];
}

/**
 * Records a staged fragment, only if the session still expects it at `offset` (another request
 * for the same range may have won, or the session may have been cancelled meanwhile). Each
 * accepted fragment extends the session to `expiresAt`, as OneDrive does.
 */
export async function advanceUploadSession(
  q: Queryable,
  id: string,
  u: { offset: number; nextOffset: number; total: number; parts: readonly string[]; expiresAt: Date },
): Promise<UploadSessionRow | undefined> {
  const { rows } = await q.query<UploadSessionRow>(
    `update upload_sessions
     set next_offset = $3, total_size = $4, staged_parts = staged_parts || $5::text[], expires_at = greatest(expires_at, $6)
     where id = $1 and next_offset = $2 and (total_size is null or total_size = $4)
     returning *`,
    [id, u.offset, u.nextOffset, u.total, u.parts, u.expiresAt],
  );
  return rows[0];
}

export async function deleteUploadSession(q: Queryable, id: string): Promise<boolean> {
  const { rowCount } = await q.query('delete from upload_sessions where id = $1', [id]);
  return rowCount === 1;
}

/** Removes expired sessions and those whose user is gone or deleted; returns their ids (their staging is to be discarded). */
export async function deleteStaleUploadSessions(q: Queryable, now: Date, limit: number): Promise<string[]> {
  const { rows } = await q.query<{ id: string }>(
    `delete from upload_sessions s
     where s.id in (
       select x.id from upload_sessions x
       where x.expires_at <= $1
          or not exists (select 1 from users u where u.tenant_id = x.tenant_id and u.id = x.owner_user_id and u.deleted_at is null)
       limit $2
       for update skip locked
     )
     returning s.id`,
    [now, limit],
  );
  return rows.map((r) => r.id);
}

/** Of these staging keys, the ones that belong to an upload session row. */
export async function uploadSessionsThatExist(q: Queryable, ids: readonly string[]): Promise<Set<string>> {
  const { rows } = await q.query<{ id: string }>('select id::text from upload_sessions where id = any($1::uuid[])', [ids]);
  return new Set(rows.map((r) => r.id));
}
