import type { FastifyInstance } from 'fastify';
import { createSubscription } from '../../../subscriptions/subscription-service.ts';
import { toGraphSubscription } from '../../../subscriptions/subscription.ts';
import { graphBase, type AppDeps } from '../../app-deps.ts';
import { sendGraphJson } from '../../graph-reply.ts';

/** POST /{version}/subscriptions: 201 with the subscription once its endpoints passed the handshake. */
export function createSubscriptionRoute(app: FastifyInstance, deps: AppDeps): void {
  app.post('/subscriptions', async (request, reply) => {
    const row = await createSubscription(deps, request.caller, request.body);
    request.log.info({ subscriptionId: row.id, resource: row.resource }, 'subscription created');
    return sendGraphJson(reply, 201, {
      '@odata.context': `${graphBase(deps, request.graphVersion)}/$metadata#subscriptions/$entity`,
      ...toGraphSubscription(row),
    });
  });
}
