import type { Queryable } from '../db/pool.ts';
import { selectExportFilesPage, type ExportFileRow } from '../db/queries/export-files.ts';

/**
 * The files still to upload after RequestInfo.json, except manifest.json (written last), read
 * from the plan one keyset page at a time as the lanes ask for them.
 */
export class PendingFiles {
  private buffer: ExportFileRow[] = [];
  private after: number;
  private fetching: Promise<void> | undefined;
  private end = false;

  constructor(private readonly db: Queryable, private readonly operationId: string, firstSeq: number, private readonly manifestSeq: number) {
    this.after = firstSeq;
  }

  /** True once every file was handed out. */
  get exhausted(): boolean {
    return this.end && this.buffer.length === 0;
  }

  async next(): Promise<ExportFileRow | undefined> {
    for (;;) {
      const file = this.buffer.shift();
      if (file) return file;
      if (this.end) return undefined;
      this.fetching ??= this.fetch().finally(() => { this.fetching = undefined; });
      await this.fetching;
    }
  }

  private async fetch(): Promise<void> {
    const page = await selectExportFilesPage(this.db, this.operationId, this.after, 500, true);
    if (page.length > 0) this.after = page[page.length - 1]!.seq;
    if (page.length < 500) this.end = true;
    this.buffer.push(...page.filter((f) => f.seq !== this.manifestSeq));
  }
}
