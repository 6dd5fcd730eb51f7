import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import { isDatabaseUnavailable } from '../db/pool.ts';
import { notifyOperationsQueued } from '../db/queries/operations.ts';
import { endOperation, releaseLease, scheduleRetry, type OperationEnding } from '../db/queries/worker-operations.ts';
import { auditRecord } from '../domain/directory-audit.ts';
import { classifyStorageError, exhaustedFailure, invalidStorageLocationFailure, type ExportFailure } from '../domain/export-failure.ts';
import { attemptsExhausted, retryDelayMs } from '../domain/export-lease.ts';
import type { OperationRow } from '../domain/operation.ts';
import { parseStorageLocation } from '../domain/storage-location.ts';
import { isBlockedAddress } from '../export/guarded-agent.ts';
import type { PackageTarget } from '../export/package-target.ts';
import { ContentIntegrityError, ContentReadError, storageErrorFacts } from '../export/upload-file.ts';
import { redactSecrets } from '../logger.ts';
import { AbandonedError, FailureError, LeaseLostError, ReleasedError, type ExportContext, type RunOutcome, type WorkerEvent } from './export-context.ts';
import { fenced, type ExportLeaseKeeper } from './export-lease-keeper.ts';

// How an export run ends: complete or failed in one fenced transaction, or, after an error,
// classified and then retried later, failed, or handed back.

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

export function isContentNotFound(err: unknown): boolean {
  return (err as { name?: string } | undefined)?.name === 'ContentNotFoundError';
}

/** What ending a run needs to know of it. */
export interface EndingRun {
  readonly ctx: ExportContext;
  readonly op: OperationRow;
  readonly lease: ExportLeaseKeeper;
  readonly log: Logger;
  readonly target: PackageTarget | undefined;
  /** Resolves once the last progress write has settled. */
  progressSettled(): Promise<void>;
  flushCheckpoints(): Promise<void>;
}

/**
 * The end of an export, complete or failed, in one fenced statement (endOperation): the row (with
 * the SAS signature redacted: nothing needs it any more), the pins and snapshot bodies dropped,
 * the audit record; then the duration metric.
 */
export async function endExport(
  run: Pick<EndingRun, 'ctx' | 'op' | 'lease'>,
  ending: OperationEnding,
  audit: Pick<Parameters<typeof auditRecord>[0], 'activity' | 'result' | 'resultReason' | 'details'>,
): Promise<void> {
  const { ctx, op } = run;
  const record = auditRecord({
    ...audit,
    tenantId: op.tenant_id,
    now: new Date(),
    operationType: 'Other',
    requester: op.requested_by,
    ipAddress: null,
    target: { id: op.user_id, userPrincipalName: op.user_principal_name },
    correlationId: op.id,
  });
  const row = await endOperation(ctx.db, op.id, run.lease.token, ending, redactSecrets(op.storage_location), record);
  if (!row) throw new LeaseLostError();
  ctx.metrics.exportDuration.observe({ status: ending.status }, (row.completed_at!.getTime() - op.submitted_at.getTime()) / 1000);
}

export function classifyExportError(err: unknown, op: OperationRow, target: PackageTarget | undefined, config: Pick<Config, 'storageAllow'>): ExportFailure {
  if (err instanceof FailureError) return err.failure;
  // Read from the error, not from the agent: the agent is shared with other exports.
  if (isBlockedAddress(err)) {
    const hostname = target?.location.hostname ?? parseStorageLocation(op.storage_location, config.storageAllow).hostname;
    return invalidStorageLocationFailure(`storageLocation host ${hostname} resolves to a loopback, private, link-local or metadata address; nothing was sent.`);
  }
  if (err instanceof ContentIntegrityError)
    return {
      kind: 'permanent',
      code: 'InternalServerError',
      message: 'A file in the content store does not match its recorded hash; the export was stopped so as not to deliver corrupt data.',
    };
  if (isContentNotFound(err)) return { kind: 'permanent', code: 'InternalServerError', message: 'A file of the drive is missing from the content store.' };
  if (err instanceof ContentReadError) {
    // The content store (a local folder or the service's own blob container) had a hiccup:
    // retried like any transient failure, never blamed on the customer's storage location.
    return { kind: 'transient', cause: 'content', message: 'The content store could not be read.' };
  }
  // Storage first: its network errors carry the same codes (ECONNRESET …) as a lost database.
  const facts = storageErrorFacts(err);
  if ((err as { name?: string }).name === 'RestError') {
    const location = target?.location ?? parseStorageLocation(op.storage_location, config.storageAllow);
    return classifyStorageError(facts, 'write', location.sas, new Date());
  }
  if (isDatabaseUnavailable(err)) return { kind: 'transient', cause: 'database', message: 'The database was unreachable.' };
  return { kind: 'permanent', code: 'InternalServerError', message: 'The export failed unexpectedly; the details are in the service log.' };
}

