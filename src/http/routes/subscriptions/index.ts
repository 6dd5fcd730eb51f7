import { createSubscriptionRoute } from './create-subscription.ts';
import { deleteSubscriptionRoute } from './delete-subscription.ts';
import { getSubscriptionRoute } from './get-subscription.ts';
import { listSubscriptionsRoute } from './list-subscriptions.ts';
import { updateSubscriptionRoute } from './update-subscription.ts';

/** The subscription resource's routes, registered under each Graph version. */
export const SUBSCRIPTION_ROUTES = [
  createSubscriptionRoute, listSubscriptionsRoute, getSubscriptionRoute, updateSubscriptionRoute, deleteSubscriptionRoute,
];
