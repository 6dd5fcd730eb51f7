import type { Logger } from 'pino';
import {
  markExportFilesDone,
  markRequestInfoDone,
  selectExportFileBody,
  selectExportFileByPath,
  selectExportPlanHead,
  type ExportFileRow,
} from '../db/queries/export-files.ts';
import { fixBytesPlanned, lockLeasedOperation, markRequestInfoWritten } from '../db/queries/worker-operations.ts';
import { exhaustedFailure, expiredFailure, invalidStorageLocationFailure, sasExpired, userNotFoundFailure } from '../domain/export-failure.ts';
import { attemptsExhausted } from '../domain/export-lease.ts';
import type { OperationRow } from '../domain/operation.ts';
import { DRIVE_FILE_DISPOSITION, MAX_BLOB_NAME_LENGTH, PACKAGE_PATHS } from '../domain/package-plan.ts';
import { isPrivateAddress } from '../domain/private-address.ts';
import { parseStorageLocation } from '../domain/storage-location.ts';
import { openPackageTarget, type PackageTarget } from '../export/package-target.ts';
import { PinShortfall, renderPlan, SubjectMissing, type RenderedPlan } from '../export/render-plan.ts';
import { SECTIONS } from '../export/sections/index.ts';
import { ContentReadError, readerFromStream, uploadBuffer, uploadContentVerified, type RequestRetry } from '../export/upload-file.ts';
import { CheckpointBatcher } from './checkpoints.ts';
import { AbandonedError, FailureError, LeaseLostError, ReleasedError, type ExportContext, type RunOutcome, type WorkerEvent } from './export-context.ts';
import { ExportLeaseKeeper, fenced } from './export-lease-keeper.ts';
import { endExport, isContentNotFound, settleExportError, type EndingRun } from './export-outcome.ts';
import { ExportProgress } from './export-progress.ts';
import { PendingFiles, PlanFeed } from './pending-files.ts';
import { renderingBegins, renderingEnds } from './render-heap.ts';
import { uploadRequestInfo } from './request-info-claim.ts';
import { UploadSlots } from './upload-slots.ts';

export { AbandonedError, LeaseLostError, ReleasedError, type ExportContext, type RunOutcome, type WorkerEvent };

/**
 * One export, from claim to complete | failed | rescheduled (docs/architecture.md#operation-lifecycle):
 * its stages (fix the plan, RequestInfo.json, the data, manifest.json). The lease that fences it
 * is in export-lease-keeper.ts, its progress in export-progress.ts, the claim of the container
 * in request-info-claim.ts, how it ends in export-outcome.ts.
 */
export class ExportRun implements EndingRun {
  readonly lease: ExportLeaseKeeper;
  private readonly token: string;
  readonly log: Logger;
  private draining = false;
  target: PackageTarget | undefined;
  private readonly progress: ExportProgress;
  /** Small files this run rendered, uploaded from memory; after a resume they are read from their rows. */
  private inlineBodies: ReadonlyMap<string, Buffer> = new Map();
  private readonly checkpoints: CheckpointBatcher<ExportFileRow>;
  /** RequestInfo.json of this operation is in the container (it claimed it): rewriting it is ours to do. */
  private claimed: boolean;
  private readonly largeUploads = new UploadSlots(2);

  constructor(
    readonly ctx: ExportContext,
    readonly op: OperationRow,
  ) {
    this.token = op.lease_token!;
    this.log = ctx.logger.child({ operationId: op.id, tenantId: op.tenant_id });
    this.lease = new ExportLeaseKeeper(ctx, op.id, this.token, this.log);
    this.claimed = op.request_info_written;
    this.progress = new ExportProgress(ctx, op.id, this.token, op.bytes_planned !== null, () => this.abort(new LeaseLostError()));
    this.checkpoints = new CheckpointBatcher<ExportFileRow>(
      (paths) => {
        // After a crash (abandoned) or a lost lease nothing more is written; a release still
        // records what is finished, so the next owner does not upload it again.
        if (!this.lease.mayWrite()) return Promise.reject(this.signal.reason as Error);
        return markExportFilesDone(ctx.db, op.id, this.token, paths);
      },
      (files) => {
        for (const f of files) this.fileDone(f);
      },
      (err) => {
        if (err instanceof LeaseLostError) this.abort(err);
      },
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
    }
  }

