import type { FastifyInstance } from 'fastify';
import { listSubscriptions } from '../../../db/queries/subscriptions.ts';
import { watchableKinds } from '../../../subscriptions/subscription-service.ts';
import { toGraphSubscription } from '../../../subscriptions/subscription.ts';
import { graphBase, type AppDeps } from '../../app-deps.ts';
import { decodeSkipToken, encodeSkipToken, GUID_PATTERN } from '../../odata.ts';
import { readListQuery, sendPage } from '../../paging.ts';

/** GET /{version}/subscriptions: the tenant's active subscriptions the caller may read, oldest first, in keyset pages. */
export function listSubscriptionsRoute(app: FastifyInstance, deps: AppDeps): void {
  app.get<{ Querystring: Record<string, string> }>('/subscriptions', async (request, reply) => {
    const caller = request.caller;
    // Only the subscriptions of resources the caller may read; none at all is a 403.
    const kinds = watchableKinds(caller);
    const query = request.query;
    const { top } = readListQuery(query, { options: ['$top', '$skiptoken'], top: [100, 1000] });
    const cursor = decodeSkipToken(query.$skiptoken, 2, ([at, id]) => !Number.isNaN(Date.parse(at!)) && GUID_PATTERN.test(id!));
    const rows = await listSubscriptions(deps.db, caller.tenantId, {
      kinds,
      limit: top + 1,
      ...(cursor ? { after: { createdAt: cursor[0]!, id: cursor[1]! } } : {}),
    });
    const base = graphBase(deps, request.graphVersion);
    return sendPage(reply, rows, {
      top,
      query,
      url: `${base}/subscriptions`,
      context: `${base}/$metadata#subscriptions`,
      render: toGraphSubscription,
      skipToken: (last) => encodeSkipToken([last.created_cursor, last.id]),
    });
  });
}
