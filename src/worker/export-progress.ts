import { updateProgress } from '../db/queries/worker-operations.ts';
import { progressPercent, shouldPersistProgress } from '../domain/export-lease.ts';
import type { ExportContext } from './export-context.ts';

/** The most progress (%) an export shows before its plan is fixed. */
const RENDER_PROGRESS_CAP = 10;

/**
 * An export's bytes written against its plan, counted as uploads go and written to its row at
 * most once a second, one write at a time (a write that finds the lease gone calls `onLeaseLost`).
 * The first figure rides on RequestInfo.json's checkpoint (`current()`), so the first write of
 * its own comes a second into the run: an export shorter than that writes none.
 */
export class ExportProgress {
  /** The plan's bytes: while it renders, the part flushed so far; then the fixed total. */
  planned = 0;
  private written = 0;
  private planFixed: boolean;
  private lastWriteMs = Date.now();
  private write: Promise<void> | undefined;

  constructor(
    private readonly ctx: ExportContext,
    private readonly operationId: string,
    private readonly token: string,
    planFixed: boolean,
    private readonly onLeaseLost: () => void,
  ) {
    this.planFixed = planFixed;
  }

  /** The plan is fixed: from now on the figure is the share of the whole package. */
  planIsFixed(): void {
    this.planFixed = true;
  }

  /** Starts from the fixed plan's totals (after a resume, what earlier attempts checkpointed). */
  resume(planned: number, written: number): void {
    this.planned = planned;
    this.written = written;
  }

  /** The figure to write now: bytes written and percent. */
  current(): { written: number; percent: number } {
    const written = Math.min(this.written, this.planned);
    // Before the plan is fixed only a part of it is known: the share of that part stays below
    // RENDER_PROGRESS_CAP, so that the figure (which never goes back) does not run ahead.
    const percent = progressPercent(written, this.planned);
    return { written, percent: this.planFixed ? percent : Math.min(RENDER_PROGRESS_CAP, percent) };
  }

  add(n: number): void {
    this.written += n;
    this.ctx.metrics.exportBytes.inc(n);
    const now = Date.now();
    if (this.write || !shouldPersistProgress(now, this.lastWriteMs)) return;
    this.lastWriteMs = now;
    const { written, percent } = this.current();
    this.write = updateProgress(this.ctx.db, this.operationId, this.token, written, percent)
      .then(
        (ok) => {
          if (!ok) this.onLeaseLost();
        },
        () => undefined,
      )
      .finally(() => {
        this.write = undefined;
      });
  }

  /** Resolves once the last progress write has settled. */
  async settled(): Promise<void> {
    await this.write;
  }
}
