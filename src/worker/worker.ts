import { createWakeSignal } from '../runtime/wake-signal.ts';
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { pino, type Logger } from 'pino';
import type { Config } from '../config.ts';
import type { ContentStore } from '../content/content-store.ts';
import type { Db } from '../db/pool.ts';
import { OPERATIONS_CHANNEL } from '../db/queries/operations.ts';
import { listenChannel } from '../runtime/listen-channel.ts';
import { claimOperations } from '../db/queries/worker-operations.ts';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from '../domain/export-lease.ts';
import type { OperationRow } from '../domain/operation.ts';
import { createGuardedAgent, type GuardedAgent, type HostResolver } from '../export/guarded-agent.ts';
import { registeredPackageSigner, type PackageSigner } from '../export/package-signature.ts';
import { createMetrics, type Metrics } from '../metrics.ts';
import { startNotificationDelivery, type DeliveryOptions } from '../subscriptions/delivery.ts';
import { AbandonedError, ExportRun, ReleasedError, type ExportContext, type WorkerEvent } from './run-export.ts';

export type { WorkerEvent } from './run-export.ts';

export interface WorkerOptions {
  readonly config: Config;
  /**
   * The process's pool; the worker holds one of its connections for LISTEN and each export uses
   * one at a time, so it needs at least concurrency + 2 connections (notification delivery opens
   * a small pool of its own with the same settings). Not closed by stop().
   */
  readonly db: Db;
  readonly contentStore: ContentStore;
  readonly logger?: Logger | undefined;
  /** Shared with the app of the same process so /metrics shows the worker's counters. */
  readonly metrics?: Metrics | undefined;
  /** Recorded as lease_owner; default host:pid:random. */
  readonly workerId?: string | undefined;
  /** Fallback when a NOTIFY is missed (LISTEN connection down); 5 s by default. */
  readonly pollIntervalMs?: number | undefined;
  /** DNS resolver of the storage guard (tests map a blob host to 127.0.0.1). */
  readonly resolve?: HostResolver | undefined;
  /** Backoff between attempts of an operation. */
  readonly retry?: Partial<RetryPolicy> | undefined;
  /** Retries of one storage request within an attempt: 3 tries, 250 ms then 500 ms. */
  readonly requestRetry?: { tries?: number; baseMs?: number } | undefined;
  readonly blockSize?: number | undefined;
  readonly onEvent?: ((event: WorkerEvent) => void) | undefined;
  /** Change-notification delivery, which runs in every worker (tests shorten its back-off). */
  readonly notifications?: Partial<Omit<DeliveryOptions, 'config' | 'db' | 'workerId'>> | undefined;
}

export interface Worker {
  readonly id: string;
  /** True once drain() or stop() has begun (for /readyz). */
  draining(): boolean;
  /** Stops claiming; resolves when the exports in hand have ended by themselves. */
  drain(): Promise<void>;
  /**
   * SIGTERM: stops claiming, lets uploads in flight finish for up to `graceMs`, then releases the
   * leases of unfinished exports (lease_expires_at = now) so another worker takes them at once.
   */
  stop(graceMs?: number): Promise<void>;
  /** Stops at once as a crash would: no lease released, no write. For tests and fatal errors. */
  stopHard(): Promise<void>;
  /** Look for work now (also what a NOTIFY does). */
  wake(): void;
}

/**
 * Starts a worker (docs/architecture.md#operation-lifecycle): up to config.worker.concurrency exports at once, claimed with
 * FOR UPDATE SKIP LOCKED, woken by NOTIFY on dsr_operations within milliseconds of a POST, with
 * a slow poll as the fallback. Resolves once LISTEN is in place.
 */
