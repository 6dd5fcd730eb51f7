import net from 'node:net';
import { bareHost, isPrivateAddress } from '../domain/private-address.ts';
import { GraphError } from '../graph-error.ts';
import { GUID_PATTERN, graphDateTime } from '../domain/formats.ts';

export type ChangeType = 'created' | 'updated' | 'deleted';
/** The collections a subscription can watch, as Graph names them in `resource`. */
export type ResourceKind = 'dataPolicyOperations' | 'security/subjectRightsRequests';
export const RESOURCE_KINDS: readonly ResourceKind[] = ['dataPolicyOperations', 'security/subjectRightsRequests'];
export const CHANGE_TYPES: readonly ChangeType[] = ['created', 'updated', 'deleted'];
export const TLS_VERSIONS = ['v1_0', 'v1_1', 'v1_2', 'v1_3'] as const;
export const MAX_CLIENT_STATE_LENGTH = 128;
const MAX_URL_LENGTH = 2048;

export interface SubscriptionRow {
  id: string;
  tenant_id: string;
  resource: string;
  resource_kind: ResourceKind;
  resource_id: string | null;
  change_types: ChangeType[];
  notification_url: string;
  lifecycle_notification_url: string | null;
  expires_at: Date;
  client_state: string | null;
  application_id: string | null;
  creator_id: string | null;
  latest_supported_tls_version: string;
  notification_url_app_id: string | null;
  created_at: Date;
  failing_since: Date | null;
}

export const SUBSCRIPTION_PROPERTIES = [
  'id',
  'resource',
  'applicationId',
  'changeType',
  'clientState',
  'notificationUrl',
  'lifecycleNotificationUrl',
  'expirationDateTime',
  'creatorId',
  'latestSupportedTlsVersion',
  'notificationUrlAppId',
] as const;

/** Graph's subscription JSON. */
export function toGraphSubscription(row: SubscriptionRow): Record<string, unknown> {
  return {
    id: row.id,
    resource: row.resource,
    applicationId: row.application_id,
    changeType: row.change_types.join(','),
    clientState: row.client_state,
    notificationUrl: row.notification_url,
    lifecycleNotificationUrl: row.lifecycle_notification_url,
    expirationDateTime: graphDateTime(row.expires_at),
    creatorId: row.creator_id,
    latestSupportedTlsVersion: row.latest_supported_tls_version,
    notificationUrlAppId: row.notification_url_app_id,
  };
}

/** Graph answers a bad subscription request with 400 InvalidRequest. */
export function invalidSubscription(message: string): GraphError {
  return new GraphError(400, 'InvalidRequest', message);
}

export interface WatchedResource {
  readonly kind: ResourceKind;
  /** The one item watched; undefined for every item of the tenant's collection. */
  readonly id: string | undefined;
}

/**
 * `dataPolicyOperations`, `security/subjectRightsRequests`, or one item of either (`/{id}` or
 * `('{id}')`), with or without a leading slash.
 */
