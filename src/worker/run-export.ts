import { setMaxListeners } from 'node:events';
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { inTransaction, isDatabaseUnavailable, type Queryable } from '../db/pool.ts';
import { insertDirectoryAudit } from '../db/queries/directory-audits.ts';
import {
  clearExportFileBodies, deleteContentPins, markExportFileDone, markExportFilesDone, selectExportFileBody, selectExportFileByPath,
  selectExportPlanTotals, type ExportFileRow,
} from '../db/queries/export-files.ts';
import { notifyOperationsQueued } from '../db/queries/operations.ts';
import {
  completeOperation, failOperation, fixBytesPlanned, lockLeasedOperation, markRequestInfoWritten, releaseLease, renewLease,
  scheduleRetry, updateProgress,
} from '../db/queries/worker-operations.ts';
import { auditRecord } from '../domain/directory-audit.ts';
import {
  alreadyUsedFailure, classifyStorageError, exhaustedFailure, expiredFailure, invalidStorageLocationFailure, sasExpired,
  userNotFoundFailure, type ExportFailure,
} from '../domain/export-failure.ts';
import {
  attemptsExhausted, heartbeatIntervalMs, leaseMayHaveLapsed, progressPercent, retryDelayMs, shouldPersistProgress,
} from '../domain/export-lease.ts';
import type { OperationRow } from '../domain/operation.ts';
import { DRIVE_FILE_DISPOSITION, MAX_BLOB_NAME_LENGTH, PACKAGE_PATHS } from '../domain/package-plan.ts';
import { isPrivateAddress } from '../domain/private-address.ts';
import { isPathStyle, openPackageTarget, parseStorageLocation, type PackageTarget } from '../export/package-target.ts';
import { PinShortfall, renderPlan, SubjectMissing, type RenderedPlan } from '../export/render-plan.ts';
import { SECTIONS } from '../export/sections/index.ts';
import {
  ContentIntegrityError, ContentReadError, readerFromStream, storageErrorFacts, uploadBuffer, uploadContentVerified,
  type RequestRetry,
} from '../export/upload-file.ts';
import { redactSecrets } from '../logger.ts';
import { CheckpointBatcher } from './checkpoints.ts';
import {
  AbandonedError, FailureError, LeaseLostError, ReleasedError, type ExportContext, type RunOutcome, type WorkerEvent,
} from './export-context.ts';
import { PendingFiles } from './pending-files.ts';

export { AbandonedError, LeaseLostError, ReleasedError, type ExportContext, type RunOutcome, type WorkerEvent };

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

function fenced(ok: boolean): void {
  if (!ok) throw new LeaseLostError();
}

function isContentNotFound(err: unknown): boolean {
  return (err as { name?: string } | undefined)?.name === 'ContentNotFoundError';
}

function withListenerRoom(controller: AbortController): AbortController {
  setMaxListeners(0, controller.signal);
  return controller;
}

/**
 * One export, from claim to complete | failed | rescheduled (docs/architecture.md#operation-lifecycle). Every write after the
 * claim is fenced by the lease token; a heartbeat renews the lease every third of its length.
 */
export class ExportRun {
  // Every upload in flight (upload concurrency × blocks per file, plus SDK internals) listens on
  // this one signal; Node's default of 10 listeners would warn about a leak that is not one.
  private readonly controller = withListenerRoom(new AbortController());
  private readonly token: string;
  private readonly log: Logger;
  private draining = false;
  private heartbeat: NodeJS.Timeout | undefined;
  private lastRenewedMs = Date.now();
  private renewing = false;
  private target: PackageTarget | undefined;
  private bytesPlanned = 0;
  private bytesWritten = 0;
  private lastProgressMs: number | undefined;
  private progressWrite: Promise<void> | undefined;
  /** Small files this run rendered, uploaded from memory; after a resume they are read from their rows. */
  private inlineBodies: ReadonlyMap<string, Buffer> = new Map();
  private readonly checkpoints: CheckpointBatcher<ExportFileRow>;

