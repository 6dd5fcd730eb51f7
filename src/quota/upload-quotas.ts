import type { Config } from '../config.ts';
import type { Queryable } from '../db/pool.ts';
import { tenantStorageUsage, uploadSessionUsage } from '../db/queries/quotas.ts';
import { GraphError } from '../graph-error.ts';
import type { QuotaCounter } from './quota-counter.ts';

/** Which hourly request quota a request counts against: Graph's for dataPolicyOperations, or a higher one of its own. */
export type RequestQuotaKind = 'dataPolicy' | 'drive' | 'directory';

const REQUEST_BUCKETS = {
  dataPolicy: { bucket: 'requests', limit: (c: Config) => c.quotas.requestsPerTenantPerHour, what: 'requests' },
  drive: { bucket: 'drive-requests', limit: (c: Config) => c.quotas.driveRequestsPerTenantPerHour, what: 'drive requests' },
  directory: { bucket: 'directory-requests', limit: (c: Config) => c.quotas.directoryRequestsPerTenantPerHour, what: 'directory requests' },
} as const;

/**
 * Counts one request against the tenant's hourly quota of its kind (429 over it): every Graph
 * request through the token hook, and every upload-session fragment (a drive request), whose URL
 * is its own credential.
 */
export function takeRequestQuota(
  quotas: QuotaCounter,
  config: Config,
  tenantId: string,
  now: Date,
  kind: RequestQuotaKind = 'dataPolicy',
): Promise<void> | undefined {
  const { bucket, what } = REQUEST_BUCKETS[kind];
  const limit = REQUEST_BUCKETS[kind].limit(config);
  return quotas.take(tenantId, bucket, 'hour', limit, now, `The tenant exceeded its quota of ${limit} ${what} per hour.`);
}

/**
 * Refuses a file of `bytes` that would take the tenant over its storage quota (507
 * quotaLimitReached, as OneDrive). `exceptSession`: the session asking, whose own declared size
 * must not count twice.
 */
export async function checkTenantStorage(
  db: Queryable,
  config: Config,
  tenantId: string,
  bytes: number,
  now: Date,
  exceptSession: string | null = null,
): Promise<void> {
  const limit = config.quotas.storageBytesPerTenant;
  const used = await tenantStorageUsage(db, tenantId, now, exceptSession);
  if (used + bytes > limit) {
    throw GraphError.quotaLimitReached(`This upload of ${bytes} bytes would exceed the tenant's storage quota of ${limit} bytes (${used} used).`);
  }
}

/**
 * A new upload session of `owner`: at most DSR_QUOTA_UPLOAD_SESSIONS_PER_USER live at once (429
 * with Retry-After until the first one expires; cancelling one frees its place), together declaring
 * at most DSR_QUOTA_UPLOAD_SESSION_BYTES_PER_USER, and within the tenant's storage quota.
 * `declaredBytes` is null when the client gives no fileSize: the first fragment's total is checked then.
 */
export async function checkNewUploadSession(
  db: Queryable,
  config: Config,
  owner: { tenant_id: string; id: string },
  declaredBytes: number | null,
  now: Date,
): Promise<void> {
  const usage = await uploadSessionUsage(db, owner.tenant_id, owner.id, now);
  const { uploadSessionsPerUser: maxSessions } = config.quotas;
  if (usage.sessions >= maxSessions) {
    const retryAfter = Math.max(1, Math.ceil(((usage.firstExpiry?.getTime() ?? now.getTime()) - now.getTime()) / 1000));
    throw GraphError.tooManyRequests(
      `The user already has ${usage.sessions} upload sessions open, the most allowed (${maxSessions}); finish or cancel one.`,
      retryAfter,
    );
  }
  if (declaredBytes !== null) await checkDeclaredSize(db, config, owner, declaredBytes, now, usage.declaredBytes, null);
}

/** The first fragment of a session without fileSize fixes its size: the same byte limits apply then. */
export async function checkUploadSessionSize(
  db: Queryable,
  config: Config,
  session: { id: string; tenant_id: string; owner_user_id: string },
  totalBytes: number,
  now: Date,
): Promise<void> {
  const usage = await uploadSessionUsage(db, session.tenant_id, session.owner_user_id, now);
  await checkDeclaredSize(db, config, { tenant_id: session.tenant_id, id: session.owner_user_id }, totalBytes, now, usage.declaredBytes, session.id);
}

async function checkDeclaredSize(
  db: Queryable,
  config: Config,
  owner: { tenant_id: string; id: string },
  bytes: number,
  now: Date,
  declaredByOthers: number,
  sessionId: string | null,
): Promise<void> {
  const limit = config.quotas.uploadSessionBytesPerUser;
  if (declaredByOthers + bytes > limit) {
    throw GraphError.quotaLimitReached(
      `The user's open upload sessions may declare ${limit} bytes together; this one would bring them to ${declaredByOthers + bytes}.`,
    );
  }
  await checkTenantStorage(db, config, owner.tenant_id, bytes, now, sessionId);
}
