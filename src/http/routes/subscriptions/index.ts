import { allRoutes, type ResourceRoutes } from '../../resource-routes.ts';
import { createSubscriptionRoute } from './create-subscription.ts';
import { deleteSubscriptionRoute } from './delete-subscription.ts';
import { getSubscriptionRoute } from './get-subscription.ts';
import { listSubscriptionsRoute } from './list-subscriptions.ts';
import { updateSubscriptionRoute } from './update-subscription.ts';

/** /subscriptions: change notifications. */
export const subscriptionRoutes: ResourceRoutes = {
  graph: allRoutes(createSubscriptionRoute, listSubscriptionsRoute, getSubscriptionRoute, updateSubscriptionRoute, deleteSubscriptionRoute),
};
