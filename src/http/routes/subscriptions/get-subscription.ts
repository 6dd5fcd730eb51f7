import type { FastifyInstance } from 'fastify';
import { readableSubscription } from '../../../subscriptions/subscription-service.ts';
import { toGraphSubscription } from '../../../subscriptions/subscription.ts';
import { graphBase, type AppDeps } from '../../app-deps.ts';
import { sendGraphJson } from '../../graph-reply.ts';
import { rejectUnknownOptions } from '../../odata.ts';

/** GET /{version}/subscriptions/{id}. */
export function getSubscriptionRoute(app: FastifyInstance, deps: AppDeps): void {
  app.get<{ Params: { id: string }; Querystring: Record<string, string> }>('/subscriptions/:id', async (request, reply) => {
    rejectUnknownOptions(request.query, []);
    const row = await readableSubscription(deps, request.caller, request.params.id);
    return sendGraphJson(reply, 200, {
      '@odata.context': `${graphBase(deps, request.graphVersion)}/$metadata#subscriptions/$entity`,
      ...toGraphSubscription(row),
    });
  });
}
