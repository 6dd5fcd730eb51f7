import { importJWK, SignJWT, type JWK } from 'jose';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { loadLocalIssuer } from '../auth/local-issuer.ts';
import type { ClaimedNotification } from '../db/queries/subscriptions.ts';
import { graphDateTime } from '../domain/formats.ts';

/** `iss` of validationTokens: never the local issuer's, so a validation token is no access token. */
export const NOTIFICATION_ISSUER = 'urn:dsr-export:notifications';
const VALIDATION_TOKEN_SECONDS = 3600;

/** Signs validationTokens; undefined when the service has no key to sign with. */
export type ValidationTokenSigner = (claims: { tenantId: string; audience: string }) => Promise<string>;

/**
 * Signs with the service's key (the local issuer's, served at /.well-known/jwks.json) under its
 * own issuer and the receiving application as audience: the token proves where a notification
 * came from and is useless against the API (wrong issuer and audience).
 */
export async function loadValidationTokenSigner(dataDir: string): Promise<ValidationTokenSigner> {
  await loadLocalIssuer(dataDir);
  const jwk = JSON.parse(await readFile(path.join(dataDir, 'keys', 'local-issuer.json'), 'utf8')) as JWK;
  const key = await importJWK(jwk, 'RS256');
  return ({ tenantId, audience }) =>
    new SignJWT({ tid: tenantId, azp: NOTIFICATION_ISSUER })
      .setProtectedHeader({ alg: 'RS256', kid: jwk.kid!, typ: 'JWT' })
      .setIssuer(NOTIFICATION_ISSUER)
      .setAudience(audience)
      .setIssuedAt()
      .setNotBefore('0s')
      .setExpirationTime(`${VALIDATION_TOKEN_SECONDS}s`)
      .sign(key);
}

/**
 * One item of a notification POST: Graph's changeNotification, or its lifecycle form. It names
 * the resource only, never its content (no personal data, never a SAS). `id` is the outbox row's
 * id, the same on every redelivery: receivers de-duplicate by it.
 */
export function notificationItem(row: ClaimedNotification): Record<string, unknown> {
  const common = {
    id: row.id,
    subscriptionId: row.subscription_id,
    subscriptionExpirationDateTime: graphDateTime(row.subscription_expires_at),
    tenantId: row.tenant_id,
    clientState: row.client_state,
  };
  if (row.kind === 'lifecycle') return { ...common, lifecycleEvent: row.lifecycle_event };
  return {
    ...common,
    changeType: row.change_type,
    resource: row.resource,
    resourceData: { '@odata.type': row.resource_type, '@odata.id': row.resource, id: row.resource_item_id },
  };
}

/** The body of one POST: the batch of one subscription, with a validation token for its (application, tenant). */
export async function notificationBody(rows: ClaimedNotification[], sign: ValidationTokenSigner | undefined): Promise<string> {
  const first = rows[0]!;
  const token = sign && first.audience ? await sign({ tenantId: first.tenant_id, audience: first.audience }) : undefined;
  return JSON.stringify({ value: rows.map(notificationItem), ...(token ? { validationTokens: [token] } : {}) });
}
