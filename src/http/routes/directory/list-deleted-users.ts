import type { FastifyInstance } from 'fastify';
import { requirePermissions } from '../../../auth/permissions.ts';
import { listDeletedUsers } from '../../../db/queries/users.ts';
import { deletedItemsSince, toGraphUser } from '../../../domain/user.ts';
import { GraphError } from '../../../graph-error.ts';
import { graphBase, type AppDeps } from '../../app-deps.ts';
import { sendGraphJson } from '../../graph-reply.ts';
import { decodeSkipToken, encodeSkipToken, GUID_PATTERN, parseTop, rejectUnknownOptions } from '../../odata.ts';
import { nextLink } from '../../paging.ts';

/** GET /{version}/directory/deletedItems/microsoft.graph.user: the tenant's soft-deleted users, by id, $top (max 999) and paging. */
export function listDeletedUsersRoute(app: FastifyInstance, deps: AppDeps): void {
  app.get<{ Querystring: Record<string, string> }>('/directory/deletedItems/microsoft.graph.user', async (request, reply) => {
    requirePermissions(request.caller, ['User.Read.All']);
    const query = request.query;
    rejectUnknownOptions(query, ['$top', '$skiptoken']);
    const top = parseTop(query.$top, 100, 999);
    const cursor = decodeSkipToken(query.$skiptoken, 1) as [string] | undefined;
    if (cursor && !GUID_PATTERN.test(cursor[0])) throw GraphError.badRequest('Invalid $skiptoken: use the @odata.nextLink of the previous page as it is.');
    const rows = await listDeletedUsers(deps.db, request.caller.tenantId, deletedItemsSince(deps.clock()), { limit: top + 1, after: cursor?.[0] });
    const page = rows.slice(0, top);
    const base = graphBase(deps, request.graphVersion);
    return sendGraphJson(reply, 200, {
      '@odata.context': `${base}/$metadata#directory/deletedItems/microsoft.graph.user`,
      value: page.map(toGraphUser),
      ...(rows.length > top
        ? { '@odata.nextLink': nextLink(`${base}/directory/deletedItems/microsoft.graph.user`, query, encodeSkipToken([page[page.length - 1]!.id])) }
        : {}),
    });
  });
}
