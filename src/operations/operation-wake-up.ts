import { notifyOperationsQueued } from '../db/queries/operations.ts';
import type { Db } from '../db/pool.ts';

/**
 * Wakes idle workers after new operations were inserted, at most one NOTIFY per `delayMs`.
 * A NOTIFY takes a database-wide lock until its commit, so one per POST would serialise the
 * POSTs on it (docs/benchmarks.md). Workers claim every waiting operation when woken, so one
 * wake-up serves a burst, and their slow poll catches a wake-up lost to a crash.
 */
export class OperationWakeUp {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly db: Db,
    private readonly log: { warn(obj: object, msg: string): void } | undefined,
    private readonly delayMs = 20,
  ) {}

  schedule(): void {
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      notifyOperationsQueued(this.db).catch((err: unknown) => this.log?.warn({ err }, 'worker wake-up failed'));
    }, this.delayMs);
  }

  close(): void {
    clearTimeout(this.timer);
  }
}
