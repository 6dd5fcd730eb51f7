import type { DriveItemRow, DriveItemView, IdentitySet } from '../../domain/drive-item.ts';
import type { Queryable } from '../pool.ts';

// Names from below the root down to item `d` (a short upward walk: drives are a few levels deep).
const PATH_OF_D = `(
  with recursive chain(id, parent_id, name, depth) as (
    select d.id, d.parent_id, d.name, 0
    union all
    select p.id, p.parent_id, p.name, c.depth + 1
    from chain c join drive_items p on p.tenant_id = d.tenant_id and p.id = c.parent_id
  )
  select coalesce(array_agg(name order by depth desc) filter (where parent_id is not null), '{}') from chain
)`;
const CHILD_COUNT_OF_D = '(select count(*)::int from drive_items c where c.tenant_id = d.tenant_id and c.parent_id = d.id)';
// A folder's size is the total of the files below it, as OneDrive reports it. Summed when read
// (one indexed walk of the subtree) rather than kept on every ancestor: bulk loads and deletes
// cannot leave it stale.
const TOTAL_SIZE_OF_D = `(case when not d.is_folder then d.size else (
  with recursive sub(id, size, is_folder) as (
    select c.id, c.size, c.is_folder from drive_items c where c.tenant_id = d.tenant_id and c.parent_id = d.id
    union all
    select c.id, c.size, c.is_folder from sub s join drive_items c on c.tenant_id = d.tenant_id and c.parent_id = s.id where s.is_folder
  )
  select coalesce(sum(size) filter (where not is_folder), 0)::bigint from sub
) end)`;
const QUICK_XOR_OF_D = '(select b.quick_xor_hash from content_blobs b where b.sha256 = d.content_sha256)';
// What a view adds to a row besides its path.
const VIEW_COLUMNS = `${CHILD_COUNT_OF_D} as child_count, ${TOTAL_SIZE_OF_D} as total_size, ${QUICK_XOR_OF_D} as quick_xor_hash`;

/** The drive's root folder, if it was created. */
export async function findDriveRoot(q: Queryable, tenantId: string, ownerId: string): Promise<DriveItemView | undefined> {
  const { rows } = await q.query<DriveItemView>(
    `select d.*, '{}'::text[] as path, ${VIEW_COLUMNS}
     from drive_items d where d.tenant_id = $1 and d.owner_user_id = $2 and d.parent_id is null
     order by d.created_at limit 1`,
    [tenantId, ownerId],
  );
  return rows[0];
}

/** Creates the root folder; nothing when it exists (two first uploads may race). */
export async function insertDriveRoot(q: Queryable, tenantId: string, ownerId: string, id: string, now: Date, by: IdentitySet): Promise<void> {
  await q.query(
    `insert into drive_items (tenant_id, id, owner_user_id, parent_id, name, is_folder, size, created_at, modified_at, created_by, modified_by)
     values ($1, $2, $3, null, 'root', true, 0, $4, $4, $5, $5) on conflict do nothing`,
    [tenantId, id, ownerId, now, JSON.stringify(by)],
  );
}

/** Row-locks a folder so that children are created in it one transaction at a time; false if it is gone. */
export async function lockDriveItem(q: Queryable, tenantId: string, id: string): Promise<boolean> {
  const { rowCount } = await q.query('select 1 from drive_items where tenant_id = $1 and id = $2 for update', [tenantId, id]);
  return rowCount === 1;
}

/** A child by name, case-insensitively, as OneDrive matches names. */
export async function findChildByName(q: Queryable, tenantId: string, parentId: string, name: string): Promise<DriveItemRow | undefined> {
  const { rows } = await q.query<DriveItemRow>('select * from drive_items where tenant_id = $1 and parent_id = $2 and lower(name) = lower($3)', [
    tenantId,
    parentId,
    name,
  ]);
  return rows[0];
}

export interface NewDriveItem {
  tenantId: string;
  id: string;
  ownerId: string;
  parentId: string;
  name: string;
  now: Date;
  by: IdentitySet;
}

export async function insertDriveFolder(q: Queryable, f: NewDriveItem): Promise<DriveItemRow> {
  const { rows } = await q.query<DriveItemRow>(
    `insert into drive_items (tenant_id, id, owner_user_id, parent_id, name, is_folder, size, created_at, modified_at, created_by, modified_by)
     values ($1, $2, $3, $4, $5, true, 0, $6, $6, $7, $7) returning *`,
    [f.tenantId, f.id, f.ownerId, f.parentId, f.name, f.now, JSON.stringify(f.by)],
  );
  return rows[0]!;
}

