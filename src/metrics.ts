import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { countOperationsByStatus, queueStats } from './db/queries/worker-operations.ts';
import type { Queryable } from './db/pool.ts';
import { OPERATION_STATUSES } from './domain/operation.ts';

/**
 * The service's Prometheus metrics (docs/architecture.md#operating) on a registry of their own: several apps and
 * workers in one process (tests, `serve`) never collide in prom-client's global registry. The
 * entry point makes one and hands it to the app and the worker of the process.
 */
export interface Metrics {
  readonly registry: Registry;
  readonly httpRequestDuration: Histogram<'method' | 'route' | 'status_code'>;
  readonly exportDuration: Histogram<'status'>;
  readonly exportBytes: Counter;
  readonly exportFiles: Counter;
  readonly leaseLosses: Counter;
  readonly storageRetries: Counter<'kind'>;
  readonly operationRetries: Counter<'cause'>;
  readonly operationsByStatus: Gauge<'status'>;
  readonly queueDepth: Gauge;
  readonly oldestWaitingSeconds: Gauge;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  const registers = [registry];
  return {
    registry,
    httpRequestDuration: new Histogram({
      name: 'dsr_http_request_duration_seconds',
      help: 'HTTP request durations by route and status.',
      labelNames: ['method', 'route', 'status_code'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    exportDuration: new Histogram({
      name: 'dsr_export_duration_seconds',
      help: 'Time from submission to the end of an export, by final status.',
      labelNames: ['status'],
      buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600],
      registers,
    }),
    exportBytes: new Counter({ name: 'dsr_export_bytes_written_total', help: 'Bytes written into export packages.', registers }),
    exportFiles: new Counter({ name: 'dsr_export_files_written_total', help: 'Files written into export packages.', registers }),
    leaseLosses: new Counter({ name: 'dsr_worker_lease_losses_total', help: 'Exports stopped because their lease was lost.', registers }),
    storageRetries: new Counter({
      name: 'dsr_storage_retries_total',
      help: 'Storage requests retried after a transient error.',
      labelNames: ['kind'],
      registers,
    }),
    operationRetries: new Counter({
      name: 'dsr_operation_retries_total',
      help: 'Export attempts that failed transiently and were rescheduled, by cause.',
      labelNames: ['cause'],
      registers,
    }),
    operationsByStatus: new Gauge({
      name: 'dsr_operations',
      help: 'Export operations by status.',
      labelNames: ['status'],
      registers,
    }),
    queueDepth: new Gauge({ name: 'dsr_queue_depth', help: 'Operations waiting for a worker now.', registers }),
    oldestWaitingSeconds: new Gauge({
      name: 'dsr_queue_oldest_waiting_seconds',
      help: 'Age of the oldest operation waiting for a worker.',
      registers,
    }),
  };
}

/** Queue gauges older than this are read again at the next scrape; younger ones are served as they are. */
export const QUEUE_GAUGES_MAX_AGE_MS = 5000;

/**
 * Reads the queue gauges from PostgreSQL (every process sees the same queue), at most once per
 * QUEUE_GAUGES_MAX_AGE_MS however often /metrics is scraped: the counts scan the operations
 * table, and a scrape, or anyone who can reach it, should not cost the database a scan each time.
 * Concurrent scrapes share one read.
 */
export function queueGaugeReader(metrics: Metrics, db: Queryable, now: () => number = Date.now): () => Promise<void> {
  let readAt = -Infinity;
  let reading: Promise<void> | undefined;
  return () => {
    if (now() - readAt < QUEUE_GAUGES_MAX_AGE_MS) return Promise.resolve();
    reading ??= (async () => {
      try {
        const [byStatus, queue] = await Promise.all([countOperationsByStatus(db), queueStats(db)]);
        for (const status of OPERATION_STATUSES) metrics.operationsByStatus.set({ status }, byStatus[status] ?? 0);
        metrics.queueDepth.set(queue.depth);
        metrics.oldestWaitingSeconds.set(queue.oldestWaitSeconds);
        readAt = now();
      } finally {
        reading = undefined;
      }
    })();
    return reading;
  };
}
