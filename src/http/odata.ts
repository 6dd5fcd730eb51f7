import { GUID_PATTERN } from '../domain/formats.ts';
import { GraphError } from '../graph-error.ts';

export type FilterOperator = 'eq' | 'ge' | 'gt' | 'le' | 'lt' | 'startswith';

/** One term of a $filter; terms are joined by `and`. */
export interface FilterTerm {
  readonly property: string;
  readonly value: string;
  readonly operator: FilterOperator;
}

/** The property name a `targetResources/any(t: t/id eq '…')` term is reported under. */
export const ANY_TARGET_ID = 'targetResources/any/id';

const EQ_TERM = /^\s*([A-Za-z][A-Za-z0-9/]*)\s+eq\s+'((?:[^']|'')*)'\s*/;
// Graph's lambda form, with any range variable name: targetResources/any(t: t/id eq '…').
const ANY_TARGET_TERM = /^\s*targetResources\/any\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*:\s*\1\/id\s+eq\s+'((?:[^']|'')*)'\s*\)\s*/;
// OData DateTimeOffset literals are unquoted: createdDateTime ge 2026-11-01T00:00:00Z.
const DATE_TERM = /^\s*([A-Za-z][A-Za-z0-9/]*)\s+(eq|ge|gt|le|lt)\s+(\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,7})?)?(?:Z|[+-]\d{2}:\d{2}))?)\s*/i;
const STARTSWITH_TERM = /^\s*startswith\(\s*([A-Za-z][A-Za-z0-9/]*)\s*,\s*'((?:[^']|'')*)'\s*\)\s*/i;

export interface FilterOptions {
  /** Accept Graph's `targetResources/any(t: t/id eq '…')`. */
  anyTarget?: boolean;
  /** DateTimeOffset properties compared with eq, ge, gt, le or lt. */
  dates?: readonly string[];
  /** String properties that also take `startswith(prop, '…')`. */
  startsWith?: readonly string[];
}

/**
 * Parses the $filter subset the service supports: `prop eq 'value'` terms over `allowed`
 * (property paths like `initiatedBy/user/id` allowed), date comparisons over `dates`,
 * `startswith(prop, '…')` over `startsWith` and, with `anyTarget`, Graph's
 * `targetResources/any(t: t/id eq '…')`, joined by `and`. Anything else is a 400, never ignored,
 * so a caller never mistakes an unfiltered page for a filtered one; so is a property given twice
 * with one operator (two values could only ever match nothing).
 */
export function parseFilter(raw: string | undefined, allowed: readonly string[], opts: FilterOptions = {}): FilterTerm[] {
  if (raw === undefined) return [];
  const supported = [
    ...allowed.map((p) => `${p} eq '…'`),
    ...(opts.dates ?? []).map((p) => `${p} ge|gt|le|lt|eq {DateTimeOffset}`),
    ...(opts.startsWith ?? []).map((p) => `startswith(${p}, '…')`),
    ...(opts.anyTarget ? ["targetResources/any(t: t/id eq '…')"] : []),
  ];
  const terms: FilterTerm[] = [];
  let rest = raw;
  for (;;) {
    const term = readTerm(rest, opts);
    if (!term) throw GraphError.badRequest(`Invalid $filter: "${raw}". Supported: ${supported.join(', ')}, joined by "and".`);
    const { property, operator } = term;
    const known =
      term.any || (operator === 'eq' && !term.date ? allowed : operator === 'startswith' ? (opts.startsWith ?? []) : (opts.dates ?? [])).includes(property);
    if (!known) {
      throw GraphError.badRequest(`Invalid $filter: property "${property}" cannot be filtered on that way; supported: ${supported.join(', ')}.`);
    }
    if (terms.some((t) => t.property === property && t.operator === operator)) {
      throw GraphError.badRequest(`Invalid $filter: "${property}" is given more than once.`);
    }
    terms.push({ property, operator, value: term.value });
    rest = rest.slice(term.length);
    if (rest === '') return terms;
    const and = /^and\s+/i.exec(rest);
    if (!and) throw GraphError.badRequest(`Invalid $filter: unexpected "${rest}".`);
    rest = rest.slice(and[0].length);
  }
}

