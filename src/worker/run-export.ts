import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import {
  markExportFileDone, markExportFilesDone, selectExportFileBody, selectExportFileByPath, selectExportPlanTotals, type ExportFileRow,
} from '../db/queries/export-files.ts';
import { completeOperation, fixBytesPlanned, lockLeasedOperation, markRequestInfoWritten, updateProgress } from '../db/queries/worker-operations.ts';
import {
  alreadyUsedFailure, exhaustedFailure, expiredFailure, invalidStorageLocationFailure, sasExpired, userNotFoundFailure,
} from '../domain/export-failure.ts';
import { attemptsExhausted, progressPercent, shouldPersistProgress } from '../domain/export-lease.ts';
import type { OperationRow } from '../domain/operation.ts';
import { DRIVE_FILE_DISPOSITION, MAX_BLOB_NAME_LENGTH, PACKAGE_PATHS } from '../domain/package-plan.ts';
import { isPrivateAddress } from '../domain/private-address.ts';
import { parseStorageLocation } from '../domain/storage-location.ts';
import { openPackageTarget, type PackageTarget } from '../export/package-target.ts';
import { PinShortfall, renderPlan, SubjectMissing, type RenderedPlan } from '../export/render-plan.ts';
import { SECTIONS } from '../export/sections/index.ts';
import {
  ContentReadError, readerFromStream, storageErrorFacts, uploadBuffer, uploadContentVerified, type RequestRetry,
} from '../export/upload-file.ts';
import { CheckpointBatcher } from './checkpoints.ts';
import {
  AbandonedError, FailureError, LeaseLostError, ReleasedError, type ExportContext, type RunOutcome, type WorkerEvent,
} from './export-context.ts';
import { ExportLeaseKeeper, fenced } from './export-lease-keeper.ts';
import { endExport, isContentNotFound, settleExportError, type EndingRun } from './export-outcome.ts';
import { PendingFiles } from './pending-files.ts';

export { AbandonedError, LeaseLostError, ReleasedError, type ExportContext, type RunOutcome, type WorkerEvent };

/**
 * One export, from claim to complete | failed | rescheduled (docs/architecture.md#operation-lifecycle):
 * its stages (fix the plan, RequestInfo.json, the data, manifest.json). The lease that fences it
 * is in export-lease-keeper.ts, how it ends in export-outcome.ts.
 */
export class ExportRun implements EndingRun {
  readonly lease: ExportLeaseKeeper;
  private readonly token: string;
  readonly log: Logger;
  private draining = false;
  target: PackageTarget | undefined;
  private bytesPlanned = 0;
  private bytesWritten = 0;
  private lastProgressMs: number | undefined;
  private progressWrite: Promise<void> | undefined;
  /** Small files this run rendered, uploaded from memory; after a resume they are read from their rows. */
  private inlineBodies: ReadonlyMap<string, Buffer> = new Map();
  private readonly checkpoints: CheckpointBatcher<ExportFileRow>;

  constructor(readonly ctx: ExportContext, readonly op: OperationRow) {
    this.token = op.lease_token!;
    this.log = ctx.logger.child({ operationId: op.id, tenantId: op.tenant_id });
    this.lease = new ExportLeaseKeeper(ctx, op.id, this.token, this.log);
    this.checkpoints = new CheckpointBatcher<ExportFileRow>(
      (paths) => {
        // After a crash (abandoned) or a lost lease nothing more is written; a release still
        // records what is finished, so the next owner does not upload it again.
        if (!this.lease.mayWrite()) return Promise.reject(this.signal.reason as Error);
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
    this.lease.abort(reason);
  }

  private get signal(): AbortSignal {
    return this.lease.signal;
  }

  async run(): Promise<RunOutcome> {
    this.lease.start();
    try {
      await this.execute();
      return { kind: 'complete' };
    } catch (err) {
      return await settleExportError(this, err);
    } finally {
      this.lease.stop();
      await this.checkpoints.close();
      this.target?.close();
    }
  }

  async progressSettled(): Promise<void> {
    await this.progressWrite;
  }

  flushCheckpoints(): Promise<void> {
    return this.checkpoints.flush();
  }

  private checkSignal(): void {
    this.lease.throwIfAborted();
  }

  private async execute(): Promise<void> {
    const { config } = this.ctx;
    const op = this.op;
    // Takeovers from crashed workers count as attempts (claimOperations): an export that keeps
    // killing workers ends here instead of forever.
    if (attemptsExhausted(op.attempts, config.worker.maxAttempts)) {
      throw new FailureError(exhaustedFailure(op.attempts, op.error_message ?? 'the worker running it stopped without finishing'));
    }
    const location = parseStorageLocation(op.storage_location, config.storageAllow);
    const allowedOrigin = config.storageAllow.includes(location.origin);
    // Checked again here (also done at the POST): an IP literal never goes through DNS lookup.
    if (!allowedOrigin && isPrivateAddress(location.hostname)) {
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

    this.target = openPackageTarget(location, { allowPrivate: allowedOrigin, resolve: this.ctx.resolve });

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
    await endExport(this, 'complete', (tx, storageLocation) => completeOperation(tx, this.op.id, this.token, this.bytesPlanned, storageLocation), {
      activity: 'Export personal data completed', details: { operationId: this.op.id, bytesWritten: String(this.bytesPlanned) },
    });
    this.log.info({ bytes: this.bytesPlanned }, 'export complete');
    this.ctx.onEvent({ type: 'completed', operationId: this.op.id, workerId: this.ctx.workerId });
  }
}