  progressSettled(): Promise<void> {
    return this.progress.settled();
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

    this.target = openPackageTarget(location, this.ctx.storageAgent(location.protocol, allowedOrigin));
    if (op.bytes_planned === null) await this.fixPlan(MAX_BLOB_NAME_LENGTH - location.prefix.length);
    this.progress.planIsFixed();
    const { first: requestInfo, last: manifest, ...totals } = await selectExportPlanHead(this.ctx.db, op.id, PACKAGE_PATHS.requestInfo, PACKAGE_PATHS.manifest);
    this.progress.resume(totals.bytes, totals.bytesDone);
    if (!requestInfo || !manifest || totals.files < 2) throw new Error(`plan of ${op.id} is incomplete`);
    this.checkSignal();

    // 1. RequestInfo.json, alone and first: it claims the container (If-None-Match: *).
    if (!requestInfo.done) await this.writeRequestInfo(requestInfo);
    else if (!this.claimed) fenced(await markRequestInfoWritten(this.ctx.db, op.id, this.token));

    // 2. The data, index.html included, a bounded number of files at once, read from the plan in
    // pages (a drive of 100,000 files is not one array).
    const pending = new PendingFiles(this.ctx.db, op.id, requestInfo.seq, (f) => f.seq === manifest.seq);
    await this.uploadLanes(pending);
    this.checkSignal();
    if (!pending.exhausted) throw new ReleasedError();
    // Every data file checkpointed before the manifest exists.
    await this.checkpoints.flush();

    // 3. manifest.json last: its presence means the package is complete. Its checkpoint is the
    // completing statement itself (a crash before it uploads the same manifest again).
    if (!manifest.done) {
      if (this.draining) throw new ReleasedError();
      await this.writeFile(manifest, false);
    }
    await this.complete();
    if (!manifest.done) this.fileDone(manifest);
    this.ctx.onEvent({ type: 'completed', operationId: op.id, workerId: this.ctx.workerId });
  }

  /**
   * Renders the package (every section, in one snapshot) into the content store and fixes the
   * plan, unless another attempt already did; the drive's files are uploaded meanwhile (see
   * uploadWhileRendering). From then on the package is only uploaded: a crash resumes from the
   * checkpoints without rendering anything again. A crash before the plan is fixed renders a
   * fresh snapshot, and every file is uploaded again from it.
   */
  private async fixPlan(maxPathLength: number): Promise<void> {
    const { db } = this.ctx;
    const op = this.op;
    const started = performance.now();
    const snapshotOp = {
      id: op.id,
      tenantId: op.tenant_id,
      userId: op.user_id,
      userPrincipalName: op.user_principal_name,
      requestedBy: op.requested_by,
      submittedAt: op.submitted_at,
      storageContainer: op.storage_container,
    };
    const signer = await this.ctx.packageSigner();
    // Content deleted between the snapshot and the pins (a drive item removed meanwhile) makes
    // the pin count short: render a fresh snapshot. Three tries is plenty for a race of milliseconds.
    for (let attempt = 1; ; attempt++) {
      const feed = new PlanFeed();
      // A failed upload stops the render; a failed render stops the uploads at their next file.
      const stop = new AbortController();
      const inline = new Map<string, Buffer>();
      this.inlineBodies = inline;
      const deps = {
        db,
        store: this.ctx.contentStore,
        token: this.token,
        signal: AbortSignal.any([this.signal, stop.signal]),
        leaseLost: () => new LeaseLostError(),
        signer,
        inline,
        uploadedBefore: this.claimed,
        onFlush: (seq: number, bytes: number, content: boolean) => {
          this.progress.planned = bytes;
          feed.flushed(seq, content);
        },
      };
      renderingBegins();
      const rendering = renderPlan(deps, snapshotOp, SECTIONS, () => this.snapshotInstant(), maxPathLength).finally(renderingEnds);
      rendering.then(
        () => feed.end(false),
        () => feed.end(true),
      );
      const uploading = this.uploadWhileRendering(feed).catch((err: unknown) => {
        stop.abort(err);
        throw err;
      });
      const [render, upload] = await Promise.allSettled([rendering, uploading]);
      if (this.signal.aborted) throw this.signal.reason as Error;
      if (upload.status === 'rejected') throw upload.reason;
      // What was uploaded meanwhile is checkpointed before the plan is fixed or rendered again.
      await this.checkpoints.flush();
      if (render.status === 'rejected') {
        const err: unknown = render.reason;
        if (err instanceof SubjectMissing) throw new FailureError(userNotFoundFailure(op.user_id));
        if (err instanceof PinShortfall && attempt < 3) continue;
        if (err instanceof PinShortfall) throw new Error('drive content kept disappearing while the export plan was fixed');
        throw err;
      }
      const planned: RenderedPlan = render.value;
      if (!(await fixBytesPlanned(db, op.id, this.token, planned.bytes))) {
        const row = await lockLeasedOperation(db, op.id, this.token);
        if (!row) throw new LeaseLostError();
        this.inlineBodies = new Map();
        return;
      }
      this.log.info({ files: planned.files, bytes: planned.bytes, ms: Math.round(performance.now() - started) }, 'export plan fixed');
      return;
    }
  }

