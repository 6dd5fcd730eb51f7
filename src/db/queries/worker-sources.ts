import type { SignInRow } from '../../activity/sign-in.ts';
import type { DirectoryAuditRow } from '../../domain/directory-audit.ts';
import type { DriveItemRow } from '../../domain/drive-item.ts';
import type { UserRow } from '../../domain/user.ts';
import type { DriveActivityRow } from './drive-activities.ts';
import type { Queryable } from '../pool.ts';

// What an export reads about its subject. The worker runs these inside one REPEATABLE READ
// transaction, so the package is one consistent snapshot of the tenant.

/** A drive item as the export reads it: with the byte count the package will hold for it. */
export type ExportDriveItemRow = DriveItemRow & {
  /** content_blobs.size: the number of bytes the package will hold for this file. */
  content_size: number | null;
  /** content_blobs.quick_xor_hash: OneDrive's hash of the file (null for folders and older content). */
  quick_xor_hash?: string | null;
};

export type { DriveActivityRow };

export async function selectExportUser(q: Queryable, tenantId: string, userId: string): Promise<UserRow | undefined> {
  const { rows } = await q.query<UserRow>('select * from users where tenant_id = $1 and id = $2', [tenantId, userId]);
  return rows[0];
}

export async function selectDriveItemsOfOwner(q: Queryable, tenantId: string, ownerId: string): Promise<ExportDriveItemRow[]> {
  const { rows } = await q.query<ExportDriveItemRow>(
    `select d.id, d.owner_user_id, d.parent_id, d.name, d.is_folder, d.size, d.mime_type, d.content_sha256,
            b.size as content_size, b.quick_xor_hash, d.created_at, d.modified_at, d.created_by, d.modified_by
     from drive_items d left join content_blobs b on b.sha256 = d.content_sha256
     where d.tenant_id = $1 and d.owner_user_id = $2
     order by d.id`,
    [tenantId, ownerId],
  );
  return rows;
}

export async function selectDriveActivitiesOfUser(q: Queryable, tenantId: string, userId: string): Promise<DriveActivityRow[]> {
  const { rows } = await q.query<DriveActivityRow>(
    `select id, user_id, activity_at, activity_type, actor, item_id, item_path, client_ip, user_agent, app_id
     from drive_activities where tenant_id = $1 and user_id = $2
     order by activity_at, id`,
    [tenantId, userId],
  );
  return rows;
}

export async function selectSignInsOfUser(q: Queryable, tenantId: string, userId: string): Promise<SignInRow[]> {
  const { rows } = await q.query<SignInRow>(
    'select * from sign_ins where tenant_id = $1 and user_id = $2 order by created_at, id',
    [tenantId, userId],
  );
  return rows;
}

/** Audits where the user is initiator or target, oldest first (the package reads as a history). */
export async function selectDirectoryAuditsOfUser(q: Queryable, tenantId: string, userId: string): Promise<DirectoryAuditRow[]> {
  const { rows } = await q.query<DirectoryAuditRow>(
    `select * from directory_audits
     where tenant_id = $1
       and (target_user_id = $2 or initiator_user_id = $2
            -- an audit may name the user as a later target (target_user_id holds only the first)
            or target_resources @> jsonb_build_array(jsonb_build_object('id', $2::text)))
     order by activity_at, id`,
    [tenantId, userId],
  );
  return rows;
}
