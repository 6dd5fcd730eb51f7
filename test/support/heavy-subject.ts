import type { Db } from '../../src/db/pool.ts';
import type { SeededUser } from './export-fixtures.ts';

// A subject with many records, generated inside PostgreSQL (generate_series: one statement per
// table, no rows through the client), so a 200,000-record subject loads in seconds.

export interface HeavyCounts {
  readonly signIns: number;
  /** Activity on the subject's own drive. */
  readonly activities: number;
  /** Activity by the subject on `otherOwner`'s drive. */
  readonly activitiesElsewhere: number;
}

export async function loadHeavySubject(db: Db, user: SeededUser, otherOwnerId: string, counts: HeavyCounts, now: Date): Promise<void> {
  await db.query(
    `insert into sign_ins (tenant_id, id, user_id, created_at, data)
     select $1::uuid, s.id, $2::uuid, s.at, jsonb_build_object(
       'id', s.id, 'createdDateTime', to_char(s.at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
       'userId', $2::text, 'userPrincipalName', $3::text, 'appDisplayName', 'App ' || (s.g % 7),
       'ipAddress', '10.0.' || (s.g % 250) || '.' || (s.g % 199), 'isInteractive', s.g % 2 = 0,
       'status', jsonb_build_object('errorCode', 0))
     from (select g, gen_random_uuid() as id, $4::timestamptz - make_interval(mins => g) as at
           from generate_series(1, $5::int) g) s`,
    [user.tenantId, user.userId, user.upn, now, counts.signIns],
  );
  const activities = `insert into drive_activities (tenant_id, id, user_id, activity_at, activity_type, actor, item_path, client_ip, user_agent)
     select $1::uuid, gen_random_uuid(), $2::uuid, $3::timestamptz - make_interval(mins => g * 3),
       (array['FileAccessed', 'FileModified', 'FileDownloaded'])[1 + g % 3],
       jsonb_build_object('user', jsonb_build_object('id', $4::text, 'displayName', 'Adele Vance')),
       '/Docs/file-' || (g % 100) || '.txt', '10.1.0.' || (g % 250), 'Mozilla/5.0 (X11; Linux x86_64)'
     from generate_series(1, $5::int) g`;
  await db.query(activities, [user.tenantId, user.userId, now, user.userId, counts.activities]);
  await db.query(activities, [user.tenantId, otherOwnerId, now, user.userId, counts.activitiesElsewhere]);
}