  constructor(private readonly ctx: ExportContext, private readonly op: OperationRow) {
    this.token = op.lease_token!;
    this.log = ctx.logger.child({ operationId: op.id, tenantId: op.tenant_id });
    this.checkpoints = new CheckpointBatcher<ExportFileRow>(
      (paths) => {
        // After a crash (abandoned) or a lost lease nothing more is written; a release still
        // records what is finished, so the next owner does not upload it again.
        if (!this.mayWrite()) return Promise.reject(this.signal.reason as Error);
        return markExportFilesDone(ctx.db, op.id, this.token, paths);
      },
      (files) => { for (const f of files) this.fileDone(f); },
      (err) => { if (err instanceof LeaseLostError) this.abort(err); },
      () => new LeaseLostError(),
      { maxFiles: 50, maxBytes: ctx.blockSize, maxDelayMs: 100 },
    );
  }

  get operationId(): string {
    return this.op.id;
  }

  /** Finish the files in flight, start no new one, then hand the export back. */
  drain(): void {
    this.draining = true;
  }

  abort(reason: LeaseLostError | ReleasedError | AbandonedError): void {
    if (!this.controller.signal.aborted) this.controller.abort(reason);
  }

  private get signal(): AbortSignal {
    return this.controller.signal;
  }

  private mayWrite(): boolean {
    const reason: unknown = this.signal.reason;
    return !this.signal.aborted || !(reason instanceof AbandonedError || reason instanceof LeaseLostError);
  }

  async run(): Promise<RunOutcome> {
    this.startHeartbeat();
    try {
      await this.execute();
      return { kind: 'complete' };
    } catch (err) {
      return await this.handleError(err);
    } finally {
      if (this.heartbeat) clearInterval(this.heartbeat);
      await this.checkpoints.close();
      this.target?.close();
    }
  }

  private startHeartbeat(): void {
    const { leaseSeconds } = this.ctx.config.worker;
    this.heartbeat = setInterval(() => {
      if (this.renewing || this.signal.aborted) return;
      this.renewing = true;
      renewLease(this.ctx.db, this.op.id, this.token, leaseSeconds).then((ok) => {
        if (ok) this.lastRenewedMs = Date.now();
        else this.abort(new LeaseLostError());
      }, (err: unknown) => {
        // The database is away: keep trying until the lease we last saw may have lapsed.
        this.log.warn({ err: String(err) }, 'lease renewal failed');
        if (leaseMayHaveLapsed(Date.now(), this.lastRenewedMs, leaseSeconds)) this.abort(new LeaseLostError());
      }).finally(() => { this.renewing = false; });
    }, heartbeatIntervalMs(leaseSeconds));
    this.heartbeat.unref();
  }

  private checkSignal(): void {
    if (this.signal.aborted) throw this.signal.reason as Error;
  }

