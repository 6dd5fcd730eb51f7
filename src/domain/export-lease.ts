// Pure lease, retry and progress rules of the export worker (docs/architecture.md#operation-lifecycle). Times are passed in,
// so the rules are tested without clocks or I/O.

export interface RetryPolicy {
  /** Delay before the 2nd attempt; doubles per attempt. */
  readonly baseMs: number;
  readonly maxMs: number;
}

/**
 * 10 s, 20 s, 40 s, 80 s … (each between half and all of that), capped at 5 min: with the default
 * DSR_MAX_ATTEMPTS of 5, an outage of roughly 1–2.5 minutes is ridden out before the export fails.
 */
export const DEFAULT_RETRY_POLICY: RetryPolicy = { baseMs: 10_000, maxMs: 300_000 };

/**
 * Exponential backoff with "equal jitter": between half and all of base·2^(attempt-1), so workers
 * that failed together do not come back together. `attempt` counts from 1; `random` is in [0, 1).
 */
export function retryDelayMs(attempt: number, policy: RetryPolicy, random: number): number {
  const exp = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, Math.min(attempt - 1, 30)));
  return Math.round(exp / 2 + (exp / 2) * Math.min(Math.max(random, 0), 1));
}

/** True once `attempts` transient failures have used up the budget of `maxAttempts`. */
export function attemptsExhausted(attempts: number, maxAttempts: number): boolean {
  return attempts >= maxAttempts;
}

/** The heartbeat renews every third of the lease: two renewals may fail before it lapses. */
export function heartbeatIntervalMs(leaseSeconds: number): number {
  return Math.max(100, Math.floor((leaseSeconds * 1000) / 3));
}

/**
 * A worker that could not renew (database unreachable) must stop writing before the lease it
 * last saw could have expired: another worker may own the row by then. A margin of a tenth of
 * the lease (at least 500 ms) covers the time a write already in flight takes to land.
 */
export function leaseMayHaveLapsed(nowMs: number, lastRenewedMs: number, leaseSeconds: number): boolean {
  const leaseMs = leaseSeconds * 1000;
  const margin = Math.max(500, leaseMs / 10);
  return nowMs - lastRenewedMs >= leaseMs - margin;
}

/** Progress in percent from bytes; 100 is left for `complete`, whatever the byte count says. */
export function progressPercent(bytesWritten: number, bytesPlanned: number): number {
  if (bytesPlanned <= 0) return 0;
  const p = (bytesWritten / bytesPlanned) * 100;
  return Math.min(99.9, Math.max(0, Math.floor(p * 10) / 10));
}

/** Progress is persisted at most once a second (docs/architecture.md#operation-lifecycle). */
export function shouldPersistProgress(nowMs: number, lastPersistedMs: number | undefined, intervalMs = 1000): boolean {
  return lastPersistedMs === undefined || nowMs - lastPersistedMs >= intervalMs;
}