export function parseResource(raw: unknown): WatchedResource {
  if (raw === undefined || raw === null || raw === '') throw invalidSubscription('resource is a required property for subscription creation.');
  if (typeof raw !== 'string') throw invalidSubscription('resource must be a string.');
  const m = /^\/?(dataPolicyOperations|security\/subjectRightsRequests)(?:\/([^/?#]+)|\('([^'/?#]+)'\))?$/.exec(raw);
  const id = m?.[2] ?? m?.[3];
  if (!m || (id !== undefined && !GUID_PATTERN.test(id))) {
    throw invalidSubscription(
      `Resource '${raw.slice(0, 200)}' is not supported for change notifications; use ${RESOURCE_KINDS.map((k) => `${k} or ${k}/{id}`).join(', ')}.`,
    );
  }
  return { kind: m[1] as ResourceKind, id: id?.toLowerCase() };
}

/** Graph's comma-separated changeType, each value once. */
export function parseChangeType(raw: unknown): ChangeType[] {
  if (raw === undefined || raw === null || raw === '') throw invalidSubscription('changeType is a required property for subscription creation.');
  if (typeof raw !== 'string') throw invalidSubscription('changeType must be a string.');
  const values = raw.split(',').map((s) => s.trim());
  const bad = values.find((v) => !CHANGE_TYPES.includes(v as ChangeType));
  if (bad !== undefined)
    throw invalidSubscription(`Invalid changeType '${bad.slice(0, 50)}': the supported values are ${CHANGE_TYPES.join(', ')}, comma-separated.`);
  if (new Set(values).size !== values.length) throw invalidSubscription('changeType names a value more than once.');
  return CHANGE_TYPES.filter((c) => values.includes(c));
}

/**
 * expirationDateTime: in the future and at most `maxSeconds` ahead. Graph's message for the
 * upper bound names the limit in minutes.
 */
export function parseExpiration(raw: unknown, maxSeconds: number, now: Date): Date {
  if (raw === undefined || raw === null || raw === '') throw invalidSubscription('expirationDateTime is a required property for subscription creation.');
  if (typeof raw !== 'string' || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(raw)) {
    throw invalidSubscription('expirationDateTime must be a DateTimeOffset, e.g. 2026-12-01T12:00:00Z.');
  }
  const at = new Date(Date.parse(raw.replace(/(\.\d{3})\d+/, '$1')));
  if (Number.isNaN(at.getTime())) throw invalidSubscription('expirationDateTime is not a valid date.');
  if (at.getTime() <= now.getTime()) throw invalidSubscription('Subscription expiration must be in the future.');
  if (at.getTime() > now.getTime() + maxSeconds * 1000) {
    throw invalidSubscription(`Subscription expiration can only be ${Math.floor(maxSeconds / 60)} minutes in the future.`);
  }
  return at;
}

export function parseClientState(raw: unknown): string | null {
  if (raw === undefined || raw === null) return null;
  if (typeof raw !== 'string') throw invalidSubscription('clientState must be a string.');
  if (raw.length > MAX_CLIENT_STATE_LENGTH) {
    throw invalidSubscription(`clientState is ${raw.length} characters long; the maximum length is ${MAX_CLIENT_STATE_LENGTH} characters.`);
  }
  return raw;
}

export function parseTlsVersion(raw: unknown): string {
  if (raw === undefined || raw === null) return 'v1_2';
  if (typeof raw !== 'string' || !(TLS_VERSIONS as readonly string[]).includes(raw)) {
    throw invalidSubscription(`latestSupportedTlsVersion must be one of ${TLS_VERSIONS.join(', ')}.`);
  }
  return raw;
}

export function parseOptionalGuid(name: string, raw: unknown): string | null {
  if (raw === undefined || raw === null) return null;
  if (typeof raw !== 'string' || !GUID_PATTERN.test(raw)) throw invalidSubscription(`${name} must be a GUID.`);
  return raw.toLowerCase();
}

/**
 * A notification target: https, or an origin of DSR_NOTIFICATION_ALLOW; no user information;
 * never an IP literal of a private, loopback or link-local range. Names are checked again at
 * every connection by the guarded agent (DNS answers can change). Messages never repeat the URL:
 * its query string may be a secret.
 */
export function checkNotificationUrl(name: string, raw: unknown, allowedOrigins: readonly string[]): string {
  if (raw === undefined || raw === null || raw === '') throw invalidSubscription(`${name} is a required property for subscription creation.`);
  if (typeof raw !== 'string') throw invalidSubscription(`${name} must be a string.`);
  if (raw.length > MAX_URL_LENGTH) throw invalidSubscription(`${name} is longer than ${MAX_URL_LENGTH} characters.`);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw invalidSubscription(`${name} is not an absolute URL.`);
  }
  if (url.username !== '' || url.password !== '') throw invalidSubscription(`${name} must not contain user information (user:password@).`);
  if (url.hash !== '') throw invalidSubscription(`${name} must not contain a fragment.`);
  if (allowedOrigins.includes(url.origin)) return raw;
  if (url.protocol !== 'https:') throw invalidSubscription(`The ${name} must use the HTTPS protocol (got ${url.protocol.replace(/:$/, '')}).`);
  const host = bareHost(url.hostname);
  if (net.isIP(host) !== 0 && isPrivateAddress(host)) {
    throw invalidSubscription(`${name} points to a loopback, private, link-local or metadata address.`);
  }
  if (host === 'localhost' || host.endsWith('.localhost')) throw invalidSubscription(`${name} points to a loopback address.`);
  return raw;
}

/** True when this origin is listed in DSR_NOTIFICATION_ALLOW (it may then be http and private). */
export function isAllowedOrigin(raw: string, allowedOrigins: readonly string[]): boolean {
  try {
    return allowedOrigins.includes(new URL(raw).origin);
  } catch {
    return false;
  }
}
