import type { FastifyInstance } from 'fastify';
import { listSubscriptions } from '../../../db/queries/subscriptions.ts';
import { watchableKinds } from '../../../subscriptions/subscription-service.ts';
import { toGraphSubscription } from '../../../subscriptions/subscription.ts';
import { GraphError } from '../../../graph-error.ts';
import { graphBase, type AppDeps } from '../../app-deps.ts';
import { sendGraphJson } from '../../graph-reply.ts';
import { decodeSkipToken, encodeSkipToken, GUID_PATTERN, parseTop, rejectUnknownOptions } from '../../odata.ts';
import { nextLink } from '../../paging.ts';

/** GET /{version}/subscriptions: the tenant's active subscriptions the caller may read, oldest first, in keyset pages. */
export function listSubscriptionsRoute(app: FastifyInstance, deps: AppDeps): void {
  app.get<{ Querystring: Record<string, string> }>('/subscriptions', async (request, reply) => {
    const caller = request.caller;
    // Only the subscriptions of resources the caller may read; none at all is a 403.
    const kinds = watchableKinds(caller);
    const query = request.query;
    rejectUnknownOptions(query, ['$top', '$skiptoken']);
    const top = parseTop(query.$top, 100, 1000);
    const cursor = decodeSkipToken(query.$skiptoken, 2) as [string, string] | undefined;
    if (cursor && (Number.isNaN(Date.parse(cursor[0])) || !GUID_PATTERN.test(cursor[1]))) {
      throw GraphError.badRequest('Invalid $skiptoken: use the @odata.nextLink of the previous page as it is.');
    }
    const rows = await listSubscriptions(deps.db, caller.tenantId, {
      kinds, limit: top + 1, ...(cursor ? { after: { createdAt: cursor[0], id: cursor[1] } } : {}),
    });
    const page = rows.slice(0, top);
    const last = page[page.length - 1];
    const base = graphBase(deps, request.graphVersion);
    return sendGraphJson(reply, 200, {
      '@odata.context': `${base}/$metadata#subscriptions`,
      value: page.map(toGraphSubscription),
      ...(rows.length > top && last
        ? { '@odata.nextLink': nextLink(`${base}/subscriptions`, query, encodeSkipToken([last.created_cursor, last.id])) }
        : {}),
    });
  });
}
