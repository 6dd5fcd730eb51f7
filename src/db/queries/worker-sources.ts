import type { SignInRow } from '../../domain/sign-in.ts';
import type { DirectoryAuditRow } from '../../domain/directory-audit.ts';
import type { DriveItemRow } from '../../domain/drive-item.ts';
import type { OperationRow } from '../../domain/operation.ts';
import type { UserRow } from '../../domain/user.ts';
import type { DriveActivityRow } from './drive-activities.ts';
import type { Queryable } from '../pool.ts';

// What an export reads about its subject. Every function runs inside the export's one
// REPEATABLE READ transaction (the snapshot), so all sections see the same instant. Lists of
// unbounded size are read through a server-side cursor, `batch` rows at a time: memory stays
// flat whether the subject has ten sign-ins or a million.

/** A drive item as the export reads it: with the byte count the package will hold for it. */
export type ExportDriveItemRow = DriveItemRow & {
  /** content_blobs.size: the number of bytes the package will hold for this file. */
  content_size: number | null;
  /** content_blobs.quick_xor_hash: OneDrive's hash of the file (null for folders and older content). */
  quick_xor_hash?: string | null;
};

/** Just what places an item in the package (placeDriveItems). */
export interface DriveNodeRow {
  id: string;
  parent_id: string | null;
  name: string;
  is_folder: boolean;
}

export type { DriveActivityRow };

let cursorSeq = 0;

/**
 * Rows of one statement (which must have a total ORDER BY), in order, `batch` at a time. The first
 * batch is one plain query: most subjects have a few hundred rows per section, and that is one
 * round trip. Beyond it, a server-side cursor (DECLARE … NO SCROLL, MOVE past the first batch,
 * FETCH n) reads the rest in the same snapshot. The caller must be inside a transaction on one
 * client (REPEATABLE READ: the query and the cursor see the same rows in the same order).
 */
export async function* cursorRows<T>(q: Queryable, sql: string, params: readonly unknown[], batch = 2000): AsyncGenerator<T> {
  const first = await q.query<T & object>(`${sql} limit ${batch}`, [...params]);
  for (const row of first.rows) yield row;
  if (first.rows.length < batch) return;
  const name = `export_cursor_${++cursorSeq}`;
  await q.query(`declare ${name} no scroll cursor for ${sql}`, [...params]);
  let exhausted = false;
  try {
    await q.query(`move forward ${batch} in ${name}`);
    for (;;) {
      const { rows } = await q.query<T & object>(`fetch ${batch} from ${name}`);
      exhausted = rows.length < batch;
      for (const row of rows) yield row;
      if (exhausted) return;
    }
  } finally {
    // An exhausted cursor needs no round trip: the snapshot's commit closes it.
    if (!exhausted) await q.query(`close ${name}`).catch(() => undefined);
  }
}

export async function selectExportUser(q: Queryable, tenantId: string, userId: string): Promise<UserRow | undefined> {
  const { rows } = await q.query<UserRow>('select * from users where tenant_id = $1 and id = $2', [tenantId, userId]);
  return rows[0];
}

/** The tree of the subject's drive, without what the package does not need to place an item. */
export function driveNodesOfOwner(q: Queryable, tenantId: string, ownerId: string): AsyncGenerator<DriveNodeRow> {
  return cursorRows(q, 'select id, parent_id, name, is_folder from drive_items where tenant_id = $1 and owner_user_id = $2 order by id', [tenantId, ownerId]);
}

export function driveItemsOfOwner(q: Queryable, tenantId: string, ownerId: string): AsyncGenerator<ExportDriveItemRow> {
  return cursorRows(q,
    `select d.id, d.owner_user_id, d.parent_id, d.name, d.is_folder, d.size, d.mime_type, d.content_sha256,
            b.size as content_size, b.quick_xor_hash, d.created_at, d.modified_at, d.created_by, d.modified_by
     from drive_items d left join content_blobs b on b.sha256 = d.content_sha256
     where d.tenant_id = $1 and d.owner_user_id = $2
     order by d.id`,
    [tenantId, ownerId]);
}

