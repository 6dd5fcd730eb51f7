import { randomUUID } from 'node:crypto';
import { inTransaction, type Db } from '../db/pool.ts';
import { insertOperationWithAudit, notifyOperationsQueued } from '../db/queries/operations.ts';
import {
  deleteExclusion,
  findPackageFile,
  findRequestView,
  findSubjectCandidates,
  insertHistory,
  insertNote,
  insertRequest,
  lockRequest,
  markReviewCompleted,
  updateRequest,
  upsertExclusion,
  type PackageFileRow,
} from '../db/queries/subject-rights-requests.ts';
import type { Config } from '../config.ts';
import type { Requester } from '../domain/operation.ts';
import { exportQuotaBuckets } from '../domain/quota.ts';
import type { QuotaCounter } from '../quota/quota-counter.ts';
import { GraphError } from '../graph-error.ts';
import { GUID_PATTERN } from '../domain/formats.ts';
import type { CaseStorage } from './case-storage.ts';
import { isPackageManifest, REPLACED_MANIFEST_REASON } from './package-files.ts';
import type { NewRequestInput, RequestChanges } from './request-input.ts';
import { identitySetOf, reviewCompleted, retrievalState, type IdentitySet, type NoteRow, type RequestRow, type RequestView } from './subject-rights-request.ts';

export interface CaseContext {
  readonly db: Db;
  readonly storage: CaseStorage | undefined;
  readonly purgeDays: number;
  /** A case's export counts against the same daily quotas as an export POST. */
  readonly quotas: QuotaCounter;
  readonly quotaLimits: Config['quotas'];
}

function notFound(id: string): GraphError {
  return GraphError.notFound(`Resource '${id}' does not exist or one of its queried reference-property objects are not present.`);
}

export async function getRequest(db: Db, tenantId: string, id: string): Promise<RequestView> {
  const view = GUID_PATTERN.test(id) ? await findRequestView(db, tenantId, id.toLowerCase()) : undefined;
  if (!view) throw notFound(id);
  return view;
}

/** Runs fn on the locked case row; 404 when the tenant has no such case. */
async function withLockedRequest<T>(
  db: Db,
  tenantId: string,
  id: string,
  fn: (tx: Parameters<Parameters<typeof inTransaction>[1]>[0], row: RequestRow) => Promise<T>,
): Promise<T> {
  if (!GUID_PATTERN.test(id)) throw notFound(id);
  return inTransaction(db, async (tx) => {
    const row = await lockRequest(tx, tenantId, id.toLowerCase());
    if (!row) throw notFound(id);
    return fn(tx, row);
  });
}

/**
 * Creates the case and starts its contentRetrieval: the subject is looked up by mail or UPN;
 * exactly one match starts a package export into the case's own container. No match, several, or
 * no case storage leave the case active with the retrieval stage failed and saying why.
 */
export async function createRequest(
  ctx: CaseContext,
  tenantId: string,
  requester: Requester,
  input: NewRequestInput,
  ipAddress: string | null,
  now: Date,
): Promise<RequestView> {
  const id = randomUUID();
  const by = identitySetOf(requester);
  const candidates = await findSubjectCandidates(ctx.db, tenantId, input.email);
  let retrievalError: { code: string; message: string } | null = null;
  let target: Awaited<ReturnType<CaseStorage['prepare']>> | undefined;
  const subject = candidates.length === 1 ? candidates[0]! : undefined;
  if (candidates.length === 0) {
    retrievalError = { code: 'dataSubjectNotFound', message: `No user in the directory has the mail or user principal name '${input.email}'.` };
  } else if (candidates.length > 1) {
    retrievalError = {
      code: 'dataSubjectAmbiguous',
      message: `Several users in the directory have the mail or user principal name '${input.email}'; the data subject must be unambiguous.`,
    };
  } else if (!ctx.storage) {
    retrievalError = {
      code: 'caseStorageNotConfigured',
      message: 'The service has no storage for case packages (DSR_CASES_STORAGE); an administrator must configure it.',
    };
  }
  const buckets = subject && !retrievalError ? exportQuotaBuckets(ctx.quotaLimits, subject.id) : undefined;
  if (buckets) await ctx.quotas.takeAll(tenantId, buckets, 'day', now);
  try {
    if (buckets) target = await ctx.storage!.prepare(id, now);
    await insertCase(ctx, { id, tenantId, requester, by, input, ipAddress, now, subject, target, retrievalError });
  } catch (err) {
    if (buckets) ctx.quotas.giveBack(tenantId, buckets, 'day', now);
    throw err;
  }
  return (await findRequestView(ctx.db, tenantId, id))!;
}