export async function startWorker(opts: WorkerOptions): Promise<Worker> {
  const { config, db } = opts;
  const id = opts.workerId ?? `${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  const logger = (opts.logger ?? pino({ level: 'silent' })).child({ workerId: id });
  const pollIntervalMs = opts.pollIntervalMs ?? 5000;
  let signer: Promise<PackageSigner> | undefined;
  const storageAgents = new Map<string, GuardedAgent>();
  const ctx: ExportContext = {
    workerId: id,
    db,
    config,
    contentStore: opts.contentStore,
    logger,
    metrics: opts.metrics ?? createMetrics(),
    storageAgent: (protocol, allowPrivate) => {
      const key = `${protocol}${allowPrivate}`;
      let agent = storageAgents.get(key);
      if (!agent) {
        agent = createGuardedAgent(protocol, { allowPrivate, ...(opts.resolve ? { resolve: opts.resolve } : {}) });
        storageAgents.set(key, agent);
      }
      return agent;
    },
    requestRetry: { tries: opts.requestRetry?.tries ?? 3, baseMs: opts.requestRetry?.baseMs ?? 250 },
    operationRetry: { ...DEFAULT_RETRY_POLICY, ...opts.retry },
    blockSize: opts.blockSize ?? 4 * 1024 * 1024,
    parallelBlocks: 2,
    // A failed load (database away) is not kept: the next export tries again.
    packageSigner: () =>
      (signer ??= registeredPackageSigner(db, config.dataDir).catch((err: unknown) => {
        signer = undefined;
        throw err;
      })),
    onEvent: (event) => {
      try {
        opts.onEvent?.(event);
      } catch (err) {
        logger.warn({ err: String(err) }, 'worker event handler threw');
      }
    },
  };

  const runs = new Map<string, { run: ExportRun; done: Promise<void> }>();
  const timers = new Set<NodeJS.Timeout>();
  let stopping = false;
  let claiming = true;
  const signal = createWakeSignal();
  const wake = signal.wake;

  const later = (ms: number, fn: () => void) => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    t.unref();
    timers.add(t);
  };

  const start = (row: OperationRow) => {
    const run = new ExportRun(ctx, row);
    ctx.onEvent({ type: 'claimed', operationId: row.id, workerId: id });
    logger.info({ operationId: row.id, attempts: row.attempts }, 'export claimed');
    const done = run
      .run()
      .then(
        (outcome) => {
          if (outcome.kind === 'retry') later(outcome.delayMs + 20, wake);
        },
        (err: unknown) => {
          logger.error({ err, operationId: row.id }, 'export run crashed');
        },
      )
      .finally(() => {
        runs.delete(row.id);
        wake();
      });
    runs.set(row.id, { run, done });
  };

  const loop = async (): Promise<void> => {
    while (!stopping) {
      signal.reset();
      const free = config.worker.concurrency - runs.size;
      if (claiming && free > 0) {
        try {
          for (const row of await claimOperations(db, id, free, config.worker.leaseSeconds)) start(row);
        } catch (err) {
          logger.warn({ err: String(err) }, 'claiming failed');
          await signal.wait(Math.min(pollIntervalMs, 1000));
          continue;
        }
      }
      if (stopping) break;
      await signal.wait(pollIntervalMs);
    }
  };

  const listener = await listenChannel(db, OPERATIONS_CHANNEL, wake, logger);
  // Before the claim loop: if delivery cannot start, nothing is running that the caller would
  // have to stop before it closes the pool.
  const notifications = await startNotificationDelivery({ config, db, workerId: id, logger, metrics: ctx.metrics, ...opts.notifications }).catch(
    (err: unknown) => {
      // The LISTEN connection is checked out of the pool: the caller could not close it otherwise.
      stopping = true;
      listener.close();
      throw err;
    },
  );
  const looping = loop();

  const shutdown = async (): Promise<void> => {
    stopping = true;
    claiming = false;
    wake();
    await looping;
    for (const t of timers) clearTimeout(t);
    timers.clear();
    listener.close();
    await notifications.stop();
    for (const agent of storageAgents.values()) agent.destroy();
    storageAgents.clear();
  };

  return {
    id,
    draining: () => !claiming,
    wake,
    async drain() {
      claiming = false;
      await Promise.allSettled([...runs.values()].map((r) => r.done));
    },
    async stop(graceMs = 10_000) {
      claiming = false;
      for (const { run } of runs.values()) run.drain();
      const all = Promise.allSettled([...runs.values()].map((r) => r.done));
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, graceMs);
      });
      await Promise.race([all, grace]);
      clearTimeout(timer);
      for (const { run } of runs.values()) run.abort(new ReleasedError());
      await all;
      await shutdown();
    },
    async stopHard() {
      claiming = false;
      notifications.stopHard();
      for (const { run } of runs.values()) run.abort(new AbandonedError());
      await Promise.allSettled([...runs.values()].map((r) => r.done));
      await shutdown();
    },
  };
}
