import { GUID_PATTERN } from '../../domain/formats.ts';
import { SIGN_IN_PROPERTIES } from '../../domain/sign-in.ts';
import type { Queryable } from '../pool.ts';

// The package's largest sections (sign-ins, drive activity: up to millions of rows per subject)
// rendered by PostgreSQL inside the export's snapshot and streamed out with COPY … TO STDOUT:
// each row is a finished line of the JSON or CSV file, so the worker parses no rows and builds
// no objects or strings per record; it only moves bytes (and scrubs secrets, see render-plan.ts).
// Reading rows through a cursor cost the worker a second per 55,000 sign-ins before any
// rendering, and parsing and re-serialising them in JavaScript several more. A sign-in keeps the
// shape the API gives it (src/domain/sign-in.ts toGraphSignIn), drive activity Graph's
// driveActivity: same keys in the same order, same values, same CSV cells (csvCell's formula
// neutralisation and quoting); only the whitespace inside nested objects follows PostgreSQL's
// jsonb text. test/export-record-texts.test.ts compares them with a row-by-row JavaScript
// reference (test/support/record-references.ts).

/** A record as PostgreSQL renders it: its JSON text. */
export interface RecordText {
  json: string;
}

/** graphDateTime (src/domain/formats.ts) in SQL: ISO 8601 UTC, milliseconds, none when zero. */
function graphDateTimeSql(column: string): string {
  return `regexp_replace(to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), '\\.000Z$', 'Z')`;
}

/** A property name as it may go into SQL text; anything else is refused. */
function plainName(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`not a plain property name: ${name}`);
  return name;
}

/** The sign-in properties the columns hold (they are the truth for them), as SQL text. */
const SIGN_IN_COLUMNS = new Map([
  ['id', 's.id::text'],
  ['userId', 's.user_id::text'],
  ['createdDateTime', graphDateTimeSql('s.created_at')],
]);

/** A uuid as an SQL literal (COPY takes no parameters); anything else is refused. */
function uuidLiteral(id: string): string {
  if (!GUID_PATTERN.test(id)) throw new Error('not a uuid');
  return `'${id}'::uuid`;
}

/**
 * csvCell (src/domain/package-plan.ts) in SQL for a text value `t`: null as empty, a leading
 * formula character (= + - @ tab CR) neutralised with a quote, RFC 4180 quoting when the text
 * holds a quote, comma, CR or LF. The formula test reads `t` itself: doubling quotes never turns
 * its first character into or out of a formula one.
 */
function csvTextSql(t: string): string {
  const neutral = (x: string) => `case when left(${t}, 1) in ('=', '+', '-', '@', E'\\t', E'\\r') then '''' || ${x} else ${x} end`;
  // Four strpos cost PostgreSQL less per cell than one regular expression match.
  const quoted = `strpos(${t}, '"') + strpos(${t}, ',') + strpos(${t}, E'\\r') + strpos(${t}, E'\\n') > 0`;
  return `case when ${quoted} then '"' || ${neutral(`replace(${t}, '"', '""')`)} || '"' else coalesce(${neutral(t)}, '') end`;
}

/**
 * A sign-in's CSV cell `i`: pick's value (numbers and booleans as they are, any other value as
 * text), from the row's values (`v.c<i>`) and JSON types (`v.t<i>`) read once (signInCsvCopy).
 */
function signInCellSql(path: string, i: number): { values: string; cell: string } {
  const column = SIGN_IN_COLUMNS.get(path);
  if (column) return { values: `${column} as c${i}`, cell: `v.c${i}` };
  const at = `'{${path.split('.').map(plainName).join(',')}}'`;
  return {
    values: `s.data #>> ${at} as c${i}, jsonb_typeof(s.data #> ${at}) as t${i}`,
    cell: `case when v.t${i} in ('number', 'boolean') then v.c${i} else ${csvTextSql(`v.c${i}`)} end`,
  };
}

/** A sign-in property's JSON text: the columns' values are uuids and a date-time, JSON strings without escapes. */
function signInJsonValueSql(property: string): string {
  const column = SIGN_IN_COLUMNS.get(property);
  return column ? `'"' || ${column} || '"'` : `coalesce((s.data -> '${plainName(property)}')::text, 'null')`;
}