/** The case, its history and (with a target) its export operation, in one transaction. */
async function insertCase(
  ctx: CaseContext,
  a: {
    id: string;
    tenantId: string;
    requester: Requester;
    by: IdentitySet;
    input: NewRequestInput;
    ipAddress: string | null;
    now: Date;
    subject: { id: string; user_principal_name: string } | undefined;
    target: { sasUrl: string; container: string; containerName: string } | undefined;
    retrievalError: { code: string; message: string } | null;
  },
): Promise<void> {
  const { id, tenantId, requester, by, input, ipAddress, now, subject, target, retrievalError } = a;
  await inTransaction(ctx.db, async (tx) => {
    let operationId: string | null = null;
    if (target && subject) {
      const op = await insertOperationWithAudit(
        tx,
        {
          id: randomUUID(),
          tenantId,
          userId: subject.id,
          userPrincipalName: subject.user_principal_name,
          storageLocation: target.sasUrl,
          storageContainer: target.container,
          requestedBy: requester,
          submittedAt: now,
        },
        { ipAddress },
      );
      // A fresh container per case id: a claim can only exist if this very id was used before.
      if (!op) throw GraphError.conflict('Conflict', 'The case container is already in use; retry the request.');
      operationId = op.id;
    }
    await insertRequest(tx, {
      ...input,
      tenantId,
      id,
      createdBy: by,
      now,
      subjectUserId: subject?.id ?? null,
      operationId,
      storageContainer: target?.containerName ?? null,
      retrievalError,
    });
    await insertHistory(tx, tenantId, id, { at: now, type: 'created', stage: 'contentRetrieval', stageStatus: 'notStarted', changedBy: by });
    await insertHistory(tx, tenantId, id, {
      at: now,
      type: retrievalError ? 'retrievalFailed' : 'retrievalStarted',
      stage: 'contentRetrieval',
      stageStatus: retrievalError ? 'failed' : 'current',
      changedBy: by,
    });
    if (operationId) await notifyOperationsQueued(tx);
  });
}

/** PATCH: the changes, a note for an extension, and the close (which schedules the package's purge). */
export async function updateRequestCase(
  ctx: CaseContext,
  tenantId: string,
  id: string,
  requester: Requester,
  parse: (row: RequestRow) => RequestChanges,
  now: Date,
): Promise<RequestView> {
  const by = identitySetOf(requester);
  await withLockedRequest(ctx.db, tenantId, id, async (tx, row) => {
    const changes = parse(row);
    const purgeAfter = changes.close ? new Date(now.getTime() + ctx.purgeDays * 86_400_000) : undefined;
    await updateRequest(
      tx,
      tenantId,
      row.id,
      {
        ...(changes.displayName !== undefined ? { displayName: changes.displayName } : {}),
        ...(changes.description !== undefined ? { description: changes.description } : {}),
        ...(changes.internalDueAt ? { internalDueAt: changes.internalDueAt } : {}),
        ...(changes.close ? { closedAt: now, purgeAfter } : {}),
      },
      by,
      now,
    );
    if (changes.note) {
      await insertNote(tx, tenantId, row.id, { id: randomUUID(), author: by, content: changes.note, contentType: 'text', at: now });
    }
    const extended = changes.internalDueAt && changes.internalDueAt > row.internal_due_at;
    const changed = changes.displayName !== undefined || changes.description !== undefined || changes.internalDueAt !== undefined;
    if (changed) {
      await insertHistory(tx, tenantId, row.id, {
        at: now,
        type: extended ? 'dueDateExtended' : 'updated',
        stage: 'caseResolved',
        stageStatus: 'notStarted',
        changedBy: by,
      });
    }
    if (changes.close) {
      await insertHistory(tx, tenantId, row.id, { at: now, type: 'closed', stage: 'caseResolved', stageStatus: 'completed', changedBy: by });
    }
  });
  return getRequest(ctx.db, tenantId, id);
}

