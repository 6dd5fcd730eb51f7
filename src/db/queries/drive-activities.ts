import { randomUUID } from 'node:crypto';
import type { DriveActivityType, IdentitySet } from '../../domain/drive-item.ts';
import type { Queryable } from '../pool.ts';

export interface DriveActivity {
  tenantId: string;
  /** The drive's owner: whose export includes the record. */
  userId: string;
  at: Date;
  type: DriveActivityType;
  actor: IdentitySet;
  itemId: string | null;
  itemPath: string | null;
  clientIp: string | null;
  userAgent: string | null;
  appId: string | null;
}

export interface DriveActivityRow {
  tenant_id: string;
  id: string;
  user_id: string;
  activity_at: Date;
  activity_type: DriveActivityType;
  actor: IdentitySet;
  item_id: string | null;
  item_path: string | null;
  client_ip: string | null;
  user_agent: string | null;
  app_id: string | null;
}

/**
 * Writes activity records; call it in the transaction of the change they describe. Each column
 * goes as one array parameter, so a delete of a folder of any size records every item in one
 * statement (one parameter per value would stop at PostgreSQL's 65,535 bind parameters).
 */
export async function insertDriveActivities(q: Queryable, activities: readonly DriveActivity[]): Promise<void> {
  if (activities.length === 0) return;
  const column = <T>(f: (a: DriveActivity) => T): T[] => activities.map(f);
  await q.query(
    `insert into drive_activities (tenant_id, id, user_id, activity_at, activity_type, actor, item_id, item_path, client_ip, user_agent, app_id)
     select * from unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::timestamptz[], $5::text[], $6::jsonb[], $7::uuid[], $8::text[],
                          $9::text[], $10::text[], $11::text[])`,
    [
      column((a) => a.tenantId),
      column(() => randomUUID()),
      column((a) => a.userId),
      column((a) => a.at),
      column((a) => a.type),
      column((a) => JSON.stringify(a.actor)),
      column((a) => a.itemId),
      column((a) => a.itemPath),
      column((a) => a.clientIp),
      column((a) => a.userAgent?.slice(0, 1024) ?? null),
      column((a) => a.appId),
    ],
  );
}
