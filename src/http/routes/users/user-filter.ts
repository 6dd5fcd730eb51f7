import { GraphError } from '../../../graph-error.ts';
import type { UserListFilter, UserMatchColumn } from '../../../db/queries/users.ts';

// The user properties a look-up may match, and their columns; nothing else reaches SQL.
const COLUMNS: Record<string, UserMatchColumn> = {
  userPrincipalName: 'user_principal_name',
  displayName: 'display_name',
  mail: 'mail',
  givenName: 'given_name',
  surname: 'surname',
};
const NAMES = Object.keys(COLUMNS).join(', ');
// OData string literals: a quote inside is written twice ('o''brien').
const STARTSWITH = /^\s*startswith\(\s*([A-Za-z]+)\s*,\s*'((?:[^']|'')*)'\s*\)\s*/i;
const UPN_EQ = /^\s*userPrincipalName\s+eq\s+'((?:[^']|'')*)'\s*/;
const SUPPORTED = `userPrincipalName eq '…' or startswith(property, '…') terms joined by "or" (or all by "and"), property one of ${NAMES}`;

/**
 * The users list's $filter: an exact `userPrincipalName eq '…'`, or `startswith(prop, '…')` terms
 * joined all by `or` (a look-up by name or partial mail, as the console does) or all by `and`.
 * Matching is case-insensitive, as in Microsoft Entra ID. Anything else is a 400.
 */
export function parseUserFilter(raw: string | undefined): UserListFilter {
  if (raw === undefined) return {};
  const bad = (why: string) => GraphError.badRequest(`Invalid $filter: ${why}. Supported: ${SUPPORTED}.`);
  const prefixes: { column: UserMatchColumn; prefix: string }[] = [];
  let upn: string | undefined;
  let joiner: 'and' | 'or' | undefined;
  let rest = raw;
  for (;;) {
    const eq = UPN_EQ.exec(rest);
    const starts = eq ? null : STARTSWITH.exec(rest);
    if (eq) {
      if (upn !== undefined) throw bad('userPrincipalName eq is given more than once');
      upn = eq[1]!.replace(/''/g, "'");
    } else if (starts) {
      const column = Object.hasOwn(COLUMNS, starts[1]!) ? COLUMNS[starts[1]!] : undefined;
      if (!column) throw bad(`startswith on "${starts[1]}" is not supported`);
      const prefix = starts[2]!.replace(/''/g, "'");
      if (prefix === '') throw bad('startswith needs a non-empty prefix');
      prefixes.push({ column, prefix });
    } else {
      throw bad(`"${raw}" is not understood`);
    }
    rest = rest.slice((eq ?? starts)![0].length);
    if (rest === '') break;
    const join = /^(and|or)\s+/i.exec(rest);
    if (!join) throw bad(`unexpected "${rest}"`);
    const word = join[1]!.toLowerCase() as 'and' | 'or';
    if (joiner && joiner !== word) throw bad('"and" and "or" cannot be mixed');
    joiner = word;
    rest = rest.slice(join[0].length);
  }
  if (upn !== undefined && joiner === 'or') throw bad('userPrincipalName eq cannot be joined by "or"');
  if (prefixes.length > 10) throw bad('at most 10 startswith terms');
  return { ...(upn !== undefined ? { upn } : {}), ...(prefixes.length > 0 ? { prefixes, anyPrefix: joiner !== 'and' } : {}) };
}

const SEARCH_CLAUSE = /^\s*"([A-Za-z]+):([^"]*)"\s*/;

/**
 * The users list's $search, Graph's advanced query: `"property:text"` clauses joined all by OR or
 * all by AND, over the same properties as startswith. Like Entra ID it needs the
 * `ConsistencyLevel: eventual` header, and it matches the start of any word of the value (words
 * split at anything not a letter or digit), case-insensitively: "displayName:iva" finds
 * "Grace Ivanova", "mail:grace.iv" finds grace.ivanova@….
 */
export function parseUserSearch(raw: string | undefined, consistencyLevel: unknown): Pick<UserListFilter, 'words' | 'anyWord'> {
  if (raw === undefined) return {};
  if (typeof consistencyLevel !== 'string' || consistencyLevel.toLowerCase() !== 'eventual') {
    throw new GraphError(
      400,
      'Request_UnsupportedQuery',
      "Request with $search query parameter only works through MSGraph with a special request header: 'ConsistencyLevel: eventual'",
    );
  }
  const bad = (why: string) =>
    GraphError.badRequest(`Invalid $search: ${why}. Supported: "property:text" clauses joined by OR (or all by AND), property one of ${NAMES}.`);
  const words: { column: UserMatchColumn; word: string }[] = [];
  let joiner: 'AND' | 'OR' | undefined;
  let rest = raw;
  for (;;) {
    const clause = SEARCH_CLAUSE.exec(rest);
    if (!clause) throw bad(`"${raw}" is not understood`);
    const column = Object.hasOwn(COLUMNS, clause[1]!) ? COLUMNS[clause[1]!] : undefined;
    if (!column) throw bad(`"${clause[1]}" cannot be searched`);
    if (!/[\p{L}\p{N}]/u.test(clause[2]!)) throw bad(`"${clause[2]}" has no letter or digit to search for`);
    words.push({ column, word: clause[2]! });
    rest = rest.slice(clause[0].length);
    if (rest === '') break;
    const join = /^(AND|OR)\s+/.exec(rest);
    if (!join) throw bad(`unexpected "${rest}"`);
    if (joiner && joiner !== join[1]) throw bad('AND and OR cannot be mixed');
    joiner = join[1] as 'AND' | 'OR';
    rest = rest.slice(join[0].length);
  }
  if (words.length > 10) throw bad('at most 10 clauses');
  return { words, anyWord: joiner !== 'AND' };
}