export async function addNote(
  ctx: CaseContext,
  tenantId: string,
  id: string,
  requester: Requester,
  note: { content: string; contentType: 'text' | 'html' },
  now: Date,
): Promise<NoteRow> {
  const by = identitySetOf(requester);
  return withLockedRequest(ctx.db, tenantId, id, async (tx, row) => {
    const created = await insertNote(tx, tenantId, row.id, { id: randomUUID(), author: by, ...note, at: now });
    await insertHistory(tx, tenantId, row.id, {
      at: now,
      type: 'noteAdded',
      stage: 'caseResolved',
      stageStatus: row.status === 'closed' ? 'completed' : 'notStarted',
      changedBy: by,
    });
    return created;
  });
}

/** The officer is done reviewing: the report and the attachment become available. */
export async function completeReview(ctx: CaseContext, tenantId: string, id: string, requester: Requester, now: Date): Promise<RequestView> {
  const view = await getRequest(ctx.db, tenantId, id);
  requireReviewing(view);
  const by = identitySetOf(requester);
  await withLockedRequest(ctx.db, tenantId, id, async (tx, row) => {
    if (row.review_completed_at) return;
    await markReviewCompleted(tx, tenantId, row.id, by, now);
    await insertHistory(tx, tenantId, row.id, { at: now, type: 'reviewCompleted', stage: 'contentReview', stageStatus: 'completed', changedBy: by });
  });
  return getRequest(ctx.db, tenantId, id);
}

/** Exclusions change only while the review is current (the report would otherwise disagree with what was sent). */
export function requireReviewing(view: RequestView): void {
  if (view.status === 'closed') throw GraphError.badRequest('The request is closed.');
  if (retrievalState(view) !== 'completed') throw GraphError.badRequest('The package is not retrieved yet: contentRetrieval has not completed.');
  if (reviewCompleted(view)) throw GraphError.badRequest('The review of this request is completed; its package files can no longer change.');
}

/** The final report and attachment exist once the review is done and until the package is purged. */
export function requireReportReady(view: RequestView): void {
  if (view.purged_at) throw GraphError.conflict('PackagePurged', 'The package of this request was deleted after the request was closed.');
  if (!reviewCompleted(view)) throw GraphError.badRequest('The final report and attachment are generated once the contentReview stage has completed.');
}

/** Review extension: leave a package file out of the attachment (with the reason) or put it back. */
export async function setFileExclusion(
  ctx: CaseContext,
  tenantId: string,
  id: string,
  requester: Requester,
  fileId: string,
  change: { excluded: boolean; reason: string | null },
  now: Date,
): Promise<PackageFileRow> {
  const view = await getRequest(ctx.db, tenantId, id);
  requireReviewing(view);
  const seq = /^\d{1,9}$/.test(fileId) ? Number(fileId) : undefined;
  const file = seq === undefined ? undefined : await findPackageFile(ctx.db, tenantId, view.id, view.operation_id!, seq);
  if (!file) throw GraphError.notFound(`The package of this request has no file '${fileId}'.`);
  if (isPackageManifest(file.path)) throw GraphError.badRequest(REPLACED_MANIFEST_REASON);
  const by = identitySetOf(requester);
  await withLockedRequest(ctx.db, tenantId, id, async (tx, row) => {
    if (change.excluded) await upsertExclusion(tx, tenantId, row.id, { path: file.path, reason: change.reason!, by, at: now });
    else await deleteExclusion(tx, tenantId, row.id, file.path);
    await insertHistory(tx, tenantId, row.id, {
      at: now,
      type: change.excluded ? 'fileExcluded' : 'fileIncluded',
      stage: 'contentReview',
      stageStatus: 'current',
      changedBy: by,
    });
  });
  return (await findPackageFile(ctx.db, tenantId, view.id, view.operation_id!, seq!))!;
}
