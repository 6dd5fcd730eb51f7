import { GraphError } from '../../../graph-error.ts';
import { decodeSkipToken, encodeSkipToken, GUID_PATTERN } from '../../odata.ts';

// PostgreSQL's text form of a timestamptz ("2026-11-28 12:00:00.123456+00"): microseconds kept,
// which a JS Date would truncate, so that rows sharing a millisecond are neither skipped nor repeated.
const PG_TIMESTAMPTZ = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?:\.\d{1,6})?[+-]\d{2}(?::\d{2}){0,2}$/;

/** The keyset of the audit-log lists: (time as PostgreSQL text, id) of the last row served. */
export function encodeAuditCursor(last: { cursor_at: string; id: string }): string {
  return encodeSkipToken([last.cursor_at, last.id]);
}

export function decodeAuditCursor(raw: string | undefined): { at: string; id: string } | undefined {
  const cursor = decodeSkipToken(raw, 2) as [string, string] | undefined;
  if (!cursor) return undefined;
  if (!PG_TIMESTAMPTZ.test(cursor[0]) || !GUID_PATTERN.test(cursor[1])) {
    throw GraphError.badRequest('Invalid $skiptoken: use the @odata.nextLink of the previous page as it is.');
  }
  return { at: cursor[0], id: cursor[1] };
}