export async function insertDriveFile(q: Queryable, f: NewDriveItem & { size: number; mimeType: string; sha256: string }): Promise<DriveItemRow> {
  const { rows } = await q.query<DriveItemRow>(
    `insert into drive_items (tenant_id, id, owner_user_id, parent_id, name, is_folder, size, mime_type, content_sha256,
       created_at, modified_at, created_by, modified_by)
     values ($1, $2, $3, $4, $5, false, $6, $7, $8, $9, $9, $10, $10) returning *`,
    [f.tenantId, f.id, f.ownerId, f.parentId, f.name, f.size, f.mimeType, f.sha256, f.now, JSON.stringify(f.by)],
  );
  return rows[0]!;
}

/** A new version of a file: OneDrive keeps the item (id, name, createdBy) and replaces the content. */
export async function replaceDriveFileContent(
  q: Queryable,
  tenantId: string,
  id: string,
  c: { size: number; mimeType: string; sha256: string; now: Date; by: IdentitySet },
): Promise<DriveItemRow> {
  const { rows } = await q.query<DriveItemRow>(
    `update drive_items set size = $3, mime_type = $4, content_sha256 = $5, modified_at = $6, modified_by = $7
     where tenant_id = $1 and id = $2 returning *`,
    [tenantId, id, c.size, c.mimeType, c.sha256, c.now, JSON.stringify(c.by)],
  );
  return rows[0]!;
}

/** An item of this drive by id, with its path and child count. */
export async function findDriveItem(q: Queryable, tenantId: string, ownerId: string, id: string): Promise<DriveItemView | undefined> {
  const { rows } = await q.query<DriveItemView>(
    `select d.*, ${PATH_OF_D} as path, ${VIEW_COLUMNS}
     from drive_items d where d.tenant_id = $1 and d.owner_user_id = $2 and d.id = $3`,
    [tenantId, ownerId, id],
  );
  return rows[0];
}

/** An item by its names below the root (matched case-insensitively, reported as stored). */
export async function findDriveItemByPath(q: Queryable, tenantId: string, ownerId: string, segments: readonly string[]): Promise<DriveItemView | undefined> {
  const { rows } = await q.query<DriveItemView>(
    `with recursive walk(id, depth, names) as (
       select r.id, 0, '{}'::text[] from drive_items r
       where r.tenant_id = $1 and r.owner_user_id = $2 and r.parent_id is null
       union all
       select c.id, w.depth + 1, w.names || c.name
       from walk w join drive_items c
         on c.tenant_id = $1 and c.parent_id = w.id and lower(c.name) = lower(($3::text[])[w.depth + 1])
       where w.depth < cardinality($3::text[])
     )
     select d.*, w.names as path, ${VIEW_COLUMNS}
     from walk w join drive_items d on d.tenant_id = $1 and d.id = w.id
     where w.depth = cardinality($3::text[])
     limit 1`,
    [tenantId, ownerId, segments],
  );
  return rows[0];
}

/** One page of a folder's children, by name; `after` is the [lower(name), id] of the previous page's last item. */
export async function listDriveChildren(
  q: Queryable,
  tenantId: string,
  parentId: string,
  opts: { limit: number; after?: [string, string] | undefined },
): Promise<Omit<DriveItemView, 'path'>[]> {
  const { rows } = await q.query<Omit<DriveItemView, 'path'>>(
    `select d.*, ${VIEW_COLUMNS}
     from drive_items d
     where d.tenant_id = $1 and d.parent_id = $2
       and ($3::text is null or (lower(d.name), d.id) > ($3::text, $4::uuid))
     order by lower(d.name), d.id
     limit $5`,
    [tenantId, parentId, opts.after?.[0] ?? null, opts.after?.[1] ?? null, opts.limit],
  );
  return rows;
}

/** An item and everything below it, with names relative to the item's parent (for activity records). */
export async function listDriveSubtree(q: Queryable, tenantId: string, id: string): Promise<{ id: string; names: string[]; is_folder: boolean }[]> {
  const { rows } = await q.query<{ id: string; names: string[]; is_folder: boolean }>(
    `with recursive sub(id, names, is_folder) as (
       select id, array[name], is_folder from drive_items where tenant_id = $1 and id = $2
       union all
       select c.id, s.names || c.name, c.is_folder
       from sub s join drive_items c on c.tenant_id = $1 and c.parent_id = s.id
     )
     select id, names, is_folder from sub`,
    [tenantId, id],
  );
  return rows;
}

/** Deletes an item; its subtree goes with it (the parent foreign key cascades). */
export async function deleteDriveItem(q: Queryable, tenantId: string, ownerId: string, id: string): Promise<boolean> {
  const { rowCount } = await q.query('delete from drive_items where tenant_id = $1 and owner_user_id = $2 and id = $3', [tenantId, ownerId, id]);
  return rowCount === 1;
}

/** Bytes the drive's files take (the drive's quota.used). */
export async function sumDriveFileSizes(q: Queryable, tenantId: string, ownerId: string): Promise<number> {
  const { rows } = await q.query<{ used: number }>(
    'select coalesce(sum(size), 0)::bigint as used from drive_items where tenant_id = $1 and owner_user_id = $2 and not is_folder',
    [tenantId, ownerId],
  );
  return rows[0]!.used;
}