  private async execute(): Promise<void> {
    const { config } = this.ctx;
    const op = this.op;
    // Takeovers from crashed workers count as attempts (claimOperations): an export that keeps
    // killing workers ends here instead of forever.
    if (attemptsExhausted(op.attempts, config.worker.maxAttempts)) {
      throw new FailureError(exhaustedFailure(op.attempts, op.error_message ?? 'the worker running it stopped without finishing'));
    }
    const pathStyle = isPathStyle(op.storage_location, config.storageAllow);
    const location = parseStorageLocation(op.storage_location, pathStyle);
    // Checked again here (also done at the POST): an IP literal never goes through DNS lookup.
    if (!config.storageAllow.includes(location.origin) && isPrivateAddress(location.hostname)) {
      throw new FailureError(invalidStorageLocationFailure('storageLocation points to a loopback, private, link-local or metadata address.'));
    }
    if (sasExpired(location.sas, new Date())) throw new FailureError(expiredFailure(location.sas));

    if (op.bytes_planned === null) this.inlineBodies = await this.fixPlan(MAX_BLOB_NAME_LENGTH - location.prefix.length);
    const totals = await selectExportPlanTotals(this.ctx.db, op.id);
    this.bytesPlanned = totals.bytes;
    this.bytesWritten = totals.bytesDone;
    const requestInfo = await selectExportFileByPath(this.ctx.db, op.id, PACKAGE_PATHS.requestInfo);
    const manifest = await selectExportFileByPath(this.ctx.db, op.id, PACKAGE_PATHS.manifest);
    if (!requestInfo || !manifest || totals.files < 2) throw new Error(`plan of ${op.id} is incomplete`);
    this.checkSignal();

    this.target = openPackageTarget(op.storage_location, { allowedOrigins: config.storageAllow, resolve: this.ctx.resolve });

    // 1. RequestInfo.json, alone and first: it claims the container (If-None-Match: *).
    if (!requestInfo.done) await this.writeRequestInfo(requestInfo);
    else if (!op.request_info_written) fenced(await markRequestInfoWritten(this.ctx.db, op.id, this.token));

    // 2. The data, index.html included, a bounded number of files at once, read from the plan in
    // pages (a drive of 100,000 files is not one array).
    const pending = new PendingFiles(this.ctx.db, op.id, requestInfo.seq, manifest.seq);
    let stopped = false;
    const lanes = Array.from({ length: config.worker.uploadConcurrency }, async () => {
      while (!this.draining && !stopped) {
        this.checkSignal();
        this.checkpoints.throwIfFailed();
        const file = await pending.next();
        if (!file) return;
        await this.writeFile(file).catch((err: unknown) => {
          stopped = true;
          throw err;
        });
      }
    });
    // One failing lane stops the others at their next file; the first error is the one reported.
    const results = await Promise.allSettled(lanes);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    this.checkSignal();
    if (!pending.exhausted) throw new ReleasedError();
    // Every data file checkpointed before the manifest exists.
    await this.checkpoints.flush();

    // 3. manifest.json last: its presence means the package is complete.
    if (!manifest.done) {
      if (this.draining) throw new ReleasedError();
      await this.writeFile(manifest);
      await this.checkpoints.flush();
    }
    await this.complete();
  }

  /**
   * Renders the package (every section, in one snapshot) into the content store and fixes the
   * plan, unless another attempt already did. From then on the package is only uploaded: a crash
   * resumes from the checkpoints without rendering anything again.
   */
  private async fixPlan(maxPathLength: number): Promise<ReadonlyMap<string, Buffer>> {
    const { db } = this.ctx;
    const op = this.op;
    const started = performance.now();
    const snapshotOp = {
      id: op.id, tenantId: op.tenant_id, userId: op.user_id, userPrincipalName: op.user_principal_name,
      requestedBy: op.requested_by, submittedAt: op.submitted_at, storageContainer: op.storage_container,
    };
    const deps = {
      db, store: this.ctx.contentStore, token: this.token, signal: this.signal, leaseLost: () => new LeaseLostError(),
      signer: await this.ctx.packageSigner(),
    };
    // Content deleted between the snapshot and the pins (a drive item removed meanwhile) makes
    // the pin count short: render a fresh snapshot. Three tries is plenty for a race of milliseconds.
    for (let attempt = 1; ; attempt++) {
      let planned: RenderedPlan;
      try {
        planned = await renderPlan(deps, snapshotOp, SECTIONS, new Date(), maxPathLength);
      } catch (err) {
        if (this.signal.aborted) throw this.signal.reason as Error;
        if (err instanceof SubjectMissing) throw new FailureError(userNotFoundFailure(op.user_id));
        if (err instanceof PinShortfall && attempt < 3) continue;
        if (err instanceof PinShortfall) throw new Error('drive content kept disappearing while the export plan was fixed');
        throw err;
      }
      if (!(await fixBytesPlanned(db, op.id, this.token, planned.bytes))) {
        const row = await lockLeasedOperation(db, op.id, this.token);
        if (!row) throw new LeaseLostError();
        return new Map();
      }
      this.log.info({ files: planned.files, bytes: planned.bytes, ms: Math.round(performance.now() - started) }, 'export plan fixed');
      return planned.inline;
    }
  }

