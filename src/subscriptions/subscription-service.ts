import { randomUUID } from 'node:crypto';
import { requirePermissions } from '../auth/permissions.ts';
import type { Caller } from '../auth/verify-token.ts';
import { findOperation } from '../db/queries/operations.ts';
import {
  countActiveSubscriptions,
  deleteSubscription,
  findSubscription,
  insertSubscription,
  subjectRightsRequestExists,
  updateSubscription,
} from '../db/queries/subscriptions.ts';
import { GraphError } from '../graph-error.ts';
import type { AppDeps } from '../http/app-deps.ts';
import { GUID_PATTERN } from '../domain/formats.ts';
import {
  checkNotificationUrl,
  invalidSubscription,
  parseChangeType,
  parseClientState,
  parseExpiration,
  parseOptionalGuid,
  parseResource,
  parseTlsVersion,
  RESOURCE_KINDS,
  type ResourceKind,
  type SubscriptionRow,
  type WatchedResource,
} from './subscription.ts';
import { validateEndpoint } from './validate-endpoint.ts';
import { WebhookClient } from './webhook-client.ts';

// Every change of a watched operation writes one outbox row per matching subscription, inside
// the change's transaction: a cap keeps one tenant from making every export of its own slow.
export const MAX_SUBSCRIPTIONS_PER_TENANT = 100;

const CREATE_PROPERTIES = new Set([
  'changeType',
  'notificationUrl',
  'lifecycleNotificationUrl',
  'resource',
  'expirationDateTime',
  'clientState',
  'latestSupportedTlsVersion',
  'notificationUrlAppId',
  '@odata.type',
]);
// Graph features this service does not offer: refused by name rather than silently ignored.
const UNSUPPORTED_PROPERTIES = new Set(['includeResourceData', 'encryptionCertificate', 'encryptionCertificateId', 'notificationQueryOptions']);
const UPDATE_PROPERTIES = new Set(['expirationDateTime', 'notificationUrl', '@odata.type']);

function objectBody(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalidSubscription('The request body must be a JSON object.');
  return body as Record<string, unknown>;
}

function rejectProperties(body: Record<string, unknown>, allowed: Set<string>): void {
  for (const key of Object.keys(body)) {
    if (UNSUPPORTED_PROPERTIES.has(key) && body[key] !== null && body[key] !== false) {
      throw invalidSubscription(`${key} is not supported: notifications of this service never carry resource data.`);
    }
    if (!allowed.has(key) && !UNSUPPORTED_PROPERTIES.has(key))
      throw invalidSubscription(`Property '${key.slice(0, 100)}' cannot be set on a subscription here.`);
  }
}

/** Reading or changing a subscription needs what reading its resource needs. */
export function requireWatchPermissions(caller: Caller, resource: Pick<WatchedResource, 'kind'>): void {
  if (resource.kind === 'dataPolicyOperations') requirePermissions(caller, ['User.Export.All', 'User.Read.All']);
  else requirePermissions(caller, ['SubjectRightsRequest.Read.All']);
}

/** The kinds of resource whose subscriptions the caller may list; a 403 when there is none. */
export function watchableKinds(caller: Caller): ResourceKind[] {
  const kinds: ResourceKind[] = [];
  let denied: unknown;
  for (const kind of RESOURCE_KINDS) {
    try {
      requireWatchPermissions(caller, { kind });
      kinds.push(kind);
    } catch (err) {
      denied ??= err;
    }
  }
  if (kinds.length === 0) throw denied;
  return kinds;
}

async function watchedItemExists(deps: AppDeps, tenantId: string, resource: WatchedResource & { id: string }): Promise<boolean> {
  return resource.kind === 'dataPolicyOperations'
    ? (await findOperation(deps.db, tenantId, resource.id)) !== undefined
    : subjectRightsRequestExists(deps.db, tenantId, resource.id);
}

const clients = new WeakMap<AppDeps, WebhookClient>();
function webhookClient(deps: AppDeps): WebhookClient {
  let client = clients.get(deps);
  if (!client) {
    client = new WebhookClient(deps.config.notifications.allowedOrigins);
    clients.set(deps, client);
  }
  return client;
}

export function subscriptionNotFound(): GraphError {
  return new GraphError(404, 'ResourceNotFound', 'The object was not found.');
}