function readTerm(rest: string, opts: FilterOptions) {
  const any = opts.anyTarget ? ANY_TARGET_TERM.exec(rest) : null;
  if (any) return { property: ANY_TARGET_ID, operator: 'eq' as const, value: any[2]!.replace(/''/g, "'"), length: any[0].length, any: true, date: false };
  const starts = STARTSWITH_TERM.exec(rest);
  if (starts)
    return { property: starts[1]!, operator: 'startswith' as const, value: starts[2]!.replace(/''/g, "'"), length: starts[0].length, any: false, date: false };
  const date = DATE_TERM.exec(rest);
  if (date) {
    return { property: date[1]!, operator: date[2]!.toLowerCase() as FilterOperator, value: date[3]!, length: date[0].length, any: false, date: true };
  }
  const eq = EQ_TERM.exec(rest);
  if (eq) return { property: eq[1]!, operator: 'eq' as const, value: eq[2]!.replace(/''/g, "'"), length: eq[0].length, any: false, date: false };
  return undefined;
}

/** The bounds the date terms on `property` set; an `eq` is both `ge` and `le`. */
export interface DateBounds {
  ge?: Date;
  gt?: Date;
  le?: Date;
  lt?: Date;
}

export function dateBounds(terms: readonly FilterTerm[], property: string): DateBounds {
  const bounds: DateBounds = {};
  for (const t of terms) {
    if (t.property !== property || t.operator === 'startswith') continue;
    const at = new Date(t.value.length === 10 ? `${t.value}T00:00:00Z` : t.value);
    if (Number.isNaN(at.getTime())) throw GraphError.badRequest(`Invalid $filter: ${t.value} is not a valid DateTimeOffset.`);
    if (t.operator === 'eq') {
      bounds.ge = at;
      bounds.le = at;
    } else {
      bounds[t.operator] = at;
    }
  }
  return bounds;
}

/** `$orderby` on one date property, ascending or descending (the lists' default: newest first). */
export function parseDateOrderBy(raw: string | undefined, property: string): 'asc' | 'desc' {
  if (raw === undefined) return 'desc';
  const m = /^\s*([A-Za-z]+)(?:\s+(asc|desc))?\s*$/i.exec(raw);
  if (!m || m[1] !== property) throw GraphError.badRequest(`Invalid $orderby: only "${property}" with asc or desc is supported.`);
  return (m[2]?.toLowerCase() ?? 'asc') as 'asc' | 'desc';
}

/** A GUID filter value, lowercased as ids are stored; anything else is a 400 rather than an empty page. */
export function guidFilterValue(property: string, value: string): string {
  if (!GUID_PATTERN.test(value)) throw GraphError.badRequest(`Invalid $filter: ${property} must be a GUID.`);
  return value.toLowerCase();
}

/** $select: a subset of the entity's properties, in the entity's order; undefined = all. */
export function parseSelect(raw: string | undefined, properties: readonly string[]): string[] | undefined {
  if (raw === undefined) return undefined;
  const wanted = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
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

/**
 * The keyset a $skiptoken carries: `arity` strings that `valid` accepts. A forged one is a 400,
 * never a database error (a non-uuid id, a NUL in text, a bad timestamp would be a 500 there).
 */
export function decodeSkipToken(raw: string | undefined, arity: number, valid: (cursor: string[]) => boolean = () => true): string[] | undefined {
  if (raw === undefined) return undefined;
  try {
    const cursor = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(cursor) && cursor.length === arity && cursor.every((c) => typeof c === 'string') && valid(cursor)) return cursor;
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

// The routes take every OData helper and the formats they render from this one module.
export { graphDateTime, GUID_PATTERN } from '../domain/formats.ts';
