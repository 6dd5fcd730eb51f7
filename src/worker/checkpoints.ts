/**
 * Batches the per-file checkpoints of one export (docs/architecture.md#operation-lifecycle). One
 * fenced statement per batch, not one per file: a lane that waited for its own commit (WAL sync)
 * before its next file would pay a round trip and a commit per file, which for small files costs
 * more than their upload.
 *
 * A lane hands a finished file over and goes on at once; a batch is written when it holds
 * `maxFiles` files or `maxBytes` bytes, or `maxDelayMs` after its first file, one batch at a
 * time. A lane waits only when a batch is being written and the next one is already full
 * (backpressure), so a crash leaves at most two batches (≤ 2 × maxFiles files, about
 * 2 × maxDelayMs of work) uploaded but not checkpointed: a resumed export uploads them again,
 * same bytes under the same names, which a resume tolerates. `onDone` runs only once a file's
 * checkpoint is committed, so "fileUploaded" still means "will not be uploaded again".
 */
export interface CheckpointFile {
  readonly path: string;
  readonly size: number;
}

export interface CheckpointOptions {
  /** 50 files: one statement of ~50 short paths; a 2,000-file export makes ~40 commits instead of 2,000. */
  readonly maxFiles: number;
  /** A file of a block or more flushes at once: its upload took far longer than the round trip, and it should not be redone after a crash. */
  readonly maxBytes: number;
  /** 100 ms: what a crash may cost in repeated small uploads. */
  readonly maxDelayMs: number;
}

export class CheckpointBatcher<F extends CheckpointFile> {
  private pending: F[] = [];
  private pendingBytes = 0;
  private writing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private failure: { error: unknown } | undefined;
  private closed = false;

  /**
   * @param write the fenced statement; resolves false when the lease is lost (then `onFailure`
   *   gets the error the caller maps it to, and nothing more is written).
   */
  constructor(
    private readonly write: (paths: string[]) => Promise<boolean>,
    private readonly onDone: (files: readonly F[]) => void,
    private readonly onFailure: (err: unknown) => void,
    private readonly leaseLost: () => Error,
    private readonly opts: CheckpointOptions,
  ) {}

  /** Throws the error of a failed batch (database away, lease lost): the export stops. */
  throwIfFailed(): void {
    if (this.failure) throw this.failure.error;
  }

  /** A file is in the storage. Resolves at once unless the checkpoints have fallen a batch behind. */
  async add(file: F): Promise<void> {
    this.throwIfFailed();
    this.pending.push(file);
    this.pendingBytes += file.size;
    this.schedule();
    while (this.writing && this.pending.length >= this.opts.maxFiles) await this.writing;
    this.throwIfFailed();
  }

  /** Writes every pending checkpoint (before the manifest, a release or a retry); throws if one failed. */
  async flush(): Promise<void> {
    for (;;) {
      if (this.writing) {
        await this.writing;
        continue;
      }
      this.throwIfFailed();
      if (this.pending.length === 0 || this.closed) return;
      this.startBatch();
    }
  }

  /** No batch is started any more (a crash, a lost lease); the one being written is awaited. */
  async close(): Promise<void> {
    this.closed = true;
    this.clearTimer();
    await this.writing;
  }

  private schedule(): void {
    if (this.closed || this.failure || this.writing || this.pending.length === 0) return;
    if (this.pending.length >= this.opts.maxFiles || this.pendingBytes >= this.opts.maxBytes) {
      this.startBatch();
    } else {
      this.timer ??= setTimeout(() => {
        this.timer = undefined;
        if (!this.writing && !this.closed && !this.failure && this.pending.length > 0) this.startBatch();
      }, this.opts.maxDelayMs);
    }
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private startBatch(): void {
    this.clearTimer();
    const batch = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    this.writing = this.write(batch.map((f) => f.path))
      .then((ok) => {
        if (!ok) throw this.leaseLost();
        this.onDone(batch);
      })
      .catch((err: unknown) => {
        this.failure ??= { error: err };
        this.onFailure(err);
      })
      .finally(() => {
        this.writing = undefined;
        // What came in while this batch was written: at once if full, else on the timer.
        this.schedule();
      });
  }
}
