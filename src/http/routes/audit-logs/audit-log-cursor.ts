import { decodeSkipToken, encodeSkipToken, GUID_PATTERN } from '../../odata.ts';

// PostgreSQL's text form of a timestamptz ("2026-11-28 12:00:00.123456+00"): microseconds kept,
// which a JS Date would truncate, so that rows sharing a millisecond are neither skipped nor repeated.
const PG_TIMESTAMPTZ = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?:\.\d{1,6})?[+-]\d{2}(?::\d{2}){0,2}$/;

/** The keyset of the audit-log lists: (time as PostgreSQL text, id) of the last row served. */
export function encodeAuditCursor(last: { cursor_at: string; id: string }): string {
  return encodeSkipToken([last.cursor_at, last.id]);
}

export function decodeAuditCursor(raw: string | undefined): { at: string; id: string } | undefined {
  const cursor = decodeSkipToken(raw, 2, ([at, id]) => PG_TIMESTAMPTZ.test(at!) && GUID_PATTERN.test(id!));
  return cursor && { at: cursor[0]!, id: cursor[1]! };
}
