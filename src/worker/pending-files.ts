import type { Queryable } from '../db/pool.ts';
import { selectExportFilesPage, type ExportFileRow } from '../db/queries/export-files.ts';

const PAGE = 500;

/**
 * How far a plan that is still being rendered has been committed: rows up to `flushedSeq` can be
 * read, and `done` says the render has ended (well or not). Lanes upload drive files while the
 * sections after them render.
 */
export class PlanFeed {
  private last = -1;
  private lastContent = -1;
  private ended = false;
  private halted = false;
  private waiters: (() => void)[] = [];

  get flushedSeq(): number {
    return this.last;
  }

  /** The highest seq of a committed batch that held drive files. */
  get contentSeq(): number {
    return this.lastContent;
  }

  get done(): boolean {
    return this.ended;
  }

  /** The render failed: what it planned will be rendered again or not at all. */
  get failed(): boolean {
    return this.halted;
  }

  flushed(seq: number, content = false): void {
    this.last = Math.max(this.last, seq);
    if (content) this.lastContent = Math.max(this.lastContent, seq);
    this.wakeAll();
  }

  end(failed: boolean): void {
    this.ended = true;
    this.halted = failed;
    this.wakeAll();
  }

  /** Resolves once rows after `seq` (with `contentOnly`, drive files after it) are committed, or the render has ended. */
  async beyond(seq: number, contentOnly = false): Promise<void> {
    while (!this.ended && (contentOnly ? this.lastContent : this.last) <= seq) await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  private wakeAll(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}

/**
 * The files still to upload after `firstSeq`, except those `skip` names (manifest.json is written
 * last, alone), read from the plan one keyset page at a time as the lanes ask for them. Given a
 * feed, the plan is still growing: a short page waits for the next committed rows until the
 * render ends; with `contentOnly` (only drive files wanted) it queries again only once a batch
 * holding drive files is committed, not after every batch of rendered sections.
 */
export class PendingFiles {
  private buffer: ExportFileRow[] = [];
  private after: number;
  private fetching: Promise<void> | undefined;
  private end = false;

  constructor(
    private readonly db: Queryable,
    private readonly operationId: string,
    firstSeq: number,
    private readonly skip: (file: ExportFileRow) => boolean,
    private readonly feed?: PlanFeed,
    private readonly contentOnly = false,
  ) {
    this.after = firstSeq;
  }

  /** True once every file was handed out. */
  get exhausted(): boolean {
    return this.end && this.buffer.length === 0;
  }

  async next(): Promise<ExportFileRow | undefined> {
    for (;;) {
      if (this.feed?.failed) return undefined;
      const file = this.buffer.shift();
      if (file) return file;
      if (this.end) return undefined;
      this.fetching ??= this.fetch().finally(() => {
        this.fetching = undefined;
      });
      await this.fetching;
    }
  }

  private async fetch(): Promise<void> {
    const feed = this.feed;
    for (;;) {
      // Read before the query: a render that ended before it has committed every row it will.
      const ended = feed?.done ?? true;
      if (feed && (this.contentOnly ? feed.contentSeq : feed.flushedSeq) <= this.after) {
        // Nothing wanted committed past what was read: no query until there is.
        if (ended) {
          this.end = true;
          return;
        }
        await feed.beyond(this.after, this.contentOnly);
        continue;
      }
      const committed = feed?.flushedSeq ?? -1;
      const page = await selectExportFilesPage(this.db, this.operationId, this.after, PAGE, true);
      for (const f of page) if (!this.skip(f)) this.buffer.push(f);
      // A short page has seen every row committed before the query, finished ones included.
      this.after = page.length === PAGE ? page[page.length - 1]!.seq : Math.max(this.after, committed, page.at(-1)?.seq ?? -1);
      // A short page of a plan that was complete before the query is its last.
      if (ended && page.length < PAGE) this.end = true;
      if (this.end || page.length === PAGE || this.buffer.length > 0) return;
    }
  }
}
