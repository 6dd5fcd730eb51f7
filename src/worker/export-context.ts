import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import type { ContentStore } from '../content/content-store.ts';
import type { Db } from '../db/pool.ts';
import type { ExportFailure } from '../domain/export-failure.ts';
import type { RetryPolicy } from '../domain/export-lease.ts';
import type { GuardedAgent } from '../export/guarded-agent.ts';
import type { PackageSigner } from '../export/package-signature.ts';
import type { RequestRetry } from '../export/upload-file.ts';
import type { Metrics } from '../metrics.ts';

// What an export run is given, what it reports, and the ways it stops.

/** Something the worker reports, for logs and tests (e.g. "claimed" to await a wake-up). */
export type WorkerEvent =
  | { type: 'claimed'; operationId: string; workerId: string }
  | { type: 'fileUploaded'; operationId: string; workerId: string; path: string }
  | { type: 'completed'; operationId: string; workerId: string }
  | { type: 'failed'; operationId: string; workerId: string; code: string }
  | { type: 'retryScheduled'; operationId: string; workerId: string; delayMs: number; message: string }
  | { type: 'leaseLost'; operationId: string; workerId: string }
  | { type: 'released'; operationId: string; workerId: string };

export interface ExportContext {
  readonly workerId: string;
  readonly db: Db;
  readonly config: Config;
  readonly contentStore: ContentStore;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /**
   * The worker's guarded agent for storage of this protocol (allowPrivate: an origin listed in
   * DSR_STORAGE_ALLOW), shared by its exports: their connections are kept alive from one export
   * to the next instead of being opened and closed for each one.
   */
  readonly storageAgent: (protocol: string, allowPrivate: boolean) => GuardedAgent;
  readonly requestRetry: Omit<RequestRetry, 'onRetry'>;
  readonly operationRetry: RetryPolicy;
  /** 4 MiB blocks, 2 in flight per file: with 8 files at once, ≈100 MB of buffers at most. */
  readonly blockSize: number;
  readonly parallelBlocks: number;
  /** Signs manifest.json (manifest.json.jws); loaded once per worker, on first use. */
  readonly packageSigner: () => Promise<PackageSigner>;
  readonly onEvent: (event: WorkerEvent) => void;
}

export type RunOutcome = { kind: 'complete' | 'failed' | 'leaseLost' | 'released' | 'abandoned' } | { kind: 'retry'; delayMs: number };

/** The lease is someone else's now (fencing): stop this export at once, write nothing more. */
export class LeaseLostError extends Error {
  constructor() {
    super('lease lost');
    this.name = 'LeaseLostError';
  }
}
/** Graceful shutdown: hand the unfinished export to another worker. */
export class ReleasedError extends Error {
  constructor() {
    super('lease released for shutdown');
    this.name = 'ReleasedError';
  }
}
/** A hard stop (a crash, or a test simulating one): no database writes at all. */
export class AbandonedError extends Error {
  constructor() {
    super('export abandoned');
    this.name = 'AbandonedError';
  }
}
/** A permanent failure with its Graph code, decided by the run. */
export class FailureError extends Error {
  constructor(readonly failure: ExportFailure) {
    super(failure.message);
    this.name = 'FailureError';
  }
}