// Graph's properties in Graph's order (null when the import did not carry one), then whatever
// else the import carried, in the stored (jsonb) order: what toGraphSignIn builds. The object is
// concatenated as text (row_to_json's bytes): building a row of 25 jsonb values for row_to_json
// cost PostgreSQL twice as much per sign-in.
const SIGN_IN_KNOWN = `'{' || ${SIGN_IN_PROPERTIES.map((p, i) => `'${i === 0 ? '' : ','}"${p}":' || ${signInJsonValueSql(p)}`).join(' || ')} || '}'`;
const SIGN_IN_JSON = `case when x.extra = '{}'::jsonb then x.known else left(x.known, -1) || ',' || substr(x.extra::text, 2) end`;
const SIGN_IN_FROM = `from sign_ins s,
    lateral (select ${SIGN_IN_KNOWN} as known, s.data - array[${SIGN_IN_PROPERTIES.map((p) => `'${p}'`).join(', ')}]::text[] as extra) x`;
const SIGN_IN_ORDER = 'order by s.created_at, s.id';

/** The subject's first `n` sign-ins as Graph signIn JSON texts (index.html's preview). */
export async function firstSignInTexts(q: Queryable, tenantId: string, userId: string, n: number): Promise<RecordText[]> {
  const { rows } = await q.query<RecordText>(
    `select ${SIGN_IN_JSON} as json ${SIGN_IN_FROM} where s.tenant_id = $1 and s.user_id = $2 ${SIGN_IN_ORDER} limit $3`,
    [tenantId, userId, n],
  );
  return rows;
}

/** Whether the subject has at least `n` sign-ins: reads at most n index entries. */
export async function signInsAtLeast(q: Queryable, tenantId: string, userId: string, n: number): Promise<boolean> {
  const { rows } = await q.query<{ more: boolean }>('select exists (select from sign_ins s where s.tenant_id = $1 and s.user_id = $2 offset $3) as more', [
    tenantId,
    userId,
    n - 1,
  ]);
  return rows[0]!.more;
}

/**
 * COPY of the subject's sign-ins as the lines of SignIns.json's value: four spaces, the record,
 * a comma (the caller drops the last one). Oldest first.
 */
export function signInJsonCopy(tenantId: string, userId: string): string {
  return `copy (select '    ' || ${SIGN_IN_JSON} || ',' ${SIGN_IN_FROM}
    where s.tenant_id = ${uuidLiteral(tenantId)} and s.user_id = ${uuidLiteral(userId)} ${SIGN_IN_ORDER}) to stdout`;
}

/** COPY of the subject's sign-ins as SignIns.csv's lines (with their CR; COPY ends each with LF), in signInJsonCopy's order. */
export function signInCsvCopy(tenantId: string, userId: string, columns: readonly string[]): string {
  // Each value is read out of the row once ("offset 0" keeps the planner from inlining the
  // lateral's expressions into every place a cell names them).
  const cells = columns.map(signInCellSql);
  return `copy (select ${cells.map((c) => c.cell).join(` || ',' || `)} || E'\\r'
    from sign_ins s, lateral (select ${cells.map((c) => c.values).join(', ')} offset 0) v
    where s.tenant_id = ${uuidLiteral(tenantId)} and s.user_id = ${uuidLiteral(userId)} ${SIGN_IN_ORDER}) to stdout`;
}

/** Which drive activity: on the subject's drive, or by the subject on other drives. */
export type ActivityScope = 'ownDrive' | 'byActorElsewhere';

// Drive activity. Other actors' IP address and user agent are left out when `redact` (the
// tenant's redactOtherActors) is set, as the audits' redaction does (redaction.ts): an actor is the
// subject only when its user id is a string equal to the subject's id, case aside.
function activitySql(scope: ActivityScope, tenantId: string, userId: string, redact: boolean) {
  const subject = uuidLiteral(userId);
  const other = redact ? `not coalesce(jsonb_typeof(a.actor #> '{user,id}') = 'string' and lower(a.actor #>> '{user,id}') = ${subject}::text, false)` : 'false';
  const where =
    scope === 'ownDrive'
      ? `a.tenant_id = ${uuidLiteral(tenantId)} and a.user_id = ${subject}`
      : `a.tenant_id = ${uuidLiteral(tenantId)} and a.actor -> 'user' ->> 'id' = ${subject}::text and a.user_id <> ${subject}`;
  return {
    clientIp: `case when ${other} then null else a.client_ip end`,
    userAgent: `case when ${other} then null else a.user_agent end`,
    where,
    fromWhere: `from drive_activities a where ${where} order by a.activity_at, a.id`,
  };
}

