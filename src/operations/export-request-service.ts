import { randomUUID } from 'node:crypto';
import type { Caller } from '../auth/verify-token.ts';
import { BLOB_SUFFIX_BY_CLOUD, type Config } from '../config.ts';
import type { Db } from '../db/pool.ts';
import { findContainerClaim, type ExportRequestInsert } from '../db/queries/operations.ts';
import { findUserOrDeleted } from '../db/queries/users.ts';
import { GUID_PATTERN } from '../domain/formats.ts';
import type { OperationRow, Requester } from '../domain/operation.ts';
import { exportQuotaBuckets } from '../domain/quota.ts';
import { checkStorageLocation, type StorageLocation } from '../domain/storage-location.ts';
import { deletedItemsSince } from '../domain/user.ts';
import { GraphError } from '../graph-error.ts';
import type { QuotaCounter } from '../quota/quota-counter.ts';
import type { GroupedExportInserts } from './grouped-export-inserts.ts';
import type { OperationWakeUp } from './operation-wake-up.ts';

export interface ExportRequestContext {
  readonly db: Db;
  readonly config: Config;
  readonly quotas: QuotaCounter;
  readonly wakeUp: OperationWakeUp;
  readonly inserts: GroupedExportInserts;
}

export interface ExportRequest {
  caller: Caller;
  requester: Requester;
  /** The user's object id or userPrincipalName, as in the URL. */
  userKey: string;
  storageLocation: unknown;
  ipAddress: string | null;
  now: Date;
}

/**
 * Starts an export (docs/architecture.md#export-data-flow), or finds the one this very request
 * already started. Resolves with the operation's id and whether this call created it; throws
 * GraphError 400 (storage location), 404 (user), 409 (container in use) or 429 (quota).
 *
 * SDKs retry POSTs on 429/503/504: the same request again (same user, same SAS, operation still
 * queued or running) must not start a second export, nor cost quota, nor be refused for quota.
 */
export async function requestExport(ctx: ExportRequestContext, req: ExportRequest): Promise<{ operationId: string; created: boolean }> {
  const { caller, now } = req;
  const target = checkStorageLocation(
    req.storageLocation,
    {
      blobSuffix: BLOB_SUFFIX_BY_CLOUD[ctx.config.cloud],
      allowedOrigins: ctx.config.storageAllow,
      minValiditySeconds: ctx.config.sasMinValiditySeconds,
    },
    now,
  );
  const deletedSince = deletedItemsSince(now);
  // By id the user is looked up inside the insert (one round trip); a UPN is resolved first,
  // because the per-user quota is counted by object id.
  let userId: string;
  if (GUID_PATTERN.test(req.userKey)) {
    userId = req.userKey.toLowerCase();
  } else {
    const user = await findUserOrDeleted(ctx.db, caller.tenantId, req.userKey, deletedSince);
    if (!user) throw userNotFound(req.userKey);
    userId = user.id;
  }

  const buckets = exportQuotaBuckets(ctx.config.quotas, userId);
  try {
    await ctx.quotas.takeAll(caller.tenantId, buckets, 'day', now);
  } catch (err) {
    const same = await earlierSameRequest(ctx, caller.tenantId, userId, target);
    if (!same) throw err;
    return { operationId: same.id, created: false };
  }
  let inserted: ExportRequestInsert;
  try {
    inserted = await ctx.inserts.insert({
      id: randomUUID(),
      tenantId: caller.tenantId,
      userId,
      storageLocation: target.url,
      storageContainer: target.container,
      requestedBy: req.requester,
      submittedAt: now,
      ipAddress: req.ipAddress,
      deletedSince,
    });
  } catch (err) {
    ctx.quotas.giveBack(caller.tenantId, buckets, 'day', now);
    throw err;
  }
  if (inserted.outcome === 'inserted') {
    ctx.wakeUp.schedule();
    return { operationId: inserted.operation.id, created: true };
  }
  ctx.quotas.giveBack(caller.tenantId, buckets, 'day', now);
  if (inserted.outcome === 'noUser') throw userNotFound(req.userKey);
  const same = await earlierSameRequest(ctx, caller.tenantId, userId, target);
  if (!same) throw GraphError.storageLocationAlreadyUsed();
  return { operationId: same.id, created: false };
}

/** The queued or running operation this same request (user and full SAS URL) already started, if any. */
async function earlierSameRequest(ctx: ExportRequestContext, tenantId: string, userId: string, target: StorageLocation): Promise<OperationRow | undefined> {
  const claim = await findContainerClaim(ctx.db, tenantId, target.container);
  return claim && claim.user_id === userId && claim.storage_location === target.url && (claim.status === 'notStarted' || claim.status === 'running')
    ? claim
    : undefined;
}

function userNotFound(key: string): GraphError {
  return GraphError.notFound(`Resource '${key}' does not exist or one of its queried reference-property objects are not present.`);
}