/** POST /subscriptions: validated, the endpoints proven by the handshake, then stored. */
export async function createSubscription(deps: AppDeps, caller: Caller, rawBody: unknown): Promise<SubscriptionRow> {
  const body = objectBody(rawBody);
  const resource = parseResource(body.resource);
  requireWatchPermissions(caller, resource);
  rejectProperties(body, CREATE_PROPERTIES);
  const changeTypes = parseChangeType(body.changeType);
  const allowed = deps.config.notifications.allowedOrigins;
  const notificationUrl = checkNotificationUrl('notificationUrl', body.notificationUrl, allowed);
  const lifecycleNotificationUrl =
    body.lifecycleNotificationUrl === undefined || body.lifecycleNotificationUrl === null
      ? null
      : checkNotificationUrl('lifecycleNotificationUrl', body.lifecycleNotificationUrl, allowed);
  const expiresAt = parseExpiration(body.expirationDateTime, deps.config.notifications.maxExpirationSeconds, deps.clock());
  const clientState = parseClientState(body.clientState);
  const latestSupportedTlsVersion = parseTlsVersion(body.latestSupportedTlsVersion);
  const notificationUrlAppId = parseOptionalGuid('notificationUrlAppId', body.notificationUrlAppId);
  if (resource.id !== undefined && !(await watchedItemExists(deps, caller.tenantId, { kind: resource.kind, id: resource.id }))) {
    throw invalidSubscription(`Resource '${resource.kind}/${resource.id}' does not exist in this tenant.`);
  }
  if ((await countActiveSubscriptions(deps.db, caller.tenantId)) >= MAX_SUBSCRIPTIONS_PER_TENANT) {
    throw new GraphError(403, 'ExtensionError', `Subscription quota reached: a tenant may hold ${MAX_SUBSCRIPTIONS_PER_TENANT} active subscriptions.`);
  }
  await validateEndpoint(webhookClient(deps), 'notificationUrl', notificationUrl);
  if (lifecycleNotificationUrl !== null) await validateEndpoint(webhookClient(deps), 'lifecycleNotificationUrl', lifecycleNotificationUrl);
  return insertSubscription(deps.db, {
    id: randomUUID(),
    tenantId: caller.tenantId,
    resource: body.resource as string,
    resourceKind: resource.kind,
    resourceId: resource.id ?? null,
    changeTypes,
    notificationUrl,
    lifecycleNotificationUrl,
    expiresAt,
    clientState,
    applicationId: caller.appId,
    creatorId: caller.oid,
    latestSupportedTlsVersion,
    notificationUrlAppId,
  });
}

/** The caller's tenant's subscription, if the caller may read what it watches; else 404 or 403. */
export async function readableSubscription(deps: AppDeps, caller: Caller, id: string): Promise<SubscriptionRow> {
  const row = GUID_PATTERN.test(id) ? await findSubscription(deps.db, caller.tenantId, id.toLowerCase()) : undefined;
  if (!row) throw subscriptionNotFound();
  requireWatchPermissions(caller, { kind: row.resource_kind });
  return row;
}

/** PATCH /subscriptions/{id}: renew (expirationDateTime) and/or move (notificationUrl, validated again). */
export async function changeSubscription(deps: AppDeps, caller: Caller, id: string, rawBody: unknown): Promise<SubscriptionRow> {
  const body = objectBody(rawBody);
  const row = await readableSubscription(deps, caller, id);
  rejectProperties(body, UPDATE_PROPERTIES);
  if (body.expirationDateTime === undefined && body.notificationUrl === undefined) {
    throw invalidSubscription('Nothing to update: send expirationDateTime and/or notificationUrl.');
  }
  const expiresAt =
    body.expirationDateTime === undefined ? null : parseExpiration(body.expirationDateTime, deps.config.notifications.maxExpirationSeconds, deps.clock());
  const notificationUrl =
    body.notificationUrl === undefined ? null : checkNotificationUrl('notificationUrl', body.notificationUrl, deps.config.notifications.allowedOrigins);
  if (notificationUrl !== null) await validateEndpoint(webhookClient(deps), 'notificationUrl', notificationUrl);
  const updated = await updateSubscription(deps.db, caller.tenantId, row.id, { expiresAt, notificationUrl });
  if (!updated) throw subscriptionNotFound();
  return updated;
}

export async function removeSubscription(deps: AppDeps, caller: Caller, id: string): Promise<void> {
  const row = await readableSubscription(deps, caller, id);
  if (!(await deleteSubscription(deps.db, caller.tenantId, row.id))) throw subscriptionNotFound();
}
