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

/** A drive item as the export places it: one child of a folder placed at the level before. */
export interface DriveChildRow {
  id: string;
  parent_id: string;
  name: string;
  is_folder: boolean;
  /** The parent's placement (null: a child of the root or an orphan; the top folder places it). */
  parent_drive_path: string | null;
  parent_package_path: string | null;
}

/** A placed drive item: where it is in the drive and in the package. */
export interface PlacedRow {
  drive_path: string;
  package_path: string;
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
  // One row more than the batch tells whether there is more: a section of exactly `batch` rows
  // is not read a second time through a cursor that finds nothing.
  const first = await q.query<T & object>(`${sql} limit ${batch + 1}`, [...params]);
  for (const row of first.rows.slice(0, batch)) yield row;
  if (first.rows.length <= batch) return;
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

// Where each drive item goes in the package is worked out folder by folder, level by level, and
// kept in a temporary table of the snapshot's connection (export_drive_placements), so no process
// memory holds the drive's tree; DriveItems.json and the files join it. A read-only transaction
// may write temporary tables but not create them: the table is made before the snapshot begins,
// once per pooled connection, and emptied after each export. Creating and dropping it for every
// export cost PostgreSQL about 2 ms of catalog writes, a tenth of a small export's statements.

/** A large drive's placements are given back to the file system at the end, not left as dead rows (no autovacuum for temporary tables). */
const TRUNCATE_FROM_ROWS = 10_000;

/** Before the snapshot: the connection's placement table (emptied when a snapshot places a drive). */
export async function createDrivePlacementTable(q: Queryable): Promise<void> {
  await q.query(`create temp table if not exists export_drive_placements (
    id uuid primary key, depth int not null, is_folder boolean not null, drive_path text not null, package_path text not null)`);
}

/** After the snapshot: the pooled connection keeps nothing of this export. */
export async function emptyDrivePlacementTable(q: Queryable): Promise<void> {
  const { rowCount } = await q.query('delete from pg_temp.export_drive_placements');
  if ((rowCount ?? 0) >= TRUNCATE_FROM_ROWS) await q.query('truncate pg_temp.export_drive_placements');
}

export async function clearDrivePlacements(q: Queryable): Promise<void> {
  await q.query('delete from export_drive_placements');
}

/** The drive's roots (level 0) are the top folder itself. */
export async function placeDriveRoots(q: Queryable, tenantId: string, ownerId: string, rootPath: string): Promise<void> {
  await q.query(
    `insert into export_drive_placements (id, depth, is_folder, drive_path, package_path)
     select id, 0, is_folder, '', $3 from drive_items where tenant_id = $1 and owner_user_id = $2 and parent_id is null`,
    [tenantId, ownerId, rootPath],
  );
}

/**
 * The items of level `depth` (≥ 1), grouped by parent, each group in naming order (code point
 * order of the name, then id). Level 1 is one group: the roots' children and the orphans (items
 * whose parent is not one of the drive's folders), which share the top folder.
 */
export function driveChildrenAtDepth(q: Queryable, tenantId: string, ownerId: string, depth: number): AsyncGenerator<DriveChildRow> {
  if (depth === 1) {
    return cursorRows(
      q,
      `select d.id, d.parent_id, d.name, d.is_folder, null as parent_drive_path, null as parent_package_path
       from drive_items d
       where d.tenant_id = $1 and d.owner_user_id = $2 and d.parent_id is not null
         and (exists (select 1 from export_drive_placements r where r.id = d.parent_id and r.depth = 0)
              or not exists (select 1 from drive_items p
                             where p.tenant_id = d.tenant_id and p.id = d.parent_id and p.owner_user_id = d.owner_user_id and p.is_folder))
       order by d.name collate "C", d.id`,
      [tenantId, ownerId],
    );
  }
  return cursorRows(
    q,
    `select d.id, d.parent_id, d.name, d.is_folder, p.drive_path as parent_drive_path, p.package_path as parent_package_path
     from drive_items d join export_drive_placements p on p.id = d.parent_id and p.depth = $3 - 1 and p.is_folder
     where d.tenant_id = $1 and d.owner_user_id = $2
     order by d.parent_id, d.name collate "C", d.id`,
    [tenantId, ownerId, depth],
  );
}

export async function insertDrivePlacements(
  q: Queryable,
  depth: number,
  rows: readonly { id: string; isFolder: boolean; drivePath: string; packagePath: string }[],
): Promise<void> {
  await q.query(
    `insert into export_drive_placements (id, depth, is_folder, drive_path, package_path)
     select id, $1, f, dp, pp from unnest($2::uuid[], $3::boolean[], $4::text[], $5::text[]) as t(id, f, dp, pp)`,
    [depth, rows.map((r) => r.id), rows.map((r) => r.isFolder), rows.map((r) => r.drivePath), rows.map((r) => r.packagePath)],
  );
}

/** Every item of the drive with its placement, its parent's, and (folders) its number of children. */
export function driveItemsOfOwner(
  q: Queryable,
  tenantId: string,
  ownerId: string,
): AsyncGenerator<ExportDriveItemRow & PlacedRow & { parent_drive_path: string | null; child_count: number }> {
  return cursorRows(
    q,
    `select d.id, d.owner_user_id, d.parent_id, d.name, d.is_folder, d.size, d.mime_type, d.content_sha256,
            b.size as content_size, b.quick_xor_hash, d.created_at, d.modified_at, d.created_by, d.modified_by,
            p.drive_path, p.package_path, pp.drive_path as parent_drive_path,
            case when d.is_folder then (select count(*)::int from drive_items c
                                        where c.tenant_id = d.tenant_id and c.parent_id = d.id and c.owner_user_id = d.owner_user_id)
                 else 0 end as child_count
     from drive_items d
       join export_drive_placements p on p.id = d.id
       left join export_drive_placements pp on pp.id = d.parent_id
       left join content_blobs b on b.sha256 = d.content_sha256
     where d.tenant_id = $1 and d.owner_user_id = $2
     order by d.id`,
    [tenantId, ownerId],
  );
}

/** The drive's files (items with content), with the size of their content. */
export function driveFilesOfOwner(
  q: Queryable,
  tenantId: string,
  ownerId: string,
): AsyncGenerator<Pick<ExportDriveItemRow, 'id' | 'mime_type' | 'content_sha256' | 'content_size' | 'size'> & Pick<PlacedRow, 'package_path'>> {
  return cursorRows(
    q,
    `select d.id, d.mime_type, d.content_sha256, b.size as content_size, d.size, p.package_path
     from drive_items d join export_drive_placements p on p.id = d.id
       left join content_blobs b on b.sha256 = d.content_sha256
     where d.tenant_id = $1 and d.owner_user_id = $2 and not d.is_folder and d.content_sha256 is not null
     order by d.id`,
    [tenantId, ownerId],
  );
}

/** UsageReport.csv: counts per UTC day and activity type (one row per pair, bounded by days × types). */
export async function selectDailyActivityCounts(q: Queryable, tenantId: string, userId: string): Promise<{ day: string; type: string; count: number }[]> {
  const { rows } = await q.query<{ day: string; type: string; count: number }>(
    `select to_char(activity_at at time zone 'UTC', 'YYYY-MM-DD') as day, activity_type as type, count(*)::int as count
     from drive_activities where tenant_id = $1 and user_id = $2
     group by 1, 2 order by 1, 2`,
    [tenantId, userId],
  );
  return rows;
}

/** index.html's timeline: drive activity and sign-ins per UTC day (one row per day with any). */
export async function selectDailyTimeline(q: Queryable, tenantId: string, userId: string): Promise<{ day: string; count: number }[]> {
  const { rows } = await q.query<{ day: string; count: number }>(
    `select to_char(at at time zone 'UTC', 'YYYY-MM-DD') as day, count(*)::int as count
     from (select activity_at as at from drive_activities where tenant_id = $1 and user_id = $2
           union all select created_at from sign_ins where tenant_id = $1 and user_id = $2) t
     group by 1 order by 1`,
    [tenantId, userId],
  );
  return rows;
}

/** Audits where the user is initiator or target, oldest first (the package reads as a history). */
export function directoryAuditsOfUser(q: Queryable, tenantId: string, userId: string): AsyncGenerator<DirectoryAuditRow> {
  return cursorRows(
    q,
    `select * from directory_audits
     where tenant_id = $1
       and (target_user_id = $2 or initiator_user_id = $2
            -- an audit may name the user as a later target (target_user_id holds only the first)
            or target_resources @> jsonb_build_array(jsonb_build_object('id', $2::text)))
     order by activity_at, id`,
    [tenantId, userId],
  );
}

/** The subject's export requests, this one included, oldest first. */
export function exportRequestsOfUser(q: Queryable, tenantId: string, userId: string): AsyncGenerator<OperationRow> {
  return cursorRows(q, 'select * from data_policy_operations where tenant_id = $1 and user_id = $2 order by submitted_at, id', [tenantId, userId]);
}
