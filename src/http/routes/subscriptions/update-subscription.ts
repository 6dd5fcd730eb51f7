import type { FastifyInstance } from 'fastify';
import { changeSubscription } from '../../../subscriptions/subscription-service.ts';
import { toGraphSubscription } from '../../../subscriptions/subscription.ts';
import { graphBase, type AppDeps } from '../../app-deps.ts';
import { sendGraphJson } from '../../graph-reply.ts';

/** PATCH /{version}/subscriptions/{id}: renew, or point at a new (validated) notificationUrl. */
export function updateSubscriptionRoute(app: FastifyInstance, deps: AppDeps): void {
  app.patch<{ Params: { id: string } }>('/subscriptions/:id', async (request, reply) => {
    const row = await changeSubscription(deps, request.caller, request.params.id, request.body);
    return sendGraphJson(reply, 200, {
      '@odata.context': `${graphBase(deps, request.graphVersion)}/$metadata#subscriptions/$entity`,
      ...toGraphSubscription(row),
    });
  });
}