  /**
   * The instant the package states: now, unless an attempt that died while rendering already wrote
   * RequestInfo.json, which states its instant in the container. The package keeps that one (its
   * RequestInfo.json is the same file, not written again), the rows coming from a fresh snapshot.
   */
  private async snapshotInstant(): Promise<Date> {
    if (!this.claimed) return new Date();
    const written = await selectExportFileBody(this.ctx.db, this.op.id, PACKAGE_PATHS.requestInfo);
    const stated = written ? (JSON.parse(written.toString('utf8')) as { snapshotDateTime?: unknown }).snapshotDateTime : undefined;
    const at = typeof stated === 'string' ? new Date(stated) : undefined;
    return at && !Number.isNaN(at.getTime()) ? at : new Date();
  }

  /**
   * While the plan renders: RequestInfo.json as soon as it is planned (it claims the container),
   * then the drive's files as their rows are committed. Only drive files go meanwhile: they are
   * many and small, bound by the storage's cost per request, while the render is bound by this
   * process and PostgreSQL, so the two overlap. The rendered sections follow once the plan is
   * fixed: a crash before then renders a fresh snapshot, whose sections may differ (the
   * manifest's signature always does), and a resumed export must not upload a finished file again.
   */
  private async uploadWhileRendering(feed: PlanFeed): Promise<void> {
    await feed.beyond(-1);
    if (feed.failed) return;
    const requestInfo = await selectExportFileByPath(this.ctx.db, this.op.id, PACKAGE_PATHS.requestInfo);
    if (!requestInfo) return;
    if (!requestInfo.done) await this.writeRequestInfo(requestInfo);
    await this.uploadLanes(new PendingFiles(this.ctx.db, this.op.id, requestInfo.seq, (f) => f.source !== 'content', feed, true));
  }

  /** `uploadConcurrency` lanes take files from `pending` until it is exhausted, the run drains or a lane fails. */
  private async uploadLanes(pending: PendingFiles): Promise<void> {
    let stopped = false;
    const lanes = Array.from({ length: this.ctx.config.worker.uploadConcurrency }, async () => {
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
    const blob = target.blob(file.path);
    const body = await this.smallBody(file);
    await uploadRequestInfo(
      blob,
      body,
      { operationId: this.op.id, sha256: file.sha256 },
      this.claimed,
      {
        contentType: file.content_type,
        retry: this.requestRetry(),
        signal: this.signal,
        onBytes: (n) => this.progress.add(n),
      },
      this.log,
    );
    fenced(await markRequestInfoDone(this.ctx.db, this.op.id, this.token, file.path, this.progress.current()));
    this.claimed = true;
    this.fileDone(file);
  }

  /** Uploads one file and, unless told not to, hands its checkpoint to the batcher (written within ~100 ms, see checkpoints.ts). */
  private async writeFile(file: ExportFileRow, checkpoint = true): Promise<void> {
    const target = this.target!;
    const blob = target.blob(file.path);
    const base = { contentType: file.content_type, retry: this.requestRetry(), signal: this.signal, onBytes: (n: number) => this.progress.add(n) };
    if (file.source === 'inline') {
      await uploadBuffer(blob, await this.smallBody(file), base);
    } else {
      const upload = async () => {
        const store = this.ctx.contentStore;
        const reader = await (store.open ? store.open(file.sha256, { size: file.size }) : store.get(file.sha256).then(readerFromStream)).catch(
          (err: unknown) => {
            throw isContentNotFound(err) ? err : new ContentReadError(err);
          },
        );
        await uploadContentVerified(
          blob,
          reader,
          { path: file.path, size: file.size, sha256: file.sha256 },
          {
            ...base,
            ...(file.source === 'content' ? { contentDisposition: DRIVE_FILE_DISPOSITION } : {}),
            blockSize: this.ctx.blockSize,
            parallelBlocks: this.ctx.parallelBlocks,
          },
        );
      };
      await (file.size > this.ctx.blockSize ? this.largeUploads.use(upload) : upload());
    }
    if (checkpoint) await this.checkpoints.add(file);
  }

  private fileDone(file: ExportFileRow): void {
    this.ctx.metrics.exportFiles.inc();
    this.ctx.onEvent({ type: 'fileUploaded', operationId: this.op.id, workerId: this.ctx.workerId, path: file.path });
  }

  private async complete(): Promise<void> {
    await this.progress.settled();
    const bytes = this.progress.planned;
    await endExport(
      this,
      { status: 'complete', bytesWritten: bytes },
      {
        activity: 'Export personal data completed',
        details: { operationId: this.op.id, bytesWritten: String(bytes) },
      },
    );
    this.log.info({ bytes }, 'export complete');
  }
}