function activityJsonSql(sql: ReturnType<typeof activitySql>): string {
  return `(select row_to_json(r) from (select a.id as "id", ${graphDateTimeSql('a.activity_at')} as "activityDateTime",
    a.activity_type as "activityType", a.actor as "actor", a.item_id as "itemId", a.item_path as "itemPath",
    ${sql.clientIp} as "clientIp", ${sql.userAgent} as "userAgent", a.app_id as "appId") r)::text`;
}

/** The first `n` records of drive activity as Graph driveActivity JSON texts (index.html's preview). */
export async function firstActivityTexts(
  q: Queryable,
  scope: ActivityScope,
  tenantId: string,
  userId: string,
  redact: boolean,
  n: number,
): Promise<RecordText[]> {
  const sql = activitySql(scope, tenantId, userId, redact);
  const { rows } = await q.query<RecordText>(`select ${activityJsonSql(sql)} as json ${sql.fromWhere} limit $1`, [n]);
  return rows;
}

/** Whether there are at least `n` records of drive activity in `scope`. */
export async function activityAtLeast(q: Queryable, scope: ActivityScope, tenantId: string, userId: string, n: number): Promise<boolean> {
  const { where } = activitySql(scope, tenantId, userId, false);
  const { rows } = await q.query<{ more: boolean }>(`select exists (select from drive_activities a where ${where} offset $1) as more`, [n - 1]);
  return rows[0]!.more;
}

/** COPY of drive activity as the lines of its JSON file's value (as signInJsonCopy), oldest first. */
export function activityJsonCopy(scope: ActivityScope, tenantId: string, userId: string, redact: boolean): string {
  const sql = activitySql(scope, tenantId, userId, redact);
  return `copy (select '    ' || ${activityJsonSql(sql)} || ',' ${sql.fromWhere}) to stdout`;
}

// The CSV's actor columns: the acting user's (else the application's) id, and the name
// of the user, else the application, else the actor itself (displayName, userPrincipalName or id).
const ACTOR_ID = `coalesce(case when a.actor ? 'user' then a.actor -> 'user' else a.actor -> 'application' end ->> 'id', '')`;
const WHO = `coalesce(nullif(a.actor -> 'user', 'null'::jsonb), nullif(a.actor -> 'application', 'null'::jsonb), a.actor)`;
const NAME = `coalesce(nullif(${WHO} -> 'displayName', 'null'::jsonb), nullif(${WHO} -> 'userPrincipalName', 'null'::jsonb), nullif(${WHO} -> 'id', 'null'::jsonb))`;
const ACTOR_NAME = `case when jsonb_typeof(${NAME}) = 'string' then ${NAME} #>> '{}' else '' end`;

/** COPY of drive activity as its CSV file's lines (ACTIVITY_CSV_COLUMNS; CR, COPY adds LF), in activityJsonCopy's order. */
export function activityCsvCopy(scope: ActivityScope, tenantId: string, userId: string, redact: boolean): string {
  const sql = activitySql(scope, tenantId, userId, redact);
  const cells = [
    'a.id::text',
    graphDateTimeSql('a.activity_at'),
    'a.activity_type',
    `(${ACTOR_ID})`,
    `(${ACTOR_NAME})`,
    'a.item_id::text',
    'a.item_path',
    `(${sql.clientIp})`,
    `(${sql.userAgent})`,
    'a.app_id',
  ];
  // Each value is computed once per row (see signInCsvCopy).
  return `copy (select ${cells.map((_, i) => csvTextSql(`v.c${i}`)).join(` || ',' || `)} || E'\\r'
    from drive_activities a, lateral (select ${cells.map((c, i) => `${c} as c${i}`).join(', ')} offset 0) v
    where ${sql.where} order by a.activity_at, a.id) to stdout`;
}