/** The drive's files (items with content), with the size of their content. */
export function driveFilesOfOwner(
  q: Queryable, tenantId: string, ownerId: string,
): AsyncGenerator<Pick<ExportDriveItemRow, 'id' | 'mime_type' | 'content_sha256' | 'content_size' | 'size'>> {
  return cursorRows(q,
    `select d.id, d.mime_type, d.content_sha256, b.size as content_size, d.size
     from drive_items d left join content_blobs b on b.sha256 = d.content_sha256
     where d.tenant_id = $1 and d.owner_user_id = $2 and not d.is_folder and d.content_sha256 is not null
     order by d.id`,
    [tenantId, ownerId]);
}

/** Activity on the subject's drive, whoever acted. */
export function driveActivitiesOfUser(q: Queryable, tenantId: string, userId: string): AsyncGenerator<DriveActivityRow> {
  return cursorRows(q,
    `select id, user_id, activity_at, activity_type, actor, item_id, item_path, client_ip, user_agent, app_id
     from drive_activities where tenant_id = $1 and user_id = $2
     order by activity_at, id`,
    [tenantId, userId]);
}

/** What the subject did on other users' drives (the subject is the acting user). */
export function driveActivitiesByActorElsewhere(q: Queryable, tenantId: string, userId: string): AsyncGenerator<DriveActivityRow> {
  return cursorRows(q,
    `select id, user_id, activity_at, activity_type, actor, item_id, item_path, client_ip, user_agent, app_id
     from drive_activities where tenant_id = $1 and actor -> 'user' ->> 'id' = $2::text and user_id <> $2::uuid
     order by activity_at, id`,
    [tenantId, userId]);
}

/** UsageReport.csv: counts per UTC day and activity type (one row per pair, bounded by days × types). */
export async function selectDailyActivityCounts(q: Queryable, tenantId: string, userId: string): Promise<{ day: string; type: string; count: number }[]> {
  const { rows } = await q.query<{ day: string; type: string; count: number }>(
    `select to_char(activity_at at time zone 'UTC', 'YYYY-MM-DD') as day, activity_type as type, count(*)::int as count
     from drive_activities where tenant_id = $1 and user_id = $2
     group by 1, 2 order by 1, 2`,
    [tenantId, userId]);
  return rows;
}

/** index.html's timeline: drive activity and sign-ins per UTC day (one row per day with any). */
export async function selectDailyTimeline(q: Queryable, tenantId: string, userId: string): Promise<{ day: string; count: number }[]> {
  const { rows } = await q.query<{ day: string; count: number }>(
    `select to_char(at at time zone 'UTC', 'YYYY-MM-DD') as day, count(*)::int as count
     from (select activity_at as at from drive_activities where tenant_id = $1 and user_id = $2
           union all select created_at from sign_ins where tenant_id = $1 and user_id = $2) t
     group by 1 order by 1`,
    [tenantId, userId]);
  return rows;
}

export function signInsOfUser(q: Queryable, tenantId: string, userId: string): AsyncGenerator<SignInRow> {
  return cursorRows(q, 'select * from sign_ins where tenant_id = $1 and user_id = $2 order by created_at, id', [tenantId, userId]);
}

/** Audits where the user is initiator or target, oldest first (the package reads as a history). */
export function directoryAuditsOfUser(q: Queryable, tenantId: string, userId: string): AsyncGenerator<DirectoryAuditRow> {
  return cursorRows(q,
    `select * from directory_audits
     where tenant_id = $1
       and (target_user_id = $2 or initiator_user_id = $2
            -- an audit may name the user as a later target (target_user_id holds only the first)
            or target_resources @> jsonb_build_array(jsonb_build_object('id', $2::text)))
     order by activity_at, id`,
    [tenantId, userId]);
}

/** The subject's export requests, this one included, oldest first. */
export function exportRequestsOfUser(q: Queryable, tenantId: string, userId: string): AsyncGenerator<OperationRow> {
  return cursorRows(q,
    'select * from data_policy_operations where tenant_id = $1 and user_id = $2 order by submitted_at, id',
    [tenantId, userId]);
}