  private requestRetry(): RequestRetry {
    return { ...this.ctx.requestRetry, onRetry: () => this.ctx.metrics.storageRetries.inc({ kind: 'request' }) };
  }

  /** A small file's bytes: its row's body, or (RequestInfo.json of a larger kind) the content store's. */
  private async smallBody(file: ExportFileRow): Promise<Buffer> {
    if (file.source === 'inline') {
      const rendered = this.inlineBodies.get(file.path);
      if (rendered) return rendered;
      const body = await selectExportFileBody(this.ctx.db, this.op.id, file.path);
      if (!body) throw new Error(`snapshot of ${file.path} is missing`);
      return body;
    }
    const chunks: Buffer[] = [];
    const stream = await this.ctx.contentStore.get(file.sha256).catch((err: unknown) => {
      throw isContentNotFound(err) ? err : new ContentReadError(err);
    });
    for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
    return Buffer.concat(chunks);
  }

  private async writeRequestInfo(file: ExportFileRow): Promise<void> {
    const target = this.target!;
    const body = await this.smallBody(file);
    try {
      await uploadBuffer(target.container.getBlockBlobClient(target.blobName(file.path)), body, {
        contentType: file.content_type, retry: this.requestRetry(), signal: this.signal, ifNoneMatch: true,
        onBytes: (n) => this.addBytes(n),
      });
    } catch (err) {
      const facts = storageErrorFacts(err);
      const conflict = facts.statusCode === 409 && facts.errorCode === 'BlobAlreadyExists' || facts.statusCode === 412;
      if (!conflict) throw err;
      // Ours from an attempt that died between the upload and its checkpoint? Then it's a resume.
      if (!this.op.request_info_written && !(await this.isOurRequestInfo(file))) throw new FailureError(alreadyUsedFailure());
      this.addBytes(body.length);
      this.log.info('RequestInfo.json already written by an earlier attempt; resuming');
    }
    fenced(await markRequestInfoWritten(this.ctx.db, this.op.id, this.token));
    fenced(await markExportFileDone(this.ctx.db, this.op.id, this.token, file.path));
    this.fileDone(file);
  }

  /** Needs read (r) on the SAS; without it a conflict cannot be proven ours and counts as "used". */
  private async isOurRequestInfo(file: ExportFileRow): Promise<boolean> {
    const target = this.target!;
    try {
      const existing = await target.container.getBlockBlobClient(target.blobName(file.path))
        .downloadToBuffer(0, undefined, { abortSignal: this.signal });
      return createHash('sha256').update(existing).digest('hex') === file.sha256;
    } catch {
      return false;
    }
  }

  /** Uploads one file and hands its checkpoint to the batcher (written within ~100 ms, see checkpoints.ts). */
  private async writeFile(file: ExportFileRow): Promise<void> {
    const target = this.target!;
    // One ContainerClient and pipeline per export (openPackageTarget); a BlockBlobClient is only
    // a URL on top of it.
    const blob = target.container.getBlockBlobClient(target.blobName(file.path));
    const base = { contentType: file.content_type, retry: this.requestRetry(), signal: this.signal, onBytes: (n: number) => this.addBytes(n) };
    if (file.source === 'inline') {
      await uploadBuffer(blob, await this.smallBody(file), base);
    } else {
      const store = this.ctx.contentStore;
      const reader = await (store.open ? store.open(file.sha256) : store.get(file.sha256).then(readerFromStream)).catch((err: unknown) => {
        throw isContentNotFound(err) ? err : new ContentReadError(err);
      });
      await uploadContentVerified(blob, reader, { path: file.path, size: file.size, sha256: file.sha256 }, {
        ...base, ...(file.source === 'content' ? { contentDisposition: DRIVE_FILE_DISPOSITION } : {}), blockSize: this.ctx.blockSize, parallelBlocks: this.ctx.parallelBlocks,
      });
    }
    await this.checkpoints.add(file);
  }

