import { GraphError } from '../graph-error.ts';

/** One `path eq 'value'` term of a $filter; terms are joined by `and`. */
export interface FilterTerm {
  readonly property: string;
  readonly value: string;
}

/** The property name a `targetResources/any(t: t/id eq '…')` term is reported under. */
export const ANY_TARGET_ID = 'targetResources/any/id';

const EQ_TERM = /^\s*([A-Za-z][A-Za-z0-9/]*)\s+eq\s+'((?:[^']|'')*)'\s*/;
// Graph's lambda form, with any range variable name: targetResources/any(t: t/id eq '…').
const ANY_TARGET_TERM = /^\s*targetResources\/any\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*:\s*\1\/id\s+eq\s+'((?:[^']|'')*)'\s*\)\s*/;

/**
 * Parses the $filter subset the service supports: `prop eq 'value'` terms over `allowed`
 * (property paths like `initiatedBy/user/id` allowed) and, with `anyTarget`, Graph's
 * `targetResources/any(t: t/id eq '…')`, joined by `and`. Anything else is a 400, never ignored,
 * so a caller never mistakes an unfiltered page for a filtered one; so is a property given twice
 * (two values could only ever match nothing).
 */
export function parseFilter(raw: string | undefined, allowed: readonly string[], opts: { anyTarget?: boolean } = {}): FilterTerm[] {
  if (raw === undefined) return [];
  const supported = [...allowed.map((p) => `${p} eq '…'`), ...(opts.anyTarget ? ["targetResources/any(t: t/id eq '…')"] : [])];
  const terms: FilterTerm[] = [];
  let rest = raw;
  for (;;) {
    const any = opts.anyTarget ? ANY_TARGET_TERM.exec(rest) : null;
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

/** $select: a subset of the entity's properties, in the entity's order; undefined = all. */
export function parseSelect(raw: string | undefined, properties: readonly string[]): string[] | undefined {
  if (raw === undefined) return undefined;
  const wanted = raw.split(',').map((s) => s.trim()).filter(Boolean);
  if (wanted.length === 0) throw GraphError.badRequest('Invalid $select: it names no property.');
  const unknown = wanted.filter((w) => !properties.includes(w));
  if (unknown.length > 0) throw GraphError.badRequest(`Invalid $select: could not find a property named '${unknown[0]}'.`);
  return properties.filter((p) => wanted.includes(p));
}

export function parseTop(raw: string | undefined, fallback: number, max: number): number {
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw)) throw GraphError.badRequest(`Invalid $top: "${raw}" is not a positive integer.`);
  const n = Number(raw);
  if (n < 1 || n > max) throw GraphError.badRequest(`Invalid $top: must be between 1 and ${max}.`);
  return n;
}

/** $skiptoken is opaque to callers: base64url of the keyset cursor. */
export function encodeSkipToken(cursor: readonly unknown[]): string {
  return Buffer.from(JSON.stringify(cursor)).toString('base64url');
}

export function decodeSkipToken(raw: string | undefined, arity: number): unknown[] | undefined {
  if (raw === undefined) return undefined;
  try {
    const cursor = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(cursor) && cursor.length === arity && cursor.every((c) => typeof c === 'string')) return cursor;
  } catch {
    // fall through to the 400
  }
  throw GraphError.badRequest('Invalid $skiptoken: use the @odata.nextLink of the previous page as it is.');
}

/** Applies $select to a Graph entity; @odata.* annotations are kept. */
export function selectProperties<T extends Record<string, unknown>>(entity: T, select: readonly string[] | undefined): Record<string, unknown> {
  if (!select) return entity;
  return Object.fromEntries(Object.entries(entity).filter(([k]) => k.startsWith('@odata.') || select.includes(k)));
}

/** The query options a list route accepts; any other `$`-option is a 400. */
export function rejectUnknownOptions(query: Record<string, unknown>, supported: readonly string[]): void {
  for (const key of Object.keys(query)) {
    if (key.startsWith('$') && !supported.includes(key)) {
      throw GraphError.badRequest(`Query option '${key}' is not supported on this resource.`);
    }
    if (Array.isArray(query[key])) throw GraphError.badRequest(`Query option '${key}' is given more than once.`);
  }
}

/** Graph's DateTimeOffset text: ISO 8601 UTC, no fraction when it is zero. */
export function graphDateTime(d: Date | null | undefined): string | null {
  if (!d) return null;
  return d.toISOString().replace(/\.000Z$/, 'Z');
}

export const GUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
