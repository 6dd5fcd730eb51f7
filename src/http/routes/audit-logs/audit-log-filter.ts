import { GraphError } from '../../../graph-error.ts';
import { decodeSkipToken, encodeSkipToken, GUID_PATTERN, type FilterTerm } from '../../odata.ts';

/** The property name a `targetResources/any(t: t/id eq '…')` term is reported under. */
export const ANY_TARGET_ID = 'targetResources/any/id';

const EQ_TERM = /^\s*([A-Za-z][A-Za-z0-9/]*)\s+eq\s+'((?:[^']|'')*)'\s*/;
// Graph's lambda form, with any range variable name: targetResources/any(t: t/id eq '…').
const ANY_TARGET_TERM = /^\s*targetResources\/any\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*:\s*\1\/id\s+eq\s+'((?:[^']|'')*)'\s*\)\s*/;

/**
 * The $filter subset of the audit-log lists: `prop eq '…'` terms over `allowed` and, when
 * `allowAnyTarget`, Graph's `targetResources/any(t: t/id eq '…')`, joined by `and`. Like
 * odata.ts's parseFilter, anything else is a 400, and so is a property given twice (two
 * different values could only ever match nothing).
 */
export function parseAuditLogFilter(raw: string | undefined, allowed: readonly string[], allowAnyTarget: boolean): FilterTerm[] {
  if (raw === undefined) return [];
  const supported = [...allowed.map((p) => `${p} eq '…'`), ...(allowAnyTarget ? ["targetResources/any(t: t/id eq '…')"] : [])];
  const terms: FilterTerm[] = [];
  let rest = raw;
  for (;;) {
    const any = allowAnyTarget ? ANY_TARGET_TERM.exec(rest) : null;
    const m = any ?? EQ_TERM.exec(rest);
    if (!m) throw GraphError.badRequest(`Invalid $filter: "${raw}". Supported: ${supported.join(', ')}, joined by "and".`);
    const property = any ? ANY_TARGET_ID : m[1]!;
    if (!any && !allowed.includes(property)) {
      throw GraphError.badRequest(`Invalid $filter: property "${property}" cannot be filtered on; supported: ${supported.join(', ')}.`);
    }
    if (terms.some((t) => t.property === property)) throw GraphError.badRequest(`Invalid $filter: "${property}" is given more than once.`);
    terms.push({ property, value: m[2]!.replace(/''/g, "'") });
    rest = rest.slice(m[0].length);
    if (rest === '') return terms;
    const and = /^and\s+/i.exec(rest);
    if (!and) throw GraphError.badRequest(`Invalid $filter: unexpected "${rest}".`);
    rest = rest.slice(and[0].length);
  }
}

/** A GUID filter value, lowercased as ids are stored; anything else is a 400 rather than an empty page. */
export function guidFilterValue(property: string, value: string): string {
  if (!GUID_PATTERN.test(value)) throw GraphError.badRequest(`Invalid $filter: ${property} must be a GUID.`);
  return value.toLowerCase();
}

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
