import { addToQuotaCounters, readQuotaCounter } from '../db/queries/quotas.ts';
import type { Db } from '../db/pool.ts';
import { quotaWindow, type QuotaWindow } from '../domain/quota.ts';
import { GraphError } from '../graph-error.ts';

function slotKey(tenantId: string, bucket: string, windowStart: Date): string {
  return `${tenantId}\u0000${bucket}\u0000${windowStart.getTime()}`;
}

interface Slot {
  tenantId: string;
  bucket: string;
  windowStart: Date;
  /** The shared count PostgreSQL last returned (all processes). */
  known: number;
  /** Counted here since the last flush. */
  pending: number;
  /** Counted here and being added to PostgreSQL right now: still counts until `known` includes it. */
  sending: number;
}

/**
 * Quotas (docs/architecture.md#quotas), counted in PostgreSQL so they hold across API processes.
 *
 * Every request of a tenant counts into one row; incrementing it inside each request would
 * serialise all of them on that row's lock and a commit each (docs/benchmarks.md). So each process counts locally and adds its counts to PostgreSQL every `flushMs` in one
 * statement. Within a process the limit is exact; across N processes it can be exceeded by
 * what the others accepted in one flush interval (250 ms).
 */
export class QuotaCounter {
  private readonly slots = new Map<string, Slot>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;

  constructor(
    private readonly db: Db,
    private readonly flushMs = 250,
  ) {}

  /**
   * Counts one request; throws 429 TooManyRequests (with Retry-After) over the limit. The first
   * use of a window in this process reads the shared count, so a process that starts late does
   * not grant a whole quota of its own. Every later request of the window is counted without a
   * promise (undefined, or the throw): this runs on every Graph request.
   */
  take(tenantId: string, bucket: string, window: QuotaWindow, limit: number, now: Date, message: string): Promise<void> | undefined {
    const { start, retryAfterSeconds } = quotaWindow(now, window);
    const key = slotKey(tenantId, bucket, start);
    const slot = this.slots.get(key);
    if (!slot) return this.takeFirst(key, tenantId, bucket, start, limit, message, retryAfterSeconds);
    this.count(slot, limit, message, retryAfterSeconds);
    return undefined;
  }

  private async takeFirst(
    key: string,
    tenantId: string,
    bucket: string,
    start: Date,
    limit: number,
    message: string,
    retryAfterSeconds: number,
  ): Promise<void> {
    const known = await readQuotaCounter(this.db, tenantId, bucket, start);
    let slot = this.slots.get(key);
    if (!slot) {
      slot = { tenantId, bucket, windowStart: start, known, pending: 0, sending: 0 };
      this.slots.set(key, slot);
    }
    this.count(slot, limit, message, retryAfterSeconds);
  }

  private count(slot: Slot, limit: number, message: string, retryAfterSeconds: number): void {
    if (slot.known + slot.sending + slot.pending >= limit) throw GraphError.tooManyRequests(message, retryAfterSeconds);
    slot.pending += 1;
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, this.flushMs);
  }

  /** Counts one request in each bucket, or none of them if any is over its limit. */
  async takeAll(tenantId: string, buckets: readonly { bucket: string; limit: number; message: string }[], window: QuotaWindow, now: Date): Promise<void> {
    const taken: string[] = [];
    try {
      for (const b of buckets) {
        await this.take(tenantId, b.bucket, window, b.limit, now, b.message);
        taken.push(b.bucket);
      }
    } catch (err) {
      this.giveBack(
        tenantId,
        taken.map((bucket) => ({ bucket })),
        window,
        now,
      );
      throw err;
    }
  }

  /** Uncounts a request that turned out not to need counting (a retry of an accepted one). */
  giveBack(tenantId: string, buckets: readonly { bucket: string }[], window: QuotaWindow, now: Date): void {
    const { start } = quotaWindow(now, window);
    for (const { bucket } of buckets) {
      const slot = this.slots.get(slotKey(tenantId, bucket, start));
      // pending may go below zero when a flush already sent the count: the next flush subtracts it.
      if (slot) slot.pending -= 1;
    }
  }

  /** Adds the pending counts to PostgreSQL and learns the shared totals. */
  async flush(): Promise<void> {
    await this.flushing;
    const batch = [...this.slots.entries()].filter(([, s]) => s.pending !== 0);
    if (batch.length === 0) return;
    const sent = batch.map(([, s]) => s.pending);
    batch.forEach(([, s], i) => {
      s.pending = 0;
      s.sending += sent[i]!;
    });
    this.flushing = addToQuotaCounters(
      this.db,
      batch.map(([, s], i) => ({ tenantId: s.tenantId, bucket: s.bucket, windowStart: s.windowStart, count: sent[i]! })),
    )
      .then(
        (totals) => {
          batch.forEach(([, s], i) => {
            s.sending -= sent[i]!;
            s.known = Math.max(s.known, totals[i] ?? s.known + sent[i]!);
          });
        },
        () => {
          // Database unreachable: keep the counts for the next flush (requests fail with 503 meanwhile).
          batch.forEach(([, s], i) => {
            s.sending -= sent[i]!;
            s.pending += sent[i]!;
          });
        },
      )
      .finally(() => {
        this.flushing = undefined;
      });
    await this.flushing;
    // Windows that ended can never be counted again here.
    const now = Date.now();
    for (const [key, s] of this.slots) if (s.pending === 0 && now - s.windowStart.getTime() > 86_400_000 * 2) this.slots.delete(key);
  }

  async close(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.flush();
  }
}
