import { graphDateTime, GUID_PATTERN } from './formats.ts';

/** A sign-in as stored: the indexed columns plus the Graph signIn JSON as imported (normalised). */
export interface SignInRow {
  tenant_id: string;
  id: string;
  user_id: string;
  created_at: Date;
  data: Record<string, unknown>;
}

/** What goes into sign_ins: `data` already carries the normalised id, userId and createdDateTime. */
export interface NewSignIn {
  id: string;
  userId: string;
  createdAt: Date;
  data: Record<string, unknown>;
}

/**
 * Graph's signIn properties (v1.0), in Graph's order. Listings render every one of them (null
 * when the import did not carry it), so SDK models see the shape they expect; properties an
 * import carried beyond these (beta-only ones, for instance) follow them unchanged.
 */
export const SIGN_IN_PROPERTIES = [
  'id',
  'createdDateTime',
  'userDisplayName',
  'userPrincipalName',
  'userId',
  'appId',
  'appDisplayName',
  'ipAddress',
  'clientAppUsed',
  'correlationId',
  'conditionalAccessStatus',
  'isInteractive',
  'riskDetail',
  'riskLevelAggregated',
  'riskLevelDuringSignIn',
  'riskState',
  'riskEventTypes',
  'riskEventTypes_v2',
  'resourceDisplayName',
  'resourceId',
  'status',
  'deviceDetail',
  'location',
  'appliedConditionalAccessPolicies',
] as const;

export function toGraphSignIn(row: SignInRow): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const p of SIGN_IN_PROPERTIES) out[p] = null;
  Object.assign(out, row.data);
  // The columns are the truth for the keys the service filters and pages on.
  out.id = row.id;
  out.userId = row.user_id;
  out.createdDateTime = graphDateTime(row.created_at);
  return out;
}

// ISO 8601 date-time with an explicit offset; Graph's DateTimeOffset always carries one, and a
// local time would be read in whatever zone the importing machine happens to be in.
const ISO_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,7})?)?(?:Z|[+-]\d{2}:\d{2})$/i;

/** Parses Graph's DateTimeOffset text; undefined when it is not a real ISO 8601 instant. */
export function parseIsoDateTime(value: unknown): Date | undefined {
  if (typeof value !== 'string') return undefined;
  const m = ISO_DATE_TIME.exec(value);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4], m[5], m[6] ?? '0'].map(Number) as [number, number, number, number, number, number];
  // Date.parse rolls 2024-02-30 over into March; a calendar check refuses it instead.
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth || hour > 23 || minute > 59 || second > 59) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : new Date(ms);
}

const STRING_PROPERTIES = [
  'userDisplayName',
  'userPrincipalName',
  'appId',
  'appDisplayName',
  'ipAddress',
  'clientAppUsed',
  'correlationId',
  'conditionalAccessStatus',
  'riskDetail',
  'riskLevelAggregated',
  'riskLevelDuringSignIn',
  'riskState',
  'resourceDisplayName',
  'resourceId',
];
const OBJECT_PROPERTIES = ['status', 'deviceDetail', 'location'];
const ARRAY_PROPERTIES = ['riskEventTypes', 'riskEventTypes_v2', 'appliedConditionalAccessPolicies'];

/** A signIn line that passed the checks that need no database; the user is resolved later. */
export interface ParsedSignIn {
  id: string;
  createdAt: Date;
  /** Lowercased object id, when the line has one. */
  userId: string | undefined;
  userPrincipalName: string | undefined;
  data: Record<string, unknown>;
}

/**
 * Checks one JSON line of a sign-in import: a Graph signIn object with `id` (GUID),
 * `createdDateTime` (ISO 8601 with offset) and `userId` and/or `userPrincipalName`; the other
 * Graph properties, when present, must have Graph's types. Returns the problem as text.
 */
export function parseSignInLine(line: string): ParsedSignIn | string {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    return `not valid JSON (${(err as Error).message})`;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not a JSON object';
  const record = value as Record<string, unknown>;
  if (typeof record.id !== 'string' || !GUID_PATTERN.test(record.id)) return 'id is missing or not a GUID';
  const createdAt = parseIsoDateTime(record.createdDateTime);
  if (!createdAt) return 'createdDateTime is missing or not an ISO 8601 date-time with an offset (e.g. 2026-11-28T12:00:00Z)';
  const { userId, userPrincipalName } = record;
  if (userId !== undefined && userId !== null && (typeof userId !== 'string' || !GUID_PATTERN.test(userId))) return 'userId is not a GUID';
  if (userPrincipalName !== undefined && userPrincipalName !== null && (typeof userPrincipalName !== 'string' || userPrincipalName === '')) {
    return 'userPrincipalName is not a non-empty string';
  }
  if (!userId && !userPrincipalName) return 'userId or userPrincipalName is required';
  for (const p of STRING_PROPERTIES) {
    if (record[p] !== undefined && record[p] !== null && typeof record[p] !== 'string') return `${p} must be a string`;
  }
  for (const p of OBJECT_PROPERTIES) {
    const v = record[p];
    if (v !== undefined && v !== null && (typeof v !== 'object' || Array.isArray(v))) return `${p} must be an object`;
  }
  for (const p of ARRAY_PROPERTIES) {
    if (record[p] !== undefined && record[p] !== null && !Array.isArray(record[p])) return `${p} must be an array`;
  }
  if (record.isInteractive !== undefined && record.isInteractive !== null && typeof record.isInteractive !== 'boolean') {
    return 'isInteractive must be a boolean';
  }
  const status = record.status as Record<string, unknown> | null | undefined;
  if (status && status.errorCode !== undefined && status.errorCode !== null && !Number.isInteger(status.errorCode)) {
    return 'status.errorCode must be an integer';
  }
  return {
    id: record.id.toLowerCase(),
    createdAt,
    userId: typeof userId === 'string' ? userId.toLowerCase() : undefined,
    userPrincipalName: typeof userPrincipalName === 'string' ? userPrincipalName : undefined,
    data: record,
  };
}

/** The row to store once the user is known: `data` is normalised so that it agrees with the columns. */
export function toNewSignIn(parsed: ParsedSignIn, userId: string): NewSignIn {
  // '@odata.*' annotations belong to the response that carried the record, not to the record.
  const data = Object.fromEntries(Object.entries(parsed.data).filter(([k]) => !k.startsWith('@odata.')));
  return {
    id: parsed.id,
    userId,
    createdAt: parsed.createdAt,
    data: { ...data, id: parsed.id, userId, createdDateTime: graphDateTime(parsed.createdAt) },
  };
}
