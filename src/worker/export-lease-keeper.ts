import { setMaxListeners } from 'node:events';
import type { Logger } from 'pino';
import { renewLease } from '../db/queries/worker-operations.ts';
import { heartbeatIntervalMs, leaseMayHaveLapsed } from '../domain/export-lease.ts';
import { AbandonedError, LeaseLostError, type ExportContext, type ReleasedError } from './export-context.ts';

/** Every write after the claim is fenced by the lease token: a write that matched no row means the lease is gone. */
export function fenced(ok: boolean): void {
  if (!ok) throw new LeaseLostError();
}

/**
 * The lease of one export run: its fencing token, the heartbeat that renews it every third of
 * its length, and the abort signal that stops the run when the lease is lost, the export is
 * handed back, or the worker is killed.
 */
export class ExportLeaseKeeper {
  // Every upload in flight (upload concurrency × blocks per file, plus SDK internals) listens on
  // this one signal; Node's default of 10 listeners would warn about a leak that is not one.
  private readonly controller = new AbortController();
  private heartbeat: NodeJS.Timeout | undefined;
  private lastRenewedMs = Date.now();
  private renewing = false;

  constructor(
    private readonly ctx: ExportContext,
    private readonly operationId: string,
    readonly token: string,
    private readonly log: Logger,
  ) {
    setMaxListeners(0, this.controller.signal);
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  abort(reason: LeaseLostError | ReleasedError | AbandonedError): void {
    if (!this.controller.signal.aborted) this.controller.abort(reason);
  }

  /** After a crash (abandoned) or a lost lease nothing more is written; a release still records what is finished. */
  mayWrite(): boolean {
    const reason: unknown = this.signal.reason;
    return !this.signal.aborted || !(reason instanceof AbandonedError || reason instanceof LeaseLostError);
  }

  throwIfAborted(): void {
    if (this.signal.aborted) throw this.signal.reason as Error;
  }

  start(): void {
    const { leaseSeconds } = this.ctx.config.worker;
    this.heartbeat = setInterval(() => {
      if (this.renewing || this.signal.aborted) return;
      this.renewing = true;
      renewLease(this.ctx.db, this.operationId, this.token, leaseSeconds)
        .then(
          (ok) => {
            if (ok) this.lastRenewedMs = Date.now();
            else this.abort(new LeaseLostError());
          },
          (err: unknown) => {
            // The database is away: keep trying until the lease we last saw may have lapsed.
            this.log.warn({ err: String(err) }, 'lease renewal failed');
            if (leaseMayHaveLapsed(Date.now(), this.lastRenewedMs, leaseSeconds)) this.abort(new LeaseLostError());
          },
        )
        .finally(() => {
          this.renewing = false;
        });
    }, heartbeatIntervalMs(leaseSeconds));
    this.heartbeat.unref();
  }

  stop(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
  }
}
