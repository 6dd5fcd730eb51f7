import type { FastifyInstance } from 'fastify';
import { requirePermissions } from '../../../auth/permissions.ts';
import { listUsers } from '../../../db/queries/users.ts';
import { toGraphUser, USER_PROPERTIES } from '../../../domain/user.ts';
import { graphBase, type AppDeps } from '../../app-deps.ts';
import { decodeSkipToken, encodeSkipToken, GUID_PATTERN, selectProperties } from '../../odata.ts';
import { readListQuery, sendPage } from '../../paging.ts';
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
    const { top, select } = readListQuery(query, {
      options: ['$select', '$top', '$skiptoken', '$filter', '$search'],
      top: [100, 999],
      properties: USER_PROPERTIES,
    });
    const filter = { ...parseUserFilter(query.$filter), ...parseUserSearch(query.$search, request.headers.consistencylevel) };
    const cursor = decodeSkipToken(query.$skiptoken, 1, ([id]) => GUID_PATTERN.test(id!));
    const rows = await listUsers(deps.db, request.caller.tenantId, { limit: top + 1, after: cursor?.[0], ...filter });
    const base = graphBase(deps, request.graphVersion);
    return sendPage(reply, rows, {
      top,
      query,
      url: `${base}/users`,
      context: `${base}/$metadata#users${select ? `(${select.join(',')})` : ''}`,
      render: (u) => selectProperties(toGraphUser(u), select),
      skipToken: (last) => encodeSkipToken([last.id]),
    });
  });
}
