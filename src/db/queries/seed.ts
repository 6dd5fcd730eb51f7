import type { Queryable } from '../pool.ts';

// Bulk inserts for `seed`: one statement per table and user, rows passed as one JSON array and
// expanded with jsonb_to_recordset, so a synthetic tenant of thousands of rows takes a few
// dozen round trips instead of one per row.

export interface SeedDriveItem {
  id: string;
  owner_user_id: string;
  parent_id: string | null;
  name: string;
  is_folder: boolean;
  size: number;
  mime_type: string | null;
  content_sha256: string | null;
  created_at: string;
  modified_at: string;
  created_by: Record<string, unknown>;
  modified_by: Record<string, unknown>;
}

export interface SeedDriveActivity {
  id: string;
  user_id: string;
  activity_at: string;
  activity_type: string;
  actor: Record<string, unknown>;
  item_id: string | null;
  item_path: string | null;
  client_ip: string | null;
  user_agent: string | null;
  app_id: string | null;
}

/** How many users the tenant already has: seeding goes into an empty tenant only. */
export async function countTenantUsers(q: Queryable, tenantId: string): Promise<number> {
  const { rows } = await q.query<{ n: number }>('select count(*)::int as n from users where tenant_id = $1', [tenantId]);
  return rows[0]!.n;
}

/** Content rows for bodies already in the content store; a body another tenant holds too is left as is. */
export async function insertSeedContentBlobs(q: Queryable, blobs: readonly { sha256: string; size: number }[], now: Date): Promise<void> {
  if (blobs.length === 0) return;
  await q.query(
    `insert into content_blobs (sha256, size, created_at)
     select b.sha256, b.size, $2 from jsonb_to_recordset($1::jsonb) as b (sha256 text, size bigint)
     on conflict (sha256) do nothing`,
    [JSON.stringify(blobs), now],
  );
}

/** A drive's items; parents and children may come in any order (foreign keys are checked at the end of the statement). */
export async function insertSeedDriveItems(q: Queryable, tenantId: string, items: readonly SeedDriveItem[]): Promise<void> {
  if (items.length === 0) return;
  await q.query(
    `insert into drive_items (tenant_id, id, owner_user_id, parent_id, name, is_folder, size, mime_type, content_sha256,
                              created_at, modified_at, created_by, modified_by)
     select $1, i.id, i.owner_user_id, i.parent_id, i.name, i.is_folder, i.size, i.mime_type, i.content_sha256,
            i.created_at, i.modified_at, i.created_by, i.modified_by
     from jsonb_to_recordset($2::jsonb) as i (id uuid, owner_user_id uuid, parent_id uuid, name text, is_folder boolean,
       size bigint, mime_type text, content_sha256 text, created_at timestamptz, modified_at timestamptz,
       created_by jsonb, modified_by jsonb)`,
    [tenantId, JSON.stringify(items)],
  );
}

export async function insertSeedDriveActivities(q: Queryable, tenantId: string, activities: readonly SeedDriveActivity[]): Promise<void> {
  if (activities.length === 0) return;
  await q.query(
    `insert into drive_activities (tenant_id, id, user_id, activity_at, activity_type, actor, item_id, item_path, client_ip, user_agent, app_id)
     select $1, a.id, a.user_id, a.activity_at, a.activity_type, a.actor, a.item_id, a.item_path, a.client_ip, a.user_agent, a.app_id
     from jsonb_to_recordset($2::jsonb) as a (id uuid, user_id uuid, activity_at timestamptz, activity_type text, actor jsonb,
       item_id uuid, item_path text, client_ip text, user_agent text, app_id text)`,
    [tenantId, JSON.stringify(activities)],
  );
}
