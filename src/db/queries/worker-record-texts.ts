import { SIGN_IN_PROPERTIES } from '../../domain/sign-in.ts';
import type { Queryable } from '../pool.ts';
import { cursorRows } from './worker-sources.ts';

// The package's largest sections (sign-ins, drive activity: up to millions of rows per subject)
// rendered by PostgreSQL inside the export's snapshot: each row arrives as the text of its Graph
// record and as its CSV cells (a JSON array), so the worker parses no jsonb and builds no objects
// per record. Parsing and re-serialising every record in JavaScript made these sections render at
// a tenth of the rate PostgreSQL and the storage move their rows. The records keep the shape the
// JavaScript mappers give them (src/domain/sign-in.ts toGraphSignIn, the export's activityJson):
// same keys in the same order, same values; only the whitespace inside nested objects follows
// PostgreSQL's jsonb text. The tests read both through a JSON parser.

/** A record as PostgreSQL renders it: its JSON text. */
export interface RecordText {
  json: string;
}

/** A record's CSV cells as a JSON array text (strings, numbers, booleans, nulls, objects). */
export interface RecordCells {
  cells: string;
}

/** graphDateTime (src/domain/formats.ts) in SQL: ISO 8601 UTC, milliseconds, none when zero. */
function graphDateTimeSql(column: string): string {
  return `regexp_replace(to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), '\\.000Z$', 'Z')`;
}

function identifier(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`not a plain property name: ${name}`);
  return `"${name}"`;
}

/** The value of a sign-in's property: the columns are the truth for id, userId and createdDateTime. */
function signInValueSql(path: string): string {
  if (path === 'id') return 's.id';
  if (path === 'userId') return 's.user_id';
  if (path === 'createdDateTime') return graphDateTimeSql('s.created_at');
  const keys = path.split('.');
  for (const k of keys) identifier(k);
  return `s.data #> '{${keys.join(',')}}'`;
}

// Graph's properties in Graph's order (null when the import did not carry one), then whatever
// else the import carried, in the stored (jsonb) order: what toGraphSignIn builds.
const SIGN_IN_JSON_SQL = `
  select case when x.extra = '{}'::jsonb then x.known else left(x.known, -1) || ',' || substr(x.extra::text, 2) end as json
  from sign_ins s,
    lateral (select (select row_to_json(r) from (select ${SIGN_IN_PROPERTIES.map((p) => `${signInValueSql(p)} as ${identifier(p)}`).join(', ')}) r)::text as known,
                    s.data - array[${SIGN_IN_PROPERTIES.map((p) => `'${p}'`).join(', ')}]::text[] as extra) x
  where s.tenant_id = $1 and s.user_id = $2
  order by s.created_at, s.id`;

/** The subject's sign-ins as Graph signIn JSON texts, oldest first (signInsOfUser's order). */
export function signInTextsOfUser(q: Queryable, tenantId: string, userId: string): AsyncGenerator<RecordText> {
  return cursorRows(q, SIGN_IN_JSON_SQL, [tenantId, userId], 5000);
}

/** The subject's sign-ins as CSV cells, one per dotted path of `columns`, in signInTextsOfUser's order. */
export function signInCellsOfUser(q: Queryable, tenantId: string, userId: string, columns: readonly string[]): AsyncGenerator<RecordCells> {
  return cursorRows(
    q,
    `select json_build_array(${columns.map(signInValueSql).join(', ')})::text as cells
     from sign_ins s where s.tenant_id = $1 and s.user_id = $2
     order by s.created_at, s.id`,
    [tenantId, userId],
    5000,
  );
}

// Drive activity. Other actors' IP address and user agent are left out when $3 (the tenant's
// redactOtherActors) is set, as redaction.ts's redactActivity does: an actor is the subject only
// when its user id is a string equal to the subject's id, case aside.
const OTHER_ACTOR = `$3::boolean and not coalesce(jsonb_typeof(a.actor #> '{user,id}') = 'string' and lower(a.actor #>> '{user,id}') = lower($2::text), false)`;
const CLIENT_IP = `case when ${OTHER_ACTOR} then null else a.client_ip end`;
const USER_AGENT = `case when ${OTHER_ACTOR} then null else a.user_agent end`;

/** Which drive activity: on the subject's drive, or by the subject on other drives. */
export type ActivityScope = 'ownDrive' | 'byActorElsewhere';

const ACTIVITY_WHERE: Record<ActivityScope, string> = {
  ownDrive: 'a.tenant_id = $1 and a.user_id = $2::uuid',
  byActorElsewhere: `a.tenant_id = $1 and a.actor -> 'user' ->> 'id' = $2::text and a.user_id <> $2::uuid`,
};

/** Drive activity as Graph driveActivity JSON texts (activityJson's shape), oldest first. */
export function activityTexts(q: Queryable, scope: ActivityScope, tenantId: string, userId: string, redact: boolean): AsyncGenerator<RecordText> {
  return cursorRows(
    q,
    `select (select row_to_json(r) from (select a.id as "id", ${graphDateTimeSql('a.activity_at')} as "activityDateTime",
              a.activity_type as "activityType", a.actor as "actor", a.item_id as "itemId", a.item_path as "itemPath",
              ${CLIENT_IP} as "clientIp", ${USER_AGENT} as "userAgent", a.app_id as "appId") r)::text as json
     from drive_activities a where ${ACTIVITY_WHERE[scope]}
     order by a.activity_at, a.id`,
    [tenantId, userId, redact],
    5000,
  );
}

// activityCsvRow's actor columns: the acting user's (else the application's) id, and the name
// of the user, else the application, else the actor itself (displayName, userPrincipalName or id).
const ACTOR_ID = `coalesce(case when a.actor ? 'user' then a.actor -> 'user' else a.actor -> 'application' end ->> 'id', '')`;
const WHO = `coalesce(nullif(a.actor -> 'user', 'null'::jsonb), nullif(a.actor -> 'application', 'null'::jsonb), a.actor)`;
const NAME = `coalesce(nullif(${WHO} -> 'displayName', 'null'::jsonb), nullif(${WHO} -> 'userPrincipalName', 'null'::jsonb), nullif(${WHO} -> 'id', 'null'::jsonb))`;
const ACTOR_NAME = `case when jsonb_typeof(${NAME}) = 'string' then ${NAME} #>> '{}' else '' end`;

/** Drive activity as CSV cells (activityCsvRow's columns), in activityTexts's order. */
export function activityCells(q: Queryable, scope: ActivityScope, tenantId: string, userId: string, redact: boolean): AsyncGenerator<RecordCells> {
  return cursorRows(
    q,
    `select json_build_array(a.id, ${graphDateTimeSql('a.activity_at')}, a.activity_type, ${ACTOR_ID}, ${ACTOR_NAME},
              a.item_id, a.item_path, ${CLIENT_IP}, ${USER_AGENT}, a.app_id)::text as cells
     from drive_activities a where ${ACTIVITY_WHERE[scope]}
     order by a.activity_at, a.id`,
    [tenantId, userId, redact],
    5000,
  );
}
