import { GraphError } from '../../../graph-error.ts';
import type { UserListFilter, UserMatchColumn } from '../../../db/queries/users.ts';

// The user properties a look-up may match, and their columns; nothing else reaches SQL.
const COLUMNS: Record<string, UserMatchColumn> = {
  userPrincipalName: 'user_principal_name', displayName: 'display_name', mail: 'mail', givenName: 'given_name', surname: 'surname',
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
