import type { FastifyInstance } from 'fastify';
import { requirePermissions } from '../../../auth/permissions.ts';
import { listUsers } from '../../../db/queries/users.ts';
import { toGraphUser, USER_PROPERTIES } from '../../../domain/user.ts';
import { GraphError } from '../../../graph-error.ts';
import { graphBase, type AppDeps } from '../../app-deps.ts';
import { sendGraphJson } from '../../graph-reply.ts';
import {
  decodeSkipToken, encodeSkipToken, GUID_PATTERN, parseSelect, parseTop, rejectUnknownOptions, selectProperties,
} from '../../odata.ts';
import { nextLink } from '../../paging.ts';
import { parseUserFilter, parseUserSearch } from './user-filter.ts';

/**
 * GET /{version}/users: $filter (an exact userPrincipalName, or startswith terms on names and
 * mail for a look-up), $search with ConsistencyLevel: eventual (word starts), $select, $top
 * (max 999, as Graph), paging.
 */
export function listUsersRoute(app: FastifyInstance, deps: AppDeps): void {
  app.get<{ Querystring: Record<string, string> }>('/users', async (request, reply) => {
    requirePermissions(request.caller, ['User.Read.All']);
    const query = request.query;
    rejectUnknownOptions(query, ['$select', '$top', '$skiptoken', '$filter', '$search']);
    const select = parseSelect(query.$select, USER_PROPERTIES);
    const top = parseTop(query.$top, 100, 999);
    const filter = { ...parseUserFilter(query.$filter), ...parseUserSearch(query.$search, request.headers.consistencylevel) };
    const cursor = decodeSkipToken(query.$skiptoken, 1) as [string] | undefined;
    // A forged cursor must be a 400, not a PostgreSQL cast error (500).
    if (cursor && !GUID_PATTERN.test(cursor[0])) throw GraphError.badRequest('Invalid $skiptoken: use the @odata.nextLink of the previous page as it is.');
    const rows = await listUsers(deps.db, request.caller.tenantId, { limit: top + 1, after: cursor?.[0], ...filter });
    const page = rows.slice(0, top);
    const base = graphBase(deps, request.graphVersion);
    return sendGraphJson(reply, 200, {
      '@odata.context': `${base}/$metadata#users${select ? `(${select.join(',')})` : ''}`,
      value: page.map((u) => selectProperties(toGraphUser(u), select)),
      ...(rows.length > top ? { '@odata.nextLink': nextLink(`${base}/users`, query, encodeSkipToken([page[page.length - 1]!.id])) } : {}),
    });
  });
}
