import type { Queryable } from '../../src/db/pool.ts';
import { cursorRows, type DriveActivityRow } from '../../src/db/queries/worker-sources.ts';
import { graphDateTime } from '../../src/domain/formats.ts';
import type { SignInRow } from '../../src/domain/sign-in.ts';
import { actorName } from '../../src/export/sections/activity-records.ts';
import { actorUserId } from '../../src/export/sections/redaction.ts';

// The package's largest sections as plain JavaScript, row by row: the reference that the
// PostgreSQL rendering of src/db/queries/worker-record-texts.ts is checked against
// (test/export-record-texts.test.ts). The export itself never runs these.

/** The subject's sign-ins, oldest first. */
export function signInsOfUser(q: Queryable, tenantId: string, userId: string): AsyncGenerator<SignInRow> {
  return cursorRows(q, 'select * from sign_ins where tenant_id = $1 and user_id = $2 order by created_at, id', [tenantId, userId]);
}

const ACTIVITY_COLUMNS = 'id, user_id, activity_at, activity_type, actor, item_id, item_path, client_ip, user_agent, app_id';

/** Activity on the subject's drive, whoever acted, oldest first. */
export function driveActivitiesOfUser(q: Queryable, tenantId: string, userId: string): AsyncGenerator<DriveActivityRow> {
  return cursorRows(q, `select ${ACTIVITY_COLUMNS} from drive_activities where tenant_id = $1 and user_id = $2 order by activity_at, id`, [tenantId, userId]);
}

/** What the subject did on other users' drives (the subject is the acting user), oldest first. */
export function driveActivitiesByActorElsewhere(q: Queryable, tenantId: string, userId: string): AsyncGenerator<DriveActivityRow> {
  return cursorRows(
    q,
    `select ${ACTIVITY_COLUMNS} from drive_activities
     where tenant_id = $1 and actor -> 'user' ->> 'id' = $2::text and user_id <> $2::uuid
     order by activity_at, id`,
    [tenantId, userId],
  );
}

/** A drive activity as Graph's driveActivity record. */
export function activityJson(a: DriveActivityRow): Record<string, unknown> {
  return {
    id: a.id,
    activityDateTime: graphDateTime(a.activity_at),
    activityType: a.activity_type,
    actor: a.actor,
    itemId: a.item_id,
    itemPath: a.item_path,
    clientIp: a.client_ip,
    userAgent: a.user_agent,
    appId: a.app_id,
  };
}

/** A drive activity's cells, in ACTIVITY_CSV_COLUMNS' order. */
export function activityCsvRow(a: DriveActivityRow): (string | null)[] {
  const who = 'user' in a.actor ? a.actor.user : a.actor.application;
  return [
    a.id,
    graphDateTime(a.activity_at),
    a.activity_type,
    String(who.id ?? ''),
    actorName(a.actor),
    a.item_id,
    a.item_path,
    a.client_ip,
    a.user_agent,
    a.app_id,
  ];
}

/** Another actor's IP address and user agent left out; the subject's own kept (its id compared case aside). */
export function redactActivity(a: DriveActivityRow, subjectId: string): DriveActivityRow {
  const other = actorUserId(a.actor) !== subjectId.toLowerCase() && (a.client_ip !== null || a.user_agent !== null);
  return other ? { ...a, client_ip: null, user_agent: null } : a;
}