  private fileDone(file: ExportFileRow): void {
    this.ctx.metrics.exportFiles.inc();
    this.ctx.onEvent({ type: 'fileUploaded', operationId: this.op.id, workerId: this.ctx.workerId, path: file.path });
  }

  private addBytes(n: number): void {
    this.bytesWritten += n;
    this.ctx.metrics.exportBytes.inc(n);
    const now = Date.now();
    if (this.progressWrite || !shouldPersistProgress(now, this.lastProgressMs)) return;
    this.lastProgressMs = now;
    const written = Math.min(this.bytesWritten, this.bytesPlanned);
    this.progressWrite = updateProgress(this.ctx.db, this.op.id, this.token, written, progressPercent(written, this.bytesPlanned))
      .then((ok) => { if (!ok) this.abort(new LeaseLostError()); }, () => undefined)
      .finally(() => { this.progressWrite = undefined; });
  }

  private async complete(): Promise<void> {
    await this.progressWrite;
    await this.end('complete', (tx, storageLocation) => completeOperation(tx, this.op.id, this.token, this.bytesPlanned, storageLocation), {
      activity: 'Export personal data completed', details: { operationId: this.op.id, bytesWritten: String(this.bytesPlanned) },
    });
    this.log.info({ bytes: this.bytesPlanned }, 'export complete');
    this.ctx.onEvent({ type: 'completed', operationId: this.op.id, workerId: this.ctx.workerId });
  }

  /**
   * The end of an export, complete or failed, in one fenced transaction: the row (with the SAS
   * signature redacted: nothing needs it any more), the pins and snapshot bodies dropped, the
   * audit record, and the duration metric.
   */
  private async end(
    status: 'complete' | 'failed',
    endRow: (tx: Queryable, storageLocation: string) => Promise<OperationRow | undefined>,
    audit: Pick<Parameters<typeof auditRecord>[0], 'activity' | 'result' | 'resultReason' | 'details'>,
  ): Promise<void> {
    const op = this.op;
    await inTransaction(this.ctx.db, async (tx) => {
      const row = await endRow(tx, redactSecrets(op.storage_location));
      if (!row) throw new LeaseLostError();
      await deleteContentPins(tx, op.id);
      await clearExportFileBodies(tx, op.id);
      await insertDirectoryAudit(tx, auditRecord({
        ...audit, tenantId: op.tenant_id, now: new Date(), operationType: 'Other', requester: op.requested_by, ipAddress: null,
        target: { id: op.user_id, userPrincipalName: op.user_principal_name }, correlationId: op.id,
      }));
      this.ctx.metrics.exportDuration.observe({ status }, (row.completed_at!.getTime() - op.submitted_at.getTime()) / 1000);
    });
  }

  private classify(err: unknown): ExportFailure {
    if (err instanceof FailureError) return err.failure;
    if (this.target?.guard.blocked) return invalidStorageLocationFailure(`storageLocation host ${this.target.guard.blocked.hostname} resolves to a loopback, private, link-local or metadata address; nothing was sent.`);
    if (err instanceof ContentIntegrityError) return { kind: 'permanent', code: 'InternalServerError', message: 'A file in the content store does not match its recorded hash; the export was stopped so as not to deliver corrupt data.' };
    if (isContentNotFound(err)) return { kind: 'permanent', code: 'InternalServerError', message: 'A file of the drive is missing from the content store.' };
    if (err instanceof ContentReadError) {
      // The content store (a local folder or the service's own blob container) had a hiccup:
      // retried like any transient failure, never blamed on the customer's storage location.
      return { kind: 'transient', cause: 'content', message: 'The content store could not be read.' };
    }
    // Storage first: its network errors carry the same codes (ECONNRESET …) as a lost database.
    const facts = storageErrorFacts(err);
    if ((err as { name?: string }).name === 'RestError') {
      const location = this.target?.location ?? parseStorageLocation(this.op.storage_location, isPathStyle(this.op.storage_location, this.ctx.config.storageAllow));
      return classifyStorageError(facts, 'write', location.sas, new Date());
    }
    if (isDatabaseUnavailable(err)) return { kind: 'transient', cause: 'database', message: 'The database was unreachable.' };
    return { kind: 'permanent', code: 'InternalServerError', message: 'The export failed unexpectedly; the details are in the service log.' };
  }

