import type { Db } from '../db/pool.ts';
import { insertExportRequests, type ExportRequestInsert, type NewExportRequest } from '../db/queries/operations.ts';

interface Waiting {
  request: NewExportRequest;
  resolve(outcome: ExportRequestInsert): void;
  reject(err: unknown): void;
}

/**
 * Export POSTs' inserts, grouped under load: up to `maxInFlight` statements run at once; requests
 * that arrive meanwhile wait and go together in the next one (several POSTs per round trip and
 * per commit). Each request still resolves only after the statement that wrote it has committed.
 * With no queue, a request goes at once: grouping costs no latency when the API is idle.
 */
export class GroupedExportInserts {
  private waiting: Waiting[] = [];
  private inFlight = 0;

  constructor(
    private readonly db: Db,
    private readonly maxInFlight = 8,
    private readonly maxGroup = 64,
  ) {}

  insert(request: NewExportRequest): Promise<ExportRequestInsert> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ request, resolve, reject });
      this.send();
    });
  }

  private send(): void {
    while (this.inFlight < this.maxInFlight && this.waiting.length > 0) {
      const group = this.waiting.splice(0, this.maxGroup);
      this.inFlight++;
      insertExportRequests(
        this.db,
        group.map((w) => w.request),
      )
        .then(
          (outcomes) => group.forEach((w, i) => w.resolve(outcomes[i]!)),
          (err: unknown) => group.forEach((w) => w.reject(err)),
        )
        .finally(() => {
          this.inFlight--;
          this.send();
        });
    }
  }
}