/** After an error: lease lost or abandoned (nothing written), handed back, retried later, or failed for good. */
export async function settleExportError(run: EndingRun, thrown: unknown): Promise<RunOutcome> {
  const { ctx, op, lease, log } = run;
  const err = lease.signal.aborted ? (lease.signal.reason as unknown) : thrown;
  const classify = () => classifyExportError(err, op, run.target, ctx.config);
  const emit = (e: DistributiveOmit<WorkerEvent, 'operationId' | 'workerId'>) => ctx.onEvent({ ...e, operationId: op.id, workerId: ctx.workerId });
  if (err instanceof AbandonedError) return { kind: 'abandoned' };
  if (err instanceof LeaseLostError) {
    ctx.metrics.leaseLosses.inc();
    log.warn('lease lost; another worker owns this export now');
    emit({ type: 'leaseLost' });
    return { kind: 'leaseLost' };
  }
  await run.progressSettled();
  // Files finished before the stop or failure are recorded, so the next attempt skips them;
  // if this fails too, they are uploaded again (same bytes, same names).
  if (err instanceof ReleasedError || classify().kind === 'transient') {
    await run.flushCheckpoints().catch((e: unknown) => log.warn({ err: String(e) }, 'checkpoints could not be written'));
  }
  if (err instanceof ReleasedError) {
    await releaseLease(ctx.db, op.id, lease.token).catch((e: unknown) => log.warn({ err: String(e) }, 'lease release failed'));
    // Idle workers elsewhere take it over now, not at their next poll.
    await notifyOperationsQueued(ctx.db).catch(() => undefined);
    log.info('export handed back for another worker');
    emit({ type: 'released' });
    return { kind: 'released' };
  }
  let failure = classify();
  if (failure.kind === 'permanent' && failure.code === 'InternalServerError') log.error({ err }, 'export failed');
  try {
    if (failure.kind === 'transient') {
      const attempts = op.attempts + 1;
      if (attemptsExhausted(attempts, ctx.config.worker.maxAttempts)) {
        failure = exhaustedFailure(attempts, failure.message);
      } else {
        const delayMs = retryDelayMs(attempts, ctx.operationRetry, Math.random());
        fenced(await scheduleRetry(ctx.db, op.id, lease.token, delayMs, redactSecrets(failure.message)));
        ctx.metrics.operationRetries.inc({ cause: failure.cause });
        log.warn({ attempts, delayMs, reason: failure.message }, 'export will be retried');
        emit({ type: 'retryScheduled', delayMs, message: failure.message });
        return { kind: 'retry', delayMs };
      }
    }
    const { code, message } = failure as Extract<ExportFailure, { kind: 'permanent' }>;
    const reason = redactSecrets(message);
    await endExport(
      run,
      { status: 'failed', code, message: reason },
      {
        activity: 'Export personal data failed',
        result: 'failure',
        resultReason: code,
        details: { operationId: op.id, errorCode: code },
      },
    );
    log.warn({ code, reason }, 'export failed');
    emit({ type: 'failed', code });
    return { kind: 'failed' };
  } catch (e) {
    if (e instanceof LeaseLostError) {
      ctx.metrics.leaseLosses.inc();
      emit({ type: 'leaseLost' });
      return { kind: 'leaseLost' };
    }
    // Could not record the outcome (database away): the lease lapses and another attempt decides.
    log.error({ err: String(e) }, 'could not record the export failure');
    return { kind: 'leaseLost' };
  }
}
