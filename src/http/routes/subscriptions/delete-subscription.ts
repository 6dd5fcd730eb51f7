import type { FastifyInstance } from 'fastify';
import { removeSubscription } from '../../../subscriptions/subscription-service.ts';
import type { AppDeps } from '../../app-deps.ts';

/** DELETE /{version}/subscriptions/{id}: 204; undelivered change notifications go with it. */
export function deleteSubscriptionRoute(app: FastifyInstance, deps: AppDeps): void {
  app.delete<{ Params: { id: string } }>('/subscriptions/:id', async (request, reply) => {
    await removeSubscription(deps, request.caller, request.params.id);
    request.log.info({ subscriptionId: request.params.id }, 'subscription deleted');
    return reply.code(204).send();
  });
}