  private async handleError(thrown: unknown): Promise<RunOutcome> {
    const op = this.op;
    const err = this.signal.aborted ? this.signal.reason as unknown : thrown;
    const emit = (e: DistributiveOmit<WorkerEvent, 'operationId' | 'workerId'>) =>
      this.ctx.onEvent({ ...e, operationId: op.id, workerId: this.ctx.workerId } as WorkerEvent);
    if (err instanceof AbandonedError) return { kind: 'abandoned' };
    if (err instanceof LeaseLostError) {
      this.ctx.metrics.leaseLosses.inc();
      this.log.warn('lease lost; another worker owns this export now');
      emit({ type: 'leaseLost' });
      return { kind: 'leaseLost' };
    }
    await this.progressWrite;
    // Files finished before the stop or failure are recorded, so the next attempt skips them;
    // if this fails too, they are uploaded again (same bytes, same names).
    if (err instanceof ReleasedError || this.classify(err).kind === 'transient') {
      await this.checkpoints.flush().catch((e: unknown) => this.log.warn({ err: String(e) }, 'checkpoints could not be written'));
    }
    if (err instanceof ReleasedError) {
      await releaseLease(this.ctx.db, op.id, this.token).catch((e: unknown) => this.log.warn({ err: String(e) }, 'lease release failed'));
      // Idle workers elsewhere take it over now, not at their next poll.
      await notifyOperationsQueued(this.ctx.db).catch(() => undefined);
      this.log.info('export handed back for another worker');
      emit({ type: 'released' });
      return { kind: 'released' };
    }
    let failure = this.classify(err);
    if (failure.kind === 'permanent' && failure.code === 'InternalServerError') this.log.error({ err }, 'export failed');
    try {
      if (failure.kind === 'transient') {
        const attempts = op.attempts + 1;
        if (attemptsExhausted(attempts, this.ctx.config.worker.maxAttempts)) {
          failure = exhaustedFailure(attempts, failure.message);
        } else {
          const delayMs = retryDelayMs(attempts, this.ctx.operationRetry, Math.random());
          fenced(await scheduleRetry(this.ctx.db, op.id, this.token, delayMs, redactSecrets(failure.message)));
          this.ctx.metrics.operationRetries.inc({ cause: failure.cause });
          this.log.warn({ attempts, delayMs, reason: failure.message }, 'export will be retried');
          emit({ type: 'retryScheduled', delayMs, message: failure.message });
          return { kind: 'retry', delayMs };
        }
      }
      const { code, message } = failure as Extract<ExportFailure, { kind: 'permanent' }>;
      await this.fail(code, redactSecrets(message));
      emit({ type: 'failed', code });
      return { kind: 'failed' };
    } catch (e) {
      if (e instanceof LeaseLostError) {
        this.ctx.metrics.leaseLosses.inc();
        emit({ type: 'leaseLost' });
        return { kind: 'leaseLost' };
      }
      // Could not record the outcome (database away): the lease lapses and another attempt decides.
      this.log.error({ err: String(e) }, 'could not record the export failure');
      return { kind: 'leaseLost' };
    }
  }

  private async fail(code: string, message: string): Promise<void> {
    await this.end('failed', (tx, storageLocation) => failOperation(tx, this.op.id, this.token, code, message, storageLocation), {
      activity: 'Export personal data failed', result: 'failure', resultReason: code, details: { operationId: this.op.id, errorCode: code },
    });
    this.log.warn({ code, reason: message }, 'export failed');
  }
}
