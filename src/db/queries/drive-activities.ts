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

/** Writes activity records; call it in the transaction of the change they describe. */
export async function insertDriveActivities(q: Queryable, activities: readonly DriveActivity[]): Promise<void> {
  if (activities.length === 0) return;
  const cols = 11;
  const values: unknown[] = [];
  const tuples = activities.map((a, i) => {
    values.push(a.tenantId, randomUUID(), a.userId, a.at, a.type, JSON.stringify(a.actor), a.itemId, a.itemPath,
      a.clientIp, a.userAgent?.slice(0, 1024) ?? null, a.appId);
    return `(${Array.from({ length: cols }, (_, j) => `$${i * cols + j + 1}`).join(', ')})`;
  });
  await q.query(
    `insert into drive_activities (tenant_id, id, user_id, activity_at, activity_type, actor, item_id, item_path, client_ip, user_agent, app_id)
     values ${tuples.join(', ')}`,
    values,
  );
}

