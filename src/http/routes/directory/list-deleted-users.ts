import type { FastifyInstance } from 'fastify';
import { requirePermissions } from '../../../auth/permissions.ts';
import { listDeletedUsers } from '../../../db/queries/users.ts';
import { deletedItemsSince, toGraphUser } from '../../../domain/user.ts';
import { graphBase, type AppDeps } from '../../app-deps.ts';
import { decodeSkipToken, encodeSkipToken, GUID_PATTERN } from '../../odata.ts';
import { readListQuery, sendPage } from '../../paging.ts';

/** GET /{version}/directory/deletedItems/microsoft.graph.user: the tenant's soft-deleted users, by id, $top (max 999) and paging. */
export function listDeletedUsersRoute(app: FastifyInstance, deps: AppDeps): void {
  app.get<{ Querystring: Record<string, string> }>('/directory/deletedItems/microsoft.graph.user', async (request, reply) => {
    requirePermissions(request.caller, ['User.Read.All']);
    const query = request.query;
    const { top } = readListQuery(query, { options: ['$top', '$skiptoken'], top: [100, 999] });
    const cursor = decodeSkipToken(query.$skiptoken, 1, ([id]) => GUID_PATTERN.test(id!));
    const rows = await listDeletedUsers(deps.db, request.caller.tenantId, deletedItemsSince(deps.clock()), { limit: top + 1, after: cursor?.[0] });
    const base = graphBase(deps, request.graphVersion);
    return sendPage(reply, rows, {
      top,
      query,
      url: `${base}/directory/deletedItems/microsoft.graph.user`,
      context: `${base}/$metadata#directory/deletedItems/microsoft.graph.user`,
      render: toGraphUser,
      skipToken: (last) => encodeSkipToken([last.id]),
    });
  });
}
